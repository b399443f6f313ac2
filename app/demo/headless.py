"""`receiptdesk demo --headless`: a simulated POS posts sales through the real API into the sandbox.

Three phases, each measured: a paced phase (a busy lane's rate, dispatcher running) for the
sale-to-accepted latency a cashier would feel; a burst (dispatcher paused) for how many sales per
second the API accepts; and a drain of that backlog to the sandbox for deliveries per second.
Everything crosses real loopback HTTP: POS -> local API, dispatcher -> sandbox server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.config.settings import Settings
from app.demo.store_app import run_store_app
from app.demo.wiring import demo_texts, sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.delivery import ACTIVE
from app.main import Runtime, build_runtime, settle_heap
from app.sandbox import credentials as sandbox_credentials
from app.sandbox.oauth_tokens import SERVICE_ACCOUNT_JSON, SERVICE_ACCOUNT_VARIABLE
from app.sandbox.pos_load import TOKEN_VARIABLE
from app.sandbox.server import start_sandbox
from app.support.asgi_server import start_asgi_server

WARMUP = 10
"""Sales posted before the paced phase and not timed: the first connection and cold caches."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    sales: int = 2000
    paced_sales: int = 200
    paced_rate: float = 20.0
    concurrency: int = 8
    sandbox_process: bool = True
    seed: int = 7
    ceiling_requests: int = 1000
    data_dir: Path | None = None


def _percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {
        "p50_ms": round(q[49] * 1000, 2),
        "p95_ms": round(q[94] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


@contextlib.asynccontextmanager
async def _sandbox(in_process: bool) -> AsyncIterator[str]:
    """A provider sandbox on loopback: a child process (like a remote provider), or in this loop."""
    if in_process:
        running = await start_sandbox()
        try:
            yield running.url
        finally:
            await running.stop()
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "sandbox",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, SERVICE_ACCOUNT_VARIABLE: SERVICE_ACCOUNT_JSON},  # the key our FCM adapter signs with
    )
    try:
        assert child.stdout is not None
        line = (await asyncio.wait_for(child.stdout.readline(), 30)).decode()
        if "http://" not in line:
            raise RuntimeError("the sandbox process did not start")
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        child.terminate()
        await asyncio.wait_for(child.wait(), 10)


async def _run_pos(
    api_url: str, token: str, mode: str, count: int, options: DemoOptions, first: int, warmup: int = 0
) -> dict[str, Any]:
    """Run the simulated POS in its own process (as a real POS is another machine) and collect its timings.

    Its API token goes in its environment, where other users' processes cannot read it (its command line
    they can).
    """
    args = [
        api_url,
        "--mode",
        mode,
        "--count",
        str(count),
        "--rate",
        str(options.paced_rate),
        "--concurrency",
        str(options.concurrency),
        "--seed",
        str(options.seed + first),
        "--first",
        str(first),
        "--warmup",
        str(warmup),
    ]
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.sandbox.pos_load",
        *args,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, TOKEN_VARIABLE: token},
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the simulated POS failed (exit {child.returncode})")
    result: dict[str, Any] = json.loads(out)
    return result


async def _plain_loop_ceiling(client: httpx.AsyncClient, sandbox_url: str, requests: int) -> float:
    """Requests/s of a bare httpx loop posting SMS to the same sandbox: the ceiling to compare with."""
    if requests <= 0:
        return 0.0
    url = f"{sandbox_url}/2010-04-01/Accounts/{sandbox_credentials.TWILIO_ACCOUNT_SID}/Messages.json"
    auth = (sandbox_credentials.TWILIO_ACCOUNT_SID, sandbox_credentials.TWILIO_AUTH_TOKEN)
    form = {"To": "+12175550100", "From": sandbox_credentials.TWILIO_FROM, "Body": "calibration"}
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            (await client.post(url, data=form, auth=auth)).raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(16)))
    elapsed = time.perf_counter() - started
    (await client.delete(f"{sandbox_url}/_sandbox/messages")).raise_for_status()
    return round(requests / elapsed, 1)


