"""The hub's routes over real loopback HTTP (a hub on SQLite, as the demo runs it): tokens and scopes,
batches applied once, a 409 carrying the acknowledgement, a one-line 422, and the lanes in health."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.config.settings import HubSettings
from app.demo.wiring import sandbox_secrets
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime
from app.sandbox.server import RunningSandbox
from app.services.hub import HubService
from app.storage import change_feed
from app.storage.models import HubReceiptRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import EMAIL_ONLY, authorised, fast_settings, new_database, wait_until
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


async def test_a_batch_of_rendered_receipts_may_be_larger_than_the_apis_other_bodies(
    runtime: Runtime, hub_url: str
) -> None:
    lane = await authorised(runtime, "hub:sync")
    records = sale_records(1, 100)
    for r in records:
        if r["kind"] == "receipts":
            r["data"]["html"] = "<p>" + "x" * 20_000 + "</p>"  # about a receipt's size as rendered
    body = batch("store-1/1", 0, records)
    assert len(json.dumps(body)) > runtime.settings.api.max_body_bytes
    async with httpx.AsyncClient(base_url=hub_url) as http:
        answer = await http.post("/v1/hub/batches", json=body, headers=lane)
        assert (answer.status_code, answer.json()["acked"]) == (200, 200)
        other = {**(await authorised(runtime)), "Content-Type": "application/json"}
        sale = await http.post("/v1/sales", content=json.dumps(body), headers=other)
        assert sale.status_code == 413  # the other routes keep their limit


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
        # the first token to push for a lane is its own: another lane's token cannot write its records
        assert (await http.post("/v1/hub/batches", json=body, headers=lane)).status_code == 200
        other = await authorised(runtime, "hub:sync")
        later = batch("store-1/1", 2, sale_records(3, 1))
        taken = await http.post("/v1/hub/batches", json=later, headers=other)
        assert taken.status_code == 403
        assert "store-1/1 pushes with another API token" in taken.json()["error"]
        assert (await http.get("/v1/hub/lanes", headers=reader)).json()[0]["acked_seq"] == 2
        assert (await http.post("/v1/hub/batches", json=later, headers=lane)).status_code == 200
        # the lane's token revoked (a leak, a new terminal): the next token to push takes its place
        await runtime.tokens.revoke(sorted(t.name for t in await runtime.tokens.list())[0], actor="tests")
        again = batch("store-1/1", 4, sale_records(5, 1))
        assert (await http.post("/v1/hub/batches", json=again, headers=other)).status_code == 200


async def test_a_lane_pushes_its_sale_to_the_hub_and_it_is_searchable_there(
    runtime: Runtime,
    hub_url: str,
    tmp_path: Path,
    sandbox: RunningSandbox,
    sale_payload: Callable[..., dict[str, Any]],
) -> None:
    """A lane's own push (its runtime, its SQLite feed) to this hub, end to end."""
    token = (await runtime.tokens.create("lane-3", ["hub:sync"], actor="tests")).token
    base = fast_settings(sandbox.url)
    settings = base.model_copy(update={"hub": HubSettings(url=hub_url, lane="3", push_every_seconds=60)})
    new_database(tmp_path / "lane")
    lane = build_runtime(
        settings, data=tmp_path / "lane", secrets={**sandbox_secrets(sandbox.url), "hub": {"token": token}}
    )
    try:
        assert lane.hub_push is not None
        lane.hub_push.debounce = 0.0
        lane.start_dispatching()
        await wait_until(lambda: lane.db.read_sync(change_feed.enabled))
        payload = sale_payload("S-LANE-3")
        payload["customer"] = dict(EMAIL_ONLY)
        result = await lane.checkout.accept(
            TriggerEvent("pos-api", "evt-lane-3", parse_sale(payload), datetime.now(UTC))
        )

        def searchable() -> list[tuple[str, str, str | None]]:
            query = select(HubReceiptRow.receipt_id, HubReceiptRow.sale_id, HubReceiptRow.customer_key)
            return [tuple(r) for r in runtime.db.read_sync(lambda s: s.execute(query).all())]  # type: ignore[misc]

        await wait_until(lambda: searchable() != [])
        assert searchable() == [(result.receipt_id, "S-LANE-3", "email:ana.garcia@example.com")]
        await wait_until(lambda: lane.db.read_sync(change_feed.status).backlog == 0)
        [served] = await HubService(runtime.db).lanes()
        assert (served.lane_id, served.parked) == (lane.hub_push.lane_id, 0)
    finally:
        await lane.close()
