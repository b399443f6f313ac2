"""Store settings on the hub, on a real PostgreSQL server behind its API over loopback HTTP: each change a new
version, a change over a stale version refused, settings a lane would refuse refused in one sentence with
nothing written, and who may read and change them; and the hub's command line (`hub settings set/show`)."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from app.demo.wiring import sandbox_secrets
from app.main import build_runtime
from app.sandbox.server import RunningSandbox
from app.services.hub import HubService
from app.storage import schema
from app.storage.database import Database
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, fast_settings
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

STORE = {"name": "Corner Market", "address": "1 Main St", "phone": "+1 217 555 0100", "footer": "Thank you!"}
PATH = "/v1/hub/settings/store-1"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with private_cluster() as url:
        yield url


@pytest.fixture
async def hub(
    pg_url: str, tmp_path: Path, sandbox: RunningSandbox
) -> AsyncIterator[tuple[str, dict[str, dict[str, str]]]]:
    """The hub's API on PostgreSQL, and tokens by scope: admin, hub:sync, receipts:read, sales:write."""
    db = Database(pg_url)
    schema.upgrade(db.write_engine)
    rt = build_runtime(fast_settings(sandbox.url), data=tmp_path / "hub", secrets=sandbox_secrets(sandbox.url), db=db)
    rt.hub = HubService(rt.db)
    server = await start_asgi_server(rt.local_api(), name="hub")
    tokens = {scope: await authorised(rt, scope) for scope in ("admin", "hub:sync", "receipts:read", "sales:write")}
    yield server.url, tokens
    await server.stop()
    await rt.close()


async def test_each_change_is_a_version_checked_as_a_lane_checks_its_file(
    hub: tuple[str, dict[str, dict[str, str]]],
) -> None:
    url, tokens = hub
    admin = tokens["admin"]
    async with httpx.AsyncClient(base_url=url) as http:
        assert (await http.get(PATH, headers=tokens["hub:sync"])).status_code == 404

        first = await http.put(PATH, json={"settings": {"store": STORE}}, headers=admin)
        assert (first.status_code, first.json()["version"]) == (200, 1)
        change = {"settings": {"store": STORE, "retention": {"receipts_days": 400}}, "version": 1}
        second = await http.put(PATH, json=change, headers=admin)
        assert (second.status_code, second.json()["version"]) == (200, 2)

        stale = await http.put(PATH, json=change, headers=admin)  # replaces 1, but 2 came first
        assert stale.status_code == 409 and stale.json()["version"] == 2
        assert "version 2" in stale.json()["error"]

        for bad, words in [
            ({"retention": {"receipts_days": 3}}, "retention.receipts_days"),
            ({"store": {**STORE, "id": "store-9"}}, "store.id is each lane's own"),
            ({"api": {"port": 1}}, "[api] is not a section the hub manages"),
            ({"store": {"name": "Only a name"}}, "set address and phone"),
        ]:
            refused = await http.put(PATH, json={"settings": bad}, headers=admin)
            assert refused.status_code == 422 and words in refused.json()["error"], refused.text
            assert "\n" not in refused.json()["error"]

        for scope in ("hub:sync", "receipts:read"):
            got = await http.get(PATH, headers=tokens[scope])
            assert got.status_code == 200, scope
        body = got.json()
        assert (body["store_id"], body["version"], body["updated_by"]) == ("store-1", 2, "tests-1")
        assert body["settings"] == {"store": STORE, "retention": {"receipts_days": 400}}  # the 422s changed nothing
        assert (await http.get(PATH, headers=tokens["sales:write"])).status_code == 403
        assert (await http.put(PATH, json=change, headers=tokens["hub:sync"])).status_code == 403


def test_the_hubs_command_line_sets_and_shows_a_stores_settings(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.commands.hub_settings import hub_settings

    config = tmp_path / "hub.toml"
    config.write_text(f'[database]\nurl = "{pg_url}"\n', encoding="utf-8")
    store = tmp_path / "store.toml"
    store.write_text('[store]\nname = "Corner Market"\naddress = "1 Main St"\nphone = "555"\n', encoding="utf-8")

    def run(*words: str) -> int:
        args = argparse.Namespace(
            config=config, data_dir=str(tmp_path / "data"), settings_action=words[0], store_id="store-7"
        )
        args.file = Path(words[1]) if len(words) > 1 else None
        return hub_settings(args)

    assert run("set", str(store)) == 0
    assert "Settings of store-7 are now version 1" in capsys.readouterr().out
    assert run("show") == 0
    shown = capsys.readouterr().out
    assert "version 1" in shown and 'name = "Corner Market"' in shown
