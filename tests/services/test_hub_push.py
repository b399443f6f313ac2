"""The lane's push to its hub over real HTTP on loopback, against a hub that follows docs/hub.md."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config.settings import HubSettings
from app.demo.wiring import sandbox_secrets
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime
from app.sandbox.server import RunningSandbox
from app.server.schemas import HealthOut
from app.services.bus import DeliveriesQueued, EventBus
from app.services.hub_push import HubPushService, backoff, sync_warnings
from app.storage import change_feed, schema
from app.storage.change_feed import LaneSync
from app.storage.database import Database
from app.storage.models import CustomerRow, SyncParkedRow
from tests.conftest import fast_settings, new_database, wait_until
from tests.services.hub_double import HubDouble

LANE = "store-1/1"
NOW = datetime(2026, 12, 5, 15, 10, tzinfo=UTC)
TOKEN = "hub-secret"


def _customers(session: Session, ids: range) -> None:
    for cid in ids:
        session.add(CustomerRow(id=cid, name=f"C{cid}", created_at=NOW, updated_at=NOW))


@pytest.fixture
def hub() -> Iterator[HubDouble]:
    with HubDouble(TOKEN).running() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def _service(db: Database, http: httpx.AsyncClient, hub: HubDouble, **options: object) -> HubPushService:
    settings: dict[str, object] = {"batch_size": 10, "debounce": 0.0, "backoff_base": 0.01, "backoff_cap": 0.05}
    settings.update(options)
    return HubPushService(
        db,
        http,
        settings.pop("bus", None),  # type: ignore[arg-type]
        url=hub.url,
        token=str(settings.pop("token", hub.token)),
        lane_id=LANE,
        store_id="store-1",
        rng=random.Random(7),
        **settings,  # type: ignore[arg-type]
    )


async def test_a_backlog_from_an_outage_reaches_the_hub_in_order_once(
    db: Database, http: httpx.AsyncClient, hub: HubDouble
) -> None:
    await db.write(lambda s: _customers(s, range(1, 6)))  # before the hub: backfilled
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    await db.write(lambda s: _customers(s, range(6, 26)))
    push = _service(db, http, hub)

    hub.down = True
    report = await push.push_pending()
    assert report.error is not None and report.batches == 0
    sync = await push.status()
    assert (sync.backlog, sync.acked_seq) == (25, 0)
    assert push.warnings(sync) == [f"The hub at {hub.url} has not answered yet; 25 records wait."]

    hub.down = False
    report = await push.push_pending()
    assert (report.error, report.batches, report.records, report.acked) == (None, 3, 25, 25)
    seqs = [seq for _lane, seq, *_ in hub.applied]
    assert seqs == sorted(seqs) == list(range(1, 26))  # in order, each once
    assert hub.keys(LANE, "customers") == {str(i) for i in range(1, 26)}
    sync = await push.status()
    assert (sync.backlog, sync.acked_seq, sync.last_error) == (0, 25, None)
    assert push.warnings(sync) == []


async def test_a_lane_back_from_an_outage_pushes_when_the_hub_answers_not_after_its_backoff(
    db: Database, http: httpx.AsyncClient, hub: HubDouble
) -> None:
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    await db.write(lambda s: _customers(s, range(1, 4)))
    push = _service(db, http, hub, backoff_base=3600.0, backoff_cap=3600.0)  # an hour's wait after a failure
    hub.down = True
    push.start()
    await wait_until(lambda: hub.requests > 0)  # refused: the push now waits out its backoff
    hub.down = False
    push.hub_answered()  # the pull got through: the push does not sit out its hour
    await wait_until(lambda: hub.keys(LANE, "customers") == {"1", "2", "3"})
    await push.stop()


async def test_a_batch_applied_whose_answer_was_lost_is_not_doubled(
    db: Database, http: httpx.AsyncClient, hub: HubDouble
) -> None:
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    await db.write(lambda s: _customers(s, range(1, 8)))
    push = _service(db, http, hub)
    hub.lose_answer = True
    assert (await push.push_pending()).error is not None
    assert len(hub.applied) == 7
    hub.lose_answer = False
    await db.write(lambda s: _customers(s, range(8, 10)))
    report = await push.push_pending()
    assert report.error is None and report.acked == 9
    assert [seq for _lane, seq, *_ in hub.applied] == list(range(1, 10))  # 1..7 sent twice, applied once


async def test_a_parked_record_is_recorded_and_does_not_block_the_rest(
    db: Database, http: httpx.AsyncClient, hub: HubDouble
) -> None:
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    await db.write(lambda s: _customers(s, range(1, 5)))
    hub.park = {("customers", "2")}
    report = await _service(db, http, hub).push_pending()
    assert (report.error, report.parked, report.acked) == (None, 1, 4)
    assert hub.keys(LANE, "customers") == {"1", "3", "4"}
    parked = await db.read(lambda s: s.execute(select(SyncParkedRow)).scalars().all())
    assert [(p.seq, p.kind, p.key, p.reason) for p in parked] == [(2, "customers", "2", "customers 2: refused")]
    sync = await db.read(change_feed.status)
    assert (sync.parked, sync.backlog) == (1, 0)


async def test_a_refused_token_stops_the_push_with_one_sentence(
    db: Database, http: httpx.AsyncClient, hub: HubDouble
) -> None:
    await db.write(lambda s: _customers(s, range(1, 3)))
    push = _service(db, http, hub, token="wrong")
    push.start()
    await wait_until(lambda: not push.running)
    assert hub.requests == 1  # not tried again
    sync = await push.status()
    assert sync.enabled and sync.backlog == 2  # the records keep waiting for a right token
    [words] = push.warnings(sync)
    assert words == push.stopped
    assert words.startswith("The hub refused this lane's token at ") and words.count(". ") == 0
    assert "receiptdesk secrets set hub token" in words and "wrong" not in words
    await push.stop()


async def test_a_hub_that_lost_records_gets_them_again_from_its_acknowledgement(
    db: Database, http: httpx.AsyncClient, hub: HubDouble
) -> None:
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    await db.write(lambda s: _customers(s, range(1, 4)))
    push = _service(db, http, hub)
    assert (await push.push_pending()).acked == 3
    with hub.lock:  # the hub restored from an older backup
        hub.acked[LANE] = 0
        hub.records.clear()
    await db.write(lambda s: _customers(s, range(4, 5)))
    report = await push.push_pending()
    assert report.error is None
    assert hub.keys(LANE, "customers") == {"1", "2", "3", "4"}


async def test_a_sale_wakes_the_push_and_the_skew_is_measured(
    db: Database, http: httpx.AsyncClient, hub: HubDouble
) -> None:
    bus = EventBus()
    hub.skew = timedelta(minutes=5)
    push = _service(db, http, hub, bus=bus, every=60.0)
    push.start()
    await wait_until(lambda: db.read_sync(change_feed.enabled))
    await db.write(lambda s: _customers(s, range(1, 2)))
    bus.publish(DeliveriesQueued(1))
    await wait_until(lambda: hub.keys(LANE, "customers") == {"1"})
    await wait_until(lambda: db.read_sync(change_feed.status).skew_ms is not None)
    skew = db.read_sync(change_feed.status).skew_ms
    assert skew is not None and abs(skew - 300_000) < 2_000
    await push.stop()
    assert [w for w in push.warnings(db.read_sync(change_feed.status)) if "clock" in w] == [
        "This lane's clock is 5 min behind the hub's: set it right (the hub orders changes by its own rules meanwhile)."
    ]


def test_health_words_for_an_outage_say_since_when_and_what_waits() -> None:
    sync = LaneSync(True, 10, 1250, 1240, 0, NOW, "The hub at x did not answer (ConnectError).", 40)
    zone = ZoneInfo("America/Chicago")
    words = sync_warnings("https://hub.store.lan:8765", sync, NOW + timedelta(minutes=20), zone)
    assert words == ["The hub at https://hub.store.lan:8765 has not answered since 9:10 AM; 1,240 records wait."]
    later = sync_warnings("h", sync, NOW + timedelta(days=1), zone)
    assert later == ["The hub at h has not answered since Dec 5, 9:10 AM; 1,240 records wait."]


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    rng = random.Random(1)
    waits = [backoff(n, base=1.0, cap=60.0, rng=rng) for n in range(1, 12)]
    assert 0.5 <= waits[0] <= 1.0 and 2.0 <= waits[2] <= 4.0
    assert all(30.0 <= w <= 60.0 for w in waits[7:])


LANE_PROCESS = """
import asyncio, sys
import httpx
from app.services.hub_push import HubPushService
from app.storage.database import Database

