"""`receiptdesk serve` under a steady flow of sales: `python benchmarks/bench_soak.py [--seconds N] [--quick] [--json]`.

In a temporary folder: the provider sandbox (`receiptdesk sandbox`) and `receiptdesk serve` run as processes
of their own, the lane's settings pointing every provider at the sandbox, as a set-up lane does. This process
plays the POS: it posts sales to `POST /v1/sales` at `--rate` a second (default 20) for `--seconds` (default
an hour; `--quick` 20 s, for the CI gate), each a fresh grocery sale most of whose customers want an email or a text.
Every second it reads the serve process's resident memory (psutil where installed, else /proc).

Figures: the RSS after the warm-up (the median of the first samples once a quarter of the run, at most
five minutes, has passed) and at the end (the median of the last samples), the growth between them in
percent, the sales accepted and refused. The ratio `memory_start_over_end` is the first over the last
(higher is better; 1.0 is flat, 0.95 a 5% growth). Aim: no growth beyond 5% over an hour.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config.settings import Settings  # noqa: E402
from app.config.settings_writer import write_settings  # noqa: E402
from app.demo import lane_setup  # noqa: E402
from app.demo.headless import DEMO_ROUTING, demo_api  # noqa: E402
from app.demo.processes import Child, stop_all  # noqa: E402
from app.demo.wiring import demo_texts, sandbox_settings  # noqa: E402
from app.domain.channels import Channel  # noqa: E402
from app.sandbox.pos import make_sale  # noqa: E402

TRACE_BOOT = """
import os, signal, tracemalloc
if os.environ.get("RECEIPTDESK_SOAK_TRACE"):
    tracemalloc.start(int(os.environ.get("RECEIPTDESK_SOAK_FRAMES", "8")))
    _taken = []
    def _dump(signum, frame):
        _taken.append(1)
        tracemalloc.take_snapshot().dump(os.path.join(os.environ["RECEIPTDESK_SOAK_TRACE"], f"{len(_taken)}.snap"))
    signal.signal(signal.SIGUSR1, _dump)
"""
"""`--trace`: a `sitecustomize` for the serve process that traces its allocations and writes a snapshot
of them at each SIGUSR1 (nothing of the product is changed for it)."""

AIM_GROWTH_PCT = 5.0
WINDOW = 5
"""Samples (one a second) whose median is the memory at the start and at the end."""


def rss_mb(pid: int) -> float:
    """Resident memory of the process `pid` in MB: psutil where installed, else Linux's /proc."""
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc: install psutil to measure memory here") from None
    return float(psutil.Process(pid).memory_info().rss) / 2**20


def lane_settings(sandbox_url: str) -> Settings:
    """A lane with the sandbox's providers (no hub, no platform polls), listening on a free port."""
    routing: dict[Channel, str | list[str]] = {c: p for c, p in DEMO_ROUTING.items() if c is not Channel.PUSH}
    settings = demo_texts(demo_api(sandbox_settings(Settings(), sandbox_url, routing=routing)))
    return settings.model_copy(update={"api": settings.api.model_copy(update={"port": 0}), "platforms": {}})


async def pos(
    url: str, token: str, store_id: str, rate: float, seconds: float, serve_pid: int, trace: Path | None = None
) -> tuple[list[tuple[float, float]], dict[str, int]]:
    """Post sales at `rate`/s for `seconds`, sampling the serve process's RSS each second."""
    rng = random.Random(18)
    counts = {"accepted": 0, "refused": 0, "failed": 0}
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30, limits=limits) as client:
        in_flight: set[asyncio.Task[None]] = set()

        async def post(n: int) -> None:
            sale = make_sale(rng, sale_id=f"SOAK-{n:08d}", store_id=store_id, lane="1")
            try:
                answer = await client.post("/v1/sales", json=sale)
            except httpx.HTTPError:
                counts["failed"] += 1
                return
            counts["accepted" if answer.status_code in (200, 201, 202) else "refused"] += 1

        async def sample() -> None:
            snapped = False
            while True:
                at = time.monotonic() - started
                samples.append((at, rss_mb(serve_pid)))
                if trace is not None and not snapped and at >= warmup_of(seconds):
                    os.kill(serve_pid, signal.SIGUSR1)  # the snapshot after the warm-up
                    snapped = True
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        n = 0
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * rate) + 1
            while n < due:
                n += 1
                task = asyncio.create_task(post(n))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            await asyncio.sleep(max(0.0, n / rate - (time.monotonic() - started)))
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        if in_flight:
            await asyncio.wait(in_flight, timeout=30)
        samples.append((time.monotonic() - started, rss_mb(serve_pid)))
        if trace is not None:
            os.kill(serve_pid, signal.SIGUSR1)  # the snapshot at the end
    return samples, counts


def warmup_of(seconds: float) -> float:
    return min(300.0, seconds / 4)


