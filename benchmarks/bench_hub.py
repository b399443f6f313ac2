"""Lanes pushing to a real hub: `python benchmarks/bench_hub.py [--lanes 50] [--quick] [--json]`.

Starts a throw-away PostgreSQL cluster, makes a `hub:sync` token with `receiptdesk tokens create` and runs
`receiptdesk serve --hub` on it as a process of its own. The lanes are simulated in this process (asyncio and
httpx) posting `POST /v1/hub/batches` as docs/hub.md has it; their records are a real lane's: a SQLite lane
rings a few sales, turns its change feed on (the backfill) and reads it with `change_feed.next_batch`, and
those records are copied with fresh keys as often as a figure needs. The hub side is all real; the client
side only serialises prepared records.

Figures, each beside its reference from the same run (times are printed, never judged):
1. records applied per second with every lane pushing its backlog at once, beside one lane alone;
2. catch-up: a lane back after a shift offline (5,000 receipts) pushing its whole backlog in its batches,
   seconds until the hub has acknowledged it all;
3. lane-to-hub latency at a steady pace (each lane rings a sale every few seconds and pushes it after the
   lane's own short pause, as the real push does): p50 and p99 from the sale to the hub's answer.
Aims: 1. at least 2,000 records/s; 2. under 60 s; 3. p99 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import __version__  # noqa: E402
from app.config.settings import HubSettings, Settings  # noqa: E402
from app.demo.processes import Child, receiptdesk_command  # noqa: E402
from app.demo.wiring import sandbox_secrets, sandbox_settings  # noqa: E402
from app.domain.events import TriggerEvent  # noqa: E402
from app.domain.intake import parse_sale  # noqa: E402
from app.main import build_runtime  # noqa: E402
from app.sandbox.pos import make_sale  # noqa: E402
from app.sandbox.server import start_sandbox  # noqa: E402
from app.storage import change_feed  # noqa: E402
from tests.storage.pg_cluster import private_cluster, unavailable_reason  # noqa: E402

STORE = "store-0042"
TEMPLATE_SALES = 20
"""Sales rung at the real lane whose records every simulated lane copies."""
DEBOUNCE = 0.25
"""The real push's pause after a sale before it sends (HubPushService's `debounce`)."""
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
INT_FIELDS = {"id", "sale_pk", "customer_id", "seq"}


async def template_records() -> list[dict[str, Any]]:
    """A real SQLite lane's records (as a push sends them) after `TEMPLATE_SALES` sales."""
    sandbox = await start_sandbox()
    folder = Path(tempfile.mkdtemp(prefix="receiptdesk-bench-lane-"))
    try:
        settings = sandbox_settings(Settings(), sandbox.url)
        lane = build_runtime(settings, data=folder, secrets=sandbox_secrets(sandbox.url))
        try:
            for n in range(1, TEMPLATE_SALES + 1):
                payload = make_sale(random.Random(n), sale_id=f"S-{n}", store_id=STORE, lane="1")
                event = TriggerEvent("pos-api", f"evt-{n}", parse_sale(payload), datetime.now(UTC))
                await lane.checkout.accept(event)
            now = datetime.now(UTC)
            await lane.db.write(lambda s: change_feed.enable(s, at=now))
            records = await lane.db.read(lambda s: change_feed.next_batch(s, after=0, limit=100_000))
        finally:
            await lane.close()
    finally:
        await sandbox.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return [r.wire() for r in records]