async def main() -> None:
    db = Database(sys.argv[1])
    async with httpx.AsyncClient(timeout=10.0) as http:
        push = HubPushService(db, http, None, url=sys.argv[2], token=sys.argv[3], lane_id="store-1/1",
                              store_id="store-1", batch_size=10, every=0.05, debounce=0.0)
        push.start()
        await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_a_lane_killed_mid_push_resumes_and_the_hub_has_each_record_once(tmp_path: Path, hub: HubDouble) -> None:
    url = f"sqlite:///{tmp_path / 'lane.db'}"
    lane = Database(url)
    schema.upgrade(lane.write_engine)
    await lane.write(lambda s: _customers(s, range(1, 31)))
    lane.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    hub.hold = threading.Event()  # the first batch is applied, and its answer waits

    first = subprocess.Popen([sys.executable, "-c", LANE_PROCESS, url, hub.url, TOKEN], env=env)
    try:
        assert await asyncio.to_thread(hub.received.wait, 10)
        first.send_signal(signal.SIGKILL)  # mid-push: the hub applied the batch, the lane never heard
        first.wait(10)
    finally:
        first.kill()
    hold, hub.hold = hub.hold, None
    hold.set()
    assert [seq for _l, seq, *_ in hub.applied] == list(range(1, 11))

    second = subprocess.Popen([sys.executable, "-c", LANE_PROCESS, url, hub.url, TOKEN], env=env)
    try:
        await wait_until(lambda: len(hub.keys(LANE, "customers")) == 30, timeout=10)
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(10)
    assert [seq for _l, seq, *_ in hub.applied] == list(range(1, 31))  # each record exactly once