def grown(trace: Path, top: int = 15) -> list[str]:
    """The lines of code whose live allocations grew most between the two snapshots."""
    import tracemalloc

    for _ in range(600):
        if (trace / "2.snap").exists():
            break
        time.sleep(0.1)
    time.sleep(1.0)  # the second snapshot written whole
    first = tracemalloc.Snapshot.load(str(trace / "1.snap"))
    last = tracemalloc.Snapshot.load(str(trace / "2.snap"))
    diff = last.compare_to(first, "traceback")
    lines = []
    for stat in diff[:top]:
        frames = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback[:4])
        lines.append(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {frames}")
    return lines


def figures(samples: list[tuple[float, float]], counts: dict[str, int], seconds: float, rate: float) -> dict[str, Any]:
    warmup = warmup_of(seconds)
    every = max(1, int(seconds // 30))
    after = [mb for at, mb in samples if at >= warmup]
    first = statistics.median(after[:WINDOW])
    last = statistics.median(after[-WINDOW:])
    growth = (last - first) / first * 100
    return {
        "seconds": seconds,
        "rate_per_s": rate,
        "warmup_s": warmup,
        "sales": counts,
        "rss_first_mb": round(first, 1),
        "rss_last_mb": round(last, 1),
        "rss_peak_mb": round(max(mb for _, mb in samples), 1),
        "growth_pct": round(growth, 2),
        "aim_growth_pct": AIM_GROWTH_PCT,
        "series_every_s": every,
        "rss_series_mb": [round(mb, 1) for at, mb in samples if int(at) % every == 0],
        "ratios": {"memory_start_over_end": round(first / last, 4)},
    }


async def soak(folder: Path, seconds: float, rate: float, trace: bool = False) -> dict[str, Any]:
    children: list[Child] = []
    try:
        sandbox = Child("sandbox", ["sandbox", "--port", "0"], log=folder / "sandbox.log", env=lane_setup.child_env())
        children.append(sandbox)
        sandbox.spawn()
        plan = await lane_setup.plan_lane(folder / "lane", 1, "")
        sandbox_url = await sandbox.ready()
        settings = lane_settings(sandbox_url)
        write_settings(plan.config, settings)
        env = lane_setup.child_env(sandbox_url)
        snapshots = folder / "trace" if trace else None
        if snapshots is not None:
            boot = folder / "boot"
            for made in (snapshots, boot):
                made.mkdir()
            (boot / "sitecustomize.py").write_text(TRACE_BOOT, encoding="utf-8")
            env |= {"PYTHONPATH": str(boot), "RECEIPTDESK_SOAK_TRACE": str(snapshots)}
        serve = Child("serve", plan.args(), log=folder / "serve.log", env=env)
        children.append(serve)
        url = await serve.start()
        assert serve.proc is not None
        samples, counts = await pos(url, plan.pos_token, settings.store.id, rate, seconds, serve.proc.pid, snapshots)
        found = figures(samples, counts, seconds, rate)
        if snapshots is not None:
            found["grown_most"] = await asyncio.to_thread(grown, snapshots)
        return found
    finally:
        stop_all(children)


def _stopped(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, help="how long the sales flow (default 3600; --quick 20)")
    parser.add_argument("--rate", type=float, default=20.0, help="sales a second (default 20)")
    parser.add_argument("--quick", action="store_true", help="20 seconds: for the CI gate")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--trace", action="store_true", help="trace serve's allocations; print what grew most after the warm-up"
    )
    options = parser.parse_args()
    seconds = options.seconds or (20.0 if options.quick else 3600.0)
    signal.signal(signal.SIGTERM, _stopped)  # the processes started are stopped on the way out
    folder = Path(tempfile.mkdtemp(prefix="receiptdesk-bench-soak-"))
    try:
        f = asyncio.run(soak(folder, seconds, options.rate, options.trace))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if options.json:
        print(json.dumps(f))
        return
    print(f"receiptdesk serve, {f['rate_per_s']:.0f} sales/s for {f['seconds']:.0f} s (warm-up {f['warmup_s']:.0f} s)")
    print(f"  sales accepted {f['sales']['accepted']}, refused {f['sales']['refused']}, failed {f['sales']['failed']}")
    print(f"  RSS after warm-up {f['rss_first_mb']:.1f} MB, at the end {f['rss_last_mb']:.1f} MB")
    print(f"  peak {f['rss_peak_mb']:.1f} MB; every {f['series_every_s']} s: {f['rss_series_mb']}")
    print(f"  growth {f['growth_pct']:+.2f}% (aim: under {AIM_GROWTH_PCT:.0f}%)")
    print(f"  memory_start_over_end {f['ratios']['memory_start_over_end']:.3f} (higher is better; 1.0 is flat)")
    for line in f.get("grown_most", []):
        print(f"  {line}")


if __name__ == "__main__":
    main()