def copy_of(template: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The template's records with keys of their own (copy `n`): ids shifted, uuids and sale ids made anew."""
    if n == 0:
        return [dict(r) for r in template]
    shift = n * 100_000
    text = UUID.sub(lambda m: str(uuid.uuid5(uuid.NAMESPACE_OID, f"{m.group(0)}/{n}")), json.dumps(template))
    text = re.sub(r'"S-(\d+)"', lambda m: f'"S-{n}-{m.group(1)}"', text)
    out: list[dict[str, Any]] = json.loads(text)
    for record in out:
        data = record["data"]
        if data is None:
            continue
        for name in INT_FIELDS & data.keys():
            if isinstance(data[name], int) and not isinstance(data[name], bool):
                data[name] += shift
        kind = record["kind"]
        record["key"] = change_feed.SEPARATOR.join(str(data[c]) for c in change_feed.FED[kind])
    return out


def one_sale(template: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first sale's records: the sale, its receipt, the receipt's deliveries and audit entries."""
    sale = next(r for r in template if r["kind"] == "sales")
    receipts = {r["key"] for r in template if r["kind"] == "receipts" and r["data"]["sale_pk"] == sale["data"]["id"]}
    return [
        r
        for r in template
        if r is sale
        or r["key"] in receipts
        or (r["kind"] == "deliveries" and r["data"]["receipt_id"] in receipts)
        or (r["kind"] == "audit_log" and r["data"]["subject"] in receipts)
    ]


def backlog(template: list[dict[str, Any]], receipts: int) -> list[dict[str, Any]]:
    """A lane's feed holding `receipts` receipts (and everything that came with them), seqs from 1."""
    out: list[dict[str, Any]] = []
    n = 0
    while sum(1 for r in out if r["kind"] == "receipts") < receipts:
        out.extend(copy_of(template, n))
        n += 1
    for seq, record in enumerate(out, start=1):
        record["seq"] = seq
    return out


class Hub:
    """`receiptdesk serve --hub` on a PostgreSQL database, run as its own process."""

    def __init__(self, folder: Path, db_url: str) -> None:
        self.folder = folder
        self.config = folder / "hub.toml"
        self.config.write_text(
            f'[database]\nurl = "{db_url}"\n\n[api]\nport = 0\nrequests_per_minute = 100000\n', encoding="utf-8"
        )
        self.where = ["--config", str(self.config), "--data-dir", str(folder / "hub")]
        self.child = Child("hub", [*self.where, "serve", "--hub"], log=folder / "hub.log")
        self.url = ""

    def token(self) -> str:
        made = subprocess.run(
            [*receiptdesk_command(), *self.where, "tokens", "create", "bench-lanes", "--scope", "hub:sync"],
            capture_output=True,
            text=True,
            check=True,
            cwd=self.folder,
        )
        return made.stdout.strip().splitlines()[-1]

    def start(self) -> None:
        self.child.spawn()
        self.url = asyncio.run(self.child.ready(" hub serving on ", limit_s=60))

    def stop(self) -> None:
        self.child.stop()


class Lane:
    """One simulated lane: its feed, the hub's acknowledgement, and its push as docs/hub.md has it."""

    def __init__(self, lane_id: str, feed: list[dict[str, Any]], client: httpx.AsyncClient, token: str) -> None:
        self.lane_id = lane_id
        self.feed = feed
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.acked = 0
        self.sent = 0

    async def push(self, url: str, size: int) -> None:
        """Batches of `size` from the acknowledgement until the hub has the whole feed."""
        while self.acked < self.feed[-1]["seq"]:
            await self.push_once(url, size)

    async def push_once(self, url: str, size: int) -> None:
        waiting = [r for r in self.feed if r["seq"] > self.acked]
        records = waiting[:size]
        body = {
            "lane_id": self.lane_id,
            "store_id": STORE,
            "version": __version__,
            "sent_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "after": self.acked,
            "backlog": len(waiting) - len(records),
            "records": records,
        }
        answer = await self.client.post(f"{url}/v1/hub/batches", content=json.dumps(body), headers=self.headers)
        if answer.status_code not in (200, 409):
            raise SystemExit(f"The hub answered {answer.status_code}: {answer.text[:200]}")
        self.acked = int(answer.json()["acked"])
        self.sent += len(records) if answer.status_code == 200 else 0


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=200, max_keepalive_connections=200))


async def throughput(url: str, token: str, feed: list[dict[str, Any]], lanes: int, size: int, tag: str) -> float:
    """Records per second with `lanes` lanes pushing `feed` each, all at once."""
    async with client() as http:
        crowd = [Lane(f"{STORE}/{tag}{i}", feed, http, token) for i in range(lanes)]
        started = time.perf_counter()
        await asyncio.gather(*(lane.push(url, size) for lane in crowd))
        elapsed = time.perf_counter() - started
    return sum(lane.sent for lane in crowd) / elapsed


async def catch_up(url: str, token: str, feed: list[dict[str, Any]], size: int) -> float:
    async with client() as http:
        lane = Lane(f"{STORE}/back", feed, http, token)
        started = time.perf_counter()
        await lane.push(url, size)
        return time.perf_counter() - started