async def test_a_lane_with_a_hub_pushes_its_sales_and_health_shows_the_sync(
    tmp_path: Path, sandbox: RunningSandbox, hub: HubDouble, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    base = fast_settings(sandbox.url)
    settings = base.model_copy(update={"hub": HubSettings(url=hub.url, lane="3", push_every_seconds=60)})
    new_database(tmp_path)
    rt = build_runtime(settings, data=tmp_path, secrets={**sandbox_secrets(sandbox.url), "hub": {"token": TOKEN}})
    try:
        assert rt.hub_push is not None and rt.hub_push.lane_id == f"{settings.store.id}/3"
        rt.hub_push.debounce = 0.0
        rt.start_dispatching()
        await wait_until(lambda: rt.db.read_sync(change_feed.enabled))
        result = await rt.checkout.accept(
            TriggerEvent("pos-api", "evt-hub-1", parse_sale(sale_payload("S-HUB-1")), datetime.now(UTC))
        )
        lane = rt.hub_push.lane_id
        await wait_until(lambda: result.receipt_id in hub.keys(lane, "receipts"))
        await wait_until(lambda: hub.keys(lane, "sales") and hub.keys(lane, "audit_log"))
        sales = [data for (ln, kind, _key), data in hub.records.items() if ln == lane and kind == "sales"]
        assert [s["sale_id"] for s in sales] == ["S-HUB-1"]
        await wait_until(lambda: rt.db.read_sync(change_feed.status).backlog == 0)  # the answer recorded too
        health = await rt.health.check()
        assert health.hub_url == hub.url and health.hub_sync is not None
        assert health.hub_sync.last_push_at is not None and health.hub_sync.parked == 0
        assert HealthOut.of(health).hub is not None
    finally:
        await rt.close()


async def test_without_a_hub_url_nothing_is_pushed_and_the_feed_stays_off(runtime: Runtime) -> None:
    assert runtime.hub_push is None
    await runtime.db.write(lambda s: change_feed.enable(s, at=NOW))  # the lane had a hub, and left it
    runtime.start_dispatching()
    assert runtime.leaving_hub is not None
    await runtime.leaving_hub
    assert not runtime.db.read_sync(change_feed.enabled)
    assert runtime.db.read_sync(change_feed.newest_seq) == 0  # a feed nobody reads is not kept
    assert (await runtime.health.check()).hub_sync is None


async def test_a_batch_too_large_for_the_hub_is_halved_and_each_says_what_waits_behind_it(
    db: Database, http: httpx.AsyncClient, hub: HubDouble
) -> None:
    await db.write(lambda s: _customers(s, range(1, 21)))
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    hub.max_records = 6
    report = await _service(db, http, hub).push_pending()  # 10 would go at once: the hub takes 6
    assert (report.error, report.records, report.acked) == (None, 20, 20)
    assert [seq for _lane, seq, *_ in hub.applied] == list(range(1, 21))
    assert hub.backlogs == [15, 10, 5, 0]

    hub.max_records = 0  # not even one record fits: said plainly, nothing lost
    await db.write(lambda s: _customers(s, range(21, 22)))
    report = await _service(db, http, hub).push_pending()
    assert report.error == f"The hub at {hub.url} refuses record customers 21 as too large."
    assert (await db.read(change_feed.status)).backlog == 1
