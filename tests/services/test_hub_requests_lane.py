"""A lane carrying out the hub's resend requests (docs/hub.md, "Requests") over loopback HTTP: the lane's
real SQLite database and push, the hub's real API (on SQLite, as the demo runs it). A request is carried out
once and reported; a lane stopped between queueing and reporting (its outcome never leaves) reports on its
next round without sending again; a text to a number that never agreed fails with the lane's sentence."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.demo.wiring import sandbox_secrets
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime
from app.sandbox.server import RunningSandbox
from app.services.hub import HubService
from app.services.hub_pull import HubPullService
from app.services.hub_push import HubPushService
from app.services.hub_requests import HubRequestService, RequestsFailed
from app.services.receipts import NO_CONSENT
from app.storage import change_feed, hub_requests
from app.storage.models import AuditRow, DeliveryRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import EMAIL_ONLY, authorised, fast_settings, new_database

LANE_ID = "store-0042/3"


class LosesOutcomes(httpx.AsyncBaseTransport):
    """Loopback HTTP, but the next `lose` outcomes never leave the lane (as if it stopped right before)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lose = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.lose and request.url.path.endswith("/outcome"):
            self.lose -= 1
            raise httpx.ConnectError("the lane stopped", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def hub(runtime: Runtime) -> AsyncIterator[tuple[Runtime, str]]:
    runtime.hub = HubService(runtime.db)
    server = await start_asgi_server(runtime.local_api(), name="hub")
    yield runtime, server.url
    await server.stop()


@pytest.fixture
async def lane(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[Runtime]:
    new_database(tmp_path / "lane")
    rt = build_runtime(fast_settings(sandbox.url), data=tmp_path / "lane", secrets=sandbox_secrets(sandbox.url))
    await rt.db.write(lambda s: change_feed.enable(s, at=datetime.now(UTC)))
    yield rt  # not dispatching: what it queues stays queued
    await rt.close()


async def test_a_request_is_carried_out_once_and_reported_even_across_a_stop(
    hub: tuple[Runtime, str], lane: Runtime, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    hub_rt, url = hub
    token = (await authorised(hub_rt, "hub:sync"))["Authorization"].removeprefix("Bearer ")
    asker = await authorised(hub_rt, "receipts:resend")
    reader = await authorised(hub_rt, "receipts:read")
    payload = sale_payload("S-REQ-1")
    payload["customer"] = dict(EMAIL_ONLY)
    sale = await lane.checkout.accept(TriggerEvent("pos-api", "evt-req-1", parse_sale(payload), datetime.now(UTC)))
    push = HubPushService(lane.db, lane.http, None, url=url, token=token, lane_id=LANE_ID, store_id="store-0042")
    assert (await push.push_pending()).error is None

    async def deliveries() -> int:
        query = select(func.count()).select_from(DeliveryRow).where(DeliveryRow.receipt_id == sale.receipt_id)
        return int(await lane.db.read(lambda s: s.scalar(query)))

    transport = LosesOutcomes()
    async with httpx.AsyncClient(base_url=url) as http, httpx.AsyncClient(transport=transport) as lane_http:
        ask = {"lane_id": LANE_ID, "receipt_id": sale.receipt_id, "reason": "Asked at lane 1", "requested_by": "Dana"}
        email = (
            await http.post(
                "/v1/hub/requests", json={**ask, "channel": "email", "to": "ana@example.com"}, headers=asker
            )
        ).json()
        text = (
            await http.post("/v1/hub/requests", json={**ask, "channel": "sms", "to": "+12175550177"}, headers=asker)
        ).json()
        requests = HubRequestService(lane.db, lane.receipts, lane_http, url=url, lane_id=LANE_ID, token=lambda: token)
        before = await deliveries()

        transport.lose = 1  # queued, then stopped before the hub heard
        with pytest.raises(RequestsFailed, match="cannot be reached"):
            await requests.run()
        assert await deliveries() == before + 1
        kept = await lane.db.read(lambda s: hub_requests.carried(s, email["id"]))
        assert kept is not None and (kept.state, kept.reported_at) == ("done", None) and kept.delivery_id
        assert (await http.get(f"/v1/hub/requests/{email['id']}", headers=reader)).json()["state"] == "pending"

        report = await requests.run()  # the next pull: reported, not sent again; the text refused
        assert (report.listed, report.carried, report.reported) == (2, 1, 2)
        assert await deliveries() == before + 1
        shown = [(await http.get(f"/v1/hub/requests/{r['id']}", headers=reader)).json() for r in (email, text)]
        assert [(r["state"], r["detail"]) for r in shown] == [("done", None), ("failed", NO_CONSENT)]
        assert (await requests.run()).listed == 0

    actors = await lane.db.read(
        lambda s: s.scalars(select(AuditRow.actor).where(AuditRow.action == "receipt.resent")).all()
    )
    assert list(actors) == ["Dana (via hub)"]

    # a hub it keeps failing to ask: health says so in one sentence, after a few pulls
    pull = HubPullService(lane.db, lane.bus, lane.http, url=url, lane_id=LANE_ID, token=lambda: token)
    silent = HubRequestService(lane.db, lane.receipts, lane.http, url=url, lane_id=LANE_ID, token=lambda: None)
    pull.also.append(silent)
    for _ in range(3):
        assert pull.warning() is None
        await silent.after_pull()
    assert pull.warning() == (
        "Resend requests from the hub are not being answered: "
        "No hub token is set: store one with `receiptdesk secrets set hub token`."
    )
