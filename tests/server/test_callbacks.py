"""Provider status callbacks over real HTTP: verified as each provider signs, one timeline per delivery."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.demo.wiring import sandbox_secrets
from app.main import Runtime, build_runtime
from app.sandbox import credentials
from app.sandbox.server import RunningSandbox
from app.storage import audit
from app.storage.models import DeliveryEventRow, DeliveryRow
from app.support.asgi_server import RunningServer, start_asgi_server
from tests.conftest import authorised, drained, fast_settings, new_database, wait_until

Payload = Callable[..., dict[str, Any]]
PUBLIC_URL = "https://lane3.store.example"
SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY_B64 = base64.b64encode(
    SIGNING_KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


@pytest.fixture
async def served(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox: RunningSandbox
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    settings = fast_settings(sandbox.url)
    texts_per_day: int | None = getattr(request, "param", None)  # `indirect` parametrisation: a tighter cap
    if texts_per_day is not None:
        settings = settings.model_copy(
            update={"texts": settings.texts.model_copy(update={"per_number_per_day": texts_per_day})}
        )
    providers = {
        **settings.providers,
        "sendgrid": {**settings.providers["sendgrid"], "webhook_public_key": PUBLIC_KEY_B64},
    }
    settings = settings.model_copy(
        update={
            "providers": providers,
            "api": settings.api.model_copy(update={"public_url": PUBLIC_URL}),
        }
    )
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets=sandbox_secrets(sandbox.url))
    server: RunningServer = await start_asgi_server(runtime.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url, headers=await authorised(runtime)) as client:
        yield runtime, client
    await server.stop()
    await runtime.close()


async def sent_delivery(
    runtime: Runtime, client: httpx.AsyncClient, payload: dict[str, Any], channel: str
) -> DeliveryRow:
    assert (await client.post("/v1/sales", json=payload)).status_code == 202
    runtime.start_dispatching()
    await wait_until(lambda: drained(runtime))
    rows = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow).where(DeliveryRow.channel == channel)).all())
    return rows[0]


def twilio_post(client: httpx.AsyncClient, form: dict[str, str], token: str = credentials.TWILIO_AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(f"{PUBLIC_URL}/webhooks/twilio/status", form)
    return client.post("/webhooks/twilio/status", data=form, headers={"X-Twilio-Signature": signature})


async def test_twilio_delivered_callback_moves_the_delivery_once(
    served: tuple[Runtime, httpx.AsyncClient], sale_payload: Payload
) -> None:
    runtime, client = served
    payload = sale_payload()
    payload["customer"] = {"phone": "+12175550142", "channels": ["sms"]}
    delivery = await sent_delivery(runtime, client, payload, "sms")
    assert delivery.provider_message_id
    form = {"MessageSid": delivery.provider_message_id, "MessageStatus": "delivered", "AccountSid": "AC1", "To": "+1"}
    assert (await twilio_post(client, form)).status_code == 204
    assert (await twilio_post(client, form)).status_code == 204  # Twilio retries: recognised, not doubled
    events = await runtime.db.read(lambda s: s.scalars(select(DeliveryEventRow)).all())
    assert [(e.kind, e.delivery_id) for e in events] == [("delivered", delivery.id)]
    state = await runtime.db.read(lambda s: s.get(DeliveryRow, delivery.id).state)  # type: ignore[union-attr]
    assert state == "delivered"


async def test_a_forged_twilio_callback_is_401_and_changes_nothing(
    served: tuple[Runtime, httpx.AsyncClient], sale_payload: Payload
) -> None:
    runtime, client = served
    payload = sale_payload()
    payload["customer"] = {"phone": "+12175550142", "channels": ["sms"]}
    delivery = await sent_delivery(runtime, client, payload, "sms")
    form = {"MessageSid": delivery.provider_message_id or "", "MessageStatus": "delivered"}
    response = await twilio_post(client, form, token="not-the-token")
    assert response.status_code == 401 and response.content == b""
    assert await runtime.db.read(lambda s: s.scalars(select(DeliveryEventRow)).all()) == []
    assert runtime.callbacks.rejected["twilio"] == 1


def signed_sendgrid(events: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
    body = (json.dumps(events) + "\r\n").encode()
    timestamp = str(int(time.time()))
    signature = base64.b64encode(SIGNING_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    return body, {
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "content-type": "application/json",
    }


def test_our_sendgrid_signatures_verify_with_the_official_sdk() -> None:
    body, headers = signed_sendgrid([{"event": "delivered"}])
    sdk = EventWebhook()
    key = sdk.convert_public_key_to_ecdsa(PUBLIC_KEY_B64)
    assert sdk.verify_signature(
        body.decode(),
        headers["X-Twilio-Email-Event-Webhook-Signature"],
        headers["X-Twilio-Email-Event-Webhook-Timestamp"],
        key,
    )


async def test_a_sendgrid_bounce_falls_back_to_text_with_consent(
    served: tuple[Runtime, httpx.AsyncClient], sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    runtime, client = served
    earlier = sale_payload("S-1000")  # an earlier receipt by text: the customer's SMS consent
    earlier["customer"] = {"email": "gone@example.com", "phone": "+12175550142", "channels": ["sms"]}
    await sent_delivery(runtime, client, earlier, "sms")
    payload = sale_payload()
    payload["customer"] = {"email": "gone@example.com", "phone": "+12175550142", "channels": ["email"]}
    email = await sent_delivery(runtime, client, payload, "email")
    events = [
        {
            "event": "processed",
            "sg_event_id": "ev-1",
            "sg_message_id": f"{email.provider_message_id}.filter0001",
            "timestamp": int(time.time()),
            "receiptdesk_key": email.idempotency_key,
            "email": "gone@example.com",
        },
        {
            "event": "bounce",
            "sg_event_id": "ev-2",
            "sg_message_id": f"{email.provider_message_id}.filter0001",
            "timestamp": int(time.time()),
            "reason": "550 5.1.1 mailbox unavailable",
            "email": "gone@example.com",
        },
    ]
    body, headers = signed_sendgrid(events)
    response = await client.post("/webhooks/sendgrid/events", content=body, headers=headers)
    assert response.status_code == 200 and response.json() == {"recorded": 2, "duplicates": 0}
    again = await client.post("/webhooks/sendgrid/events", content=body, headers=headers)
    assert again.json() == {"recorded": 0, "duplicates": 2}
    bounced = await runtime.db.read(lambda s: s.get(DeliveryRow, email.id))
    assert bounced is not None and bounced.state == "bounced" and "mailbox unavailable" in (bounced.reason or "")
    await wait_until(lambda: drained(runtime))
    sms = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow).where(DeliveryRow.channel == "sms")).all())
    assert len(sms) == 2  # the earlier receipt's, and this one's fallback after the bounce
    assert sms[0].receipt_id != sms[1].receipt_id == email.receipt_id
    entries = await runtime.db.read(lambda s: audit.recent(s, action="delivery.bounce_fallback"))
    assert entries and entries[0].detail["bounced"] == email.id
    tampered = body.replace(b"bounce", b"delivered")
    assert (await client.post("/webhooks/sendgrid/events", content=tampered, headers=headers)).status_code == 401


@pytest.mark.parametrize("served", [1], indirect=True)
async def test_a_bounce_fallback_keeps_to_the_text_limits(
    served: tuple[Runtime, httpx.AsyncClient], sale_payload: Payload
) -> None:
    runtime, client = served  # one text a day per number: the earlier receipt's text used it up
    earlier = sale_payload("S-1000")
    earlier["customer"] = {"email": "gone@example.com", "phone": "+12175550142", "channels": ["sms"]}
    await sent_delivery(runtime, client, earlier, "sms")
    payload = sale_payload()
    payload["customer"] = {"email": "gone@example.com", "phone": "+12175550142", "channels": ["email"]}
    email = await sent_delivery(runtime, client, payload, "email")
    body, headers = signed_sendgrid(
        [
            {
                "event": "bounce",
                "sg_event_id": "ev-limit",
                "sg_message_id": f"{email.provider_message_id}.filter0001",
                "timestamp": int(time.time()),
                "reason": "550 5.1.1 mailbox unavailable",
            }
        ]
    )
    assert (await client.post("/webhooks/sendgrid/events", content=body, headers=headers)).status_code == 200
    sms = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow).where(DeliveryRow.channel == "sms")).all())
    assert len(sms) == 1  # only the earlier receipt's
    refused = await runtime.db.read(lambda s: audit.recent(s, action="delivery.bounce_fallback_refused"))
    assert refused and refused[0].detail["bounced"] == email.id and "+12175550142" not in str(refused[0].detail)


async def test_no_fallback_where_the_receipt_already_went(
    served: tuple[Runtime, httpx.AsyncClient], sale_payload: Payload
) -> None:
    """Email and text chosen at the till: the email bounces, the text is not sent a second time."""
    runtime, client = served
    payload = sale_payload()
    payload["customer"] = {"email": "gone@example.com", "phone": "+12175550142", "channels": ["email", "sms"]}
    email = await sent_delivery(runtime, client, payload, "email")
    body, headers = signed_sendgrid(
        [
            {
                "event": "bounce",
                "sg_event_id": "ev-both",
                "sg_message_id": f"{email.provider_message_id}.filter0001",
                "timestamp": int(time.time()),
                "reason": "550 5.1.1 mailbox unavailable",
            }
        ]
    )
    assert (await client.post("/webhooks/sendgrid/events", content=body, headers=headers)).status_code == 200
    bounced = await runtime.db.read(lambda s: s.get(DeliveryRow, email.id))
    assert bounced is not None and bounced.state == "bounced"
    sms = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow).where(DeliveryRow.channel == "sms")).all())
    assert len(sms) == 1  # the till's text only
    assert await runtime.db.read(lambda s: audit.recent(s, action="delivery.bounce_fallback")) == []


async def test_no_fallback_to_text_without_sms_consent(
    served: tuple[Runtime, httpx.AsyncClient], sale_payload: Payload
) -> None:
    runtime, client = served
    payload = sale_payload()
    payload["customer"] = {"email": "gone@example.com", "phone": "+12175550142", "channels": ["email"]}
    email = await sent_delivery(runtime, client, payload, "email")
    body, headers = signed_sendgrid(
        [
            {
                "event": "dropped",
                "sg_event_id": "ev-9",
                "timestamp": int(time.time()),
                "sg_message_id": f"{email.provider_message_id}.x",
                "reason": "Bounced Address",
            }
        ]
    )
    assert (await client.post("/webhooks/sendgrid/events", content=body, headers=headers)).status_code == 200
    rows = await runtime.db.read(lambda s: s.scalars(select(DeliveryRow)).all())
    assert [(r.channel, r.state) for r in rows] == [("email", "bounced")]
