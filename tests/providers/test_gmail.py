"""GmailAdapter: request checked against Google's discovery document, MIME parsed back, errors from fixtures.

Oracle: google-api-python-client's bundled `gmail.v1.json`, built offline with
`build_from_document` (URL, method, body, scopes). Recorded answers in
tests/fixtures/providers/gmail_*.json are written by hand from Google's Gmail error guide and the
Message resource. No network: httpx.MockTransport plays both the token endpoint and the API.
"""

from __future__ import annotations

import base64
import email.policy
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import googleapiclient
import httpx
import jwt
import pytest
from googleapiclient.discovery import build_from_document
from googleapiclient.http import HttpMock

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.gmail import SCOPE, GmailAdapter
from app.providers.mime import message_id
from app.sandbox.oauth_tokens import new_service_account
from tests.providers.support import fixture

DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "gmail.v1.json"
INFO, _KEY = new_service_account("gmail-sender@test-project.iam.gserviceaccount.com", "test-project")
KEY_JSON = json.dumps(INFO)
SENDER = "receipts@demo-market.example"
TO = "ana.garcia@example.com"
PDF = b"%PDF-1.7 receipt"
WHEN = datetime(2026, 11, 28, 15, 4, 5, tzinfo=UTC)


TOKEN = fixture("gmail_token.json")["access_token"]


def email_message(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "to": TO,
        "idempotency_key": "dlv-42-email",
        "subject": "Your receipt from Demo Market — café",
        "text": "Total $12.40. Thank you!",
        "html": "<p>Total <b>$12.40</b>. Thank you!</p>",
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient, **settings: Any) -> GmailAdapter:
    kwargs: dict[str, Any] = {"service_account_json": KEY_JSON, "sender": SENDER}
    return GmailAdapter(http, **(kwargs | settings))


def parse_raw(body: dict[str, Any]) -> EmailMessage:
    raw = base64.urlsafe_b64decode(body["raw"])
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    mail = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    return mail


