"""The provider sandbox over real loopback HTTP, checked with the official SDKs as oracles."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from python_http_client.exceptions import UnauthorizedError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Mail
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client as TwilioClient

from app.sandbox import credentials
from app.sandbox.app import create_sandbox_app
from app.sandbox.faults import FaultConfigError, Faults
from app.sandbox.server import RunningSandbox, start_sandbox
from app.sandbox.store import MessageRecord, MessageStore
from app.sandbox.twilio import sms_segments
from tests.conftest import wait_until

SID = credentials.TWILIO_ACCOUNT_SID
TOKEN = credentials.TWILIO_AUTH_TOKEN
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"
SG_AUTH = {"Authorization": f"Bearer {credentials.SENDGRID_API_KEY}"}
ORACLES = Path(__file__).resolve().parents[1] / "fixtures" / "oracles"
CUSTOMER_PHONE = "+15551234567"
CUSTOMER_EMAIL = "ana.garcia@example.com"


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    running = await start_sandbox()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def client(sandbox: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=5.0) as http:
        yield http


def store_of(sandbox: RunningSandbox) -> MessageStore:
    store: MessageStore = sandbox.app.state.store  # type: ignore[attr-defined]
    return store


def faults_of(sandbox: RunningSandbox) -> Faults:
    faults: Faults = sandbox.app.state.faults  # type: ignore[attr-defined]
    return faults


async def send_sms(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    data = {"To": CUSTOMER_PHONE, "From": credentials.TWILIO_FROM, "Body": "Thanks for shopping! Total $12.34"}
    data.update(form)
    return await client.post(MESSAGES_PATH, data={k: v for k, v in data.items() if v != "<omit>"}, auth=(SID, TOKEN))


def receipt_mail(key: str = "delivery-1") -> dict[str, Any]:
    mail = Mail(
        from_email=credentials.SENDGRID_FROM,
        to_emails=CUSTOMER_EMAIL,
        subject="Your receipt from Demo Market",
        plain_text_content="Total $12.34",
        html_content="<p>Total <b>$12.34</b></p>",
    )
    mail.custom_arg = CustomArg("receiptdesk_key", key)
    body: dict[str, Any] = mail.get()
    return body


async def send_mail(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v3/mail/send", json=body, headers=SG_AUTH)


# --- Twilio -------------------------------------------------------------------------------------


async def test_twilio_send_is_created_and_recorded(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    response = await send_sms(client, receiptdesk_key="delivery-7")

    assert response.status_code == 201
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["account_sid"] == SID
    assert message["to"] == CUSTOMER_PHONE
    assert message["from"] == credentials.TWILIO_FROM
    assert message["status"] == "queued"
    assert message["num_segments"] == "1"
    assert message["api_version"] == "2010-04-01"
    assert message["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{message['sid']}.json"
    assert message["price"] is None
    assert message["error_code"] is None
    assert parsedate_to_datetime(message["date_created"]).utcoffset() is not None
    oracle = json.loads((ORACLES / "twilio_create_message.json").read_text())
    assert set(oracle["response_201_schema"]["properties"]) <= set(message)

    [record] = store_of(sandbox).messages()
    assert (record.provider, record.id, record.to, record.from_) == (
        "twilio",
        message["sid"],
        (CUSTOMER_PHONE,),
        credentials.TWILIO_FROM,
    )
    assert record.body == "Thanks for shopping! Total $12.34"
    assert record.idempotency_key == "delivery-7"
    assert record.received_at.tzinfo is not None


@pytest.mark.filterwarnings("ignore:.*BasicAuth is deprecated", "ignore:The 'auth' parameter is deprecated")
async def test_official_twilio_sdk_sends_through_the_sandbox(sandbox: RunningSandbox) -> None:
    http_client = AsyncTwilioHttpClient()
    try:
        twilio = TwilioClient(SID, TOKEN, http_client=http_client)
        twilio.api.base_url = sandbox.url
        message = await twilio.messages.create_async(to=CUSTOMER_PHONE, from_=credentials.TWILIO_FROM, body="Hola 😀")
        assert message.sid is not None
        assert message.sid.startswith("SM")
        assert message.status == "queued"
        assert message.num_segments == "1"

        twilio_bad = TwilioClient(SID, "wrong-token", http_client=http_client)
        twilio_bad.api.base_url = sandbox.url
        with pytest.raises(TwilioRestException) as caught:
            await twilio_bad.messages.create_async(to=CUSTOMER_PHONE, from_=credentials.TWILIO_FROM, body="x")
        assert (caught.value.status, caught.value.code) == (401, 20003)
    finally:
        await http_client.close()
    assert [record.body for record in store_of(sandbox)] == ["Hola 😀"]


@pytest.mark.parametrize(
    ("auth", "sid"),
    [((SID, "wrong-token"), SID), (("AC" + "0" * 32, TOKEN), SID), ((SID, TOKEN), "AC" + "1" * 32), (None, SID)],
    ids=["bad-token", "bad-username", "other-account-path", "no-auth"],
)
async def test_twilio_rejects_bad_auth(
    sandbox: RunningSandbox, client: httpx.AsyncClient, auth: tuple[str, str] | None, sid: str
) -> None:
    path = f"/2010-04-01/Accounts/{sid}/Messages.json"
    data = {"To": CUSTOMER_PHONE, "From": credentials.TWILIO_FROM, "Body": "hi"}
    response = await client.post(path, data=data, auth=auth) if auth else await client.post(path, data=data)

    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert len(store_of(sandbox)) == 0


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"To": "<omit>"}, 21604),
        ({"To": "555-1234"}, 21211),
        ({"To": "15551234567"}, 21211),
        ({"From": "<omit>"}, 21603),
        ({"From": "not a number!"}, 21212),
        ({"To": f"whatsapp:{CUSTOMER_PHONE}"}, 21910),
        ({"Body": "<omit>"}, 21602),
        ({"Body": "x" * 1601}, 21617),
        ({"From": "<omit>", "MessagingServiceSid": "MG123"}, 21701),
        ({"StatusCallback": "ftp://x"}, 21609),
    ],
)
async def test_twilio_validation_errors(
    sandbox: RunningSandbox, client: httpx.AsyncClient, form: dict[str, str], code: int
) -> None:
    response = await send_sms(client, **form)

    assert response.status_code == 400
    error = response.json()
    assert (error["code"], error["status"]) == (code, 400)
    assert error["more_info"].endswith(str(code))
    assert len(store_of(sandbox)) == 0


async def test_twilio_json_body_is_not_understood(client: httpx.AsyncClient) -> None:
    response = await client.post(
        MESSAGES_PATH, json={"To": CUSTOMER_PHONE, "From": "+15005550006", "Body": "x"}, auth=(SID, TOKEN)
    )
    assert (response.status_code, response.json()["code"]) == (400, 21604)


async def test_twilio_messaging_service_media_and_long_unicode(client: httpx.AsyncClient) -> None:
    service = "MG" + "a" * 32
    accepted = await send_sms(client, From="<omit>", MessagingServiceSid=service)
    assert accepted.status_code == 201
    assert (accepted.json()["status"], accepted.json()["num_segments"]) == ("accepted", "0")

    media = await send_sms(client, Body="<omit>", MediaUrl="https://example.com/receipt.png")
    assert media.status_code == 201
    assert media.json()["sid"].startswith("MM")
    assert media.json()["num_media"] == "1"

    unicode = await send_sms(client, Body="Спасибо! " * 10)
    assert unicode.json()["num_segments"] == "2"


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("Crème brûlée", 1),
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
        ("😀" * 35, 1),
        ("😀" * 36, 2),
    ],
)
def test_sms_segments(body: str, segments: int) -> None:
    assert sms_segments(body) == segments


# --- SendGrid -----------------------------------------------------------------------------------


async def test_sendgrid_send_is_accepted_and_recorded(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    response = await send_mail(client, receipt_mail("delivery-9"))

    assert response.status_code == 202
    assert response.content == b""
    message_id = response.headers["X-Message-Id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", message_id)
    [record] = store_of(sandbox).messages(provider="sendgrid")
    assert record.id == message_id
    assert record.to == (CUSTOMER_EMAIL,)
    assert record.from_ == credentials.SENDGRID_FROM
    assert record.subject == "Your receipt from Demo Market"
    assert record.text == "Total $12.34"
    html = "<p>Total <b>$12.34</b></p>"
    assert (record.html_length, record.html_sha256) == (len(html), hashlib.sha256(html.encode()).hexdigest())
    assert record.custom_args == {"receiptdesk_key": "delivery-9"}
    assert record.idempotency_key == "delivery-9"


async def test_sendgrid_dynamic_template_needs_no_subject_or_content(client: httpx.AsyncClient) -> None:
    mail = Mail(from_email=credentials.SENDGRID_FROM, to_emails=CUSTOMER_EMAIL)
    mail.template_id = "d-0123456789abcdef0123456789abcdef"
    mail.dynamic_template_data = {"total": "12.34"}

    response = await send_mail(client, mail.get())

    assert response.status_code == 202


async def test_official_sendgrid_sdk_sends_through_the_sandbox(sandbox: RunningSandbox) -> None:
    sdk = SendGridAPIClient(credentials.SENDGRID_API_KEY, host=sandbox.url)
    mail = Mail(credentials.SENDGRID_FROM, CUSTOMER_EMAIL, "Receipt", html_content="<p>hi</p>")

    response = await asyncio.to_thread(sdk.send, mail)

    assert response.status_code == 202
    assert response.headers["X-Message-Id"] == store_of(sandbox).messages()[0].id
    with pytest.raises(UnauthorizedError):
        await asyncio.to_thread(SendGridAPIClient("wrong-key", host=sandbox.url).send, mail)


@pytest.mark.parametrize("header", ["Bearer wrong", "", f"Basic {credentials.SENDGRID_API_KEY}"])
async def test_sendgrid_rejects_bad_bearer(sandbox: RunningSandbox, client: httpx.AsyncClient, header: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.post("/v3/mail/send", json=receipt_mail(), headers=headers)

    assert response.status_code == 401
    assert response.json() == {
        "errors": [
            {"message": "The provided authorization grant is invalid, expired, or revoked", "field": None, "help": None}
        ]
    }
    assert len(store_of(sandbox)) == 0


def _without(key: str) -> dict[str, Any]:
    body = receipt_mail()
    del body[key]
    return body


def _with(**changes: Any) -> dict[str, Any]:
    body = receipt_mail()
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_without("from"), "from.email"),
        (_with(**{"from": {"email": "not-an-address"}}), "from.email"),
        (_without("personalizations"), "personalizations"),
        (_with(personalizations=[]), "personalizations"),
        (_with(personalizations=[{"subject": "x"}]), "personalizations.0.to"),
        (_with(personalizations=[{"to": [{"email": "nope"}]}]), "personalizations.0.to.0.email"),
        (_without("subject"), "subject"),
        (_without("content"), "content"),
        (_with(content=[{"type": "text/plain", "value": ""}]), "content.0.value"),
        (_with(custom_args={"order": 42}), "custom_args.order"),
    ],
)
async def test_sendgrid_validation_errors_name_the_field(
    sandbox: RunningSandbox, client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await send_mail(client, body)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in [error["field"] for error in errors]
    assert all(set(error) == {"message", "field", "help"} for error in errors)
    assert len(store_of(sandbox)) == 0


async def test_sendgrid_requires_json(client: httpx.AsyncClient) -> None:
    not_json = await client.post("/v3/mail/send", content=b"{", headers={**SG_AUTH, "Content-Type": "application/json"})
    form = await client.post("/v3/mail/send", data={"from": "x"}, headers=SG_AUTH)
    assert (not_json.status_code, form.status_code) == (400, 400)


# --- Fault injection ----------------------------------------------------------------------------


async def test_error_rate_one_fails_every_send_and_records_nothing(
    sandbox: RunningSandbox, client: httpx.AsyncClient
) -> None:
    put = await client.put("/_sandbox/faults", json={"error_rate": 1.0})
    assert put.status_code == 200
    assert put.json()["error_rate"] == 1.0

    sms = await send_sms(client)
    mail = await send_mail(client, receipt_mail())

    assert (sms.status_code, sms.json()["code"]) == (503, 20503)
    assert mail.status_code == 503
    assert mail.json()["errors"][0]["message"] == "Service Unavailable"
    assert store_of(sandbox).total() == 0


async def test_error_status_is_configurable(client: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    faults_of(sandbox).configure(error_rate=1.0, error_status=500)
    assert (await send_sms(client)).status_code == 500


async def test_throttle_rate_one_answers_429_with_retry_after(
    sandbox: RunningSandbox, client: httpx.AsyncClient
) -> None:
    await client.put("/_sandbox/faults", json={"throttle_rate": 1.0, "retry_after": 2})

    sms = await send_sms(client)
    mail = await send_mail(client, receipt_mail())

    assert (sms.status_code, sms.headers["Retry-After"], sms.json()["code"]) == (429, "2", 20429)
    assert (mail.status_code, mail.headers["Retry-After"]) == (429, "2")
    assert int(mail.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert mail.json() == {"errors": [{"field": None, "message": "too many requests"}]}
    assert store_of(sandbox).total() == 0


async def test_latency_delays_the_answer(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    faults_of(sandbox).configure(latency_ms=200)
    started = time.perf_counter()
    response = await send_sms(client)
    assert response.status_code == 201
    assert time.perf_counter() - started >= 0.2


class StepClock:
    """A clock that moves only when told to, so an outage ends when the test says, not when the machine does."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def test_outage_window_ends(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    clock = StepClock()
    faults_of(sandbox).clock = clock
    await client.put("/_sandbox/faults", json={"outage_seconds": 0.3})
    state = (await client.get("/_sandbox/faults")).json()
    assert state["outage_until"] is not None
    assert 0 < state["outage_remaining_s"] <= 0.3
    assert (await send_sms(client)).status_code == 503

    deadline = time.monotonic() + 3.0
    statuses = []
    while time.monotonic() < deadline:
        statuses.append((await send_sms(client)).status_code)
        if statuses[-1] == 201:
            break
        clock.advance(0.05)
    assert statuses[-1] == 201
    assert set(statuses[:-1]) <= {503}
    assert len(statuses) == 7  # 503 until the clock reached the end of the window, then through
    assert store_of(sandbox).total() == 1
    assert faults_of(sandbox).outage_until is None


