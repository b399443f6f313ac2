"""Mailgun (HMAC in the body), Postmark (Basic credentials) and Mandrill (X-Mandrill-Signature) callbacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mailgun.security import SecurityGuard
from sqlalchemy import select

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.clock import utcnow
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime
from app.sandbox.server import RunningSandbox
from app.storage.models import DeliveryRow
from app.support.asgi_server import start_asgi_server
from app.triggers.pos import pos_event
from tests.conftest import drained, new_database, wait_until

Payload = Callable[..., dict[str, Any]]
PUBLIC_URL = "https://lane3.store.example"
KEYS = {
    "mailgun": {"webhook_signing_key": "mg-signing-key"},
    "postmark": {"webhook_username": "rd", "webhook_password": "pm-hook-pass"},
    "mandrill": {"webhook_key": "md-webhook-key"},
}


@pytest.fixture
async def served(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox: RunningSandbox, sale_payload: Payload
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient, DeliveryRow]]:
    provider: str = request.param
    settings = sandbox_settings(Settings(), sandbox.url, public_url=PUBLIC_URL, routing={Channel.EMAIL: provider})
    secrets = sandbox_secrets(sandbox.url)
    for name, values in KEYS.items():
        secrets[name] = {**secrets[name], **values}
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets=secrets)
    server = await start_asgi_server(runtime.local_api(), name="api")
    payload = sale_payload()
    payload["customer"] = {"email": "ana@example.com", "channels": ["email"]}
    await runtime.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
    runtime.start_dispatching()
    await wait_until(lambda: drained(runtime))
    delivery = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow)).one())
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield runtime, client, delivery
    await server.stop()
    await runtime.close()


async def state_of(runtime: Runtime, delivery_id: str) -> str:
    row = await runtime.db.read(lambda s: s.get(DeliveryRow, delivery_id))
    assert row is not None
    return row.state


def mailgun_body(delivery: DeliveryRow, key: str, event: str = "delivered", **extra: Any) -> bytes:
    timestamp, token = str(int(time.time())), "t" * 50
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    assert SecurityGuard.verify_webhook(key, token, timestamp, signature)  # the official helper agrees
    data = {
        "event": event,
        "id": f"ev-{event}",
        "timestamp": time.time(),
        "message": {"headers": {"message-id": delivery.provider_message_id}},
        "user-variables": {"receiptdesk_key": delivery.idempotency_key},
        **extra,
    }
    return json.dumps(
        {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": data}
    ).encode()


@pytest.mark.parametrize("served", ["mailgun"], indirect=True)
async def test_mailgun_events(served: tuple[Runtime, httpx.AsyncClient, DeliveryRow]) -> None:
    runtime, client, delivery = served
    forged = mailgun_body(delivery, "wrong-key")
    assert (await client.post("/webhooks/mailgun/events", content=forged)).status_code == 401
    good = mailgun_body(delivery, KEYS["mailgun"]["webhook_signing_key"], "failed", severity="permanent")
    assert (await client.post("/webhooks/mailgun/events", content=good)).status_code == 204
    assert await state_of(runtime, delivery.id) == "bounced"


@pytest.mark.parametrize("served", ["postmark"], indirect=True)
async def test_postmark_events(served: tuple[Runtime, httpx.AsyncClient, DeliveryRow]) -> None:
    runtime, client, delivery = served
    body = json.dumps(
        {
            "RecordType": "Delivery",
            "MessageID": delivery.provider_message_id,
            "Recipient": "ana@x",
            "DeliveredAt": "2026-11-28T10:00:00Z",
            "Metadata": {},
        }
    ).encode()
    assert (await client.post("/webhooks/postmark/events", content=body, auth=("rd", "nope"))).status_code == 401
    response = await client.post("/webhooks/postmark/events", content=body, auth=("rd", "pm-hook-pass"))
    assert response.status_code == 204
    assert await state_of(runtime, delivery.id) == "delivered"


@pytest.mark.parametrize("served", ["mandrill"], indirect=True)
async def test_mandrill_events(served: tuple[Runtime, httpx.AsyncClient, DeliveryRow]) -> None:
    runtime, client, delivery = served
    events = json.dumps(
        [
            {
                "event": "hard_bounce",
                "_id": delivery.provider_message_id,
                "ts": int(time.time()),
                "msg": {"metadata": {"receiptdesk_key": delivery.idempotency_key}, "bounce_description": "bad_mailbox"},
            }
        ]
    )
    url = f"{PUBLIC_URL}/webhooks/mandrill/events"
    signed = base64.b64encode(
        hmac.new(b"md-webhook-key", (url + "mandrill_events" + events).encode(), hashlib.sha1).digest()
    ).decode()
    form = {"mandrill_events": events}
    bad = await client.post("/webhooks/mandrill/events", data=form, headers={"X-Mandrill-Signature": "x" + signed})
    assert bad.status_code == 401
    good = await client.post("/webhooks/mandrill/events", data=form, headers={"X-Mandrill-Signature": signed})
    assert good.status_code == 204
    assert await state_of(runtime, delivery.id) == "bounced"
