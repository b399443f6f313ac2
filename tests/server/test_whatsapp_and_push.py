"""WhatsApp and app-push receipts from a real sale: the local API over loopback, the real dispatcher,
and the sandbox's Twilio and FCM stand-ins; app devices registered and removed through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.config.settings import Settings
from app.demo.store_app import run_store_app
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.app_devices import GONE_ERROR, GONE_REASON
from app.domain.channels import Channel
from app.main import Runtime, build_runtime
from app.sandbox import credentials
from app.sandbox.fcm import UNREGISTERED_PREFIX
from app.sandbox.server import RunningSandbox
from app.sandbox.twilio_whatsapp import INBOUND_PATH
from app.storage.models import AppDeviceRow, AuditRow, ConsentRow, ReceiptRow, WhatsAppWindowRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, drained, new_database, wait_until

Payload = Callable[..., dict[str, Any]]
PHONE = "+12175550142"
LOYALTY = "L-7781"
TOKEN = "fcm-token-aaaaaaaaaaaaaaaaaaaaaa-1"
INBOUND = "/webhooks/twilio_whatsapp/incoming"


@pytest.fixture
async def rt(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[Runtime]:
    routing: dict[Channel, str | list[str]] = {
        Channel.EMAIL: "sendgrid",
        Channel.WHATSAPP: "twilio_whatsapp",
        Channel.PUSH: "fcm",
    }
    settings = sandbox_settings(Settings(), sandbox.url, routing=routing)
    options = {"base_delay_seconds": 0.05, "max_delay_seconds": 0.2}
    settings = settings.model_copy(update={"dispatch": settings.dispatch.model_copy(update=options)})
    new_database(tmp_path)
    runtime = build_runtime(settings, data=tmp_path, secrets=sandbox_secrets(sandbox.url))
    yield runtime
    await runtime.close()


@pytest.fixture
async def api(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    server = await start_asgi_server(rt.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url, headers=await authorised(rt, "sales:write")) as client:
        yield client
    await server.stop()


def sale_for(sale_payload: Payload, sale_id: str, channels: list[str], **customer: str) -> dict[str, Any]:
    payload = sale_payload(sale_id, with_customer=True)
    payload["customer"] = {"channels": channels, **customer}
    return payload


async def sent(rt: Runtime) -> None:
    rt.start_dispatching()
    await wait_until(lambda: drained(rt))


async def rows(rt: Runtime, model: Any) -> list[Any]:
    return list(await rt.db.read(lambda s: s.scalars(select(model)).all()))


async def inbound(api: httpx.AsyncClient, form: dict[str, str], *, token: str = credentials.TWILIO_AUTH_TOKEN) -> int:
    """Post a Twilio incoming-message webhook, signed by the official SDK's validator (URL + sorted fields)."""
    url = str(api.base_url).rstrip("/") + INBOUND
    signature = RequestValidator(token).compute_signature(url, form)
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    response = await api.post(INBOUND, content=urlencode(form), headers=headers)
    return response.status_code


# --- WhatsApp ---------------------------------------------------------------------------------


