"""Resend requests on the hub (docs/hub.md, "Requests") over loopback HTTP, the hub on a real PostgreSQL
server: made, listed to the owning lane, answered once, read back masked; refused in one sentence with
nothing written on bad input, an unknown receipt or the wrong scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.config.settings import Settings
from app.main import Runtime, build_runtime
from app.services.hub import HubService
from app.storage import schema
from app.storage.database import Database
from app.storage.models import HubRequestRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised
from tests.storage.hub_batches import batch, sale_records
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

LANE = "store-1/1"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient, dict[str, str]]]:
    """The hub's API on PostgreSQL (as `serve --hub` builds it) holding one receipt of LANE, `r-1`, pushed
    with LANE's token (whose header comes third: the hub bound it to LANE)."""
    with private_cluster() as url:
        db = Database(url)
        schema.upgrade(db.write_engine)
        rt = build_runtime(Settings(), data=tmp_path / "hub", secrets={}, db=db, sending=False)
        rt.hub = HubService(rt.db)
        server = await start_asgi_server(rt.local_api(), name="hub")
        try:
            async with httpx.AsyncClient(base_url=server.url) as http:
                lane = await authorised(rt, "hub:sync")
                pushed = await http.post("/v1/hub/batches", json=batch(LANE, 0, sale_records(1, 1)), headers=lane)
                assert pushed.status_code == 200, pushed.text
                yield rt, http, lane
        finally:
            await server.stop()
            await rt.close()


async def test_a_request_is_listed_to_its_lane_answered_once_and_read_back_masked(
    hub: tuple[Runtime, httpx.AsyncClient, dict[str, str]],
) -> None:
    rt, http, lane = hub
    asker = await authorised(rt, "receipts:resend")
    reader = await authorised(rt, "receipts:read")
    ask = {
        "lane_id": LANE,
        "receipt_id": "r-1",
        "channel": "sms",
        "to": "(217) 555-0100",
        "reason": "Customer asked at lane 1",
        "requested_by": "Dana",
    }

    made = await http.post("/v1/hub/requests", json=ask, headers=asker)
    assert made.status_code == 202, made.text
    request = made.json()
    assert set(request) == {
        "id", "lane_id", "receipt_id", "kind", "channel", "to", "reason", "requested_by", "requested_at", "state",
        "detail", "updated_at",
    }  # fmt: skip
    assert (request["kind"], request["state"], request["to"]) == ("resend", "pending", "(***) ***-0100")
    path = f"/v1/hub/requests/{request['id']}"

    pending = (await http.get("/v1/hub/requests", params={"lane_id": LANE}, headers=lane)).json()
    assert [(p["id"], p["to"], p["channel"]) for p in pending] == [(request["id"], "+12175550100", "sms")]
    assert (await http.get("/v1/hub/requests", params={"lane_id": "store-1/2"}, headers=lane)).json() == []

    done = {"lane_id": LANE, "state": "done", "detail": None, "delivery_id": "d-1"}
    first = await http.post(f"{path}/outcome", json=done, headers=lane)
    assert (first.status_code, first.json()["state"]) == (200, "done")
    again = await http.post(f"{path}/outcome", json={**done, "state": "failed", "detail": "No."}, headers=lane)
    assert (again.status_code, again.json()["state"], again.json()["detail"]) == (200, "done", None)
    assert (await http.get("/v1/hub/requests", params={"lane_id": LANE}, headers=lane)).json() == []
    other = await http.post(f"{path}/outcome", json={**done, "lane_id": "store-1/2"}, headers=lane)
    assert other.status_code == 404

    shown = await http.get(path, headers=reader)
    assert shown.status_code == 200
    assert {k: shown.json()[k] for k in ("state", "to", "reason", "requested_by")} == {
        "state": "done",
        "to": "(***) ***-0100",
        "reason": "Customer asked at lane 1",
        "requested_by": "Dana",
    }

    # wrong scope: each route refuses the others' tokens
    assert (await http.post("/v1/hub/requests", json=ask, headers=reader)).status_code == 403
    assert (await http.get("/v1/hub/requests", params={"lane_id": LANE}, headers=asker)).status_code == 403
    assert (await http.post(f"{path}/outcome", json=done, headers=reader)).status_code == 403
    assert (await http.get(path, headers=lane)).status_code == 403

    # an unknown receipt, unknown requests and bad input: one sentence, nothing written
    count = await rt.db.read(lambda s: s.scalar(select(func.count()).select_from(HubRequestRow)))
    unknown = await http.post("/v1/hub/requests", json={**ask, "receipt_id": "r-9"}, headers=asker)
    assert (unknown.status_code, unknown.json()) == (404, {"error": "The hub has no receipt r-9 of lane store-1/1."})
    for missing in ("/v1/hub/requests/999999", "/v1/hub/requests/abc", "/v1/hub/requests/99999999999"):
        assert (await http.get(missing, headers=reader)).status_code == 404
    for bad in (
        {**ask, "channel": "push"},
        {**ask, "to": "not a number"},
        {**ask, "channel": "email", "to": "nobody@"},
        {**ask, "channel": "print"},  # a reprint has no contact
        {**ask, "reason": "  "},
        {**ask, "reason": "card 4242 4242 4242 4242"},
        {**ask, "requested_by": "x" * 65},
        {k: v for k, v in ask.items() if k != "lane_id"},
    ):
        answer = await http.post("/v1/hub/requests", json=bad, headers=asker)
        assert answer.status_code == 422, (bad, answer.text)
        assert list(answer.json()) == ["error"] and "\n" not in answer.json()["error"]
    for lane_id in ({}, {"lane_id": ""}, {"lane_id": "a\x00b"}):
        listed = await http.get("/v1/hub/requests", params=lane_id, headers=lane)
        assert listed.status_code == 422 and list(listed.json()) == ["error"], listed.text
    bad_outcome = await http.post(f"{path}/outcome", json={**done, "state": "maybe"}, headers=lane)
    assert bad_outcome.status_code == 422
    assert await rt.db.read(lambda s: s.scalar(select(func.count()).select_from(HubRequestRow))) == count
    reprint = await http.post("/v1/hub/requests", json={**ask, "channel": "print", "to": ""}, headers=asker)
    assert (reprint.status_code, reprint.json()["to"]) == (202, "")

    # a lane bound to its own token (its first push): another lane's token neither reads nor answers its requests
    lane = await authorised(rt, "hub:sync")
    listed = await http.get("/v1/hub/requests", params={"lane_id": LANE}, headers=lane)
    assert listed.status_code == 403 and f"is not the one lane {LANE} pushes with" in listed.json()["error"]
    assert (await http.post(f"{path}/outcome", json=done, headers=lane)).status_code == 403
