"""MandrillAdapter: paths and bodies checked against the official `mailchimp_transactional` SDK.

Recorded answers in tests/fixtures/providers/mandrill_*.json are written by hand from the
Mailchimp Transactional API reference. No network: httpx.MockTransport is the world, and the SDK's
one HTTP call (`ApiClient.request`) is captured instead of sent.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import mailchimp_transactional
import pytest
import requests

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.mandrill import MandrillAdapter
from app.providers.mime import message_id
from tests.providers.support import OFFLINE, fixture

API_KEY = "md-test-mandrill-4e7b2c9d"
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


def make(http: httpx.AsyncClient = OFFLINE, **settings: Any) -> MandrillAdapter:
    kwargs: dict[str, Any] = {"api_key": API_KEY, "from_email": FROM_EMAIL}
    return MandrillAdapter(http, **(kwargs | settings))


@dataclass
class Wire:
    """The outside world: records every request and answers with `reply` (a response or an error)."""

    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(
        default_factory=lambda: httpx.Response(200, json=fixture("mandrill_send_sent.json"))
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


def sdk_call(monkeypatch: pytest.MonkeyPatch, call: Callable[[Any], Any]) -> tuple[str, dict[str, Any]]:
    """(path below the API version, JSON body) the official SDK would POST for `call(client)`."""
    captured: list[tuple[str, str, Any]] = []

    def fake_request(
        self: Any, method: str, url: str, body: Any = None, headers: Any = None, timeout: Any = None
    ) -> Any:
        captured.append((method, url, body))
        response = requests.Response()
        response.status_code = 200
        response.headers["content-type"] = "application/json"
        response._content = json.dumps(fixture("mandrill_send_sent.json")).encode()
        return response

    monkeypatch.setattr(mailchimp_transactional.ApiClient, "request", fake_request)
    call(mailchimp_transactional.Client(API_KEY))
    ((method, url, body),) = captured
    assert method == "POST"
    host = "https://mandrillapp.com/api/1.3"  # the SDK's version; the docs' is 1.0
    assert url.startswith(host)
    return url.removeprefix(host), body


def below_version(path: str) -> str:
    return path.removeprefix("/api/1.0")


# --- the official SDK as an oracle --------------------------------------------------------------


async def test_send_equals_official_sdk(wire: Wire, monkeypatch: pytest.MonkeyPatch) -> None:
    message = email(attachments=(Attachment("receipt.pdf", "application/pdf", PDF),), provider_extra={"tags": ["r"]})
    await make(wire.http, from_name=FROM_NAME).send(message)
    (request,) = wire.requests
    mail = {
        "html": message.html,
        "text": message.text,
        "subject": message.subject,
        "from_email": FROM_EMAIL,
        "from_name": FROM_NAME,
        "to": [{"email": TO, "type": "to"}],
        "headers": {"Message-Id": message_id("dlv-42-email", FROM_EMAIL)},
        "tags": ["r"],
        "metadata": {"sale_id": "S-1001", "receiptdesk_key": "dlv-42-email"},
        "attachments": [{"type": "application/pdf", "name": "receipt.pdf", "content": base64.b64encode(PDF).decode()}],
    }
    path, body = sdk_call(monkeypatch, lambda client: client.messages.send({"message": mail}))
    assert str(request.url) == "https://mandrillapp.com/api/1.0/messages/send.json"
    assert below_version(request.url.path) == path == "/messages/send.json"
    assert json.loads(request.content) == body
    assert "authorization" not in request.headers  # the key travels in the body only


def test_send_template_equals_official_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {
        "template_name": "receipt-v2",
        "template_content": {"footer": "<p>See you soon</p>"},
        "merge_vars": {"total": "12.40"},
        "merge_language": "handlebars",
    }
    path, body = make().build_request(email(html=None, text=None, provider_extra=extra))
    mail = {
        "subject": "Your receipt from Demo Market",
        "from_email": FROM_EMAIL,
        "to": [{"email": TO, "type": "to"}],
        "headers": {"Message-Id": message_id("dlv-42-email", FROM_EMAIL)},
        "metadata": {"sale_id": "S-1001", "receiptdesk_key": "dlv-42-email"},
        "global_merge_vars": [{"name": "total", "content": "12.40"}],
        "merge_language": "handlebars",
    }
    request = {
        "template_name": "receipt-v2",
        "template_content": [{"name": "footer", "content": "<p>See you soon</p>"}],
        "message": mail,
    }
    sdk_path, sdk_body = sdk_call(monkeypatch, lambda client: client.messages.send_template(request))
    assert below_version(path) == sdk_path == "/messages/send-template.json"
    assert body == sdk_body


# --- payload builder ---------------------------------------------------------------------------


def test_options_nobody_set_never_reach_the_wire() -> None:
    _, body = make().build_request(email(html=None, metadata={}))
    assert set(body) == {"key", "message"}
    assert set(body["message"]) == {"text", "subject", "from_email", "to", "headers", "metadata"}


def test_template_content_is_sent_even_when_empty() -> None:
    _, body = make().build_request(email(provider_extra={"template_name": "receipt"}))
    assert body["template_content"] == []


def test_idempotency_key_wins_over_metadata_and_reply_to_is_a_header() -> None:
    message = email(metadata={"receiptdesk_key": "forged"})
    _, body = make(reply_to="help@demo-market.example").build_request(message)
    assert body["message"]["metadata"] == {"receiptdesk_key": "dlv-42-email"}
    assert body["message"]["headers"] == {
        "Message-Id": message_id("dlv-42-email", FROM_EMAIL),
        "Reply-To": "help@demo-market.example",
    }


def test_wrong_channel_and_empty_message_are_refused() -> None:
    with pytest.raises(UnsupportedFeature):
        make().build_request(email(channel=Channel.SMS))
    with pytest.raises(PermanentProviderError):
        make().build_request(email(text=None, html=None))


# --- per-recipient results ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "raw", "detail"),
    [
        ("mandrill_send_sent.json", SendStatus.ACCEPTED, "sent", None),
        ("mandrill_send_queued.json", SendStatus.ACCEPTED, "queued", "queued: attachments"),
        ("mandrill_send_rejected.json", SendStatus.REJECTED, "rejected", "rejected: hard-bounce"),
    ],
)
def test_recipient_status(name: str, status: SendStatus, raw: str, detail: str | None) -> None:
    result = make().parse_response(httpx.Response(200, json=fixture(name)), to=TO)
    assert (result.status, result.raw_status, result.detail) == (status, raw, detail)
    assert result.provider_message_id == fixture(name)[0]["_id"]


@pytest.mark.parametrize(
    ("raw", "status"),
    [("scheduled", SendStatus.ACCEPTED), ("invalid", SendStatus.REJECTED), ("teleported", SendStatus.UNKNOWN)],
)
def test_status_table(raw: str, status: SendStatus) -> None:
    reply = httpx.Response(200, json=[{"email": TO, "status": raw, "_id": "x1"}])
    result = make().parse_response(reply, to=TO)
    assert (result.status, result.raw_status) == (status, raw)


def test_the_result_for_our_recipient_is_picked() -> None:
    reply = httpx.Response(
        200, json=[{"email": "bob@example.com", "status": "rejected"}, {"email": "ANA@example.com", "status": "sent"}]
    )
    assert make().parse_response(reply, to=TO).status is SendStatus.ACCEPTED


def test_empty_result_list_is_unknown() -> None:
    assert make().parse_response(httpx.Response(200, json=[])).status is SendStatus.UNKNOWN


# --- errors: by name, whatever the HTTP status -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("mandrill_error_invalid_key.json", 500),
        ("mandrill_error_validation.json", 500),
        ("mandrill_error_unknown_template.json", 500),
        ("mandrill_error_invalid_key.json", 401),
        ("mandrill_error_validation.json", 200),
    ],
)
def test_named_client_errors_are_permanent_whatever_the_status(name: str, status: int) -> None:
    payload = fixture(name)
    with pytest.raises(PermanentProviderError) as info:
        make().parse_response(httpx.Response(status, json=payload))
    assert not isinstance(info.value, TransientProviderError)
    assert (info.value.status_code, info.value.code) == (status, payload["name"])
    assert payload["name"] in info.value.message


@pytest.mark.parametrize("status", [500, 400, 429])
def test_general_error_is_transient_whatever_the_status(status: int) -> None:
    reply = httpx.Response(status, json=fixture("mandrill_error_general.json"), headers={"Retry-After": "4"})
    with pytest.raises(TransientProviderError) as info:
        make().parse_response(reply)
    assert (info.value.code, info.value.retry_after) == ("GeneralError", 4.0)


@pytest.mark.parametrize(
    ("reply", "transient"),
    [
        (httpx.Response(502, text="<html>bad gateway</html>"), True),
        (httpx.Response(500, json={"status": "error", "code": 99, "name": "Brand_New_Error", "message": "?"}), True),
        (httpx.Response(400, json={"status": "error", "code": 99, "name": "Brand_New_Error", "message": "?"}), False),
        (httpx.Response(429, headers={"Retry-After": "2"}), True),
        (httpx.Response(403), False),
    ],
    ids=["502-html", "500-unknown-name", "400-unknown-name", "429-bare", "403-bare"],
)
def test_unnamed_errors_fall_back_on_http_status(reply: httpx.Response, transient: bool) -> None:
    with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
        make().parse_response(reply)
    assert isinstance(info.value, TransientProviderError) is transient


@pytest.mark.parametrize(
    ("error", "ambiguous"),
    [(httpx.ConnectError("refused"), False), (httpx.ReadTimeout("slow"), True)],
    ids=["connect", "read-timeout"],
)
async def test_transport_errors_are_transient(wire: Wire, error: Exception, ambiguous: bool) -> None:
    wire.reply = error
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
        MandrillAdapter.create(OFFLINE, settings, secrets)


async def test_create_honours_base_url(wire: Wire) -> None:
    settings = {"from_email": FROM_EMAIL, "base_url": "http://127.0.0.1:9/"}
    await MandrillAdapter.create(wire.http, settings, {"api_key": API_KEY}).send(email())
    assert str(wire.requests[0].url) == "http://127.0.0.1:9/api/1.0/messages/send.json"


async def test_api_key_never_in_logs_or_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make(wire.http)
    texts = [repr(adapter)]
    await adapter.send(email())
    for reply in (
        httpx.Response(500, json=fixture("mandrill_error_invalid_key.json")),
        httpx.Response(500, json=fixture("mandrill_error_general.json")),
        httpx.Response(503),
        httpx.ReadTimeout("slow"),
    ):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(email())
        texts += [str(info.value), repr(info.value)]
    assert API_KEY not in caplog.text
    assert all(API_KEY not in t for t in texts)
