"""A lane pulls its store's settings from its hub over loopback HTTP (the hub's API on SQLite, the lane's real
database and pull): a new version is kept and used (retention at once, the store's details and routing at the
next start, as health says), reported in each batch and shown in the hub's health of the lane, and still used
after a restart with the hub away."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets
from app.domain.channels import Channel
from app.domain.events import TriggerEvent
from app.domain.hub_token import HUB_OWNER, HUB_TOKEN
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime
from app.sandbox.server import RunningSandbox
from app.services.hub import HubService
from app.services.hub_settings_pull import StoreSettingsPull
from app.storage import change_feed, hub_settings
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, fast_settings, new_database

STORE = {"name": "Hub Market", "address": "9 Hub Road", "phone": "+1 217 555 0199", "footer": "From the hub"}
SETTINGS = {"store": STORE, "routing": {"email": "postmark", "sms": "twilio"}, "retention": {"receipts_days": 400}}


@pytest.fixture
async def hub(runtime: Runtime) -> AsyncIterator[tuple[str, dict[str, dict[str, str]]]]:
    """The hub's API (on the `runtime` fixture's SQLite) and tokens by scope."""
    runtime.hub = HubService(runtime.db)
    server = await start_asgi_server(runtime.local_api(), name="hub")
    tokens = {scope: await authorised(runtime, scope) for scope in ("admin", "hub:sync", "receipts:read")}
    yield server.url, tokens
    await server.stop()


def lane(sandbox: RunningSandbox, data: Path, hub_url: str, token: str) -> Runtime:
    base = fast_settings(sandbox.url)
    settings = base.model_copy(
        update={
            "store": base.store.model_copy(update={"id": "store-1", "name": "Lane's Own Name"}),
            "hub": base.hub.model_copy(update={"url": hub_url}),
        }
    )
    secrets = {**sandbox_secrets(sandbox.url), HUB_OWNER: {HUB_TOKEN.name: token}}
    new_database(data)
    return build_runtime(Settings.model_validate(settings.model_dump()), data=data, secrets=secrets)


def settings_pull(rt: Runtime) -> StoreSettingsPull:
    assert rt.hub_pull is not None
    return next(p for p in rt.hub_pull.also if isinstance(p, StoreSettingsPull))


async def ring(rt: Runtime, payload: dict[str, Any], n: int) -> str:
    event = TriggerEvent("pos-api", f"evt-{n}", parse_sale(payload), datetime.now(UTC))
    return (await rt.checkout.accept(event)).receipt_id


async def test_a_lane_keeps_uses_and_reports_its_stores_settings_from_the_hub(
    tmp_path: Path,
    sandbox: RunningSandbox,
    hub: tuple[str, dict[str, dict[str, str]]],
    sale_payload: Callable[..., dict[str, Any]],
) -> None:
    url, tokens = hub
    token = tokens["hub:sync"]["Authorization"].removeprefix("Bearer ")
    async with httpx.AsyncClient(base_url=url) as http:
        put = await http.put("/v1/hub/settings/store-1", json={"settings": SETTINGS}, headers=tokens["admin"])
        assert put.status_code == 200, put.text

        rt = lane(sandbox, tmp_path / "lane", url, token)
        try:
            pull = settings_pull(rt)
            assert pull.version is None and rt.retention is not None
            assert await pull.pull() == 1
            assert await pull.pull() is None  # nothing newer
            kept = rt.db.read_sync(lambda s: hub_settings.pulled(s, "store-1"))
            assert kept is not None and kept.version == 1 and kept.settings["store"]["name"] == "Hub Market"
            assert rt.retention.settings.receipts_days == 400  # the purge uses it at once
            assert rt.settings.store.name == "Hub Market" and rt.settings.store.id == "store-1"
            assert "version 1 from the hub take effect at the next start" in (pull.warning() or "")

            await rt.db.write(lambda s: change_feed.enable(s, at=datetime.now(UTC)))
            await ring(rt, sale_payload("S-1", seed=1), 1)
            assert rt.hub_push is not None and (await rt.hub_push.push_pending()).error is None
            health = await rt.health.check()
            assert health.hub_settings_version == 1
            assert any("take effect at the next start" in w for w in health.warnings)
        finally:
            await rt.close()

        lanes = (await http.get("/v1/health", headers=tokens["receipts:read"])).json()["lanes"]
        assert [(x["lane_id"], x["settings_version"]) for x in lanes] == [("store-1/1", 1)]

    offline = lane(sandbox, tmp_path / "lane", "http://127.0.0.1:9", token)  # the hub away: nothing listens
    try:
        assert offline.settings.store.name == "Hub Market" and offline.settings.store.id == "store-1"
        assert offline.routing.primaries()[Channel.EMAIL] == "postmark"
        assert offline.retention is not None and offline.retention.settings.receipts_days == 400
        receipt = await offline.receipts.get(await ring(offline, sale_payload("S-2", seed=2), 2))
        assert "Hub Market" in receipt.html and "From the hub" in receipt.text
        assert (await offline.health.check()).hub_settings_version == 1
        await settings_pull(offline).after_pull()  # the hub cannot be reached: the lane goes on with version 1
        assert settings_pull(offline).version == 1 and offline.settings.store.name == "Hub Market"
    finally:
        await offline.close()