async def test_faults_restricted_to_listed_providers(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    await client.put("/_sandbox/faults", json={"error_rate": 1.0, "providers": ["sendgrid"]})

    assert (await send_sms(client)).status_code == 201
    assert (await send_mail(client, receipt_mail())).status_code == 503
    assert [record.provider for record in store_of(sandbox)] == ["twilio"]


def test_fault_decisions_are_deterministic_for_a_seed() -> None:
    def run(seed: int) -> list[int | None]:
        faults = Faults(seed=seed)
        faults.configure(error_rate=0.5, throttle_rate=0.2)
        return [None if (f := faults.decide("twilio")) is None else f.status for _ in range(200)]

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert {None, 429, 503} == set(first)


def test_fault_settings_are_validated() -> None:
    faults = Faults()
    for bad in ({"error_rate": 1.5}, {"error_status": 200}, {"providers": ["smtp"]}, {"nope": 1}, {"latency_ms": -1}):
        with pytest.raises(FaultConfigError):
            faults.configure(**bad)
    assert faults.to_dict()["error_rate"] == 0.0


async def test_faults_http_api(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    default = (await client.get("/_sandbox/faults")).json()
    assert (default["error_rate"], default["error_status"], default["retry_after"]) == (0.0, 503, 1)

    assert (await client.put("/_sandbox/faults", json={"error_rate": 2})).status_code == 400
    assert (await client.put("/_sandbox/faults", content=b"[1]")).status_code == 400

    await client.put("/_sandbox/faults", json={"latency_ms": 5, "providers": ["twilio"]})
    replaced = (await client.put("/_sandbox/faults", json={"throttle_rate": 0.1})).json()
    assert (replaced["latency_ms"], replaced["providers"], replaced["throttle_rate"]) == (0.0, [], 0.1)
    merged = (await client.patch("/_sandbox/faults", json={"error_rate": 0.2})).json()
    assert (merged["throttle_rate"], merged["error_rate"]) == (0.1, 0.2)

    assert (await client.delete("/_sandbox/faults")).status_code == 204
    assert (faults_of(sandbox).throttle_rate, faults_of(sandbox).error_rate) == (0.0, 0.0)


# --- Holding requests ---------------------------------------------------------------------------


async def held_count(client: httpx.AsyncClient) -> int:
    return int((await client.get("/_sandbox/faults")).json()["held"])


async def test_hold_lets_n_through_then_holds_until_released(
    sandbox: RunningSandbox, client: httpx.AsyncClient
) -> None:
    state = (await client.put("/_sandbox/faults", json={"hold": True, "hold_after": 2})).json()
    assert (state["hold"], state["hold_after"], state["held"]) == (True, 2, 0)
    assert [(await send_sms(client, Body=f"sms {n}")).status_code for n in range(2)] == [201, 201]

    waiting = [asyncio.create_task(send_sms(client, Body=f"held {n}")) for n in range(2)]
    waiting.append(asyncio.create_task(send_mail(client, receipt_mail())))
    await wait_until(lambda: faults_of(sandbox).held == 3, timeout=30)
    state = (await client.get("/_sandbox/faults")).json()
    assert (state["hold"], state["hold_after"], state["held"]) == (True, 0, 3)
    assert not any(task.done() for task in waiting)
    assert store_of(sandbox).total() == 2  # a held request is not accepted yet

    released = (await client.patch("/_sandbox/faults", json={"hold": False})).json()
    assert released["hold"] is False
    statuses = [response.status_code for response in await asyncio.gather(*waiting)]
    assert statuses == [201, 201, 202]
    assert store_of(sandbox).total() == 5
    assert await held_count(client) == 0
    assert (await send_sms(client)).status_code == 201  # released: nothing is held any more


async def test_delete_and_put_release_held_requests(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    for release in ("DELETE", "PUT"):
        await client.put("/_sandbox/faults", json={"hold": True})
        waiting = asyncio.create_task(send_sms(client))
        await wait_until(lambda: faults_of(sandbox).held == 1, timeout=30)
        if release == "DELETE":
            assert (await client.delete("/_sandbox/faults")).status_code == 204
        else:
            assert (await client.put("/_sandbox/faults", json={"latency_ms": 0})).json()["hold"] is False
        assert (await waiting).status_code == 201
        assert faults_of(sandbox).held == 0
    assert store_of(sandbox).total() == 2


async def test_hold_applies_only_to_the_listed_providers(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    await client.put("/_sandbox/faults", json={"hold": True, "providers": ["sendgrid"]})
    mail = asyncio.create_task(send_mail(client, receipt_mail()))
    await wait_until(lambda: faults_of(sandbox).held == 1, timeout=30)
    assert (await send_sms(client)).status_code == 201  # Twilio is not held
    assert [record.provider for record in store_of(sandbox)] == ["twilio"]
    await client.patch("/_sandbox/faults", json={"hold": False})
    assert (await mail).status_code == 202


async def test_a_held_request_that_is_cancelled_stops_counting() -> None:
    faults = Faults()
    faults.configure(hold=True)
    waiter = asyncio.create_task(faults.inject("twilio"))
    await wait_until(lambda: faults.held == 1, timeout=30)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert faults.held == 0
    faults.configure(hold=False)
    assert await faults.inject("twilio") is None


def test_hold_settings_are_validated() -> None:
    faults = Faults()
    bad_settings: list[dict[str, Any]] = [
        {"hold": 1},
        {"hold": "yes"},
        {"hold_after": -1},
        {"hold_after": 1.5},
        {"hold_after": True},
        {"hold_after": 10**9},
    ]
    for bad in bad_settings:
        with pytest.raises(FaultConfigError):
            faults.configure(**bad)
        with pytest.raises(FaultConfigError):
            faults.replace(bad)
    assert (faults.hold, faults.hold_after, faults.held) == (False, 0, 0)


async def test_bad_hold_settings_are_refused_over_http(client: httpx.AsyncClient) -> None:
    for bad in ({"hold": "true"}, {"hold_after": -3}, {"hold_for": 1}):
        assert (await client.put("/_sandbox/faults", json=bad)).status_code == 400
        assert (await client.patch("/_sandbox/faults", json=bad)).status_code == 400
    assert (await client.get("/_sandbox/faults")).json()["hold"] is False


# --- Inspection API, store, server --------------------------------------------------------------


async def test_messages_inspection_api(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sandbox/health")).json() == {"ok": True}
    for n in range(3):
        await send_sms(client, Body=f"sms {n}")
    await send_mail(client, receipt_mail())

    everything = (await client.get("/_sandbox/messages")).json()
    assert everything["count"] == 4
    assert [m["provider"] for m in everything["messages"]] == ["twilio", "twilio", "twilio", "sendgrid"]
    page = (await client.get("/_sandbox/messages", params={"provider": "twilio", "limit": 1, "offset": 1})).json()
    assert page["count"] == 3
    assert [m["body"] for m in page["messages"]] == ["sms 1"]
    mail = (await client.get("/_sandbox/messages", params={"provider": "sendgrid"})).json()["messages"][0]
    assert mail["from"] == credentials.SENDGRID_FROM
    assert mail["idempotency_key"] == "delivery-1"
    assert mail["received_at"].endswith("+00:00")
    assert (await client.get("/_sandbox/messages", params={"provider": "fax"})).status_code == 400
    assert (await client.get("/_sandbox/messages", params={"limit": "-1"})).status_code == 400

    assert (await client.delete("/_sandbox/messages")).status_code == 204
    assert (await client.get("/_sandbox/messages")).json()["count"] == 0


def test_store_is_bounded_but_counts_everything() -> None:
    store = MessageStore(capacity=3)
    for n in range(5):
        store.add(MessageRecord(provider="twilio", id=f"SM{n}", to=("+1",), from_="+2"))

    assert (store.total(), store.total("twilio"), store.retained(), len(store)) == (5, 5, 3, 3)
    assert [record.id for record in store.messages()] == ["SM2", "SM3", "SM4"]
    assert store.find(idempotency_key="none") == []


async def test_app_accepts_injected_store_and_faults() -> None:
    store, faults = MessageStore(), Faults(error_rate=1.0)
    app = create_sandbox_app(store, faults)
    assert app.state.store is store
    assert app.state.faults is faults
    async with await start_sandbox(app=app) as running, httpx.AsyncClient(base_url=running.url) as http:
        assert (await send_sms(http)).status_code == 503
    assert store.total() == 0


async def test_stop_closes_the_port() -> None:
    running = await start_sandbox()
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{running.url}/_sandbox/health")).status_code == 200
    await running.stop()
    await running.stop()  # idempotent
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{running.url}/_sandbox/health")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_run_sandbox_forever_prints_url_and_stops_on_sigterm() -> None:
    code = "from app.sandbox.server import run_sandbox_forever; run_sandbox_forever('127.0.0.1', 0)"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parents[2]
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        match = re.fullmatch(r"Sandbox listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{match[1]}/_sandbox/health")).json() == {"ok": True}
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