async def _wait_drained(runtime: Runtime, limit_s: float) -> None:
    deadline = time.perf_counter() + limit_s
    active = {s.value for s in ACTIVE}
    while time.perf_counter() < deadline:
        status = await runtime.receipts.queue_status()
        if not any(n for state, n in status.by_state.items() if state in active):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the outbox did not drain in time")


async def run_headless(options: DemoOptions) -> dict[str, Any]:
    """Run the whole demo and return its figures."""
    with tempfile.TemporaryDirectory(prefix="receiptdesk-demo-") as tmp:
        data = options.data_dir or Path(tmp)
        async with _sandbox(not options.sandbox_process) as sandbox_url:
            settings = demo_texts(demo_api(sandbox_settings(Settings(), sandbox_url, routing=DEMO_ROUTING)))
            runtime = build_runtime(settings, data=data, secrets=sandbox_secrets(sandbox_url))
            pos_client = _pos_client_name()
            token = (await runtime.tokens.create(pos_client, ["sales:write"], actor="demo")).token
            app_client = f"demo-app-{pos_client.rsplit('-', 1)[-1]}"
            app_token = (await runtime.tokens.create(app_client, ["devices:write"], actor="demo")).token
            api = await start_asgi_server(
                runtime.local_api(),
                name="api",
            )
            try:
                async with httpx.AsyncClient(
                    base_url=api.url, timeout=30, limits=httpx.Limits(max_connections=options.concurrency)
                ) as client:
                    ceiling = await _plain_loop_ceiling(client, sandbox_url, options.ceiling_requests)
                    settle_heap()  # as `serve` and the kiosk do once started
                    paced_n = min(options.paced_sales, options.sales)
                    runtime.start_dispatching()
                    paced_run = await _run_pos(api.url, token, "paced", paced_n, options, first=1, warmup=WARMUP)
                    paced = paced_run["latencies"]
                    push = await run_store_app(client, app_token=app_token, pos_token=token, seed=options.seed)
                    await _wait_drained(runtime, 60)
                    pushed = (await client.get(f"{sandbox_url}/_sandbox/messages?provider=fcm&limit=1")).json()
                    await runtime.dispatcher.stop()

                    burst_n = options.sales - paced_n
                    burst_run = await _run_pos(api.url, token, "burst", burst_n, options, first=WARMUP + paced_n + 1)
                    burst, burst_s = burst_run["latencies"], burst_run["seconds"]
                    backlog = (await runtime.receipts.queue_status()).by_state.get("queued", 0)

                    t1 = time.perf_counter()
                    runtime.start_dispatching()
                    await _wait_drained(runtime, 600)
                    drain_s = time.perf_counter() - t1
                    status = await runtime.receipts.queue_status()
                    receipts_created = await runtime.receipts.count()
                    sandbox_count = (await client.get(f"{sandbox_url}/_sandbox/messages?limit=1")).json()["count"]
            finally:
                await api.stop()
                await runtime.tokens.revoke(pos_client, actor="demo")  # a demo's data folder keeps no live token
                await runtime.tokens.revoke(app_client, actor="demo")
                await runtime.close()
    return {
        "sales": options.sales + WARMUP + (1 if push.receipt_id else 0),  # the store app's member buys once
        "warmup_sales": WARMUP,
        "plain_httpx_loop_req_per_s": ceiling,
        "receipts_created": receipts_created,
        "deliveries_by_state": status.by_state,
        "messages_at_sandbox": sandbox_count,
        "store_app": {
            "device_id": push.device_id,
            "push_receipt": push.receipt_id,
            "push_deliveries": push.push_deliveries,
            "push_at_sandbox_fcm": pushed["count"],
        },
        "pos_errors": (paced_run["errors"] + burst_run["errors"])[:5],
        "paced": {"sales": paced_n, "rate_per_s": options.paced_rate, **_percentiles(paced)},
        "burst": {
            "sales": burst_n,
            "concurrency": options.concurrency,
            "sales_per_s": round(burst_n / burst_s, 1) if burst_s else None,
            **_percentiles(burst),
        },
        "drain": {
            "deliveries": backlog,
            "seconds": round(drain_s, 3),
            "deliveries_per_s": round(backlog / drain_s, 1) if drain_s else None,
        },
        "peak_rss_mb": _peak_rss_mb(),
        "child_process_peak_rss_mb": _children_peak_rss_mb(),
    }


