"""The hub's search across lanes (`app.storage.hub_search`) on a real PostgreSQL server, as a store's hub
runs it: by sale id, last four and phone over two lanes, and a day's window, newest first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.services.hub import HubService, parse_search
from app.storage.database import Database
from tests.storage.hub_batches import batch, customer_records, record, sale_records
from tests.storage.pg_cluster import unavailable_reason
from tests.storage.test_hub_postgres import pg, pg_url, two_processes

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")
__all__ = ["pg", "pg_url", "two_processes"]  # the hub's PostgreSQL fixtures, shared

NOW = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)


async def test_the_search_finds_receipts_across_lanes_on_postgresql(pg: Database) -> None:
    service = HubService(pg, clock=lambda: NOW)
    await service.apply(batch("store-1/1", 0, [*customer_records(1), *sale_records(3, 2)]))
    await service.apply(batch("store-1/2", 0, [*customer_records(1, customer=4), *sale_records(3, 1, customer=4)]))

    async def found(**params: str) -> list[tuple[str, str]]:
        return [(r.sale_id, r.lane_id) for r in await service.receipts(params)]

    both = [("S-4", "store-1/1"), ("S-3", "store-1/1"), ("S-3", "store-1/2")]  # 09:31, then 09:30 by lane
    assert await found() == both  # today (UTC: no store time zone given)
    assert await found(q="S-4") == [("S-4", "store-1/1")]
    assert await found(q="4242", lane="store-1/2") == [("S-3", "store-1/2")]
    assert await found(q="217-555-0100") == both
    assert await found(since="2026-12-06T00:00:00+00:00") == []
    # at a third lane the same customer has a loyalty id, which their receipts there carry: the phone finds them
    loyal = [*customer_records(1, customer=9), record(3, "customers", "9", {"id": 9, "loyalty_id": "L-5"})]
    await service.apply(batch("store-1/3", 0, [*loyal, *sale_records(4, 1, customer=9)]))
    assert ("S-4", "store-1/3") in await found(q="+1 217 555 0100")
    assert await found(q="+1 217 555 0199") == []
    what = parse_search({"q": "S-4"}, now=NOW, zone=UTC)
    assert (what.since, what.until, what.card_last4, what.customer_key) == (None, None, None, None)
