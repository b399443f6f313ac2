"""The lane's change feed on a real SQLite file: triggers, coalescing, backfill, acknowledgements."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.storage import change_feed
from app.storage.change_feed import Parked
from app.storage.database import Database
from app.storage.models import (
    ChangeFeedRow,
    ChannelPreferenceRow,
    CustomerRow,
    OptOutRow,
    SaleRow,
    SyncFeedRow,
    SyncParkedRow,
)

NOW = datetime(2026, 12, 5, 15, 10, tzinfo=UTC)
MIGRATION = Path(__file__).parents[2] / "app/storage/migrations/versions/0012_lanes_and_hub.py"


def _customer(session: Session, cid: int, name: str = "Ada") -> None:
    session.add(CustomerRow(id=cid, name=name, language="en", created_at=NOW, updated_at=NOW))
    session.flush()


def _sale(session: Session, sid: int, total: str = "12.30") -> None:
    session.add(
        SaleRow(
            id=sid,
            store_id="store-1",
            sale_id=f"S-{sid}",
            lane="1",
            occurred_at=NOW,
            currency="USD",
            total=Decimal(total),
            payload="{}",
            payload_hash="x" * 64,
            source="pos",
            created_at=NOW,
        )
    )
    session.flush()


def test_the_feed_keys_are_the_triggers_keys() -> None:
    spec = importlib.util.spec_from_file_location("migration_0012", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert set(module.FED) == set(change_feed.FED)
    for kind, columns in change_feed.FED.items():
        for column in columns:
            assert f"X.{column}" in module.FED[kind]


async def test_nothing_is_fed_until_enabled_then_backfill_comes_first(db: Database) -> None:
    def before(s: Session) -> None:
        _customer(s, 1)
        s.add(ChannelPreferenceRow(customer_id=1, channel="sms", auto_send=True, updated_at=NOW))
        s.add(OptOutRow(channel_group="text", contact_digest="d" * 64, since=NOW, via="stop"))
        _sale(s, 7)

    await db.write(before)
    assert await db.read(lambda s: s.execute(select(ChangeFeedRow)).all()) == []
    assert await db.write(lambda s: change_feed.enable(s, at=NOW)) == 4
    assert await db.write(lambda s: change_feed.enable(s, at=NOW)) == 0  # on already: no second backfill
    await db.write(lambda s: _customer(s, 2, "Bo"))  # a change after: behind the backfill

    batch = await db.read(lambda s: change_feed.next_batch(s, 0, 100))
    assert [(r.kind, r.key) for r in batch] == [
        ("sales", "7"),
        ("customers", "1"),
        ("channel_preferences", "1|sms"),
        ("opt_outs", "text|" + "d" * 64),
        ("customers", "2"),
    ]
    assert [r.seq for r in batch] == sorted(r.seq for r in batch)
    sale = batch[0]
    assert sale.op == "upsert" and sale.data is not None
    assert sale.data["total"] == "12.30"  # money as a decimal string
    assert sale.data["occurred_at"] == "2026-12-05T15:10:00+00:00"  # with its offset
    assert set(sale.data) == set(SaleRow.__table__.columns.keys())
    assert batch[2].data == {"customer_id": 1, "channel": "sms", "auto_send": True, "updated_at": NOW.isoformat()}
    assert batch[-1].at.tzinfo is not None  # the trigger's stamp reads back aware


async def test_several_changes_of_a_record_go_once_as_it_is_now_and_a_delete_wins(db: Database) -> None:
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    await db.write(lambda s: _customer(s, 1))
    await db.write(lambda s: _customer(s, 2))
    await db.write(lambda s: s.execute(update(CustomerRow).where(CustomerRow.id == 1).values(name="Ada L.")))
    await db.write(lambda s: s.execute(update(CustomerRow).where(CustomerRow.id == 2).values(name="Bo B.")))
    await db.write(lambda s: s.execute(delete(CustomerRow).where(CustomerRow.id == 2)))

    batch = await db.read(lambda s: change_feed.next_batch(s, 0, 100))
    assert [(r.key, r.op) for r in batch] == [("1", "upsert"), ("2", "delete")]
    assert batch[0].data is not None and batch[0].data["name"] == "Ada L."
    assert batch[1].data is None
    assert batch[-1].seq == 5  # the window's last entry: acknowledging it covers all five

    # the limit counts feed entries: a smaller window, whose last record is the newest in it
    window = await db.read(lambda s: change_feed.next_batch(s, 0, 3))
    assert [(r.seq, r.key) for r in window] == [(2, "2"), (3, "1")]


async def test_an_upsert_whose_row_is_gone_by_push_time_goes_as_a_delete(db: Database) -> None:
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    await db.write(lambda s: _customer(s, 1))
    await db.write(lambda s: s.execute(update(SyncFeedRow).values(enabled=0)))  # a change nobody fed
    await db.write(lambda s: s.execute(delete(CustomerRow).where(CustomerRow.id == 1)))
    batch = await db.read(lambda s: change_feed.next_batch(s, 0, 100))
    assert [(r.key, r.op, r.data) for r in batch] == [("1", "delete", None)]


async def test_acknowledge_prunes_records_parked_and_status_counts(db: Database) -> None:
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    for cid in (1, 2, 3):
        await db.write(partial(_customer, cid=cid))
    status = await db.read(change_feed.status)
    assert (status.enabled, status.acked_seq, status.newest_seq, status.backlog, status.parked) == (True, 0, 3, 3, 0)

    parked = [Parked(2, "customers", "2", "malformed data")]
    await db.write(lambda s: change_feed.acknowledge(s, 2, parked, at=NOW, skew_ms=-1500))
    await db.write(lambda s: change_feed.acknowledge(s, 2, parked, at=NOW))  # the same answer again: no double
    status = await db.read(change_feed.status)
    assert (status.acked_seq, status.backlog, status.parked, status.skew_ms) == (2, 1, 1, -1500)
    assert status.last_push_at == NOW and status.last_error is None
    assert await db.read(lambda s: [r.seq for r in s.execute(select(ChangeFeedRow)).scalars()]) == [3]
    assert await db.read(lambda s: s.execute(select(SyncParkedRow.reason)).scalar_one()) == "malformed data"
    assert [r.seq for r in await db.read(lambda s: change_feed.next_batch(s, 2, 100))] == [3]

    await db.write(lambda s: change_feed.record_failure(s, "The hub did not answer."))
    assert (await db.read(change_feed.status)).last_error == "The hub did not answer."
    await db.write(lambda s: change_feed.acknowledge(s, 1, at=NOW))  # an older ack never moves it back
    assert (await db.read(change_feed.status)).acked_seq == 2


async def test_a_hub_that_lost_acknowledged_records_gets_everything_again(db: Database) -> None:
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    for cid in (1, 2):
        await db.write(partial(_customer, cid=cid))
    await db.write(lambda s: change_feed.acknowledge(s, 2, at=NOW))
    assert await db.write(lambda s: change_feed.rewind(s, 2, at=NOW)) == 0  # nothing lost: nothing re-sent
    assert await db.write(lambda s: change_feed.rewind(s, 0, at=NOW)) == 2  # the hub has nothing: all again
    batch = await db.read(lambda s: change_feed.next_batch(s, 0, 100))
    assert [(r.key, r.op) for r in batch] == [("1", "upsert"), ("2", "upsert")]
    assert (await db.read(change_feed.status)).acked_seq == 0


async def test_disable_stops_the_feed_and_drops_what_waited(db: Database) -> None:
    await db.write(lambda s: change_feed.enable(s, at=NOW))
    await db.write(lambda s: _customer(s, 1))
    await db.write(change_feed.disable)
    await db.write(lambda s: _customer(s, 2))
    status = await db.read(change_feed.status)
    assert (status.enabled, status.backlog) == (False, 0)
