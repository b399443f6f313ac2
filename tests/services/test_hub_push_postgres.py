"""A lane's push to the real hub (its API over loopback HTTP, on a real PostgreSQL server): a lane with
sales from before its hub, killed with SIGKILL mid-push and started again, leaves the hub every record once,
none parked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.demo.wiring import sandbox_secrets
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.main import build_runtime
from app.sandbox.server import RunningSandbox
from app.services.hub import HubService
from app.storage import change_feed, schema
from app.storage.database import Database
from app.storage.models import HubLaneRow, HubParkedRow, HubReceiptRow, HubRecordRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, fast_settings, new_database, wait_until
from tests.services.test_hub_push import LANE_PROCESS
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

LANE = "store-1/1"


@pytest.fixture
def pg_url() -> Iterator[str]:
    with private_cluster() as url:
        yield url


@pytest.fixture
async def hub(pg_url: str, tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[tuple[str, str, Database]]:
    """The hub's API on PostgreSQL: its URL, a lane's token (scope hub:sync), and its database."""
    db = Database(pg_url)
    schema.upgrade(db.write_engine)
    rt = build_runtime(fast_settings(sandbox.url), data=tmp_path / "hub", secrets=sandbox_secrets(sandbox.url), db=db)
    rt.hub = HubService(rt.db)
    server = await start_asgi_server(rt.local_api(), name="hub")
    token = (await authorised(rt, "hub:sync"))["Authorization"].removeprefix("Bearer ")
    yield server.url, token, db
    await server.stop()
    await rt.close()


def _count(db: Database, model: Any, **where: Any) -> int:
    return int(
        db.read_sync(lambda s: s.execute(select(func.count()).select_from(model).filter_by(**where)).scalar_one())
    )


async def test_a_lane_killed_mid_push_leaves_the_real_hub_every_record_once(
    tmp_path: Path,
    sandbox: RunningSandbox,
    hub: tuple[str, str, Database],
    sale_payload: Callable[..., dict[str, Any]],
) -> None:
    hub_url, token, hub_db = hub
    new_database(tmp_path / "lane")
    lane = build_runtime(fast_settings(sandbox.url), data=tmp_path / "lane", secrets=sandbox_secrets(sandbox.url))
    for n in range(1, 13):  # sales rung before the lane had a hub
        payload = sale_payload(f"S-{n}", seed=n, lane="1")
        await lane.checkout.accept(TriggerEvent("pos-api", f"evt-{n}", parse_sale(payload), datetime.now(UTC)))
    url = lane.db.url
    await lane.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}

    first = subprocess.Popen([sys.executable, "-c", LANE_PROCESS, url, hub_url, token], env=env)
    try:
        await wait_until(lambda: _count(hub_db, HubRecordRow) > 0, timeout=10)
        first.send_signal(signal.SIGKILL)  # somewhere in its push: a batch sent, applied, answered or not
        first.wait(10)
    finally:
        first.kill()

    lane_db = Database(url)
    try:
        newest = lane_db.read_sync(change_feed.status).newest_seq
        second = subprocess.Popen([sys.executable, "-c", LANE_PROCESS, url, hub_url, token], env=env)
        try:
            await wait_until(lambda: lane_db.read_sync(change_feed.status).backlog == 0, timeout=10)
        finally:
            second.send_signal(signal.SIGKILL)
            second.wait(10)
        fed = lane_db.read_sync(
            lambda s: {
                k: s.execute(select(func.count()).select_from(change_feed.table_of(k))).scalar_one()
                for k in change_feed.FED
            }
        )
    finally:
        lane_db.close()
    assert hub_db.read_sync(lambda s: s.execute(select(HubLaneRow.acked_seq)).scalar_one()) >= newest
    for kind, rows in fed.items():
        assert _count(hub_db, HubRecordRow, lane_id=LANE, kind=kind) == rows, kind
    assert _count(hub_db, HubReceiptRow, lane_id=LANE) == 12
    assert _count(hub_db, HubParkedRow) == 0  # the hub reads every column a lane sends
