"""MsGraphAdapter: sendMail body per Microsoft's user-sendmail reference, token flow, error classification.

Recorded answers in tests/fixtures/providers/msgraph_*.json are written by hand from the Graph
error-response reference and the identity platform's client-credentials page. No network:
httpx.MockTransport plays both the token endpoint and Graph.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.mime import message_id
from app.providers.msgraph import MsGraphAdapter
from tests.providers.support import fixture

TENANT = "5a4db0c0-7e57-4d0c-9a5e-000000000001"
CLIENT_ID = "5a4db0c0-7e57-4d0c-9a5e-0000000000c1"
CLIENT_SECRET = "graph-client-secret~Q8.test"
SENDER = "receipts@demo-market.example"
TO = "ana.garcia@example.com"
PDF = b"%PDF-1.7 receipt"


TOKEN = fixture("msgraph_token.json")["access_token"]


def email_message(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "to": TO,
        "idempotency_key": "dlv-42-email",
        "subject": "Your receipt from Demo Market",
        "text": "Total $12.40",
        "html": "<p>Total <b>$12.40</b></p>",
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient, **settings: Any) -> MsGraphAdapter:
    kwargs: dict[str, Any] = {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "sender": SENDER,
    }
    return MsGraphAdapter(http, **(kwargs | settings))


@dataclass
class Wire:
    """Token endpoint + Graph: records requests, answers API calls from `replies` (last one repeats)."""

    http: httpx.AsyncClient
    replies: list[httpx.Response | Exception] = field(default_factory=lambda: [httpx.Response(202)])
    token_reply: httpx.Response = field(default_factory=lambda: httpx.Response(200, json=fixture("msgraph_token.json")))
    token_requests: list[httpx.Request] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    holder: list[Wire] = []

    def handler(request: httpx.Request) -> httpx.Response:
        w = holder[0]
        if request.url.path.endswith("/oauth2/v2.0/token"):
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


# --- the request ---------------------------------------------------------------------------------


def test_body_is_the_documented_sendmail_shape() -> None:
    message = email_message(attachments=(Attachment("receipt.pdf", "application/pdf", PDF),))
    path, body = make(httpx.AsyncClient()).build_request(message)

    assert path == f"/v1.0/users/{SENDER}/sendMail"
    assert body == {
        "message": {
            "subject": "Your receipt from Demo Market",
            "body": {"contentType": "HTML", "content": "<p>Total <b>$12.40</b></p>"},
            "toRecipients": [{"emailAddress": {"address": TO}}],
            "attachments": [
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "name": "receipt.pdf",
                    "contentType": "application/pdf",
                    "contentBytes": base64.b64encode(PDF).decode(),
                }
            ],
            "internetMessageHeaders": [{"name": "x-receiptdesk-key", "value": "dlv-42-email"}],
            "internetMessageId": message_id("dlv-42-email", SENDER),
        },
        "saveToSentItems": True,  # kept in Sent Items, where a lookup finds it
    }


def test_text_only_message_and_unset_options() -> None:
    _, body = make(httpx.AsyncClient()).build_request(email_message(html=None, subject=None))
    message = body["message"]
    assert message["body"] == {"contentType": "Text", "content": "Total $12.40"}
    # no subject, replyTo, attachments
    assert set(message) == {"body", "toRecipients", "internetMessageHeaders", "internetMessageId"}
    assert "ccRecipients" not in message and "from" not in message


def test_reply_to_when_set() -> None:
    _, body = make(httpx.AsyncClient(), reply_to="help@demo-market.example").build_request(email_message())
    assert body["message"]["replyTo"] == [{"emailAddress": {"address": "help@demo-market.example"}}]


def test_too_large_and_empty_messages_are_refused() -> None:
    big = Attachment("scan.pdf", "application/pdf", b"x" * (3 * 1024 * 1024 + 1))
    with pytest.raises(UnsupportedFeature, match="at most"):
        make(httpx.AsyncClient()).build_request(email_message(attachments=(big,)))
    with pytest.raises(PermanentProviderError):
        make(httpx.AsyncClient()).build_request(email_message(text=None, html=None))


# --- sending -------------------------------------------------------------------------------------


async def test_send_gets_an_app_token_and_202_is_accepted(wire: Wire) -> None:
    result = await make(wire.http).send(email_message())

    assert (result.status, result.provider_message_id, result.raw_status) == (
        SendStatus.ACCEPTED,
        "dlv-42-email",
        "202",
    )
    (token_request,) = wire.token_requests
    assert str(token_request.url) == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    assert dict(parse_qsl(token_request.content.decode())) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "https://graph.microsoft.com/.default",
    }
    (request,) = wire.requests
    assert str(request.url) == f"https://graph.microsoft.com/v1.0/users/{SENDER}/sendMail"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content)["saveToSentItems"] is True


async def test_a_200_is_not_taken_for_acceptance(wire: Wire) -> None:
    wire.replies = [httpx.Response(200)]
    result = await make(wire.http).send(email_message())
    assert (result.status, result.raw_status) == (SendStatus.UNKNOWN, "200")


@pytest.mark.parametrize(("status", "code"), [(429, "ApplicationThrottled"), (503, None), (504, None)])
async def test_throttling_and_unavailability_are_transient(wire: Wire, status: int, code: str | None) -> None:
    body = fixture("msgraph_error_429.json") if status == 429 else None
    wire.replies = [httpx.Response(status, json=body, headers={"Retry-After": "12"})]
    with pytest.raises(TransientProviderError) as info:
        await make(wire.http).send(email_message())
    assert (info.value.status_code, info.value.code, info.value.retry_after) == (status, code, 12.0)


async def test_bad_request_is_permanent_with_graph_code(wire: Wire) -> None:
    wire.replies = [httpx.Response(400, json=fixture("msgraph_error_400.json"))]
    with pytest.raises(PermanentProviderError, match="ErrorInvalidRecipients") as info:
        await make(wire.http).send(email_message())
    assert info.value.code == "ErrorInvalidRecipients"
    assert len(wire.token_requests) == 1


@pytest.mark.parametrize(("status", "name"), [(401, "msgraph_error_401.json"), (403, "msgraph_error_403.json")])
async def test_refused_token_is_refreshed_once_then_permanent(wire: Wire, status: int, name: str) -> None:
    wire.replies = [httpx.Response(status, json=fixture(name))]
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(email_message())
    assert info.value.status_code == status
    assert info.value.code == fixture(name)["error"]["code"]
    assert (len(wire.token_requests), len(wire.requests)) == (2, 2)


async def test_new_token_after_consent_succeeds(wire: Wire) -> None:
    wire.replies = [httpx.Response(403, json=fixture("msgraph_error_403.json")), httpx.Response(202)]
    result = await make(wire.http).send(email_message())
    assert result.status is SendStatus.ACCEPTED
    assert len(wire.token_requests) == 2


async def test_invalid_client_secret_is_permanent_and_scrubbed(wire: Wire) -> None:
    answer = fixture("msgraph_token_error_invalid_client.json")
    answer["error_description"] += f" (sent {CLIENT_SECRET})"  # even if an endpoint echoed it
    wire.token_reply = httpx.Response(401, json=answer)
    with pytest.raises(PermanentProviderError, match="AADSTS7000215") as info:
        await make(wire.http).send(email_message())
    assert info.value.code == "invalid_client"
    assert CLIENT_SECRET not in str(info.value)
    assert wire.requests == []


# --- configuration and secrets -------------------------------------------------------------------


def test_create_names_the_missing_field() -> None:
    settings = {"tenant_id": TENANT, "client_id": CLIENT_ID, "sender": SENDER}
    with pytest.raises(ConfigurationError, match="client_secret"):
        MsGraphAdapter.create(httpx.AsyncClient(), settings, {})
    for name in settings:
        partial = {k: v for k, v in settings.items() if k != name}
        with pytest.raises(ConfigurationError, match=name):
            MsGraphAdapter.create(httpx.AsyncClient(), partial, {"client_secret": CLIENT_SECRET})


async def test_create_honours_both_base_urls(wire: Wire) -> None:
    settings = {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "sender": SENDER,
        "base_url": "https://graph.example.us",
        "login_base_url": "https://login.example.us/",
    }
    await MsGraphAdapter.create(wire.http, settings, {"client_secret": CLIENT_SECRET}).send(email_message())
    assert str(wire.token_requests[0].url) == f"https://login.example.us/{TENANT}/oauth2/v2.0/token"
    assert wire.requests[0].url.host == "graph.example.us"


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
    for secret in (TOKEN, CLIENT_SECRET):
        assert secret not in caplog.text
        assert all(secret not in text for text in texts)
