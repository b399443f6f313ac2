"""The hub's routes over real loopback HTTP (a hub on SQLite, as the demo runs it): tokens and scopes,
batches applied once, a 409 carrying the acknowledgement, a one-line 422, and the lanes in health."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import Runtime
from app.services.hub import HubService
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised
from tests.storage.hub_batches import batch, customer_records, record, sale_records


@pytest.fixture
async def hub_url(runtime: Runtime) -> AsyncIterator[str]:
    runtime.hub = HubService(runtime.db)
    server = await start_asgi_server(runtime.local_api(), name="api")
    yield server.url
    await server.stop()


async def test_a_lane_pushes_batches_and_health_shows_it(runtime: Runtime, hub_url: str) -> None:
    lane = await authorised(runtime, "hub:sync")
    reader = await authorised(runtime, "receipts:read")
    async with httpx.AsyncClient(base_url=hub_url) as http:
        body = batch("store-1/1", 0, [*customer_records(1), *sale_records(3, 2), record(7, "coupons", "1", {})])
        first = await http.post("/v1/hub/batches", json=body, headers=lane)
        again = await http.post("/v1/hub/batches", json=body, headers=lane)
        assert first.status_code == again.status_code == 200
        assert first.json()["acked"] == 7 and first.json()["parked"] == [{"seq": 7, "reason": "unknown kind 'coupons'"}]
        assert again.json()["parked"] == []  # a retry: nothing new, nothing parked twice
        assert "hub_time" in first.json()

        beyond = await http.post("/v1/hub/batches", json=batch("store-1/1", 50, []), headers=lane)
        assert (beyond.status_code, beyond.json()) == (409, {"acked": 7})

        lanes = (await http.get("/v1/hub/lanes", headers=reader)).json()
        assert [(x["lane_id"], x["acked_seq"], x["parked"], x["version"]) for x in lanes] == [
            ("store-1/1", 7, 1, "0.9.0")
        ]
        health = (await http.get("/v1/health", headers=reader)).json()
        assert [x["lane_id"] for x in health["lanes"]] == ["store-1/1"]
        assert any("1 record(s) the hub parked" in w for w in health["warnings"])


async def test_the_hub_refuses_bad_tokens_and_malformed_batches(runtime: Runtime, hub_url: str) -> None:
    lane = await authorised(runtime, "hub:sync")
    reader = await authorised(runtime, "receipts:read")
    body = batch("store-1/1", 0, sale_records(1, 1))
    async with httpx.AsyncClient(base_url=hub_url) as http:
        assert (await http.post("/v1/hub/batches", json=body)).status_code == 401
        bad = {"Authorization": "Bearer not-a-token"}
        assert (await http.post("/v1/hub/batches", json=body, headers=bad)).status_code == 401
        assert (await http.post("/v1/hub/batches", json=body, headers=reader)).status_code == 403
        assert (await http.get("/v1/hub/lanes", headers=lane)).status_code == 403
        for malformed in (
            {**body, "after": "twelve"},
            {**body, "records": [{**body["records"][0], "seq": 0}]},
            {**body, "sent_at": "2026-12-05T09:00:00"},  # no offset
        ):
            answer = await http.post("/v1/hub/batches", json=malformed, headers=lane)
            assert answer.status_code == 422
            assert "\n" not in answer.json()["error"]
        garbage = await http.post("/v1/hub/batches", content=b"{", headers={**lane, "Content-Type": "application/json"})
        assert garbage.status_code == 422
        assert (await http.get("/v1/hub/lanes", headers=reader)).json() == []  # nothing was applied
