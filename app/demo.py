"""`receiptdesk demo --headless`: a simulated POS posts sales through the real API into the sandbox.

Three phases, each measured: a paced phase (a busy lane's rate, dispatcher running) for the
sale-to-accepted latency a cashier would feel; a burst (dispatcher paused) for how many sales per
second the API accepts; and a drain of that backlog to the sandbox for deliveries per second.
Everything crosses real loopback HTTP: POS -> local API, dispatcher -> sandbox server.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.config.settings import Settings
from app.domain.delivery import ACTIVE
from app.main import SANDBOX_SECRETS, Runtime, build_runtime, sandbox_settings
from app.sandbox import credentials as sandbox_credentials
from app.sandbox.pos import make_sale
from app.sandbox.server import start_sandbox
from app.server.api import create_api
from app.support.asgi_server import start_asgi_server


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
async def _sandbox(in_process: bool) -> AsyncIterator[tuple[str, asyncio.subprocess.Process | None]]:
    """A provider sandbox on loopback: a child process (like a remote provider), or in this loop."""
    if in_process:
        running = await start_sandbox()
        try:
            yield running.url, None
        finally:
            await running.stop()
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "sandbox", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        line = (await asyncio.wait_for(child.stdout.readline(), 30)).decode()
        if "http://" not in line:
            raise RuntimeError("the sandbox process did not start")
        yield line.strip().rsplit(" ", 1)[-1], child
    finally:
        child.terminate()
        await asyncio.wait_for(child.wait(), 10)


class _Pos:
    """The simulated POS: posts sales to the local API and times each answer."""

    def __init__(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        self._client = client
        self._rng = rng
        self._next = 0
        self.errors: list[str] = []

    def _payload(self) -> dict[str, Any]:
        self._next += 1
        return make_sale(self._rng, sale_id=f"D{self._next:06d}", lane=str(1 + self._next % 8))

    async def post(self, payload: dict[str, Any]) -> float:
        started = time.perf_counter()
        response = await self._client.post("/v1/sales", json=payload)
        elapsed = time.perf_counter() - started
        if response.status_code != 202:
            self.errors.append(f"{response.status_code}: {response.text[:200]}")
        return elapsed

    async def paced(self, count: int, rate: float) -> list[float]:
        latencies: list[float] = []
        tasks = []
        start = time.perf_counter()
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.post(self._payload())))
        latencies.extend(await asyncio.gather(*tasks))
        return latencies

    async def burst(self, count: int, concurrency: int) -> list[float]:
        payloads = [self._payload() for _ in range(count)]
        latencies: list[float] = []

        async def worker() -> None:
            while payloads:
                latencies.append(await self.post(payloads.pop()))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies


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
    rng = random.Random(options.seed)
    with tempfile.TemporaryDirectory(prefix="receiptdesk-demo-") as tmp:
        data = options.data_dir or Path(tmp)
        async with _sandbox(not options.sandbox_process) as (sandbox_url, child):
            settings = sandbox_settings(Settings(), sandbox_url)
            runtime = build_runtime(settings, data=data, secrets=SANDBOX_SECRETS)
            api = await start_asgi_server(
                create_api(
                    runtime.checkout, runtime.receipts, runtime.health, max_body_bytes=settings.api.max_body_bytes
                ),
                name="api",
            )
            try:
                async with httpx.AsyncClient(
                    base_url=api.url, timeout=30, limits=httpx.Limits(max_connections=options.concurrency)
                ) as client:
                    ceiling = await _plain_loop_ceiling(client, sandbox_url, options.ceiling_requests)
                    pos = _Pos(client, rng)
                    paced_n = min(options.paced_sales, options.sales)
                    runtime.start_dispatching()
                    paced = await pos.paced(paced_n, options.paced_rate)
                    await _wait_drained(runtime, 60)
                    await runtime.dispatcher.stop()

                    burst_n = options.sales - paced_n
                    t0 = time.perf_counter()
                    burst = await pos.burst(burst_n, options.concurrency)
                    burst_s = time.perf_counter() - t0
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
                await runtime.close()
            child_rss = _child_rss_mb(child)
    return {
        "sales": options.sales,
        "plain_httpx_loop_req_per_s": ceiling,
        "receipts_created": receipts_created,
        "deliveries_by_state": status.by_state,
        "messages_at_sandbox": sandbox_count,
        "pos_errors": pos.errors[:5],
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
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sandbox_process_rss_mb": child_rss,
    }


def _child_rss_mb(child: asyncio.subprocess.Process | None) -> float | None:
    if child is None:
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(usage.ru_maxrss / 1024, 1)


def format_report(figures: dict[str, Any]) -> str:
    p, b, d = figures["paced"], figures["burst"], figures["drain"]
    lines = [
        f"Sales posted:        {figures['sales']}  (receipts created {figures['receipts_created']})",
        f"Plain httpx loop to the sandbox: {figures['plain_httpx_loop_req_per_s']} requests/s (this machine's ceiling)",
        f"Deliveries by state: {', '.join(f'{k} {v}' for k, v in sorted(figures['deliveries_by_state'].items()))}",
        f"Messages at sandbox: {figures['messages_at_sandbox']}",
        f"Paced {p['sales']} sales at {p['rate_per_s']}/s: sale-to-accepted p50 {p['p50_ms']} ms, "
        f"p95 {p['p95_ms']} ms, p99 {p['p99_ms']} ms",
        f"Burst {b['sales']} sales x{b['concurrency']}: {b['sales_per_s']} sales/s accepted, "
        f"p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms",
        f"Drain {d['deliveries']} deliveries: {d['deliveries_per_s']} deliveries/s ({d['seconds']} s)",
        f"Peak memory: {figures['peak_rss_mb']} MB (sandbox process {figures['sandbox_process_rss_mb']} MB)",
    ]
    if figures["pos_errors"]:
        lines.append(f"POS errors: {figures['pos_errors']}")
    return "\n".join(lines)