@dataclass
class Wire:
    """Token endpoint + Gmail API: records requests, answers API calls from `replies` (last one repeats)."""

    http: httpx.AsyncClient
    replies: list[httpx.Response | Exception] = field(
        default_factory=lambda: [httpx.Response(200, json=fixture("gmail_message_sent.json"))]
    )
    token_reply: httpx.Response = field(default_factory=lambda: httpx.Response(200, json=fixture("gmail_token.json")))
    token_requests: list[httpx.Request] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    holder: list[Wire] = []

    def handler(request: httpx.Request) -> httpx.Response:
        w = holder[0]
        if request.url.path == "/token":
            w.token_requests.append(request)
            return w.token_reply
        w.requests.append(request)
        reply = w.replies[min(len(w.requests), len(w.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        holder.append(Wire(http))
        yield holder[0]


# --- the discovery document as an oracle ----------------------------------------------------------


def test_request_matches_the_discovery_document() -> None:
    adapter = make(httpx.AsyncClient())
    path, body = adapter.build_request(email_message(), now=WHEN)

    doc = json.loads(DISCOVERY.read_text())
    service = build_from_document(doc, http=HttpMock(None, {"status": "200"}))
    oracle = service.users().messages().send(userId=SENDER, body=body)
    assert oracle.method == "POST"
    assert oracle.uri.split("?")[0] == GmailAdapter.default_base_url + path
    assert json.loads(oracle.body) == body
    method = doc["resources"]["users"]["resources"]["messages"]["methods"]["send"]
    assert SCOPE in method["scopes"]
    assert doc["rootUrl"].rstrip("/") == GmailAdapter.default_base_url
    assert set(body) <= set(doc["schemas"]["Message"]["properties"])


# --- the MIME message -----------------------------------------------------------------------------


def test_raw_is_an_rfc5322_message_with_our_headers() -> None:
    message = email_message(attachments=(Attachment("receipt.pdf", "application/pdf", PDF),))
    _, body = make(httpx.AsyncClient(), from_name="Demo Market, Store 7").build_request(message, now=WHEN)
    mail = parse_raw(body)

    assert mail["From"].addresses[0].addr_spec == SENDER
    assert mail["From"].addresses[0].display_name == "Demo Market, Store 7"
    assert str(mail["To"]) == TO
    assert str(mail["Subject"]) == message.subject
    assert mail["Date"].datetime == WHEN
    assert str(mail["Message-ID"]) == message_id("dlv-42-email", SENDER)
    assert str(mail["X-ReceiptDesk-Key"]) == "dlv-42-email"
    assert mail.get_content_type() == "multipart/mixed"
    alternative, attachment = list(mail.iter_parts())
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert mail.get_body(("plain",)).get_content().strip() == message.text  # type: ignore[union-attr]
    assert mail.get_body(("html",)).get_content().strip() == message.html  # type: ignore[union-attr]
    assert attachment.get_filename() == "receipt.pdf"
    assert attachment.get_content() == PDF


def test_message_id_is_the_same_on_every_retry_and_differs_between_deliveries() -> None:
    adapter = make(httpx.AsyncClient())
    first = parse_raw(adapter.build_request(email_message())[1])["Message-ID"]
    again = parse_raw(adapter.build_request(email_message())[1])["Message-ID"]
    other = parse_raw(adapter.build_request(email_message(idempotency_key="dlv-43-email"))[1])["Message-ID"]
    assert first == again != other
    assert str(first).endswith("@demo-market.example>")


def test_options_nobody_set_stay_off_the_wire() -> None:
    _, body = make(httpx.AsyncClient()).build_request(email_message(html=None))
    assert set(body) == {"raw"}  # no threadId
    mail = parse_raw(body)
    assert mail.get_content_type() == "text/plain"
    assert set(mail.keys()) == {"From", "To", "Subject", "Date", "Message-ID", "X-ReceiptDesk-Key"} | {
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
    }


def test_reply_to_and_html_only() -> None:
    _, body = make(httpx.AsyncClient(), reply_to="help@demo-market.example").build_request(email_message(text=None))
    mail = parse_raw(body)
    assert str(mail["Reply-To"]) == "help@demo-market.example"
    assert mail.get_content_type() == "text/html"


@pytest.mark.parametrize(
    "overrides",
    [{"subject": "Receipt\r\nBcc: everyone@example.com"}, {"to": "not-an-address"}, {"text": None, "html": None}],
    ids=["header-injection", "bad-address", "no-body"],
)
def test_malformed_messages_are_permanent_errors(overrides: dict[str, Any]) -> None:
    with pytest.raises(PermanentProviderError):
        make(httpx.AsyncClient()).build_request(email_message(**overrides))


def test_wrong_channel_is_unsupported() -> None:
    with pytest.raises(UnsupportedFeature):
        make(httpx.AsyncClient()).build_request(email_message(channel=Channel.SMS))


# --- sending ---------------------------------------------------------------------------------------


async def test_send_uses_a_delegated_token_and_parses_the_message_resource(wire: Wire) -> None:
    result = await make(wire.http).send(email_message())

    assert (result.provider_message_id, result.status, result.raw_status) == (
        "18c4b2f0a1d2e3f4",
        SendStatus.ACCEPTED,
        "SENT",
    )
    (token_request,) = wire.token_requests
    assertion = dict(parse_qsl(token_request.content.decode()))["assertion"]
    claims = jwt.decode(assertion, options={"verify_signature": False})
    assert (claims["sub"], claims["scope"], claims["iss"]) == (SENDER, SCOPE, INFO["client_email"])
    (request,) = wire.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert unquote(request.url.path) == f"/gmail/v1/users/{SENDER}/messages/send"
    assert str(parse_raw(json.loads(request.content))["To"]) == TO


async def test_token_is_reused_across_sends(wire: Wire) -> None:
    adapter = make(wire.http)
    for _ in range(3):
        await adapter.send(email_message())
    assert len(wire.token_requests) == 1
    assert len(wire.requests) == 3


async def test_unknown_success_shape_is_unknown(wire: Wire) -> None:
    wire.replies = [httpx.Response(200, json={"id": "abc", "labelIds": ["DRAFT"]})]
    result = await make(wire.http).send(email_message())
    assert (result.status, result.raw_status, result.provider_message_id) == (SendStatus.UNKNOWN, "DRAFT", "abc")


@pytest.mark.parametrize(
    ("status", "name", "transient", "code"),
    [
        (403, "gmail_error_user_rate_limit_403.json", True, "userRateLimitExceeded"),
        (429, "gmail_error_rate_limit_429.json", True, "rateLimitExceeded"),
        (400, "gmail_error_400.json", False, "invalidArgument"),
        (403, "gmail_error_403_delegation.json", False, "forbidden"),
    ],
)
async def test_recorded_errors_are_classified(wire: Wire, status: int, name: str, transient: bool, code: str) -> None:
    wire.replies = [httpx.Response(status, json=fixture(name), headers={"Retry-After": "5"})]
    with pytest.raises((TransientProviderError, PermanentProviderError)) as info:
        await make(wire.http).send(email_message())
    assert isinstance(info.value, TransientProviderError) is transient
    assert (info.value.status_code, info.value.code) == (status, code)
    if transient:
        assert isinstance(info.value, TransientProviderError) and info.value.retry_after == 5.0
    assert len(wire.requests) == 1  # no token refresh for these


async def test_401_refreshes_the_token_once_then_is_permanent(wire: Wire) -> None:
    wire.replies = [httpx.Response(401, json=fixture("gmail_error_401.json"))]
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(email_message())
    assert info.value.status_code == 401
    assert (len(wire.token_requests), len(wire.requests)) == (2, 2)


async def test_401_then_success_after_one_refresh(wire: Wire) -> None:
    wire.replies = [
        httpx.Response(401, json=fixture("gmail_error_401.json")),
        httpx.Response(200, json=fixture("gmail_message_sent.json")),
    ]
    result = await make(wire.http).send(email_message())
    assert result.status is SendStatus.ACCEPTED
    assert (len(wire.token_requests), len(wire.requests)) == (2, 2)


@pytest.mark.parametrize(
    ("status", "name"),
    [(400, "gmail_token_error_invalid_grant.json"), (401, "gmail_token_error_unauthorized_client.json")],
)
async def test_refused_token_request_is_permanent_and_nothing_is_sent(wire: Wire, status: int, name: str) -> None:
    wire.token_reply = httpx.Response(status, json=fixture(name))
    with pytest.raises(PermanentProviderError, match="Gmail token endpoint") as info:
        await make(wire.http).send(email_message())
    assert info.value.code == fixture(name)["error"]
    assert wire.requests == []


# --- configuration and secrets ---------------------------------------------------------------------


def test_create_names_the_missing_field() -> None:
    http = httpx.AsyncClient()
    with pytest.raises(ConfigurationError, match="service_account_json"):
        GmailAdapter.create(http, {"sender": SENDER}, {})
    with pytest.raises(ConfigurationError, match="sender"):
        GmailAdapter.create(http, {}, {"service_account_json": KEY_JSON})
    with pytest.raises(ConfigurationError, match="service_account_json"):
        GmailAdapter.create(http, {"sender": SENDER}, {"service_account_json": "{not json"})


async def test_create_honours_base_url_and_token_uri(wire: Wire) -> None:
    settings = {"sender": SENDER, "base_url": "https://gmail.internal.example", "token_uri": "https://t.example/token"}
    adapter = GmailAdapter.create(wire.http, settings, {"service_account_json": KEY_JSON})
    await adapter.send(email_message())
    assert str(wire.token_requests[0].url) == "https://t.example/token"
    assert wire.requests[0].url.host == "gmail.internal.example"


async def test_no_secret_in_logs_reprs_or_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make(wire.http)
    texts = [repr(adapter), repr(adapter.tokens)]
    await adapter.send(email_message())
    for reply in (httpx.Response(401), httpx.Response(429), httpx.ReadTimeout("slow")):
        wire.replies = [reply]
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(email_message())
        texts += [str(info.value), repr(info.value)]
    key_body = INFO["private_key"].splitlines()[1]
    for secret in (TOKEN, key_body, INFO["private_key_id"]):
        assert secret not in caplog.text
        assert all(secret not in text for text in texts)
