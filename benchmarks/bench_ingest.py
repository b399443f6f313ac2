"""Sales ingest through the local API, next to an empty request to the same API: `python benchmarks/bench_ingest.py`.

Three processes, as in a store: the provider sandbox, the API (a runtime as `serve` builds it, over
SQLite in a temporary folder) and the simulated POS lanes (this process, httpx over loopback). The
API process also serves `POST /v1/bench/empty`, an authenticated route that reads the body and
answers `202 {}`: it crosses the same middleware (host guard, token check with its database read,
budgets, body limit) and the same FastAPI routing as `POST /v1/sales`, and does nothing else. Each
figure is measured next to that reference, with the same payloads, the same client and the same
concurrency, in the same run:

- burst: N sales as fast as 8 concurrent lanes can post them (dispatcher paused), then N empty
  requests the same way. `burst_vs_empty_request` = sales/s ÷ empty requests/s.
- paced: sales at 20/s with the dispatcher delivering each to the sandbox, and an empty request
  between each two sales (offset by half a period), so both see the same server.
  `paced_p99_empty_over_sale` = empty request p99 ÷ sale p99 (sale posted to 202 accepted).

Also `api_cpu_empty_over_sale` = the API process's CPU per empty request ÷ its CPU per sale in the
burst (user + system, from /proc): the steadiest of the three on a shared machine, since it does not
depend on how much of the cores other processes take. All three are higher-is-better and at most
about 1. Also printed: each side's rate, percentiles and CPU per request.
`--quick` runs 400 burst and 100 paced sales (about 15 s); the default 2000 and 200. `--py-spy FILE`
records the API process with py-spy (raw format, every thread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from fastapi import Request, Response  # noqa: E402

from app.sandbox.pos import make_sale  # noqa: E402

EMPTY = "/v1/bench/empty"
CONCURRENCY = 8
PACED_RATE = 20.0
WARMUP = 20


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {"p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2)}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the API process ----------------------------------------------------------------------------


async def _serve(sandbox_url: str, data: Path) -> None:
    """Build the runtime as the headless demo does, serve it, and obey `dispatch`/`pause`/`stop` on stdin."""
    from app.config.settings import Settings
    from app.demo.headless import DEMO_ROUTING, demo_api
    from app.demo.wiring import demo_texts, sandbox_secrets, sandbox_settings
    from app.main import build_runtime, settle_heap
    from app.support.asgi_server import start_asgi_server

    settings = demo_texts(demo_api(sandbox_settings(Settings(), sandbox_url, routing=DEMO_ROUTING)))
    runtime = build_runtime(settings, data=data, secrets=sandbox_secrets(sandbox_url))
    sales_token = (await runtime.tokens.create("bench-pos", ["sales:write"], actor="bench")).token
    empty_token = (await runtime.tokens.create("bench-empty", ["admin"], actor="bench")).token
    api = runtime.local_api()

    async def empty(request: Request) -> Response:
        await request.body()
        return Response(b"{}", status_code=202, media_type="application/json")

    api.add_api_route(EMPTY, empty, methods=["POST"], include_in_schema=False)
    server = await start_asgi_server(api, name="api")
    settle_heap()
    loop = asyncio.get_running_loop()
    print(json.dumps({"url": server.url, "sales": sales_token, "empty": empty_token, "pid": os.getpid()}), flush=True)
    try:
        while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
            if line == "dispatch":
                runtime.start_dispatching()
            elif line == "pause":
                await runtime.dispatcher.stop()
            elif line == "stop":
                break
            print("ok", flush=True)
    finally:
        await server.stop()
        await runtime.close()


def _serve_main(sandbox_url: str, data: str) -> None:
    try:
        from app.commands.serving import run_event_loop
    except ImportError:  # an older tree, measured for comparison
        asyncio.run(_serve(sandbox_url, Path(data)))
        return
    run_event_loop(_serve(sandbox_url, Path(data)))


# -- the lanes ----------------------------------------------------------------------------------


class Lanes:
    def __init__(self, url: str, tokens: dict[str, str], seed: int) -> None:
        self._rng = random.Random(seed)
        self._next = 0
        self._tokens = tokens
        self.client = httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=CONCURRENCY))
        self.errors: list[str] = []

    def payload(self) -> dict[str, Any]:
        self._next += 1
        return make_sale(self._rng, sale_id=f"B{self._next:07d}", lane=str(1 + self._next % 8))

    async def post(self, kind: str, payload: dict[str, Any]) -> float:
        path = "/v1/sales" if kind == "sales" else EMPTY
        headers = {"Authorization": f"Bearer {self._tokens[kind]}"}
        started = time.perf_counter()
        response = await self.client.post(path, json=payload, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 202:
            self.errors.append(f"{kind} {response.status_code}: {response.text[:200]}")
        return elapsed

    async def burst(self, kind: str, count: int) -> tuple[float, list[float]]:
        payloads = [self.payload() for _ in range(count)]
        latencies: list[float] = []

        async def lane() -> None:
            while payloads:
                latencies.append(await self.post(kind, payloads.pop()))

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started, latencies

    async def paced(self, count: int) -> tuple[list[float], list[float]]:
        """`count` sales at 20/s, and an empty request half a period after each."""
        sales: list[asyncio.Task[float]] = []
        empties: list[asyncio.Task[float]] = []
        start = time.perf_counter()
        for i in range(2 * count):
            delay = start + i / (2 * PACED_RATE) - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            kind = "sales" if i % 2 == 0 else "empty"
            task = asyncio.create_task(self.post(kind, self.payload()))
            (sales if kind == "sales" else empties).append(task)
        return list(await asyncio.gather(*sales)), list(await asyncio.gather(*empties))


async def _measure(
    url: str, tokens: dict[str, str], server: subprocess.Popen[str], api_pid: int, sales: int, paced: int
) -> dict[str, Any]:
    assert server.stdin is not None and server.stdout is not None

    def command(word: str) -> None:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(word + "\n")
        server.stdin.flush()
        if server.stdout.readline().strip() != "ok":
            raise SystemExit(f"the API process did not take {word!r}")

    lanes = Lanes(url, tokens, seed=11)
    try:
        for _ in range(WARMUP):
            await lanes.post("sales", lanes.payload())
            await lanes.post("empty", lanes.payload())
        command("dispatch")
        paced_sales, paced_empty = await lanes.paced(paced)
        command("pause")
        figures: dict[str, Any] = {}
        for kind in ("empty", "sales"):
            cpu = _cpu_seconds(api_pid)
            seconds, latencies = await lanes.burst(kind, sales)
            figures[kind] = {
                "per_s": round(sales / seconds, 1),
                **_percentiles(latencies),
                "api_cpu_ms_each": round((_cpu_seconds(api_pid) - cpu) / sales * 1000, 2),
            }
    finally:
        await lanes.client.aclose()
    ps, pe = _percentiles(paced_sales), _percentiles(paced_empty)
    return {
        "ratios": {
            "burst_vs_empty_request": round(figures["sales"]["per_s"] / figures["empty"]["per_s"], 3),
            "paced_p99_empty_over_sale": round(pe["p99_ms"] / ps["p99_ms"], 3),
            "api_cpu_empty_over_sale": round(
                figures["empty"]["api_cpu_ms_each"] / figures["sales"]["api_cpu_ms_each"], 3
            ),
        },
        "burst": {"sales": sales, "concurrency": CONCURRENCY, "sale": figures["sales"], "empty": figures["empty"]},
        "paced": {"sales": paced, "rate_per_s": PACED_RATE, "sale": ps, "empty": pe},
        "errors": lanes.errors[:5],
    }


def run(sales: int, paced: int, tree: Path, profile: Path | None = None) -> dict[str, Any]:
    from app.sandbox.oauth_tokens import SERVICE_ACCOUNT_JSON, SERVICE_ACCOUNT_VARIABLE

    env = {**os.environ, "PYTHONPATH": str(tree), SERVICE_ACCOUNT_VARIABLE: SERVICE_ACCOUNT_JSON}
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "app", "sandbox", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env, cwd=tree
    )
    server: subprocess.Popen[str] | None = None
    try:
        assert sandbox.stdout is not None
        sandbox_url = sandbox.stdout.readline().strip().rsplit(" ", 1)[-1]
        with tempfile.TemporaryDirectory(prefix="receiptdesk-bench-ingest-") as data:
            argv = [sys.executable, str(Path(__file__).resolve()), "--serve", sandbox_url, data]
            if profile is not None:  # the API process's every thread, sampled for the whole run
                spy = Path(sys.executable).with_name("py-spy")
                argv = [str(spy), "record", "--threads", "--format", "raw", "-o", str(profile), "--", *argv]
            server = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=tree,
            )
            assert server.stdout is not None
            line = server.stdout.readline()
            while line and not line.startswith("{"):  # py-spy's own words, when profiling
                line = server.stdout.readline()
            started = json.loads(line)
            api_pid = started.get("pid", server.pid)  # an older tree's API process does not say
            tokens = {"sales": started["sales"], "empty": started["empty"]}
            figures = asyncio.run(_measure(started["url"], tokens, server, api_pid, sales, paced))
            figures["api_pid"] = api_pid
            assert server.stdin is not None
            server.stdin.write("stop\n")
            server.stdin.flush()
            server.wait(30)
            return figures
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(10)
        sandbox.terminate()
        sandbox.wait(10)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        _serve_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 burst and 100 paced sales (about 15 s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sales", type=int, help="burst sales (default 2000, 400 with --quick)")
    parser.add_argument("--paced", type=int, help="paced sales (default 200, 100 with --quick)")
    parser.add_argument("--py-spy", type=Path, default=None, help="record the API process with py-spy (raw)")
    args = parser.parse_args()
    sales = args.sales or (400 if args.quick else 2000)
    paced = args.paced or (100 if args.quick else 200)
    figures = run(sales, paced, ROOT, args.py_spy)
    if args.json:
        print(json.dumps(figures))
        return
    b, p = figures["burst"], figures["paced"]
    print(
        f"burst x{CONCURRENCY}: {b['sale']['per_s']} sales/s (p99 {b['sale']['p99_ms']} ms, API CPU "
        f"{b['sale']['api_cpu_ms_each']} ms each) vs {b['empty']['per_s']} empty requests/s (p99 "
        f"{b['empty']['p99_ms']} ms, {b['empty']['api_cpu_ms_each']} ms each)"
    )
    print(
        f"paced {PACED_RATE:g}/s: sale p99 {p['sale']['p99_ms']} ms (p50 {p['sale']['p50_ms']}) vs empty request "
        f"p99 {p['empty']['p99_ms']} ms (p50 {p['empty']['p50_ms']})"
    )
    print("ratios: " + ", ".join(f"{k} {v}" for k, v in figures["ratios"].items()))
    if figures["errors"]:
        print(f"errors: {figures['errors']}")


if __name__ == "__main__":
    main()
