"""SendGridAdapter: JSON body checked against the official `sendgrid` SDK and the official OpenAPI schema.

Recorded error bodies in tests/fixtures/providers/sendgrid_*.json are written by hand from the
SendGrid Mail Send error reference. No network: httpx.MockTransport is the world.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from sendgrid.helpers.mail import (
    Attachment as SgAttachment,
)
from sendgrid.helpers.mail import (
    Category,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Header,
    Mail,
    ReplyTo,
    To,
)

from app.domain.channels import Channel
from app.domain.errors import (
    ConfigurationError,
    PermanentProviderError,
    TransientProviderError,
    UnsupportedFeature,
)
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.mime import message_id
from app.providers.sendgrid import SendGridAdapter, rate_limit_wait
from tests.providers.support import OFFLINE, fixture

ORACLES = Path(__file__).resolve().parents[1] / "fixtures" / "oracles"

API_KEY = "SG.test-key.9d3f0a7c"
FROM_EMAIL = "receipts@demo-market.example"
FROM_NAME = "Demo Market"
REPLY_TO = "help@demo-market.example"
TO = "ana@example.com"
MESSAGE_ID = "W6g1kQ5xTqGQ7-2ZQv0r1A"
PDF = b"%PDF-1.7 receipt"


def email(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "to": TO,
        "idempotency_key": "dlv-42-email",
        "subject": "Your receipt from Demo Market",
        "text": "Total 12.40 EUR. Thank you!",
        "html": "<p>Total <b>12.40 €</b>. Thank you!</p>",
        "metadata": {"sale_id": "S-1001", "store": "lisbon-1"},
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient = OFFLINE, **settings: Any) -> SendGridAdapter:
    kwargs: dict[str, Any] = {"api_key": API_KEY, "from_email": FROM_EMAIL}
    return SendGridAdapter(http, **(kwargs | settings))


@dataclass
class Wire:
    """The outside world: records every request and answers with `reply` (a response or an error)."""

    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(
        default_factory=lambda: httpx.Response(202, headers={"X-Message-Id": MESSAGE_ID})
    )


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


def sdk_mail(message: OutboundMessage, *, from_name: str | None = None) -> Mail:
    """The same message built with the official helper (custom args on personalization 0)."""
    mail = Mail(
        from_email=From(FROM_EMAIL, from_name),
        to_emails=To(message.to),
        subject=message.subject,
        plain_text_content=message.text,
        html_content=message.html,
    )
    for key, value in ({**message.metadata, "receiptdesk_key": message.idempotency_key}).items():
        mail.add_custom_arg(CustomArg(key, value, p=0))
    mail.header = Header("Message-ID", message_id(message.idempotency_key, FROM_EMAIL))
    return mail


# --- the official SDK as an oracle --------------------------------------------------------------


async def test_body_equals_official_sdk(wire: Wire) -> None:
    message = email()
    await make(wire.http, from_name=FROM_NAME).send(message)
    (request,) = wire.requests
    assert json.loads(request.content) == sdk_mail(message, from_name=FROM_NAME).get()


def test_body_with_every_option_equals_official_sdk() -> None:
    message = email(
        attachments=(Attachment("receipt.pdf", "application/pdf", PDF),),
        provider_extra={"categories": ["receipt", "lisbon-1"]},
    )
    _, body = make(reply_to=REPLY_TO).build_request(message)

    mail = sdk_mail(message)
    mail.reply_to = ReplyTo(REPLY_TO)
    mail.category = [Category("receipt"), Category("lisbon-1")]
    mail.attachment = SgAttachment(
        FileContent(base64.b64encode(PDF).decode()),
        FileName("receipt.pdf"),
        FileType("application/pdf"),
        Disposition("attachment"),
    )
    theirs = mail.get()
    # Categories are a set to SendGrid (uniqueItems); the SDK prepends each one, so compare unordered.
    assert sorted(body.pop("categories")) == sorted(theirs.pop("categories"))
    assert body == theirs


def test_template_send_equals_official_sdk() -> None:
    data = {"total": "12.40", "items": [{"name": "Bread", "qty": 2}]}
    message = email(html=None, text=None, provider_extra={"template_id": "d-0123abcd", "dynamic_template_data": data})
    _, body = make().build_request(message)

    mail = sdk_mail(message)
    mail.template_id = "d-0123abcd"
    mail.dynamic_template_data = data
    assert body == mail.get()
    assert "content" not in body


# --- the official OpenAPI schema -----------------------------------------------------------------

SCHEMA_CASES = {
    "inline": email(),
    "text-only": email(html=None),
    "template": email(provider_extra={"template_id": "d-0123abcd", "dynamic_template_data": {"n": 1}}),
    "everything": email(
        attachments=(Attachment("receipt.pdf", "application/pdf", PDF),),
        provider_extra={"categories": ["receipt"]},
    ),
}


@pytest.mark.parametrize("message", SCHEMA_CASES.values(), ids=SCHEMA_CASES.keys())
def test_body_fits_official_openapi_schema(message: OutboundMessage) -> None:
    oracle = json.loads((ORACLES / "sendgrid_mail_send.json").read_text())
    schema = copy.deepcopy(oracle["request_schema"])
    # The cut schema keeps one $ref of the spec; Disposition there is this enum (tsg_mail_v3.json).
    schema["components"] = {"schemas": {"Disposition": {"type": "string", "enum": ["inline", "attachment"]}}}
    path, body = make(from_name=FROM_NAME, reply_to=REPLY_TO).build_request(message)
    assert path == oracle["path"]
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)


# --- payload builder ---------------------------------------------------------------------------


def test_options_nobody_set_never_reach_the_wire() -> None:
    _, body = make().build_request(email(subject=None))
    assert set(body) == {"personalizations", "from", "content", "headers"}
    assert body["headers"] == {"Message-ID": message_id("dlv-42-email", FROM_EMAIL)}
    assert body["from"] == {"email": FROM_EMAIL}
    assert set(body["personalizations"][0]) == {"to", "custom_args"}


def test_plain_text_comes_before_html() -> None:
    _, body = make().build_request(email())
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]


def test_idempotency_key_travels_in_custom_args_and_wins_over_metadata() -> None:
    _, body = make().build_request(email(metadata={"receiptdesk_key": "forged", "sale_id": "S-1"}))
    assert body["personalizations"][0]["custom_args"] == {"receiptdesk_key": "dlv-42-email", "sale_id": "S-1"}


def test_wrong_channel_is_unsupported() -> None:
    with pytest.raises(UnsupportedFeature):
        make().build_request(email(channel=Channel.SMS))


def test_no_content_and_no_template_is_refused_before_sending() -> None:
    with pytest.raises(PermanentProviderError):
        make().build_request(email(text=None, html=None))


# --- request and response ----------------------------------------------------------------------


async def test_bearer_auth_json_and_message_id(wire: Wire) -> None:
    result = await make(wire.http).send(email())
    (request,) = wire.requests
    assert str(request.url) == "https://api.sendgrid.com/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert (result.provider_message_id, result.status, result.raw_status) == (MESSAGE_ID, SendStatus.ACCEPTED, "202")


def test_sandbox_mode_200_is_not_taken_for_accepted() -> None:
    result = make().parse_response(httpx.Response(200))
    assert (result.status, result.raw_status) == (SendStatus.UNKNOWN, "200")


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 413])
async def test_client_errors_are_permanent(wire: Wire, status: int) -> None:
    wire.reply = httpx.Response(status, json=fixture(f"sendgrid_error_{status}.json"))
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(email())
    assert info.value.status_code == status
    assert fixture(f"sendgrid_error_{status}.json")["errors"][0]["message"] in info.value.message


def test_400_detail_names_the_field() -> None:
    with pytest.raises(PermanentProviderError, match=r"personalizations\.0\.to\.0\.email"):
        make().parse_response(httpx.Response(400, json=fixture("sendgrid_error_400.json")))


def test_429_waits_until_rate_limit_reset() -> None:
    reply = httpx.Response(429, json=fixture("sendgrid_error_429.json"), headers={"X-RateLimit-Reset": "1700000030"})
    with pytest.raises(TransientProviderError) as info:
        make().parse_response(reply, now=1_700_000_000.0)
    assert info.value.retry_after == 30.0


def test_429_prefers_retry_after_when_present() -> None:
    headers = {"Retry-After": "5", "X-RateLimit-Reset": "1700000030"}
    with pytest.raises(TransientProviderError) as info:
        make().parse_response(httpx.Response(429, headers=headers), now=1_700_000_000.0)
    assert info.value.retry_after == 5.0


async def test_429_through_send_uses_the_clock(wire: Wire) -> None:
    import time

    reset = int(time.time()) + 20
    wire.reply = httpx.Response(429, json=fixture("sendgrid_error_429.json"), headers={"X-RateLimit-Reset": str(reset)})
    with pytest.raises(TransientProviderError) as info:
        await make(wire.http).send(email())
    assert info.value.retry_after is not None
    assert 15.0 <= info.value.retry_after <= 21.0


@pytest.mark.parametrize(
    ("value", "expected"), [("1700000030", 30.0), ("1699999990", 0.0), ("soon", None), (None, None)]
)
def test_rate_limit_wait(value: str | None, expected: float | None) -> None:
    headers = {} if value is None else {"X-RateLimit-Reset": value}
    assert rate_limit_wait(headers, now=1_700_000_000.0) == expected


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_transient_and_ignores_rate_limit_reset(status: int) -> None:
    reply = httpx.Response(status, text="upstream error", headers={"X-RateLimit-Reset": "1700000030"})
    with pytest.raises(TransientProviderError) as info:
        make().parse_response(reply, now=1_700_000_000.0)
    assert (info.value.status_code, info.value.retry_after) == (status, None)


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
    wire.reply = make_error(httpx.Request("POST", "https://api.sendgrid.com"))
    with pytest.raises(TransientProviderError) as info:
        await make(wire.http).send(email())
    assert info.value.ambiguous is ambiguous


# --- configuration and secrets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "secrets", "missing"),
    [({}, {"api_key": API_KEY}, "from_email"), ({"from_email": FROM_EMAIL}, {}, "api_key")],
)
def test_create_names_the_missing_field(settings: dict[str, str], secrets: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigurationError, match=missing):
        SendGridAdapter.create(OFFLINE, settings, secrets)


async def test_create_honours_settings(wire: Wire) -> None:
    settings = {"from_email": FROM_EMAIL, "from_name": FROM_NAME, "base_url": "https://api.eu.sendgrid.com/"}
    await SendGridAdapter.create(wire.http, settings, {"api_key": API_KEY}).send(email())
    (request,) = wire.requests
    assert str(request.url) == "https://api.eu.sendgrid.com/v3/mail/send"
    assert json.loads(request.content)["from"] == {"email": FROM_EMAIL, "name": FROM_NAME}


async def test_api_key_never_in_logs_or_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make(wire.http)
    texts = [repr(adapter)]
    await adapter.send(email())
    for reply in (
        httpx.Response(401, json=fixture("sendgrid_error_401.json")),
        httpx.Response(429, json=fixture("sendgrid_error_429.json")),
        httpx.Response(503),
        httpx.ConnectError("refused"),
    ):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(email())
        texts += [str(info.value), repr(info.value)]
    assert API_KEY not in caplog.text
    assert all(API_KEY not in t for t in texts)