async def latency(
    url: str, token: str, template: list[dict[str, Any]], lanes: int, every: float, seconds: float
) -> list[float]:
    """Each lane rings a sale every `every` s (random phase) for `seconds` s; sale-to-acknowledged delays."""
    sale = one_sale(template)  # each ring is a fresh copy of the first sale's records
    delays: list[float] = []

    async def run(lane: Lane, rng: random.Random) -> None:
        await asyncio.sleep(rng.random() * every)
        n = 1
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            rung = time.perf_counter()
            seq = lane.acked
            for record in copy_of(sale, n):
                seq += 1
                record["seq"] = seq
                lane.feed.append(record)
            n += 1
            await asyncio.sleep(DEBOUNCE)
            await lane.push(url, 500)
            delays.append(time.perf_counter() - rung)
            await asyncio.sleep(max(0.0, every - (time.perf_counter() - rung)))

    async with client() as http:
        crowd = [Lane(f"{STORE}/steady{i}", [{"seq": 0}], http, token) for i in range(lanes)]
        await asyncio.gather(*(run(lane, random.Random(i)) for i, lane in enumerate(crowd)))
    return delays


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(options: argparse.Namespace, url: str, token: str, template: list[dict[str, Any]]) -> dict[str, Any]:
    size = HubSettings().batch_size
    per_lane = backlog(template, options.sales_per_lane)
    one = await throughput(url, token, per_lane, 1, size, "alone")
    many = await throughput(url, token, per_lane, options.lanes, size, "crowd")
    shift = backlog(template, options.receipts)
    caught = await catch_up(url, token, shift, size)
    delays = await latency(url, token, template, options.lanes, options.every, options.seconds)
    p99 = percentile(delays, 0.99)
    return {
        # Each figure over its reference from this run (higher is better), for the CI gate: the lanes at
        # once over one alone, the catch-up's records/s over one lane's, the lane's own pause over the p99.
        "ratios": {
            "all_lanes_vs_one_lane": round(many / one, 4),
            "catch_up_vs_one_lane": round(len(shift) / caught / one, 4),
            "debounce_vs_latency_p99": round(DEBOUNCE / p99, 4),
        },
        "lanes": options.lanes,
        "batch_size": size,
        "records_per_lane": len(per_lane),
        "one_lane_records_per_s": round(one, 1),
        "all_lanes_records_per_s": round(many, 1),
        "catch_up_receipts": options.receipts,
        "catch_up_records": len(shift),
        "catch_up_s": round(caught, 2),
        "catch_up_records_per_s": round(len(shift) / caught, 1),
        "steady_sale_every_s": options.every,
        "steady_pushes": len(delays),
        "latency_p50_ms": round(percentile(delays, 0.5) * 1000, 1),
        "latency_p99_ms": round(p99 * 1000, 1),
        "latency_mean_ms": round(statistics.fmean(delays) * 1000, 1),
        "debounce_ms": DEBOUNCE * 1000,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def report(f: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{f['lanes']} lanes, batches of {f['batch_size']}, {f['cpus']} CPUs, "
            f"load {f['load_average_1m']} at the end",
            f"{'figure':<44} {'measured':>12} {'reference':>14} {'aim':>10}",
            f"{'records applied/s, all lanes at once':<44} {f['all_lanes_records_per_s']:>12,.0f} "
            f"{f['one_lane_records_per_s']:>10,.0f} (1) {'>= 2,000':>10}",
            f"{'catch-up of ' + format(f['catch_up_receipts'], ',') + ' receipts, s':<44} {f['catch_up_s']:>12.2f} "
            f"{f['catch_up_records']:>10,} rec {'< 60':>10}",
            f"{'latency sale -> hub, p50 ms':<44} {f['latency_p50_ms']:>12.1f} {f['debounce_ms']:>7.0f} pause {'':>10}",
            f"{'latency sale -> hub, p99 ms':<44} {f['latency_p99_ms']:>12.1f} "
            f"{f['steady_pushes']:>7} pushes {'< 1,000':>10}",
            "(1) one lane alone, same run; the latency includes the lane's pause before it pushes",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lanes", type=int, default=None, help="simulated lanes (default 50; 5 with --quick)")
    parser.add_argument("--quick", action="store_true", help="5 lanes, 500 receipts to catch up: a short run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    options.lanes = options.lanes or (5 if options.quick else 50)
    options.receipts = 500 if options.quick else 5000
    options.sales_per_lane = 20 if options.quick else 60
    options.every, options.seconds = (1.0, 2.0) if options.quick else (2.0, 20.0)
    if (reason := unavailable_reason()) is not None:
        raise SystemExit(reason)
    template = asyncio.run(template_records())
    folder = Path(tempfile.mkdtemp(prefix="receiptdesk-bench-hub-"))
    with private_cluster() as db_url:
        hub = Hub(folder, db_url)
        try:
            token = hub.token()
            hub.start()
            figures = asyncio.run(measure(options, hub.url, token, template))
        finally:
            hub.stop()
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(figures, indent=2) if options.json else report(figures))


if __name__ == "__main__":
    main()
