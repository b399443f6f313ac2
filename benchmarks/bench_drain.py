"""The dispatcher's drain against a plain httpx loop: `python benchmarks/bench_drain.py [--quick] [--json]`.

A sandbox process stands in for the providers, as in `receiptdesk demo --headless`. A backlog is made
once: the simulated POS (a process of its own) posts a burst of sales through the real local API while
the dispatcher is stopped, so each sale queues an e-mail (SendGrid) and, for most, a text (Twilio). The
data folder is then copied for every round, and each round measures, one after the other:

- the reference: a plain httpx loop posting texts to the same sandbox (16 tasks over 8 connections, as
  the demo's calibration does), requests per second;
- the drain: a fresh runtime on a copy of the backlog, dispatcher started, deliveries per second until
  nothing is active.

The ratio (`drain_vs_plain_httpx`, higher is better) is the median over the rounds of each round's
drain over its own reference. Beside it: the CPU each delivery and each plain request cost this process,
and per thread during each drain (the event loop, the database writer) with the sandbox's, on Linux.

`--processes N` drains each round's copy with N `receiptdesk serve` processes sharing the one SQLite
file instead, timed from the first attempt's start to the last one's end as recorded (start-up not
counted). `--concurrency N` sets `[dispatch] concurrency`. `--py-spy FILE` records the first round's
drain with py-spy (raw format, this process only, `--threads`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from app.config.settings import Settings
from app.demo.headless import (
    DEMO_ROUTING,
    DemoOptions,
    _plain_loop_ceiling,
    _run_pos,
    _sandbox,
    _wait_drained,
    demo_api,
)
from app.demo.wiring import demo_texts, sandbox_secrets, sandbox_settings
from app.main import build_runtime
from app.sandbox import credentials
from app.support.asgi_server import start_asgi_server

PLAIN_REQUESTS = 1000
THREADS: list[dict[str, float]] = []
CONCURRENCY: int | None = None
"""`[dispatch] concurrency` of the drain (None: the settings' default), from `--concurrency`."""


def children_cpu() -> float:
    """CPU seconds of this process's child processes still running (the sandbox); 0 off Linux."""
    if not sys.platform.startswith("linux"):
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid() and b"py-spy" not in stat.with_name("cmdline").read_bytes():
                total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            continue
    return total


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process, by name; empty off Linux."""
    if not sys.platform.startswith("linux"):
        return {}
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[thread.name] = found.get(thread.name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return found


def _settings(sandbox_url: str) -> Settings:
    settings = demo_texts(demo_api(sandbox_settings(Settings(), sandbox_url, routing=DEMO_ROUTING)))
    if CONCURRENCY is None:
        return settings
    dispatch = settings.dispatch.model_copy(update={"concurrency": CONCURRENCY})
    return settings.model_copy(update={"dispatch": dispatch})


async def make_backlog(data: Path, sandbox_url: str, sales: int) -> int:
    """Post `sales` sales through the API with the dispatcher stopped; the deliveries queued."""
    runtime = build_runtime(_settings(sandbox_url), data=data, secrets=sandbox_secrets(sandbox_url))
    try:
        token = (await runtime.tokens.create("bench-pos", ["sales:write"], actor="bench")).token
        api = await start_asgi_server(runtime.local_api(), name="api")
        try:
            run = await _run_pos(api.url, token, "burst", sales, DemoOptions(sales=sales), first=1)
        finally:
            await api.stop()
        if run["errors"]:
            raise SystemExit(f"the simulated POS had errors: {run['errors'][:3]}")
        await runtime.tokens.revoke("bench-pos", actor="bench")
        return (await runtime.receipts.queue_status()).by_state.get("queued", 0)
    finally:
        await runtime.close()


@contextlib.contextmanager
def py_spy(out: Path | None) -> Iterator[None]:
    """py-spy recording this process while the block runs (nothing when `out` is None)."""
    if out is None:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    proc = subprocess.Popen(
        [str(spy), "record", "--pid", str(os.getpid()), "--format", "raw", "--threads", "-r", "200", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


async def drain_in_process(data: Path, sandbox_url: str, profile: Path | None) -> tuple[int, float, float]:
    runtime = build_runtime(_settings(sandbox_url), data=data, secrets=sandbox_secrets(sandbox_url))
    try:
        backlog = (await runtime.receipts.queue_status()).by_state.get("queued", 0)
        with py_spy(profile):
            started, cpu, threads = time.perf_counter(), time.process_time(), thread_cpu()
            threads["sandbox"] = children_cpu()
            runtime.start_dispatching()
            await _wait_drained(runtime, 600)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            after = thread_cpu()
            after["sandbox"] = children_cpu()
            THREADS.append(
                {k: round(v - threads.get(k, 0.0), 2) for k, v in after.items() if v - threads.get(k, 0.0) > 0}
            )
        await runtime.dispatcher.stop()
        state = (await runtime.receipts.queue_status()).by_state
        if set(state) - {"sent", "delivered"}:
            raise SystemExit(f"the drain left deliveries in other states: {state}")
        return backlog, seconds, cpu
    finally:
        await runtime.close()


async def drain_in_processes(root: Path, data: Path, count: int, sandbox_url: str) -> tuple[int, float]:
    """`count` `receiptdesk serve` processes on the one SQLite file, each with its own data folder.

    The backlog is made due only once every process is up, and the drain is timed from the first attempt's
    start to the last one's end as the database recorded them: process start-up is not counted.
    """
    from sqlalchemy import create_engine, text

    database = data / "receiptdesk.db"
    config = _write_config(root / f"{data.name}.toml", sandbox_url, f"sqlite:///{database}")
    engine = create_engine(f"sqlite:///{database}")
    active = "SELECT count(*) FROM deliveries WHERE state IN ('queued', 'sending', 'unknown')"
    with engine.begin() as c:
        backlog = int(c.execute(text(active)).scalar_one())
        c.execute(text("UPDATE deliveries SET next_attempt_at = '2999-01-01 00:00:00' WHERE state = 'queued'"))
    env = {**os.environ, **_secret_env(), "PYTHONUNBUFFERED": "1"}
    procs: list[asyncio.subprocess.Process] = []
    try:
        for n in range(count):
            log = root / f"{data.name}-serve-{n}.log"
            folder = root / f"{data.name}-serve-{n}"
            with log.open("wb") as out:
                args = ["--config", str(config), "--data-dir", str(folder), "serve"]
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "app", *args, env=env, stdout=out, stderr=out
                    )
                )
            while "http://" not in log.read_text("utf-8", "replace"):
                if procs[-1].returncode is not None:
                    raise SystemExit(f"serve did not start: {log.read_text('utf-8', 'replace')[-2000:]}")
                await asyncio.sleep(0.05)
        with engine.begin() as c:
            c.execute(text("UPDATE deliveries SET next_attempt_at = '2000-01-01 00:00:00' WHERE state = 'queued'"))
        while True:
            with engine.connect() as c:
                if not int(c.execute(text(active)).scalar_one()):
                    break
            if any(p.returncode is not None for p in procs):
                raise SystemExit("a serve process ended during the drain")
            await asyncio.sleep(0.05)
        with engine.connect() as c:
            first, last = c.execute(text("SELECT min(started_at), max(finished_at) FROM delivery_attempts")).one()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            await asyncio.wait_for(p.wait(), 30)
        engine.dispose()
    seconds = (datetime.fromisoformat(str(last)) - datetime.fromisoformat(str(first))).total_seconds()
    return backlog, seconds


def _secret_env() -> dict[str, str]:
    return {
        "RECEIPTDESK_TWILIO_AUTH_TOKEN": credentials.TWILIO_AUTH_TOKEN,
        "RECEIPTDESK_SENDGRID_API_KEY": credentials.SENDGRID_API_KEY,
    }


def _write_config(path: Path, sandbox_url: str, database_url: str) -> Path:
    """A settings file for `serve` processes: the demo's store and providers at the sandbox, one database."""
    path.write_text(
        f"""[database]
url = "{database_url}"

[store]
name = "Bench Market"
address = "1 Bench Street, Testville"
phone = "(555) 010-0000"

[api]
port = 0

[texts]
per_number_per_day = 1000
new_number_alarm_per_hour = 100000

[routing]
email = "sendgrid"
sms = "twilio"

[providers.twilio]
account_sid = "{credentials.TWILIO_ACCOUNT_SID}"
from_number = "{credentials.TWILIO_FROM}"
base_url = "{sandbox_url}"
rate_per_sec = 0

[providers.sendgrid]
from_email = "{credentials.SENDGRID_FROM}"
base_url = "{sandbox_url}"
""",
        encoding="utf-8",
    )
    return path


async def run(options: argparse.Namespace) -> dict[str, Any]:
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="receiptdesk-bench-drain-") as tmp:
        root = Path(tmp)
        template = root / "template"
        async with _sandbox(False) as sandbox_url:
            backlog = await make_backlog(template, sandbox_url, options.sales)
            async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=8)) as client:
                for n in range(options.rounds):
                    cpu = time.process_time()
                    plain = await _plain_loop_ceiling(client, sandbox_url, options.plain_requests)
                    plain_cpu = (time.process_time() - cpu) / options.plain_requests
                    data = root / f"round-{n}"
                    shutil.copytree(template, data)
                    drain_cpu: float | None = None
                    if options.processes:
                        drained, seconds = await drain_in_processes(root, data, options.processes, sandbox_url)
                    else:
                        profile = options.py_spy if n == 0 else None
                        drained, seconds, cpu = await drain_in_process(data, sandbox_url, profile)
                        drain_cpu = cpu / drained
                    (await client.delete(f"{sandbox_url}/_sandbox/messages")).raise_for_status()
                    shutil.rmtree(data, ignore_errors=True)
                    figures: dict[str, Any] = {
                        "plain_req_per_s": plain,
                        "drain_per_s": round(drained / seconds, 1),
                        "plain_cpu_ms_per_request": round(plain_cpu * 1000, 3),
                        "drain_cpu_ms_per_delivery": None if drain_cpu is None else round(drain_cpu * 1000, 3),
                    }
                    rounds.append(figures)
                    if not options.json:
                        print(f"round {n + 1}: " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
    plain_median = statistics.median(r["plain_req_per_s"] for r in rounds)
    drain_median = statistics.median(r["drain_per_s"] for r in rounds)
    ratio = statistics.median(r["drain_per_s"] / r["plain_req_per_s"] for r in rounds)  # each beside its own
    return {
        "ratios": {"drain_vs_plain_httpx": round(ratio, 3)},
        "deliveries": backlog,
        "processes": options.processes or 1,
        "drain_per_s": drain_median,
        "plain_httpx_req_per_s": plain_median,
        "rounds": rounds,
        "drain_thread_cpu_s": THREADS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run: 250 sales, 3 rounds")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--sales", type=int, default=None, help="sales in the backlog (default 1200; 250 with --quick)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of reference + drain (default 5; 3 quick)")
    parser.add_argument("--plain-requests", type=int, default=PLAIN_REQUESTS, help="requests of the reference loop")
    parser.add_argument("--processes", type=int, default=0, help="drain with N `serve` processes on one database")
    parser.add_argument("--concurrency", type=int, default=None, help="the dispatcher's workers (default: settings)")
    parser.add_argument("--py-spy", type=Path, default=None, help="record the first round's drain with py-spy")
    options = parser.parse_args()
    options.sales = options.sales or (250 if options.quick else 1200)
    options.rounds = options.rounds or (3 if options.quick else 5)
    if options.quick:
        options.plain_requests = min(options.plain_requests, 400)
    global CONCURRENCY
    CONCURRENCY = options.concurrency
    sys.setswitchinterval(0.001)  # as `receiptdesk` itself runs (app/cli.py)
    figures = asyncio.run(run(options))
    if options.json:
        print(json.dumps(figures))
        return
    print(
        f"Drain of {figures['deliveries']} deliveries ({figures['processes']} process(es)): "
        f"{figures['drain_per_s']} deliveries/s; plain httpx loop {figures['plain_httpx_req_per_s']} requests/s; "
        f"ratio {figures['ratios']['drain_vs_plain_httpx']}"
    )


if __name__ == "__main__":
    main()
