"""Two lanes and their hub over loopback HTTP (the hub's API on a real PostgreSQL server, the lanes' real
push and pull services): a customer's choice made at lane A is used with zero taps at lane B, and a STOP at
lane A cancels B's queued text and keeps B from texting that number again. Each round of the push and the
pull is driven by its one-round method, so nothing waits on a timer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.demo.wiring import sandbox_secrets
from app.domain.channels import Channel
from app.domain.consent import ChannelGroup, ConsentSource
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.main import build_runtime
from app.main.runtime import Runtime
from app.sandbox.server import RunningSandbox
from app.services import consent as consent_service
from app.services.health import HealthService
from app.services.hub import HubService
from app.services.hub_pull import HubPullService, PullFailed
from app.services.hub_push import HubPushService
from app.storage import change_feed, consents, customers, schema
from app.storage.consents import Grant
from app.storage.database import Database, UnitOfWork
from app.storage.models import DeliveryRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, fast_settings, new_database
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

PHONE = "+12175550142"


@pytest.fixture
def pg_url() -> Iterator[str]:
    with private_cluster() as url:
        yield url


@pytest.fixture
async def hub(pg_url: str, tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[tuple[str, str]]:
    """The hub's API on PostgreSQL (as `serve --hub` builds it): its URL and a lane token (scope hub:sync)."""
    db = Database(pg_url)
    schema.upgrade(db.write_engine)
    rt = build_runtime(fast_settings(sandbox.url), data=tmp_path / "hub", secrets=sandbox_secrets(sandbox.url), db=db)
    rt.hub = HubService(rt.db)
    server = await start_asgi_server(rt.local_api(), name="hub")
    token = (await authorised(rt, "hub:sync"))["Authorization"].removeprefix("Bearer ")
    yield server.url, token
    await server.stop()
    await rt.close()


class Lane:
    """A lane's runtime (not sending: its texts stay queued) with its real push and pull to the hub."""

    def __init__(self, rt: Runtime, lane: str, hub_url: str, token: str) -> None:
        self.rt = rt
        self.lane = lane
        self.hub_url = hub_url
        lane_id = f"store-0042/{lane}"
        self.push = HubPushService(
            rt.db, rt.http, None, url=hub_url, token=token, lane_id=lane_id, store_id="store-0042"
        )
        self.pull = HubPullService(rt.db, rt.bus, rt.http, url=hub_url, lane_id=lane_id, token=lambda: token)

    async def sync(self) -> None:
        """One round each way: this lane's records to the hub, then the others' choices from it."""
        pushed = await self.push.push_pending()
        assert pushed.error is None, pushed.error
        await self.pull.pull()

    async def sale(self, payload: dict[str, Any], n: int) -> tuple[str, ...]:
        """Ring a sale; the ids of the texts it queued."""
        event = TriggerEvent("pos-api", f"{self.lane}-{n}", parse_sale(payload), datetime.now(UTC))
        result = await self.rt.checkout.accept(event)
        return tuple(d.id for d in result.deliveries if d.channel is Channel.SMS)

    async def states(self, ids: tuple[str, ...]) -> list[str]:
        rows = await self.rt.db.read(lambda s: s.execute(select(DeliveryRow.state).where(DeliveryRow.id.in_(ids))))
        return [str(r) for r in rows.scalars()]


@pytest.fixture
async def lanes(tmp_path: Path, sandbox: RunningSandbox, hub: tuple[str, str]) -> AsyncIterator[tuple[Lane, Lane]]:
    made = []
    for lane in ("1", "2"):
        new_database(tmp_path / lane)
        rt = build_runtime(fast_settings(sandbox.url), data=tmp_path / lane, secrets=sandbox_secrets(sandbox.url))
        await rt.db.write(lambda s: change_feed.enable(s, at=datetime.now(UTC)))
        made.append(Lane(rt, lane, *hub))
    yield made[0], made[1]
    for one in made:
        await one.rt.close()


async def test_a_choice_and_a_stop_at_one_lane_reach_the_other_over_http(
    lanes: tuple[Lane, Lane], sale_payload: Callable[..., dict[str, Any]]
) -> None:
    a, b = lanes
    now = datetime.now(UTC)

    def choose(s: UnitOfWork) -> None:  # at A's customer screen: "text my receipts, every time"
        cid = customers.upsert(s, now=now, name="Ada", loyalty_id=None, language=None, email=None, phone=PHONE)
        customers.set_preferences(s, cid, (Channel.SMS,), auto_send=True, now=now)
        grant = Grant(cid, Channel.SMS, PHONE, "Text me my receipts.", ConsentSource.CUSTOMER_SCREEN, lane="1")
        consents.record(s, grant, granted=True, now=now)

    await a.rt.db.write(choose)
    await a.sync()
    await b.sync()

    def payload(sale_id: str, seed: int) -> dict[str, Any]:
        sale = sale_payload(sale_id, seed=seed, lane="2", with_customer=False)
        sale.pop("loyalty", None)
        sale["customer"] = {"name": "Ada", "phone": PHONE}  # no channel chosen at B: zero taps
        return sale

    queued = await b.sale(payload("B-1", 1), 1)
    assert len(queued) == 1, "lane B did not text the receipt on its own"
    assert await b.states(queued) == ["queued"]

    def stop(s: UnitOfWork) -> None:  # the customer asks A's cashier to stop the texts
        consent_service.revoke_and_cancel(
            s, PHONE, ChannelGroup.TEXT, via=ConsentSource.CASHIER, actor="cashier-7", now=datetime.now(UTC)
        )

    await a.rt.db.write(stop)
    await a.sync()
    before = b.pull.last_pull_at
    await b.sync()
    assert b.pull.last_error is None and b.pull.last_pull_at != before
    assert await b.states(queued) == ["dead"], "B's queued text was not cancelled"
    assert await b.rt.db.read(lambda s: consents.opted_out(s, ChannelGroup.TEXT, PHONE))
    assert await b.sale(payload("B-2", 2), 2) == (), "B texted a number that said STOP at A"

    # a lane whose token the hub refuses: health says so in one sentence, beside the push's
    refused = HubPullService(b.rt.db, b.rt.bus, b.rt.http, url=b.hub_url, lane_id="store-0042/2", token=lambda: "x")
    with pytest.raises(PullFailed):
        await refused.pull()
    health = HealthService(b.rt.receipts, b.rt.dispatcher, (), hub=b.push, hub_pull=refused)
    words = (await health.check()).warnings
    assert any("refused this lane's token" in w and w.startswith("Customers' choices") for w in words), words
