"""PostmarkAdapter: JSON keys checked against the official `postmark` SDK models and error mapping.

Recorded answers in tests/fixtures/providers/postmark_*.json are written by hand from the Postmark
API reference. No network: httpx.MockTransport is the world.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from postmark.exceptions import (
    InactiveRecipientException,
    InvalidAPIKeyException,
    RateLimitException,
    ServerException,
    ValidationException,
    get_exception_class,
)
from postmark.models.outbound.schemas import Email, SendResponse
from postmark.models.templates.schemas import TemplateEmail

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.mime import message_id
from app.providers.postmark import PostmarkAdapter
from tests.providers.support import OFFLINE, fixture

SERVER_TOKEN = "pm-test-server-token-0b6d1f3e"
FROM_EMAIL = "receipts@demo-market.example"
FROM_NAME = "Demo Market"
TO = "ana@example.com"
PDF = b"%PDF-1.7 receipt"


def email(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "to": TO,
        "idempotency_key": "dlv-42-email",
        "subject": "Your receipt from Demo Market",
        "text": "Total $12.40. Thank you!",
        "html": "<p>Total <b>$12.40</b>. Thank you!</p>",
        "metadata": {"sale_id": "S-1001"},
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient = OFFLINE, **settings: Any) -> PostmarkAdapter:
    kwargs: dict[str, Any] = {"server_token": SERVER_TOKEN, "from_email": FROM_EMAIL}
    return PostmarkAdapter(http, **(kwargs | settings))


@dataclass
class Wire:
    """The outside world: records every request and answers with `reply` (a response or an error)."""

    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(
        default_factory=lambda: httpx.Response(200, json=fixture("postmark_email_ok.json"))
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


# --- the official SDK as an oracle --------------------------------------------------------------

BODY_CASES = {
    "inline": email(),
    "text-only": email(html=None, metadata={}),
    "attachments-and-tag": email(
        attachments=(Attachment("receipt.pdf", "application/pdf", PDF),), provider_extra={"tag": "receipt"}
    ),
}


@pytest.mark.parametrize("message", BODY_CASES.values(), ids=BODY_CASES.keys())
def test_email_body_round_trips_through_the_official_model(message: OutboundMessage) -> None:
    path, body = make(from_name=FROM_NAME, reply_to="help@demo-market.example").build_request(message)
    assert path == "/email"
    # Every key we send is one the SDK model knows (an unknown key would be dropped on the way back).
    assert Email.model_validate(body).model_dump(by_alias=True, exclude_unset=True) == body


@pytest.mark.parametrize(
    "extra",
    [{"template_id": "3921", "template_model": {"total": "12.40"}}, {"template_alias": "receipt"}],
    ids=["id", "alias"],
)
def test_template_body_round_trips_through_the_official_model(extra: dict[str, Any]) -> None:
    path, body = make().build_request(email(provider_extra=extra))
    assert path == "/email/withTemplate"
    assert TemplateEmail.model_validate(body).model_dump(by_alias=True, exclude_unset=True) == body
    assert not {"Subject", "HtmlBody", "TextBody"} & set(body)
    assert "TemplateModel" in body


def test_success_fixture_parses_as_the_official_send_response() -> None:
    official = SendResponse.model_validate(fixture("postmark_email_ok.json"))
    result = make().parse_response(httpx.Response(200, json=fixture("postmark_email_ok.json")))
    assert official.success
    assert (result.provider_message_id, result.status) == (official.message_id, SendStatus.ACCEPTED)


# Our outcome for each (ErrorCode, HTTP status), next to the SDK's exception class for the same answer.
OUTCOMES = [
    (10, 401, InvalidAPIKeyException, "permanent"),
    (300, 422, ValidationException, "permanent"),
    (405, 422, ValidationException, "permanent"),
    (406, 422, InactiveRecipientException, "rejected"),
    (701, 422, ValidationException, "permanent"),
    (0, 429, RateLimitException, "transient"),
    (0, 500, ServerException, "transient"),
    (0, 503, ServerException, "transient"),
]


@pytest.mark.parametrize(("code", "status", "sdk_class", "outcome"), OUTCOMES)
def test_error_classes_agree_with_the_official_sdk(code: int, status: int, sdk_class: type, outcome: str) -> None:
    assert get_exception_class(code, status) is sdk_class
    body = {"ErrorCode": code, "Message": "refused"} if code else {"Message": "busy"}
    reply = httpx.Response(status, json=body)
    if outcome == "rejected":
        assert make().parse_response(reply).status is SendStatus.REJECTED
        return
    expected = TransientProviderError if outcome == "transient" else PermanentProviderError
    with pytest.raises(expected) as info:
        make().parse_response(reply)
    assert isinstance(info.value, TransientProviderError) is (outcome == "transient")
    assert info.value.status_code == status


# --- payload builder ---------------------------------------------------------------------------


def test_options_nobody_set_never_reach_the_wire() -> None:
    _, body = make().build_request(email(html=None, metadata={}))
    assert body == {
        "From": FROM_EMAIL,
        "To": TO,
        "Subject": "Your receipt from Demo Market",
        "TextBody": "Total $12.40. Thank you!",
        "Headers": [{"Name": "Message-ID", "Value": message_id("dlv-42-email", FROM_EMAIL)}],
        "Metadata": {"receiptdesk_key": "dlv-42-email"},
        "MessageStream": "outbound",
    }


def test_stream_name_and_attachment_encoding() -> None:
    message = email(attachments=(Attachment("receipt.pdf", "application/pdf", PDF),))
    _, body = make(from_name=FROM_NAME, message_stream="receipts").build_request(message)
    assert body["From"] == f"{FROM_NAME} <{FROM_EMAIL}>"
    assert body["MessageStream"] == "receipts"
    assert body["Attachments"] == [
        {"Name": "receipt.pdf", "Content": base64.b64encode(PDF).decode(), "ContentType": "application/pdf"}
    ]


def test_idempotency_key_wins_over_metadata() -> None:
    _, body = make().build_request(email(metadata={"receiptdesk_key": "forged", "sale_id": "S-1"}))
    assert body["Metadata"] == {"receiptdesk_key": "dlv-42-email", "sale_id": "S-1"}


def test_refusals_before_sending() -> None:
    with pytest.raises(UnsupportedFeature):
        make().build_request(email(channel=Channel.SMS))
    with pytest.raises(PermanentProviderError):
        make().build_request(email(text=None, html=None))
    with pytest.raises(PermanentProviderError, match="template_id"):
        make().build_request(email(provider_extra={"template_id": "receipt"}))


# --- request and response ----------------------------------------------------------------------


async def test_server_token_header_json_and_message_id(wire: Wire) -> None:
    result = await make(wire.http).send(email())
    (request,) = wire.requests
    assert str(request.url) == "https://api.postmarkapp.com/email"
    assert request.headers["X-Postmark-Server-Token"] == SERVER_TOKEN
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert result.provider_message_id == "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"
    assert (result.status, result.raw_status) == (SendStatus.ACCEPTED, "200")


def test_inactive_recipient_is_rejected_not_an_outage() -> None:
    result = make().parse_response(httpx.Response(422, json=fixture("postmark_error_406.json")))
    assert (result.status, result.raw_status, result.provider_message_id) == (SendStatus.REJECTED, "406", None)
    assert result.detail and "Found inactive addresses" in result.detail


@pytest.mark.parametrize("name", ["postmark_error_10.json", "postmark_error_300.json"])
def test_error_codes_are_permanent_and_named(name: str) -> None:
    payload = fixture(name)
    with pytest.raises(PermanentProviderError) as info:
        make().parse_response(httpx.Response(422 if payload["ErrorCode"] == 300 else 401, json=payload))
    assert info.value.code == str(payload["ErrorCode"])
    assert payload["Message"] in info.value.message


def test_non_zero_error_code_in_a_200_is_not_success() -> None:
    with pytest.raises(PermanentProviderError):
        make().parse_response(httpx.Response(200, json={"ErrorCode": 300, "Message": "Invalid"}))


def test_maintenance_code_is_transient() -> None:
    with pytest.raises(TransientProviderError):
        make().parse_response(httpx.Response(422, json={"ErrorCode": 100, "Message": "Maintenance"}))


def test_429_keeps_retry_after_and_other_2xx_is_unknown() -> None:
    with pytest.raises(TransientProviderError) as info:
        make().parse_response(httpx.Response(429, headers={"Retry-After": "9"}))
    assert info.value.retry_after == 9.0
    reply = httpx.Response(202, json=fixture("postmark_email_ok.json"))
    assert make().parse_response(reply).status is SendStatus.UNKNOWN


@pytest.mark.parametrize(
    ("error", "ambiguous"),
    [(httpx.ConnectTimeout("slow connect"), False), (httpx.ReadTimeout("slow"), True)],
    ids=["connect-timeout", "read-timeout"],
)
async def test_transport_errors_are_transient(wire: Wire, error: Exception, ambiguous: bool) -> None:
    wire.reply = error
    with pytest.raises(TransientProviderError) as info:
        await make(wire.http).send(email())
    assert info.value.ambiguous is ambiguous


# --- configuration and secrets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "secrets", "missing"),
    [({}, {"server_token": SERVER_TOKEN}, "from_email"), ({"from_email": FROM_EMAIL}, {}, "server_token")],
)
def test_create_names_the_missing_field(settings: dict[str, str], secrets: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigurationError, match=missing):
        PostmarkAdapter.create(OFFLINE, settings, secrets)


async def test_create_honours_settings(wire: Wire) -> None:
    settings = {"from_email": FROM_EMAIL, "message_stream": "receipts", "base_url": "http://127.0.0.1:9/"}
    await PostmarkAdapter.create(wire.http, settings, {"server_token": SERVER_TOKEN}).send(email())
    (request,) = wire.requests
    assert str(request.url) == "http://127.0.0.1:9/email"
    assert json.loads(request.content)["MessageStream"] == "receipts"


async def test_server_token_never_in_logs_or_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make(wire.http)
    texts = [repr(adapter)]
    await adapter.send(email())
    for reply in (
        httpx.Response(401, json=fixture("postmark_error_10.json")),
        httpx.Response(429),
        httpx.Response(500),
        httpx.ConnectError("refused"),
    ):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(email())
        texts += [str(info.value), repr(info.value)]
    assert SERVER_TOKEN not in caplog.text
    assert all(SERVER_TOKEN not in t for t in texts)
