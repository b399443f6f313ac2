"""TwilioWhatsAppAdapter: template vs free-form, `whatsapp:` addresses, 63016 → permanent.

The wire form is checked against the official `twilio` SDK (`messages.create(content_sid=...,
content_variables=...)`) and the official OpenAPI request schema. Recorded answers are in
tests/fixtures/providers/twilio_whatsapp_*.json. No network: httpx.MockTransport is the world.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
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

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendStatus
from app.providers.twilio_whatsapp import TwilioWhatsAppAdapter, content_variables, whatsapp_address
from tests.providers.support import FIXTURES, OFFLINE

ORACLES = Path(__file__).resolve().parents[1] / "fixtures" / "oracles"
ACCOUNT_SID = "AC1234567890abcdef1234567890abcdef"
AUTH_TOKEN = "wa-test-auth-token-41c7"
FROM = "+15005550006"
CONTENT_SID = "HX0123456789abcdef0123456789abcdef"
TO = "+15558675310"
META = {"receipt_id": "R-1", "sale_id": "S-1001", "delivery_id": "D-9", "store": "Demo Market", "total": "$42.17"}


def recorded(name: str) -> httpx.Response:
    data = json.loads((FIXTURES / name).read_text())
    return httpx.Response(data["status"], headers=data["headers"], json=data["body"])


def wa(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.WHATSAPP,
        "to": TO,
        "idempotency_key": "rd-D-9",
        "sms_body": "Demo Market: your receipt https://r.example/abc",
        "metadata": dict(META),
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient, **settings: Any) -> TwilioWhatsAppAdapter:
    kwargs: dict[str, Any] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "content_sid": CONTENT_SID,
        "from_number": FROM,
    }
    return TwilioWhatsAppAdapter(http, **(kwargs | settings))


@dataclass
class Wire:
    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(default_factory=lambda: recorded("twilio_whatsapp_template_queued.json"))


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    holder: list[Wire] = []

    def handler(request: httpx.Request) -> httpx.Response:
        holder[0].requests.append(request)
        if isinstance(holder[0].reply, Exception):
            raise holder[0].reply
        return holder[0].reply

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
        self.calls.append({"url": uri, "data": data or {}})
        body = json.loads((FIXTURES / "twilio_whatsapp_template_queued.json").read_text())["body"]
        return TwilioResponse(201, json.dumps(body))


def sdk_form(**create_kwargs: Any) -> tuple[str, dict[str, list[str]]]:
    http = CapturingTwilioHttp()
    Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http, environment={}).messages.create(**create_kwargs)
    (call,) = http.calls
    return call["url"], {k: [str(v)] for k, v in call["data"].items()}


async def test_template_form_equals_official_sdk(wire: Wire) -> None:
    result = await make(wire.http).send(wa())
    (ours,) = wire.requests
    url, theirs = sdk_form(
        to="whatsapp:" + TO,
        from_="whatsapp:" + FROM,
        content_sid=CONTENT_SID,
        content_variables=json.dumps({"1": "Demo Market", "2": "$42.17"}, separators=(",", ":")),
    )
    assert str(ours.url) == url
    assert form_of(ours) == theirs
    assert "Body" not in form_of(ours)  # outside the window a free-form body is refused (63016)
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_id == "SM1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"


async def test_session_open_sends_free_form_body_like_the_sdk(wire: Wire) -> None:
    await make(wire.http).send(wa(provider_extra={"session_open": True}))
    (ours,) = wire.requests
    _, theirs = sdk_form(to="whatsapp:" + TO, from_="whatsapp:" + FROM, body=wa().sms_body)
    assert form_of(ours) == theirs


@pytest.mark.parametrize("extra", [{}, {"session_open": True}], ids=["template", "session"])
def test_form_fits_official_openapi_schema(extra: dict[str, Any]) -> None:
    oracle = json.loads((ORACLES / "twilio_create_message.json").read_text())
    schema = oracle["request_schema"]
    _, form = make(OFFLINE, status_callback="https://hub.example/cb").build_request(wa(provider_extra=extra))
    doc = dict(form)
    assert doc.keys() <= schema["properties"].keys()
    jsonschema.validate(doc, schema)


# --- payload builder ---------------------------------------------------------------------------


def test_options_nobody_set_never_reach_the_wire() -> None:
    _, form = make(OFFLINE).build_request(wa())
    assert [k for k, _ in form] == ["To", "From", "ContentSid", "ContentVariables"]
    _, form = make(OFFLINE).build_request(wa(provider_extra={"session_open": True}))
    assert [k for k, _ in form] == ["To", "From", "Body"]


def test_addresses_get_one_whatsapp_prefix() -> None:
    assert whatsapp_address("+1555") == "whatsapp:+1555"
    assert whatsapp_address("whatsapp:+1555") == "whatsapp:+1555"
    _, form = make(OFFLINE, from_number="whatsapp:" + FROM).build_request(wa(to="whatsapp:" + TO))
    assert dict(form)["From"] == "whatsapp:" + FROM
    assert dict(form)["To"] == "whatsapp:" + TO


def test_template_variables_come_from_the_receipt_or_provider_extra() -> None:
    assert content_variables(wa()) == {"1": "Demo Market", "2": "$42.17"}
    assert content_variables(wa(metadata={"sale_id": "S-7"})) == {"1": "S-7"}
    assert content_variables(wa(provider_extra={"content_variables": {"1": "x", "3": 4}})) == {"1": "x", "3": "4"}
    _, form = make(OFFLINE).build_request(wa(metadata={}))
    assert "ContentVariables" not in dict(form)


@pytest.mark.parametrize(
    "message",
    [
        wa(channel=Channel.SMS),
        wa(provider_extra={"session_open": True}, sms_body="x" * 1601),
        wa(provider_extra={"media_urls": ["https://cdn.example/r.png"]}),
    ],
    ids=["wrong-channel", "over-1600", "media"],
)
def test_what_whatsapp_cannot_express_is_unsupported(message: OutboundMessage) -> None:
    with pytest.raises(UnsupportedFeature):
        make(OFFLINE).build_request(message)


def test_without_a_content_sid_outside_the_window_it_goes_free_form_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter = TwilioWhatsAppAdapter.create(
        OFFLINE, {"account_sid": ACCOUNT_SID, "from_number": FROM}, {"auth_token": AUTH_TOKEN}
    )
    with caplog.at_level(logging.WARNING, logger="app.providers.twilio_whatsapp"):
        _, form = adapter.build_request(wa())
    assert ("Body", wa().sms_body) in form and not any(name == "ContentSid" for name, _ in form)
    assert "63016" in caplog.text and TO not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app.providers.twilio_whatsapp"):
        adapter.build_request(wa(provider_extra={"session_open": True}))
    assert caplog.text == ""  # inside the window free-form is what WhatsApp expects


def test_the_account_sid_is_still_required_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="account_sid"):
        TwilioWhatsAppAdapter.create(OFFLINE, {"content_sid": CONTENT_SID}, {"auth_token": AUTH_TOKEN})


# --- response parser ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 500])
async def test_63016_outside_window_is_permanent_whatever_the_status(wire: Wire, status: int) -> None:
    data = json.loads((FIXTURES / "twilio_whatsapp_error_63016.json").read_text())
    wire.reply = httpx.Response(status, json=data["body"])
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(wa(provider_extra={"session_open": True}))
    assert not isinstance(info.value, TransientProviderError)
    assert info.value.code == "63016"
    assert "63016" in str(info.value)


async def test_bad_template_variables_are_permanent(wire: Wire) -> None:
    wire.reply = recorded("twilio_whatsapp_error_21656.json")
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(wa())
    assert info.value.code == "21656"


async def test_read_status_counts_as_delivered(wire: Wire) -> None:
    body = json.loads((FIXTURES / "twilio_whatsapp_template_queued.json").read_text())["body"]
    wire.reply = httpx.Response(201, json=body | {"status": "read"})
    assert (await make(wire.http).send(wa())).status is SendStatus.DELIVERED