DEMO_ROUTING: dict[Channel, str | list[str]] = {
    Channel.EMAIL: "sendgrid",
    Channel.SMS: "twilio",
    Channel.PUSH: "fcm",  # the store app's member (app/demo/store_app.py)
}


def demo_api(settings: Settings) -> Settings:
    """The demo's settings with a request budget its burst of sales stays within."""
    return settings.model_copy(update={"api": settings.api.model_copy(update={"requests_per_minute": 100_000})})


def _pos_client_name() -> str:
    """A name for this run's simulated POS (a demo given a data folder may run there again)."""
    return f"demo-pos-{uuid.uuid4().hex[:8]}"


def _peak_rss_mb() -> float:
    """This process's peak resident size."""
    if sys.platform == "win32":
        return _windows_peak_working_set_mb()
    import resource  # POSIX only: imported here so the module loads on Windows

    return _rusage_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _children_peak_rss_mb() -> float | None:
    """The largest peak resident size of any finished child process (the sandbox, the simulated POS).

    None on Windows, which keeps no such figure for a process's children.
    """
    if sys.platform == "win32":
        return None
    import resource

    return _rusage_mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def _rusage_mb(maxrss: int) -> float:
    """`ru_maxrss` in MB: Linux counts it in KiB, macOS in bytes."""
    return round(maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _windows_peak_working_set_mb() -> float:
    """PeakWorkingSetSize from GetProcessMemoryInfo (psapi), Windows' peak resident size."""
    if sys.platform != "win32":  # and so type-checked as Windows code only
        return 0.0
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):
        _fields_ = [
            ("cb", wintypes.DWORD),
            ("PageFaultCount", wintypes.DWORD),
            ("PeakWorkingSetSize", ctypes.c_size_t),
            ("WorkingSetSize", ctypes.c_size_t),
            ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
            ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
            ("PagefileUsage", ctypes.c_size_t),
            ("PeakPagefileUsage", ctypes.c_size_t),
        ]

    counters = Counters()
    counters.cb = ctypes.sizeof(counters)
    process = ctypes.windll.kernel32.GetCurrentProcess()
    if not ctypes.windll.psapi.GetProcessMemoryInfo(process, ctypes.byref(counters), counters.cb):
        return 0.0
    return round(float(counters.PeakWorkingSetSize) / (1024 * 1024), 1)


def _mb(value: float | None) -> str:
    return "not measured on this platform" if value is None else f"{value} MB"


def format_report(figures: dict[str, Any]) -> str:
    p, b, d = figures["paced"], figures["burst"], figures["drain"]
    lines = [
        f"Sales posted:        {figures['sales']} ({figures['warmup_sales']} of them warm-up, one by the store "
        "app's member), "
        f"receipts created {figures['receipts_created']}",
        f"Plain httpx loop to the sandbox: {figures['plain_httpx_loop_req_per_s']} requests/s (this machine's ceiling)",
        f"Deliveries by state: {', '.join(f'{k} {v}' for k, v in sorted(figures['deliveries_by_state'].items()))}",
        f"Messages at sandbox: {figures['messages_at_sandbox']}",
        f"Store app: device {figures['store_app']['device_id']} registered, "
        f"{figures['store_app']['push_at_sandbox_fcm']} push receipt(s) at the sandbox's FCM",
        f"Paced {p['sales']} sales at {p['rate_per_s']}/s: sale-to-accepted p50 {p['p50_ms']} ms, "
        f"p95 {p['p95_ms']} ms, p99 {p['p99_ms']} ms",
        f"Burst {b['sales']} sales x{b['concurrency']}: {b['sales_per_s']} sales/s accepted, "
        f"p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms",
        f"Drain {d['deliveries']} deliveries: {d['deliveries_per_s']} deliveries/s ({d['seconds']} s)",
        f"Peak memory: {figures['peak_rss_mb']} MB "
        f"(largest child process: {_mb(figures['child_process_peak_rss_mb'])})",
    ]
    if figures["pos_errors"]:
        lines.append(f"POS errors: {figures['pos_errors']}")
    return "\n".join(lines)
