"""TwilioAdapter: wire form checked against the official `twilio` SDK and the official OpenAPI schema.

Recorded responses in tests/fixtures/providers/twilio_*.json are written by hand from the Twilio
API reference and the twilio-oai response schema. No network: httpx.MockTransport is the world.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jsonschema
import pytest
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from app.domain.channels import Channel
from app.domain.errors import (
    ConfigurationError,
    PermanentProviderError,
    TransientProviderError,
    UnsupportedFeature,
)
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.twilio import STATUS_MAP, TwilioAdapter
from tests.providers.support import OFFLINE, fixture

ORACLES = Path(__file__).resolve().parents[1] / "fixtures" / "oracles"

ACCOUNT_SID = "AC1234567890abcdef1234567890abcdef"
AUTH_TOKEN = "tw-test-auth-token-5f1c9e"
FROM = "+15005550006"
SERVICE_SID = "MG0123456789abcdef0123456789abcdef"
CALLBACK = "https://hub.demo-market.example/callbacks/twilio"
TO = "+15558675310"


def sms(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.SMS,
        "to": TO,
        "idempotency_key": "dlv-42-sms",
        "sms_body": "Demo Market: your receipt https://r.example/abc · café ☕",
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient = OFFLINE, **settings: Any) -> TwilioAdapter:
    kwargs: dict[str, Any] = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM}
    return TwilioAdapter(http, **(kwargs | settings))


@dataclass
class Wire:
    """The outside world: records every request and answers with `reply` (a response or an error)."""

    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(
        default_factory=lambda: httpx.Response(201, json=fixture("twilio_message_queued.json"))
    )

    def adapter(self, **settings: Any) -> TwilioAdapter:
        return make(self.http, **settings)


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    holder: list[Wire] = []

    def handler(request: httpx.Request) -> httpx.Response:
        w = holder[0]
        w.requests.append(request)
        if isinstance(w.reply, Exception):
            raise w.reply
        return w.reply

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        holder.append(Wire(http))
        yield holder[0]


def form_of(request: httpx.Request) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.content.decode("ascii"), keep_blank_values=True, strict_parsing=True):
        grouped.setdefault(key, []).append(value)
    return grouped


# --- the official SDK as an oracle --------------------------------------------------------------


class CapturingTwilioHttp(HttpClient):
    """A twilio-python HttpClient that records what the SDK would send and answers 201."""

    def __init__(self) -> None:
        super().__init__(logger=logging.getLogger("twilio-oracle"), is_async=False)
        self.calls: list[dict[str, Any]] = []

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        self.calls.append({"method": method, "url": uri, "data": data or {}, "headers": headers, "auth": auth})
        return TwilioResponse(201, json.dumps(fixture("twilio_message_queued.json")))


def sdk_send(**create_kwargs: Any) -> dict[str, Any]:
    http = CapturingTwilioHttp()
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http, environment={})
    client.messages.create(**create_kwargs)
    (call,) = http.calls
    pairs = [(k, str(x)) for k, v in call["data"].items() for x in (v if isinstance(v, list) else [v])]
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return call | {"form": grouped}


MEDIA = ["https://cdn.demo-market.example/r/abc.png", "https://cdn.demo-market.example/r/abc-2.png"]
ORACLE_CASES: list[tuple[str, dict[str, Any], OutboundMessage, dict[str, Any]]] = [
    (
        "from+callback",
        {"status_callback": CALLBACK},
        sms(),
        {"to": TO, "from_": FROM, "body": sms().sms_body, "status_callback": CALLBACK},
    ),
    (
        "service+media",
        {"from_number": None, "messaging_service_sid": SERVICE_SID},
        sms(provider_extra={"media_urls": MEDIA}),
        {"to": TO, "messaging_service_sid": SERVICE_SID, "body": sms().sms_body, "media_url": MEDIA},
    ),
    (
        "text-fallback",
        {},
        sms(sms_body=None, text="Thanks for shopping with us."),
        {"to": TO, "from_": FROM, "body": "Thanks for shopping with us."},
    ),
]


@pytest.mark.parametrize(
    ("settings", "message", "sdk_kwargs"), [c[1:] for c in ORACLE_CASES], ids=[c[0] for c in ORACLE_CASES]
)
async def test_wire_form_equals_official_sdk(
    wire: Wire, settings: dict[str, Any], message: OutboundMessage, sdk_kwargs: dict[str, Any]
) -> None:
    await wire.adapter(**settings).send(message)
    (ours,) = wire.requests
    theirs = sdk_send(**sdk_kwargs)

    assert ours.method == theirs["method"] == "POST"
    assert str(ours.url) == theirs["url"]
    assert form_of(ours) == theirs["form"]
    assert ours.headers["Content-Type"] == theirs["headers"]["Content-Type"]
    scheme, _, token = ours.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert tuple(base64.b64decode(token).decode().split(":", 1)) == theirs["auth"]


@pytest.mark.parametrize("message", [c[2] for c in ORACLE_CASES], ids=[c[0] for c in ORACLE_CASES])
def test_form_fits_official_openapi_schema(message: OutboundMessage) -> None:
    oracle = json.loads((ORACLES / "twilio_create_message.json").read_text())
    schema = oracle["request_schema"]
    adapter = make(messaging_service_sid=SERVICE_SID, status_callback=CALLBACK)
    path, form = adapter.build_request(message)
    assert path == oracle["path"].replace("{AccountSid}", ACCOUNT_SID)

    keys = {k for k, _ in form}
    assert keys <= schema["properties"].keys()
    assert set(schema["required"]) <= keys
    # Arrays in the schema are repeated form keys on the wire.
    doc: dict[str, Any] = {}
    for key, value in form:
        if schema["properties"][key].get("type") == "array":
            doc.setdefault(key, []).append(value)
        else:
            doc[key] = value
    jsonschema.validate(doc, schema)


# --- payload builder ---------------------------------------------------------------------------


def test_options_nobody_set_never_reach_the_wire() -> None:
    _, form = make().build_request(sms())
    assert [k for k, _ in form] == ["To", "From", "Body"]


def test_sms_body_wins_over_text() -> None:
    adapter = make()
    _, form = adapter.build_request(sms(sms_body="short", text="the long e-mail text"))
    assert ("Body", "short") in form


@pytest.mark.parametrize(
    "message",
    [
        sms(attachments=(Attachment("r.pdf", "application/pdf", b"%PDF"),)),
        sms(channel=Channel.EMAIL),
        sms(sms_body="x" * 1601),
    ],
    ids=["attachment-bytes", "wrong-channel", "over-1600"],
)
def test_what_twilio_cannot_express_is_unsupported(message: OutboundMessage) -> None:
    adapter = make()
    with pytest.raises(UnsupportedFeature):
        adapter.build_request(message)


def test_attachments_go_as_media_urls_when_given() -> None:
    adapter = make()
    message = sms(attachments=(Attachment("r.png", "image/png", b"png"),), provider_extra={"media_urls": MEDIA})
    _, form = adapter.build_request(message)
    assert [v for k, v in form if k == "MediaUrl"] == MEDIA


def test_empty_message_is_refused_before_sending() -> None:
    adapter = make()
    with pytest.raises(PermanentProviderError):
        adapter.build_request(sms(sms_body=None, text=None))


# --- response parser ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "sid"),
    [
        ("twilio_message_queued.json", SendStatus.ACCEPTED, "SM9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
        ("twilio_message_accepted.json", SendStatus.ACCEPTED, "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
    ],
)
async def test_recorded_success_is_parsed(wire: Wire, name: str, status: SendStatus, sid: str) -> None:
    payload = fixture(name)
    wire.reply = httpx.Response(201, json=payload)
    result = await wire.adapter().send(sms())
    assert (result.provider_message_id, result.status, result.raw_status) == (sid, status, payload["status"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("teleported", SendStatus.UNKNOWN), ("failed", SendStatus.REJECTED), ("delivered", SendStatus.DELIVERED)],
)
def test_status_table(raw: str, expected: SendStatus) -> None:
    adapter = make()
    payload = fixture("twilio_message_queued.json") | {
        "status": raw,
        "error_message": "nope" if raw == "failed" else None,
    }
    result = adapter.parse_response(httpx.Response(201, json=payload))
    assert (result.status, result.raw_status) == (expected, raw)


def test_status_table_only_uses_statuses_of_the_official_sdk() -> None:
    official = {v for k, v in vars(MessageInstance.Status).items() if not k.startswith("_")}
    assert set(STATUS_MAP) <= official


def test_unparseable_success_body_is_unknown_not_an_error() -> None:
    adapter = make()
    result = adapter.parse_response(httpx.Response(201, text="<html>"))
    assert (result.status, result.provider_message_id) == (SendStatus.UNKNOWN, None)


# --- errors ------------------------------------------------------------------------------------


def _reply(status: int, name: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if name is None:
        return httpx.Response(status, text="<html>Service Unavailable</html>", headers=headers)
    return httpx.Response(status, json=fixture(name), headers=headers)


@pytest.mark.parametrize(
    ("reply", "code"),
    [(_reply(400, "twilio_error_21211.json"), "21211"), (_reply(401, "twilio_error_20003.json"), "20003")],
)
async def test_client_errors_are_permanent_with_twilio_code(wire: Wire, reply: httpx.Response, code: str) -> None:
    wire.reply = reply
    with pytest.raises(PermanentProviderError) as info:
        await wire.adapter().send(sms())
    assert (info.value.code, info.value.status_code) == (code, reply.status_code)
    assert code in info.value.message


async def test_429_is_transient_and_honours_retry_after(wire: Wire) -> None:
    wire.reply = _reply(429, "twilio_error_20429.json", {"Retry-After": "7"})
    with pytest.raises(TransientProviderError) as info:
        await wire.adapter().send(sms())
    assert (info.value.retry_after, info.value.code, info.value.ambiguous) == (7.0, "20429", False)


async def test_503_without_json_is_transient(wire: Wire) -> None:
    wire.reply = _reply(503)
    with pytest.raises(TransientProviderError) as info:
        await wire.adapter().send(sms())
    assert info.value.status_code == 503


@pytest.mark.parametrize(
    ("make_error", "ambiguous"),
    [
        (lambda r: httpx.ConnectError("refused", request=r), False),
        (lambda r: httpx.ReadTimeout("slow", request=r), True),
    ],
    ids=["connect", "read-timeout"],
)
async def test_transport_errors_are_transient(
    wire: Wire, make_error: Callable[[httpx.Request], Exception], ambiguous: bool
) -> None:
    wire.reply = make_error(httpx.Request("POST", "https://api.twilio.com"))
    with pytest.raises(TransientProviderError) as info:
        await wire.adapter().send(sms())
    assert info.value.ambiguous is ambiguous


# --- configuration and secrets -----------------------------------------------------------------


def test_a_sender_is_required() -> None:
    with pytest.raises(ConfigurationError, match="from_number or messaging_service_sid"):
        make(from_number=None)


@pytest.mark.parametrize(
    ("settings", "secrets", "missing"),
    [
        ({"from_number": FROM}, {"auth_token": AUTH_TOKEN}, "account_sid"),
        ({"account_sid": ACCOUNT_SID, "from_number": FROM}, {"auth_token": None}, "auth_token"),
    ],
)
def test_create_names_the_missing_field(settings: dict[str, str], secrets: dict[str, str | None], missing: str) -> None:
    with pytest.raises(ConfigurationError, match=missing):
        TwilioAdapter.create(OFFLINE, settings, secrets)


async def test_create_honours_base_url(wire: Wire) -> None:
    settings = {"account_sid": ACCOUNT_SID, "from_number": FROM, "base_url": "http://127.0.0.1:8765/twilio/"}
    adapter = TwilioAdapter.create(wire.http, settings, {"auth_token": AUTH_TOKEN})
    await adapter.send(sms())
    assert str(wire.requests[0].url) == f"http://127.0.0.1:8765/twilio/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


async def test_auth_token_never_in_logs_or_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = wire.adapter()
    texts = [repr(adapter)]
    await adapter.send(sms())
    for reply in (
        _reply(401, "twilio_error_20003.json"),
        _reply(429, "twilio_error_20429.json"),
        _reply(503),
        httpx.ReadTimeout("slow"),
    ):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(sms())
        texts += [str(info.value), repr(info.value)]
    assert AUTH_TOKEN not in caplog.text
    assert all(AUTH_TOKEN not in t for t in texts)