async def test_a_whatsapp_sale_outside_the_window_reaches_twilio_as_the_template(
    api: httpx.AsyncClient, rt: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    response = await api.post("/v1/sales", json=sale_for(sale_payload, "S-W1", ["whatsapp"], phone=PHONE))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["warnings"] == []
    [delivery] = body["deliveries"]
    assert delivery["channel"] == "whatsapp" and delivery["provider"] == "twilio_whatsapp"
    assert delivery["recipient"] == "(***) ***-0142"
    [consent] = await rows(rt, ConsentRow)
    assert (consent.channel, consent.purpose, consent.source) == ("whatsapp", "receipts", "register")
    assert "WhatsApp" in consent.text_shown
    await sent(rt)
    [message] = sandbox.app.state.store.messages("twilio")
    assert message.to == ("whatsapp:" + PHONE,)
    assert message.body == ""  # the Content Template: Twilio renders its text


async def test_after_the_customer_wrote_the_receipt_goes_free_form(
    api: httpx.AsyncClient, rt: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    webhook = str(api.base_url).rstrip("/") + INBOUND
    async with httpx.AsyncClient(base_url=sandbox.url) as customer:  # the customer writes from the sandbox
        wrote = await customer.post(INBOUND_PATH, json={"from": PHONE, "url": webhook, "body": "hola"})
    assert wrote.status_code == 200 and wrote.json()["status"] == 200, wrote.text
    form = {
        "From": "whatsapp:" + PHONE,
        "To": "whatsapp:" + credentials.TWILIO_FROM,
        "Body": "hola",
        "MessageSid": "SM1",
    }
    assert await inbound(api, form) == 200  # another message, or Twilio retrying one: still one window
    [window] = await rows(rt, WhatsAppWindowRow)
    assert window.phone == PHONE
    await api.post("/v1/sales", json=sale_for(sale_payload, "S-W2", ["whatsapp"], phone=PHONE))
    await sent(rt)
    [message] = sandbox.app.state.store.messages("twilio")
    assert message.body and message.to == ("whatsapp:" + PHONE,)


async def test_an_inbound_message_not_from_twilio_or_not_whatsapp_opens_nothing(
    api: httpx.AsyncClient, rt: Runtime
) -> None:
    assert await inbound(api, {"From": "whatsapp:" + PHONE, "Body": "hi"}, token="not-the-auth-token") == 401
    assert await inbound(api, {"From": PHONE, "Body": "hi"}) == 422
    assert await inbound(api, {"From": "whatsapp:12", "Body": "hi"}) == 422
    assert await rows(rt, WhatsAppWindowRow) == []
    health = (await rt.health.check()).rejected_webhooks
    assert health == {"twilio_whatsapp incoming": 1}  # the forged one, counted for the manager


# --- app devices and push -------------------------------------------------------------------


async def register(api: httpx.AsyncClient, headers: dict[str, str], token: str = TOKEN, **extra: Any) -> httpx.Response:
    body = {"loyalty_id": LOYALTY, "token": token, "platform": "android", "app": "Demo Market", **extra}
    return await api.post("/v1/customers/devices", json=body, headers=headers)


async def test_devices_are_registered_once_per_token_with_the_devices_scope(
    api: httpx.AsyncClient, rt: Runtime
) -> None:
    app = await authorised(rt, "devices:write")
    assert (await register(api, await authorised(rt, "sales:write"))).status_code == 403
    first = await register(api, app)
    assert first.status_code == 201, first.text
    again = await register(api, app)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert first.json()["token"] == "device …aaaa-1" and TOKEN not in first.text
    assert len(await rows(rt, AppDeviceRow)) == 1
    assert (await register(api, await authorised(rt, "admin"), platform="ios")).status_code == 200


BAD_REGISTRATIONS: list[tuple[dict[str, Any], str]] = [
    ({"platform": "windows"}, "platform"),
    ({"token": "short"}, "token"),
    ({"token": "t" * 255}, "token"),  # longer than a delivery's recipient can be
    ({"token": 12345678901234567890123}, "token"),
    ({"loyalty_id": ""}, "loyalty_id"),
    ({"loyalty_id": "4242424242424242"}, "loyalty_id"),  # a card number is no loyalty id
    ({"app": "x" * 65}, "app"),
    ({"colour": "red"}, "colour"),
]


async def test_a_bad_registration_is_a_422_in_one_sentence_and_changes_nothing(
    api: httpx.AsyncClient, rt: Runtime
) -> None:
    app = await authorised(rt, "devices:write")
    for change, field in BAD_REGISTRATIONS:
        response = await register(api, app, **change)
        assert response.status_code == 422, change
        error = response.json()["error"]
        assert field in error and error.endswith(".") and "4242424242424242" not in error, error
    not_json = await api.post(
        "/v1/customers/devices", content=b"{nope", headers={**app, "content-type": "application/json"}
    )
    assert not_json.status_code == 422 and not_json.json()["error"].startswith("Body is not acceptable JSON")
    assert (await api.post("/v1/customers/devices", json=[], headers=app)).status_code == 422
    assert await rows(rt, AppDeviceRow) == []


async def test_a_push_sale_reaches_every_device_and_a_gone_one_is_removed(
    api: httpx.AsyncClient, rt: Runtime, sandbox: RunningSandbox, sale_payload: Payload
) -> None:
    app = await authorised(rt, "devices:write")
    gone = UNREGISTERED_PREFIX + "bbbbbbbbbbbbbbbbbbbbbbbb"  # the sandbox answers 404 UNREGISTERED for it
    assert (await register(api, app)).status_code == 201
    assert (await register(api, app, token=gone, platform="ios")).status_code == 201
    sale = sale_for(sale_payload, "S-P1", ["push"], loyalty_id=LOYALTY)
    sale_payload_long = sale_payload("S-P1", with_customer=True, items=60)  # a long basket: the full text is big
    sale = {**sale_payload_long, "customer": sale["customer"]}
    response = await api.post("/v1/sales", json=sale)
    body = response.json()
    assert [d["recipient"] for d in body["deliveries"]] == ["device …aaaa-1", "device …bbbbbb"], body
    await sent(rt)
    [message] = sandbox.app.state.store.messages("fcm")
    assert message.to == (TOKEN,) and message.custom_args["receipt_id"] == body["receipt_id"]
    [receipt_row] = await rows(rt, ReceiptRow)
    assert (message.subject, message.body) == (receipt_row.subject, receipt_row.sms_body)  # the summary
    receipt = (await api.get(f"/v1/receipts/{body['receipt_id']}", headers=await authorised(rt, "admin"))).json()
    states = {d["recipient"]: (d["state"], d.get("reason")) for d in receipt["deliveries"]}
    assert states["device …aaaa-1"][0] == "sent"
    assert states["device …bbbbbb"] == ("failed", GONE_REASON)
    assert [d["last_error"] for d in receipt["deliveries"] if d["state"] == "failed"] == [GONE_ERROR]
    assert [device.token for device in await rows(rt, AppDeviceRow)] == [TOKEN]
    entries = [e for e in await rows(rt, AuditRow) if e.action == "app_device.unregistered"]
    assert len(entries) == 1 and gone not in entries[0].detail


async def test_an_unregistered_device_gets_no_more_receipts(
    api: httpx.AsyncClient, rt: Runtime, sale_payload: Payload
) -> None:
    app = await authorised(rt, "devices:write")
    device = (await register(api, app)).json()
    assert (await api.delete(f"/v1/customers/devices/{device['id']}")).status_code == 403  # sales:write only
    assert (await api.delete(f"/v1/customers/devices/{device['id']}", headers=app)).status_code == 204
    missing = await api.delete(f"/v1/customers/devices/{device['id']}", headers=app)
    assert missing.status_code == 404 and missing.json()["error"].startswith("There is no app device")
    body = (await api.post("/v1/sales", json=sale_for(sale_payload, "S-P2", ["push"], loyalty_id=LOYALTY))).json()
    assert body["deliveries"] == [] and body["warnings"] == ["No app device on file for a push receipt."]


async def test_the_demo_store_app_registers_through_the_api_and_its_member_gets_a_push(
    api: httpx.AsyncClient, rt: Runtime, sandbox: RunningSandbox
) -> None:
    app_token = (await rt.tokens.create("demo-app", ["devices:write"], actor="tests")).token
    pos_token = (await rt.tokens.create("demo-pos", ["sales:write"], actor="tests")).token
    push = await run_store_app(api, app_token=app_token, pos_token=pos_token, seed=3)
    assert push.push_deliveries == 1
    await sent(rt)
    [message] = sandbox.app.state.store.messages("fcm")
    assert message.to[0].startswith("demo-install:") and message.custom_args["receipt_id"] == push.receipt_id
