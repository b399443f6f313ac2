"""SfmcAdapter: token from /v2/token (JSON), send to rest_instance_url, messageKey = our key, error classification.

No official Python oracle exists for SFMC (PROVIDERS.md part C). Shapes follow Salesforce's
`sendMessageSingleRecipient` and `access-token-s2s` reference pages; recorded answers in
tests/fixtures/providers/sfmc_*.json are written by hand from them (error bodies: the general SFMC
REST shape, UNVERIFIED). No network: httpx.MockTransport plays the auth and REST hosts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.sfmc import SfmcAdapter
from tests.providers.support import fixture

AUTH = "https://mc563885gzs27c5t9-63k636ttgm.auth.marketingcloudapis.com"
CLIENT_ID = "sfmc-client-id-0001"
CLIENT_SECRET = "sfmc-client-secret-Zx91"
DEFINITION = "receipt-email"
TO = "ana.garcia@example.com"


TOKEN_ANSWER = fixture("sfmc_token.json")
TOKEN = TOKEN_ANSWER["access_token"]
REST = TOKEN_ANSWER["rest_instance_url"]


def email_message(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "to": TO,
        "idempotency_key": "dlv-42-email",
        "subject": "Receipt",
        "html": "<p>ignored: the send definition owns content</p>",
        "metadata": {"sale_id": "S-1001", "total": "12.40"},
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient, **settings: Any) -> SfmcAdapter:
    kwargs: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "definition_key": DEFINITION,
        "auth_base_url": AUTH,
    }
    return SfmcAdapter(http, **(kwargs | settings))


@dataclass
class Wire:
    """Auth + REST hosts: records requests, answers sends from `replies` (last one repeats)."""

    http: httpx.AsyncClient
    replies: list[httpx.Response | Exception] = field(
        default_factory=lambda: [httpx.Response(202, json=fixture("sfmc_send_accepted.json"))]
    )
    token_reply: httpx.Response = field(default_factory=lambda: httpx.Response(200, json=TOKEN_ANSWER))
    token_requests: list[httpx.Request] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    holder: list[Wire] = []

    def handler(request: httpx.Request) -> httpx.Response:
        w = holder[0]
        if request.url.path == "/v2/token":
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


def test_body_is_the_documented_single_recipient_send() -> None:
    path, body = make(httpx.AsyncClient()).build_request(email_message())
    assert path == "/messaging/v1/email/messages/dlv-42-email"
    assert body == {
        "definitionKey": DEFINITION,
        "recipient": {
            "contactKey": TO,
            "to": TO,
            "attributes": {"sale_id": "S-1001", "total": "12.40", "receiptdesk_key": "dlv-42-email"},
        },
    }


def test_per_message_overrides_and_key_quoting() -> None:
    message = email_message(
        idempotency_key="dlv/42 email",
        provider_extra={"definition_key": "vip-receipt", "contact_key": "C-77", "attributes": {"tier": "gold"}},
    )
    path, body = make(httpx.AsyncClient()).build_request(message)
    assert path == "/messaging/v1/email/messages/dlv%2F42%20email"
    assert body["definitionKey"] == "vip-receipt"
    assert body["recipient"]["contactKey"] == "C-77"
    assert body["recipient"]["attributes"]["tier"] == "gold"


def test_what_sfmc_cannot_take_is_refused() -> None:
    adapter = make(httpx.AsyncClient())
    with pytest.raises(UnsupportedFeature, match="attachments"):
        adapter.build_request(email_message(attachments=(Attachment("r.pdf", "application/pdf", b"x"),)))
    with pytest.raises(UnsupportedFeature, match="messageKey"):
        adapter.build_request(email_message(idempotency_key="k" * 101))
    with pytest.raises(UnsupportedFeature):
        adapter.build_request(email_message(channel=Channel.SMS))


# --- sending -------------------------------------------------------------------------------------


async def test_send_authenticates_with_json_and_posts_to_the_rest_instance(wire: Wire) -> None:
    result = await make(wire.http, account_id="100001234").send(email_message())

    assert (result.status, result.provider_message_id, result.raw_status) == (
        SendStatus.ACCEPTED,
        "dlv-42-email",
        "202",
    )
    assert result.detail == "requestId " + fixture("sfmc_send_accepted.json")["requestId"]
    (token_request,) = wire.token_requests
    assert str(token_request.url) == AUTH + "/v2/token"
    assert json.loads(token_request.content) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "account_id": "100001234",
    }
    (request,) = wire.requests
    assert str(request.url) == REST + "messaging/v1/email/messages/dlv-42-email"  # no doubled slash
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_rest_base_url_setting_overrides_the_token(wire: Wire) -> None:
    await make(wire.http, rest_base_url="https://rest.example/").send(email_message())
    assert str(wire.requests[0].url) == "https://rest.example/messaging/v1/email/messages/dlv-42-email"


async def test_token_without_rest_url_is_a_permanent_error(wire: Wire) -> None:
    wire.token_reply = httpx.Response(200, json={"access_token": "t", "expires_in": 1079, "token_type": "Bearer"})
    with pytest.raises(PermanentProviderError, match="rest_instance_url"):
        await make(wire.http).send(email_message())


async def test_recipient_errorcode_is_a_rejection(wire: Wire) -> None:
    wire.replies = [httpx.Response(202, json=fixture("sfmc_send_recipient_error.json"))]
    result = await make(wire.http).send(email_message())
    assert (result.status, result.raw_status, result.detail) == (SendStatus.REJECTED, "1", "Unsubscribed")


async def test_answer_without_responses_is_unknown(wire: Wire) -> None:
    wire.replies = [httpx.Response(200, json={"requestId": "r-1"})]
    result = await make(wire.http).send(email_message())
    assert result.status is SendStatus.UNKNOWN
    assert result.provider_message_id == "dlv-42-email"


@pytest.mark.parametrize(
    ("status", "body", "transient", "code"),
    [
        (400, fixture("sfmc_error_400.json"), False, "10001"),
        (403, {"message": "Insufficient privileges", "errorcode": 0}, False, "0"),
        (429, None, True, None),
        (500, {"message": "Internal error", "errorcode": 0}, True, "0"),
    ],
)
async def test_errors_are_classified(
    wire: Wire, status: int, body: dict[str, Any] | None, transient: bool, code: str | None
) -> None:
    wire.replies = [httpx.Response(status, json=body, headers={"Retry-After": "4"})]
    with pytest.raises((TransientProviderError, PermanentProviderError)) as info:
        await make(wire.http).send(email_message())
    assert isinstance(info.value, TransientProviderError) is transient
    assert (info.value.status_code, info.value.code) == (status, code)
    if transient:
        assert isinstance(info.value, TransientProviderError) and info.value.retry_after == 4.0


async def test_expired_token_is_refreshed_once_then_permanent(wire: Wire) -> None:
    wire.replies = [httpx.Response(401, json=fixture("sfmc_error_401.json"))]
    with pytest.raises(PermanentProviderError, match="Not Authorized"):
        await make(wire.http).send(email_message())
    assert (len(wire.token_requests), len(wire.requests)) == (2, 2)


async def test_expired_token_then_success(wire: Wire) -> None:
    wire.replies = [
        httpx.Response(401, json=fixture("sfmc_error_401.json")),
        httpx.Response(202, json=fixture("sfmc_send_accepted.json")),
    ]
    assert (await make(wire.http).send(email_message())).status is SendStatus.ACCEPTED
    assert len(wire.token_requests) == 2


async def test_bad_client_secret_is_permanent(wire: Wire) -> None:
    wire.token_reply = httpx.Response(401, json=fixture("sfmc_token_error_invalid_client.json"))
    with pytest.raises(PermanentProviderError, match="Client authentication failed") as info:
        await make(wire.http).send(email_message())
    assert info.value.code == "invalid_client"
    assert wire.requests == []


# --- configuration and secrets -------------------------------------------------------------------


def test_create_builds_the_auth_url_from_the_subdomain() -> None:
    settings = {"client_id": CLIENT_ID, "definition_key": DEFINITION, "subdomain": "mc563885gzs27c5t9-63k636ttgm"}
    adapter = SfmcAdapter.create(httpx.AsyncClient(), settings, {"client_secret": CLIENT_SECRET})
    assert AUTH in repr(adapter)
    with pytest.raises(ConfigurationError, match="subdomain"):
        SfmcAdapter.create(httpx.AsyncClient(), {**settings, "subdomain": None}, {"client_secret": CLIENT_SECRET})
    with pytest.raises(ConfigurationError, match="client_secret"):
        SfmcAdapter.create(httpx.AsyncClient(), settings, {})
    with pytest.raises(ConfigurationError, match="definition_key"):
        SfmcAdapter.create(httpx.AsyncClient(), {**settings, "definition_key": ""}, {"client_secret": CLIENT_SECRET})


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
