"""Card numbers at every door of the local API, over real loopback HTTP: the `Idempotency-Key` header,
the sale, a signed platform webhook's event id and body, a signed provider callback. Each is refused
with a 422 naming the field, and afterwards no table of the database holds the number."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, select
from twilio.request_validator import RequestValidator

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.main import Runtime, build_runtime
from app.sandbox import credentials
from app.sandbox.platforms import shopify as shopify_sandbox
from app.sandbox.platforms import zapier as zapier_sandbox
from app.sandbox.server import RunningSandbox
from app.storage import audit
from app.storage.models import DeliveryRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, drained, new_database, wait_until

Payload = Callable[..., dict[str, Any]]
PAN = "4111111111111111"
FORMS = ["4111-1111-1111-1111", "4111.1111.1111.1111", "4111/1111/1111/1111", "4111 1111 1111 1111", PAN]
PUBLIC_URL = "https://lane3.store.example"
SHOPIFY_SECRET = "shopify-test-secret"


@pytest.fixture
async def served(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    settings = sandbox_settings(Settings(), sandbox.url)
    settings = settings.model_copy(
        update={
            "platforms": {"shopify": {}, "zapier": {}},
            "store": settings.store.model_copy(update={"id": zapier_sandbox.SANDBOX_STORE_ID}),
            "api": settings.api.model_copy(update={"public_url": PUBLIC_URL}),
            "dispatch": settings.dispatch.model_copy(update={"base_delay_seconds": 0.05, "max_delay_seconds": 0.2}),
        }
    )
    secrets = {
        **sandbox_secrets(sandbox.url),
        "shopify": {"client_secret": SHOPIFY_SECRET},
        "zapier": {"shared_secret": zapier_sandbox.SANDBOX_SHARED_SECRET},
    }
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets=secrets)
    server = await start_asgi_server(runtime.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url, headers=await authorised(runtime)) as client:
        yield runtime, client
    await server.stop()
    await runtime.close()


async def everything_stored(runtime: Runtime) -> str:
    """Every row of every table, as text."""

    def dump(session: Any) -> str:
        tables = MetaData()
        tables.reflect(bind=session.connection())
        return "\n".join(repr(tuple(row)) for table in tables.sorted_tables for row in session.execute(select(table)))

    return str(await runtime.db.read(dump))


async def assert_no_card_stored(runtime: Runtime) -> None:
    stored = await everything_stored(runtime)
    assert stored  # the tables were read
    for form in FORMS:
        assert form not in stored, form


async def test_a_card_number_as_the_idempotency_key_is_refused(
    served: tuple[Runtime, httpx.AsyncClient], sale_payload: Payload
) -> None:
    runtime, client = served
    for n, form in enumerate(FORMS):
        key = f"pos-{form}" if n % 2 else form
        response = await client.post("/v1/sales", json=sale_payload(f"S-{n}"), headers={"Idempotency-Key": key})
        assert response.status_code == 422, response.text
        assert "Idempotency-Key" in response.json()["error"] and "1111" not in response.text
    assert await runtime.receipts.count() == 0
    await assert_no_card_stored(runtime)
    ok = await client.post("/v1/sales", json=sale_payload("S-9"), headers={"Idempotency-Key": "till-3-0042"})
    assert ok.status_code == 202


@pytest.mark.parametrize("field", ["sale_id", "order_id", "lane", "store_id", "cashier"])
async def test_a_card_number_in_a_sale_is_refused_naming_the_field(
    served: tuple[Runtime, httpx.AsyncClient], sale_payload: Payload, field: str
) -> None:
    runtime, client = served
    for form in FORMS:
        payload = sale_payload()
        payload[field] = f"S-{form}" if field != "cashier" else f"Dana {form}"
        response = await client.post("/v1/sales", json=payload)
        assert response.status_code == 422
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["body", field] and problem["type"] == "card_number"
        assert "1111" not in response.text
    await assert_no_card_stored(runtime)


async def test_a_signed_platform_event_with_a_card_number_is_refused_and_audited_by_field(
    served: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = served
    # in the event id of the body (Zapier)
    zap = zapier_sandbox.sample_event(random.Random(5), event_id="zap-4111-1111-1111-1111", sale_id="Z-1")
    headers, body = zapier_sandbox.signed_webhook(zap)
    response = await client.post("/webhooks/zapier", content=body, headers=headers)
    assert response.status_code == 422 and "body.event_id" in response.json()["error"]
    # in the event id of a header (Shopify), and in a note of the order the sale does not carry
    order = shopify_sandbox.sample_event("orders/paid", 7)
    headers, body = shopify_sandbox.signed_webhook("orders/paid", order, url="", secret=SHOPIFY_SECRET)
    response = await client.post(
        "/webhooks/shopify", content=body, headers={**headers, "X-Shopify-Event-Id": "4111.1111.1111.1111"}
    )
    assert response.status_code == 422 and "event_id" in response.json()["error"]
    noted = {**order, "note": "paid with 4111/1111/1111/1111"}
    headers, body = shopify_sandbox.signed_webhook("orders/paid", noted, url="", secret=SHOPIFY_SECRET)
    response = await client.post("/webhooks/shopify", content=body, headers=headers)
    assert response.status_code == 422 and "body.note" in response.json()["error"]
    assert "1111" not in response.text

    assert await runtime.receipts.count() == 0
    entries = await runtime.db.read(lambda s: audit.recent(s, action="webhook.refused"))
    assert sorted(e.detail["field"] for e in entries) == ["body.event_id", "body.note", "event_id"]
    assert all(e.detail == {"reason": "card number", "field": e.detail["field"]} for e in entries)
    assert runtime.intake.refused_card_data == {"zapier": 1, "shopify": 2}
    await assert_no_card_stored(runtime)

    headers, body = shopify_sandbox.signed_webhook("orders/paid", order, url="", secret=SHOPIFY_SECRET)
    assert (await client.post("/webhooks/shopify", content=body, headers=headers)).status_code == 202


async def test_a_signed_provider_callback_with_a_card_number_records_nothing(
    served: tuple[Runtime, httpx.AsyncClient], sale_payload: Payload
) -> None:
    runtime, client = served
    payload = sale_payload()
    payload["customer"] = {"phone": "+12175550142", "channels": ["sms"]}
    assert (await client.post("/v1/sales", json=payload)).status_code == 202
    runtime.start_dispatching()
    await wait_until(lambda: drained(runtime))
    sid = await runtime.db.read(lambda s: s.scalar(select(DeliveryRow.provider_message_id)))
    assert sid
    for form in FORMS:
        callback = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorMessage": f"card {form}", "To": "+1"}
        signature = RequestValidator(credentials.TWILIO_AUTH_TOKEN).compute_signature(
            f"{PUBLIC_URL}/webhooks/twilio/status", callback
        )
        response = await client.post(
            "/webhooks/twilio/status", data=callback, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 422 and "ErrorMessage" in response.json()["error"]
        assert "1111" not in response.text
    assert runtime.callbacks.refused_card_data == {"twilio": len(FORMS)}
    state = await runtime.db.read(lambda s: s.scalar(select(DeliveryRow.state)))
    assert state == "sent"  # the refused callbacks moved nothing
    await assert_no_card_stored(runtime)
