"""The simulated POS as its own process: posts sales to a ReceiptDesk API and times each answer.

`python -m app.sandbox.pos_load URL --mode paced|burst --count N ...` prints one JSON object with
the sale-to-accepted latencies in seconds and any errors. A POS is another machine in a store, so the
demo runs it in another process rather than sharing the API's event loop. It sends the API token it
finds in its environment (`RECEIPTDESK_API_TOKEN`), as a POS keeps its token out of its command line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from typing import Any

import httpx

from app.sandbox.pos import make_sale

TOKEN_VARIABLE = "RECEIPTDESK_API_TOKEN"  # noqa: S105 (a variable's name)
"""The environment variable the simulated POS reads its API token from."""


class SimulatedPos:
    """Posts realistic sales to `/v1/sales`."""

    def __init__(self, client: httpx.AsyncClient, rng: random.Random, *, first: int = 1) -> None:
        self._client = client
        self._rng = rng
        self._next = first - 1
        self.errors: list[str] = []

    def payload(self) -> dict[str, Any]:
        self._next += 1
        return make_sale(self._rng, sale_id=f"D{self._next:06d}", lane=str(1 + self._next % 8))

    async def post(self, payload: dict[str, Any]) -> float:
        started = time.perf_counter()
        try:
            response = await self._client.post("/v1/sales", json=payload)
        except httpx.HTTPError as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return time.perf_counter() - started
        elapsed = time.perf_counter() - started
        if response.status_code != 202:
            self.errors.append(f"{response.status_code}: {response.text[:200]}")
        return elapsed

    async def paced(self, count: int, rate: float) -> list[float]:
        """`count` sales at `rate` per second, each sent on schedule whatever the answers take."""
        tasks = []
        start = time.perf_counter()
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.post(self.payload())))
        return list(await asyncio.gather(*tasks))

    async def burst(self, count: int, concurrency: int) -> list[float]:
        """`count` sales as fast as `concurrency` lanes can post them."""
        payloads = [self.payload() for _ in range(count)]
        latencies: list[float] = []

        async def lane() -> None:
            while payloads:
                latencies.append(await self.post(payloads.pop()))

        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return latencies


async def run(
    url: str,
    mode: str,
    count: int,
    *,
    rate: float,
    concurrency: int,
    seed: int,
    first: int,
    warmup: int = 0,
    token: str | None = None,
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, headers=headers) as client:
        pos = SimulatedPos(client, random.Random(seed), first=first)
        for _ in range(warmup):  # open the connection and warm the server's caches; not timed
            await pos.post(pos.payload())
        started = time.perf_counter()
        latencies = await (pos.paced(count, rate) if mode == "paced" else pos.burst(count, concurrency))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "seconds": elapsed, "errors": pos.errors[:20]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--mode", choices=("paced", "burst"), required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--first", type=int, default=1, help="number of the first sale id")
    parser.add_argument("--warmup", type=int, default=0, help="sales posted first, not timed")
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.url,
            args.mode,
            args.count,
            rate=args.rate,
            concurrency=args.concurrency,
            seed=args.seed,
            first=args.first,
            warmup=args.warmup,
            token=os.environ.get(TOKEN_VARIABLE),
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
