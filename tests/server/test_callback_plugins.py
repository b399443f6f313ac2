"""A provider's status callbacks need only their own class: routes, wiring and recording come from the registry.

`AcmeCallbacks` below stands for a new provider's `app/providers/acme_events.py`. Put into the
registry, it is wired from `[providers.acme]` and the keyring, served at `/webhooks/acme/events`
(and its documented extra path), published in the OpenAPI schema, and its events move a real
delivery in a real SQLite database, over real HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from sqlalchemy import select

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.clock import utcnow
from app.domain.errors import SignatureRejected
from app.domain.inbound import InboundRequest
from app.domain.intake import parse_sale
from app.domain.plugins import SecretField, SettingField
from app.domain.tracking import EventKind, StatusEvent
from app.main import Runtime, build_runtime
from app.providers.callback_registry import CALLBACKS
from app.providers.callbacks import StatusCallbacks
from app.sandbox.server import RunningSandbox
from app.storage.models import DeliveryEventRow, DeliveryRow
from app.support.asgi_server import start_asgi_server
from app.triggers.pos import pos_event
from tests.conftest import authorised, drained, new_database, wait_until

Payload = Callable[..., dict[str, Any]]
SIGNING_SECRET = "acme-signing-secret"


class AcmeCallbacks(StatusCallbacks):
    """A made-up provider: JSON events, hex HMAC-SHA256 of the body under a shared secret."""

    provider_id: ClassVar[str] = "acme"
    display_name: ClassVar[str] = "Acme Mail"
    summary: ClassVar[str] = "Acme Mail events (X-Acme-Signature)"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("signing_secret", "Signing secret"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (SettingField("account", "Account name"),)
    paths: ClassVar[tuple[str, ...]] = ("/webhooks/acme/status",)

    def __init__(self, *, signing_secret: str, account: str) -> None:
        self._secret = signing_secret
        self._account = account

    def verify(self, request: InboundRequest) -> None:
        expected = hmac.new(self._secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.header("X-Acme-Signature") or ""):
            raise SignatureRejected("The Acme signature did not verify.")

    def parse(self, request: InboundRequest) -> list[StatusEvent]:
        data = json.loads(request.body)
        if not isinstance(data, dict) or data.get("account") != self._account:
            raise ValueError("not an event of this account")
        return [
            StatusEvent(
                provider="acme",
                event_id=str(data["id"]),
                kind=EventKind.DELIVERED if data.get("status") == "delivered" else EventKind.UNKNOWN,
                occurred_at=request.received_at,
                raw_status=str(data.get("status")),
                raw=json.dumps(data, sort_keys=True),
                delivery_key=str(data["key"]),
            )
        ]


def signed(body: dict[str, Any], secret: str = SIGNING_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {"X-Acme-Signature": hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()}


@asynccontextmanager
async def serve(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload, *, secret: str | None
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient, DeliveryRow]]:
    settings = sandbox_settings(Settings(), sandbox.url)
    settings = settings.model_copy(update={"providers": {**settings.providers, "acme": {"account": "store-3"}}})
    secrets = sandbox_secrets(sandbox.url)
    if secret is not None:
        secrets["acme"] = {"signing_secret": secret}
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets=secrets)
    server = await start_asgi_server(runtime.local_api(), name="api")
    try:
        payload = sale_payload()
        payload["customer"] = {"email": "ana@example.com", "channels": ["email"]}
        await runtime.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
        runtime.start_dispatching()
        await wait_until(lambda: drained(runtime))
        delivery = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow)).one())
        async with httpx.AsyncClient(base_url=server.url, headers=await authorised(runtime)) as client:
            yield runtime, client, delivery
    finally:
        await server.stop()
        await runtime.close()


@pytest.fixture
async def served(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient, DeliveryRow]]:
    monkeypatch.setitem(CALLBACKS, "acme", AcmeCallbacks)  # what adding app/providers/acme_events.py does
    async with serve(tmp_path, sandbox, sale_payload, secret=SIGNING_SECRET) as value:
        yield value


async def test_a_new_providers_callbacks_are_routed_verified_and_recorded(
    served: tuple[Runtime, httpx.AsyncClient, DeliveryRow],
) -> None:
    runtime, client, delivery = served
    body, headers = signed({"id": "ev-1", "account": "store-3", "status": "delivered", "key": delivery.idempotency_key})

    forged = await client.post("/webhooks/acme/events", content=body, headers={"X-Acme-Signature": "0" * 64})
    assert forged.status_code == 401 and forged.content == b""
    assert runtime.callbacks.rejected["acme"] == 1
    assert await runtime.db.read(lambda s: s.scalars(select(DeliveryEventRow)).all()) == []

    assert (await client.post("/webhooks/acme/events", content=body, headers=headers)).status_code == 204
    assert (await client.post("/webhooks/acme/status", content=body, headers=headers)).status_code == 204  # again
    events = await runtime.db.read(lambda s: s.scalars(select(DeliveryEventRow)).all())
    assert [(e.provider, e.event_id, e.kind, e.delivery_id) for e in events] == [
        ("acme", "ev-1", "delivered", delivery.id)
    ]
    state = await runtime.db.read(lambda s: s.get(DeliveryRow, delivery.id).state)  # type: ignore[union-attr]
    assert state == "delivered"
    health = (await client.get("/v1/health")).json()
    assert health["rejected_webhooks"] == {"acme": 1}


async def test_a_verified_body_it_cannot_read_is_422_and_an_unknown_provider_404(
    served: tuple[Runtime, httpx.AsyncClient, DeliveryRow],
) -> None:
    _, client, delivery = served
    body, headers = signed({"id": "ev-2", "account": "another-store", "key": delivery.idempotency_key})
    assert (await client.post("/webhooks/acme/events", content=body, headers=headers)).status_code == 422
    assert (await client.post("/webhooks/nobody/events", content=body, headers=headers)).status_code == 404


async def test_the_published_schema_names_the_new_provider(
    served: tuple[Runtime, httpx.AsyncClient, DeliveryRow],
) -> None:
    _, client, _ = served
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/webhooks/acme/events", "/webhooks/acme/status"):
        assert paths[path]["post"]["summary"] == "Acme Mail events (X-Acme-Signature)"
        assert set(paths[path]["post"]["responses"]) == {"204", "401", "422"}
    assert "/webhooks/{provider}/events" not in paths


async def test_without_its_secret_the_provider_is_not_set_up_and_refuses_everything(
    tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(CALLBACKS, "acme", AcmeCallbacks)
    async with serve(tmp_path, sandbox, sale_payload, secret=None) as (runtime, client, delivery):
        body, headers = signed(
            {"id": "ev-3", "account": "store-3", "status": "delivered", "key": delivery.idempotency_key}
        )
        response = await client.post("/webhooks/acme/events", content=body, headers=headers)
        assert response.status_code == 401 and response.content == b""
        assert runtime.callbacks.rejected["acme"] == 1
        assert await runtime.db.read(lambda s: s.scalars(select(DeliveryEventRow)).all()) == []
