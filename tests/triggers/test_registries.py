"""One plug-in shape for platforms: what the registries promise, and what derives from them.

A platform is its trigger module (and poller, if polled), its sandbox stand-in and its tests; the
routes, the command line, the demo's set-up and catch-up follow from the registries.
"""

from __future__ import annotations

import importlib
import json
import random
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import cli
from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.errors import ConfigurationError
from app.main import build_runtime
from app.sandbox.fire import PLATFORM_SECRETS, platform_settings
from app.sandbox.platforms.registry import STAND_INS
from app.sandbox.pos import make_sale
from app.support.asgi_server import start_asgi_server
from app.support.plugins import discover
from app.triggers import registry
from app.triggers.base import PlatformTrigger
from app.triggers.catchup import POLLERS, build_pollers
from app.triggers.registry import TRIGGERS, build_triggers
from tests.conftest import new_database

SANDBOX_URL = "http://127.0.0.1:9"
STORE = "store-0042"


def demo_secret(platform: str, name: str) -> str | None:
    return PLATFORM_SECRETS.get(platform, {}).get(name)


def test_every_platform_has_its_sandbox_stand_in_and_nothing_else_does() -> None:
    assert TRIGGERS and set(STAND_INS) == set(TRIGGERS)
    assert set(POLLERS) <= set(TRIGGERS)
    assert all(STAND_INS[name].keeps_orders for name in POLLERS)  # a catch-up poll has orders to list


@pytest.mark.parametrize("platform", sorted(TRIGGERS))
def test_the_demo_sets_up_every_declared_field_a_platform_needs(platform: str) -> None:
    trigger, stand_in = TRIGGERS[platform], STAND_INS[platform]
    assert trigger.platform == platform and trigger.display_name
    needed = {f.name for f in trigger.secret_fields if f.required}
    assert needed <= set(stand_in.secrets)
    needed = {f.name for f in trigger.setting_fields if f.required}
    assert needed <= set(stand_in.settings(SANDBOX_URL))


async def test_the_demo_builds_every_trigger_and_poller_from_the_registries() -> None:
    async with httpx.AsyncClient() as http:
        triggers = build_triggers(platform_settings(SANDBOX_URL), http, demo_secret, store_id=STORE)
        pollers, not_polled = build_pollers(platform_settings(SANDBOX_URL), http, demo_secret, store_id=STORE)
    assert {name: type(t) for name, t in triggers.items()} == TRIGGERS
    assert {name: type(p) for name, p in pollers.items()} == POLLERS and not not_polled


async def test_a_missing_field_fails_in_one_line_that_says_where_it_goes() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigurationError) as secret:
            build_triggers({"stripe": {}}, http, lambda platform, name: None, store_id=STORE)
        with pytest.raises(ConfigurationError) as setting:
            build_triggers({"clover": {}}, http, demo_secret, store_id=STORE)
        with pytest.raises(ConfigurationError, match="Unknown platform 'nope'"):
            build_triggers({"nope": {}}, http, demo_secret, store_id=STORE)
        _, not_polled = build_pollers({"square": {}}, http, demo_secret, store_id=STORE)
    assert "`receiptdesk secrets set stripe signing_secret`" in secret.value.message
    assert "merchant_id" in setting.value.message and "[platforms.clover]" in setting.value.message
    assert all("\n" not in e.value.message for e in (secret, setting))
    assert not_polled == {"square": "not configured (needs the access_token secret and a location_id setting)"}


def _positional_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        cli.main([*argv, "--help"])
    return " ".join(capsys.readouterr().out.split())


def _listed(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


def test_the_command_line_names_exactly_the_registries_platforms(capsys: pytest.CaptureFixture[str]) -> None:
    fire = _positional_help(["sandbox"], capsys)
    match = re.search(r".*\bplatform (.+?); or twilio", fire)  # the last "platform": the argument, not the text
    assert match is not None and match.group(1) == _listed(sorted(TRIGGERS)), fire
    assert all(topic in fire for stand_in in STAND_INS.values() for topic in stand_in.update_topics)
    sync = _positional_help(["sync"], capsys)
    match = re.search(r"\bplatform (.+?) \(default", sync)
    assert match is not None and match.group(1) == _listed(sorted(POLLERS)), sync


PLUGIN = '''
"""A platform nobody ships: its sales arrive as canonical sale JSON with a shared token."""

import hmac
import json
from typing import ClassVar

from app.domain.errors import SignatureRejected
from app.domain.events import TriggerEvent
from app.domain.inbound import InboundRequest
from app.domain.intake import parse_sale
from app.domain.plugins import SecretField
from app.triggers.base import PlatformTrigger


class AcmeTrigger(PlatformTrigger):
    platform: ClassVar[str] = "acme"
    display_name: ClassVar[str] = "Acme"
    secret_fields = (SecretField("token", "Shared token"),)

    def __init__(self, *, token: str, store_id: str) -> None:
        self.require(token=token)
        super().__init__(store_id=store_id)
        self._token = token.encode()

    def verify(self, request: InboundRequest) -> None:
        if not hmac.compare_digest((request.header("X-Acme-Token") or "").encode(), self._token):
            raise SignatureRejected("X-Acme-Token does not match")

    async def events(self, request: InboundRequest) -> list[TriggerEvent]:
        sale = parse_sale(dict(json.loads(request.body), store_id=self.store_id))
        return [TriggerEvent(source="acme", event_id=f"acme-{sale.sale_id}", sale=sale,
                             received_at=request.received_at, order_id=sale.order_id)]
'''


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[PlatformTrigger]]:
    """A throwaway platform package, discovered like `app.triggers` and put in the trigger registry."""
    package = tmp_path / "acme_platforms"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "acme.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover(importlib.import_module("acme_platforms"), PlatformTrigger, key="platform")  # type: ignore[type-abstract]
    assert list(found) == ["acme"]
    monkeypatch.setitem(registry.TRIGGERS, "acme", found["acme"])
    yield found["acme"]
    for name in ("acme_platforms", "acme_platforms.acme"):
        sys.modules.pop(name, None)


async def test_a_discovered_platform_is_routed_through_intake(acme: type[PlatformTrigger], tmp_path: Path) -> None:
    settings = sandbox_settings(Settings(), SANDBOX_URL)
    settings = settings.model_copy(update={"platforms": {"acme": {}}})
    secrets = {**sandbox_secrets(SANDBOX_URL), "acme": {"token": "acme-token"}}
    new_database(tmp_path / "data")
    runtime = build_runtime(settings, data=tmp_path / "data", secrets=secrets)
    server = await start_asgi_server(runtime.local_api(), name="api")
    try:
        assert runtime.intake.platforms == ("acme",)
        body = json.dumps(make_sale(random.Random(3), sale_id="A-1")).encode()
        async with httpx.AsyncClient(base_url=server.url) as client:
            forged = await client.post("/webhooks/acme", content=body, headers={"X-Acme-Token": "guess"})
            accepted = await client.post("/webhooks/acme", content=body, headers={"X-Acme-Token": "acme-token"})
        assert forged.status_code == 401
        assert accepted.status_code == 202, accepted.text
        assert await runtime.receipts.count() == 1
    finally:
        await server.stop()
        await runtime.close()
