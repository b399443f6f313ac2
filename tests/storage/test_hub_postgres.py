"""The hub applying lanes' batches on a real PostgreSQL server: once, in order, never blocked by a record
it cannot take, and one lane's batches serialised across two hub processes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text

from app.domain.errors import ValidationFailed
from app.services.hub import HubService
from app.storage import hub, hub_profiles, schema
from app.storage.database import Database
from app.storage.models import HubParkedRow, HubReceiptRow, HubRecordRow
from tests.storage.hub_batches import batch, customer_records, record, sale_records
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

HUB_TABLES = ("hub_lanes", "hub_records", "hub_receipts", "hub_parked", "hub_profile_changes")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with private_cluster() as url:
        first = Database(url)
        schema.upgrade(first.write_engine)
        first.close()
        yield url


@pytest.fixture
def two_processes(pg_url: str) -> Iterator[tuple[Database, Database]]:
    first, second = Database(pg_url), Database(pg_url)
    with first.write_engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(HUB_TABLES)}")
    yield first, second
    first.close()
    second.close()


@pytest.fixture
def pg(two_processes: tuple[Database, Database]) -> Database:
    return two_processes[0]


def count(db: Database, model: Any, **where: Any) -> int:
    query = select(func.count()).select_from(model).filter_by(**where)
    return int(db.read_sync(lambda s: s.execute(query).scalar_one()))


async def test_a_batch_applied_twice_keeps_one_copy(pg: Database) -> None:
    service = HubService(pg)
    body = batch("store-1/1", 0, customer_records(1) + sale_records(3, 5))
    first = await service.apply(body)
    again = await service.apply(body)  # the lane never heard the answer and sends the same batch
    assert first == hub.Applied(12, [], 12)
    assert again == hub.Applied(12, [], 0)
    assert count(pg, HubRecordRow, kind="sales") == 5
    assert count(pg, HubReceiptRow) == 5
    lanes = await service.lanes()
    assert [(lane.lane_id, lane.acked_seq, lane.version) for lane in lanes] == [("store-1/1", 12, "0.9.0")]


async def test_records_it_cannot_take_are_parked_and_the_rest_applied(pg: Database) -> None:
    service = HubService(pg)
    bad_sale = {"id": 9, "sale_id": "S-9", "occurred_at": "yesterday", "total": "1.00"}
    records = [
        record(1, "loyalty_cards", "1", {"id": 1}),  # a kind this hub does not know (a newer lane)
        record(2, "sales", "9", bad_sale),
        record(3, "receipts", "r-3", None),  # an upsert without its data
        *sale_records(4, 1),
    ]
    result = await service.apply(batch("store-1/2", 0, records, backlog=40))
    assert isinstance(result, hub.Applied)
    assert result.acked == 5
    assert [p.seq for p in result.parked] == [1, 2, 3]
    assert "unknown kind" in result.parked[0].reason and "occurred_at" in result.parked[1].reason
    assert count(pg, HubReceiptRow, lane_id="store-1/2") == 1  # the records behind them went in
    assert count(pg, HubParkedRow, lane_id="store-1/2") == 3
    await service.apply(batch("store-1/2", 0, records))  # a retry parks nothing twice
    [lane] = await service.lanes()
    assert (lane.parked, lane.backlog) == (3, 40)


async def test_a_batch_beyond_what_the_hub_has_is_a_conflict_carrying_its_acknowledgement(pg: Database) -> None:
    service = HubService(pg)
    await service.apply(batch("store-1/3", 0, sale_records(1, 2)))
    assert await service.apply(batch("store-1/3", 900, sale_records(901, 1))) == hub.Conflict(4)
    assert count(pg, HubReceiptRow, lane_id="store-1/3") == 2  # nothing of it applied
    assert await service.apply(batch("store-1/9", 5, [])) == hub.Conflict(0)  # a lane the hub has never seen


async def test_deletes_remove_the_record_and_its_search_row(pg: Database) -> None:
    service = HubService(pg)
    await service.apply(batch("store-1/4", 0, sale_records(1, 2)))
    await service.apply(batch("store-1/4", 4, [record(5, "receipts", "r-1", None, op="delete")]))
    assert count(pg, HubRecordRow, lane_id="store-1/4", kind="receipts") == 1
    assert count(pg, HubReceiptRow, lane_id="store-1/4") == 1


async def test_receipts_are_searchable_by_sale_id_last_four_and_customer(pg: Database) -> None:
    service = HubService(pg)
    loyal = [record(1, "customers", "8", {"id": 8, "loyalty_id": "L-77", "name": "Bo"})]
    await service.apply(batch("store-1/5", 0, loyal + customer_records(2, customer=7) + sale_records(4, 1)))
    # a receipt that comes before its sale (the lane coalesced the sale's later change): filled when it comes
    later = sale_records(10, 1, customer=8)
    await service.apply(batch("store-1/6", 0, [*loyal, later[1], record(12, "sales", "10", later[0]["data"])]))

    def find(**where: Any) -> list[tuple[str, str, str | None]]:
        query = select(HubReceiptRow.lane_id, HubReceiptRow.sale_id, HubReceiptRow.customer_key).filter_by(**where)
        return sorted(tuple(r) for r in pg.read_sync(lambda s: s.execute(query).all()))  # type: ignore[misc]

    assert find(sale_id="S-4") == [("store-1/5", "S-4", "phone:+12175550100")]
    assert find(customer_key="loyalty:L-77") == [("store-1/6", "S-10", "loyalty:L-77")]
    assert len(find(card_last4="4242")) == 2
    # the customer gets a loyalty id: their receipts at the lane are found by it from then on
    joined = record(6, "customers", "7", {"id": 7, "loyalty_id": "L-9"})
    await service.apply(batch("store-1/5", 5, [joined]))
    assert find(sale_id="S-4") == [("store-1/5", "S-4", "loyalty:L-9")]
    # the customer forgotten (an erasure): their key leaves the lane's receipts
    forgotten = record(7, "customers", "7", {"id": 7, "loyalty_id": None, "forgotten_at": "2026-12-05T10:00:00+00:00"})
    await service.apply(batch("store-1/5", 6, [forgotten]))
    assert find(sale_id="S-4") == [("store-1/5", "S-4", None)]
    await service.apply(batch("store-1/5", 7, customer_records(8, customer=7)))  # a new contact: a new key
    assert find(sale_id="S-4") == [("store-1/5", "S-4", None)]  # older receipts are not re-tied to it
    # the contact deleted: the customer's key leaves the lane's receipts
    await service.apply(batch("store-1/5", 9, sale_records(20, 1)))
    assert find(sale_id="S-20") == [("store-1/5", "S-20", "phone:+12175550100")]
    await service.apply(batch("store-1/5", 21, [record(22, "contacts", "70", None, op="delete")]))
    assert find(sale_id="S-20") == [("store-1/5", "S-20", None)]


async def test_a_record_the_database_refuses_is_parked_and_the_batch_applied_record_by_record(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = hub_profiles.record_profile_changes

    def refusing(session: Any, **given: Any) -> None:
        if any(change.key == "71" for change in given["changes"]):
            raise ValueError("a contact this hub cannot read")
        recorded(session, **given)

    monkeypatch.setattr(hub_profiles, "record_profile_changes", refusing)
    odd = record(3, "contacts", "71", {"id": 71, "customer_id": 7, "kind": "email", "value": "a@example.com"})
    result = await HubService(pg).apply(batch("store-1/10", 0, [*customer_records(1), odd, *sale_records(4, 2)]))
    assert isinstance(result, hub.Applied)
    assert (result.acked, [p.seq for p in result.parked], result.applied) == (7, [3], 6)
    assert count(pg, HubReceiptRow, lane_id="store-1/10", customer_key="phone:+12175550100") == 2


async def test_a_record_twice_in_a_batch_keeps_its_later_state(pg: Database) -> None:
    service = HubService(pg)
    sale = sale_records(1, 1)
    changed = {**sale[0]["data"], "card_last4": "0005"}
    delivery = {"id": "d-1", "receipt_id": "r-1", "state": "delivered"}
    await service.apply(
        batch("store-1/11", 0, [*sale, record(3, "sales", "1", changed), record(4, "deliveries", "d-1", delivery)])
    )
    rows = pg.read_sync(lambda s: s.execute(select(HubReceiptRow.card_last4, HubReceiptRow.state)).all())
    assert [tuple(r) for r in rows] == [("0005", "delivered")]


@pytest.mark.parametrize("lane_id", ["store-1/7", "store-1/" + "7" * 72])  # the longest lane id the hub takes
async def test_profile_changes_are_kept_for_the_other_lanes(pg: Database, lane_id: str) -> None:
    result = await HubService(pg).apply(batch(lane_id, 0, customer_records(1)))
    assert isinstance(result, hub.Applied) and result.parked == []
    kinds = pg.read_sync(lambda s: s.execute(text("SELECT kind, key, hlc FROM hub_profile_changes")).all())
    assert ("customer", "phone:+12175550100") in [(k, key) for k, key, _ in kinds]
    assert all(hlc.endswith(lane_id) for _, _, hlc in kinds)  # the stamp names its lane in full


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"lane_id": "x"},
        batch("store-1/1", -1, []),
        batch("store-1/1", 0, [record(2, "sales", "1", {}), record(1, "sales", "2", {})]),
    ],
)
async def test_a_malformed_batch_is_refused_and_changes_nothing(pg: Database, body: Any) -> None:
    with pytest.raises(ValidationFailed):
        await HubService(pg).apply(body)
    assert count(pg, HubRecordRow) == 0


async def test_one_lanes_batches_through_two_hub_processes_apply_one_after_the_other(
    two_processes: tuple[Database, Database], pg_url: str
) -> None:
    """One process holds the lane's row (mid-batch); the other's copy of the same batch waits on it,
    then finds it applied and changes nothing."""
    first, second = two_processes
    body = batch("store-1/8", 0, sale_records(1, 20))
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    await HubService(first).apply(batch("store-1/8", 0, []))  # the lane's row exists
    with psycopg.connect(dsn) as holder:
        holder.execute("SELECT 1 FROM hub_lanes WHERE lane_id = 'store-1/8' FOR UPDATE")
        waiting = asyncio.ensure_future(HubService(second).apply(body))
        with psycopg.connect(dsn, autocommit=True) as watch:
            for _ in range(600):  # until the second process waits on the lane's lock (bounded: 30 s)
                row = watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%hub_lanes%'"
                ).fetchone()
                if row and row[0]:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the second process never waited on the lane's row")
        assert not waiting.done()
        holder.rollback()  # the first process is done with the lane; now the first applies it for real
    applied = await asyncio.gather(waiting, HubService(first).apply(body))
    assert sorted(a.applied for a in applied if isinstance(a, hub.Applied)) == [0, 40]
    assert count(first, HubReceiptRow, lane_id="store-1/8") == 20

    # many copies of a lane's batches at once through both processes: each record once, acked at the end
    stream = [batch("store-1/8", 40 + 10 * i, sale_records(41 + 10 * i, 5)) for i in range(6)]
    services = (HubService(first), HubService(second))
    for i, body in enumerate(stream):
        await asyncio.gather(*(services[(i + j) % 2].apply(body) for j in range(3)))
    assert count(first, HubReceiptRow, lane_id="store-1/8") == 50
    assert [lane.acked_seq for lane in await services[1].lanes()] == [100]
