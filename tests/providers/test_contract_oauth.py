"""The adapter contract of test_contract.py, run over the OAuth adapters, plus the OAuth contract.

The contract's own test functions are re-collected here with fixtures that put a token endpoint
beside the API (token requests never count as API requests and always succeed unless a test says
otherwise). The OAuth contract adds: a refused token is refreshed once then the error is permanent;
concurrent sends share one token fetch; a token is refreshed before it expires; the token endpoint's
failures are classified; tokens and keys never reach logs or errors.
"""

from __future__ import annotations

import asyncio
import base64
import email
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.errors import PermanentProviderError, TransientProviderError
from app.domain.message import OutboundMessage
from app.providers.fcm import FcmAdapter
from app.providers.gmail import GmailAdapter
from app.providers.msgraph import MsGraphAdapter
from app.providers.sfmc import SfmcAdapter
from app.sandbox.oauth_tokens import new_service_account
from tests.providers import test_contract as contract
from tests.providers.support import fixture
from tests.providers.test_contract import AdapterCase, Wire

INFO, _KEY = new_service_account("contract@contract-project.iam.gserviceaccount.com", "contract-project")
KEY_JSON = json.dumps(INFO)
NOW = 1_790_000_000.0


TOKEN_ANSWERS = {  # by path suffix, longest first
    "/oauth2/v2.0/token": fixture("msgraph_token.json"),
    "/v2/token": fixture("sfmc_token.json"),
    "/token": fixture("gmail_token.json"),
}
TOKENS = [answer["access_token"] for answer in TOKEN_ANSWERS.values()]


def _body(request: httpx.Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.content)
    return body


def _gmail_keys(request: httpx.Request) -> set[str]:
    body = _body(request)
    mail = email.message_from_bytes(base64.urlsafe_b64decode(body["raw"]))
    return set(body) | {f"header.{name.lower()}" for name in mail}


def _nested_keys(prefix: str) -> Callable[[httpx.Request], set[str]]:
    def keys(request: httpx.Request) -> set[str]:
        body = _body(request)
        return set(body) | {f"{prefix}.{k}" for k in body[prefix]}

    return keys


MAIL = OutboundMessage(Channel.EMAIL, to="ana@example.com", idempotency_key="k-mail", subject="Receipt", text="12.40")
OAUTH_CASES = [
    AdapterCase(
        cls=GmailAdapter,
        settings={"sender": "receipts@demo-market.example"},
        secrets={"service_account_json": KEY_JSON},
        message=MAIL,
        wire_keys=_gmail_keys,
        unset_keys=frozenset({"threadId", "header.reply-to", "header.cc", "header.bcc", "header.sender"}),
        ok=lambda: httpx.Response(200, json=fixture("gmail_message_sent.json")),
        unknown_status=lambda: httpx.Response(200, json={"id": "x1", "labelIds": ["DRAFT"]}),
    ),
    AdapterCase(
        cls=MsGraphAdapter,
        settings={"tenant_id": "tenant-1", "client_id": "client-1", "sender": "receipts@demo-market.example"},
        secrets={"client_secret": "contract-graph-secret-4f2"},
        message=MAIL,
        wire_keys=_nested_keys("message"),
        unset_keys=frozenset(
            {"message.replyTo", "message.attachments", "message.ccRecipients", "message.bccRecipients"}
            | {"message.from", "message.importance", "message.categories"}
        ),
        ok=lambda: httpx.Response(202),
        unknown_status=lambda: httpx.Response(200),
    ),
    AdapterCase(
        cls=FcmAdapter,
        settings={},
        secrets={"service_account_json": KEY_JSON},
        message=OutboundMessage(
            Channel.PUSH, to="device-token-0123456789abcdef", idempotency_key="k-push", push_payload={"body": "12.40"}
        ),
        wire_keys=_nested_keys("message"),
        unset_keys=frozenset(
            {"message.android", "message.apns", "message.webpush", "message.fcm_options", "message.fcmOptions"}
            | {"validate_only", "validateOnly", "message.topic", "message.condition"}
        ),
        ok=lambda: httpx.Response(200, json=fixture("fcm_message_sent.json")),
        unknown_status=lambda: httpx.Response(200, json={}),
    ),
    AdapterCase(
        cls=SfmcAdapter,
        settings={"client_id": "sfmc-client", "definition_key": "receipt-email", "subdomain": "mc-contract"},
        secrets={"client_secret": "contract-sfmc-secret-9e1"},
        message=MAIL,
        wire_keys=_nested_keys("recipient"),
        unset_keys=frozenset({"recipients", "content", "recipient.cc", "recipient.bcc"}),
        ok=lambda: httpx.Response(202, json=fixture("sfmc_send_accepted.json")),
        unknown_status=lambda: httpx.Response(200, json={"requestId": "r-1"}),
    ),
]
IDS = [c.cls.provider_id for c in OAUTH_CASES]


@pytest.fixture(params=OAUTH_CASES, ids=IDS)
def case(request: pytest.FixtureRequest) -> AdapterCase:
    chosen: AdapterCase = request.param
    return chosen


@dataclass
class TokenWire(Wire):
    """The contract's Wire plus a token endpoint: `token_reply` (None = the recorded answer)."""

    token_reply: httpx.Response | Exception | None = None
    token_requests: list[httpx.Request] = field(default_factory=list)


@pytest.fixture
async def wire(case: AdapterCase) -> AsyncIterator[TokenWire]:
    holder: list[TokenWire] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        w = holder[0]
        suffix = next((s for s in TOKEN_ANSWERS if request.url.path.endswith(s)), None)
        if suffix is not None:
            w.token_requests.append(request)
            if isinstance(w.token_reply, Exception):
                raise w.token_reply
            await asyncio.sleep(0.005)  # long enough for concurrent senders to pile up
            return w.token_reply or httpx.Response(200, json=TOKEN_ANSWERS[suffix])
        w.requests.append(request)
        if isinstance(w.reply, Exception):
            raise w.reply
        return w.reply

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        holder.append(TokenWire(http, case.ok()))
        yield holder[0]


# --- the shared contract, re-collected with the fixtures above ------------------------------------

# Every test_* of test_contract.py, so a clause added there binds these adapters too.
globals().update({name: getattr(contract, name) for name in dir(contract) if name.startswith("test_")})


# --- the OAuth contract ----------------------------------------------------------------------------


async def test_401_refreshes_the_token_once_then_is_permanent(case: AdapterCase, wire: TokenWire) -> None:
    wire.reply = httpx.Response(401)
    with pytest.raises(PermanentProviderError) as info:
        await case.build(wire.http).send(case.message)
    assert info.value.status_code == 401
    assert (len(wire.token_requests), len(wire.requests)) == (2, 2)
    assert wire.requests[0].headers["Authorization"].startswith("Bearer ")


async def test_concurrent_sends_share_one_token_fetch(case: AdapterCase, wire: TokenWire) -> None:
    adapter = case.build(wire.http)
    await asyncio.gather(*(adapter.send(case.message) for _ in range(10)))
    assert len(wire.token_requests) == 1
    assert len(wire.requests) == 10


async def test_token_is_refreshed_before_it_expires(case: AdapterCase, wire: TokenWire) -> None:
    adapter = case.build(wire.http)
    clock = [NOW]
    adapter.tokens.clock = lambda: clock[0]  # type: ignore[attr-defined]
    await adapter.send(case.message)
    clock[0] += 60
    await adapter.send(case.message)
    assert len(wire.token_requests) == 1
    clock[0] += 3600
    await adapter.send(case.message)
    assert len(wire.token_requests) == 2
    assert len(wire.requests) == 3  # never a 401 round trip: the token was renewed ahead of time


@pytest.mark.parametrize(
    ("reply", "transient"),
    [
        (httpx.Response(400, json={"error": "invalid_grant", "error_description": "no"}), False),
        (httpx.Response(401, json={"error": "invalid_client"}), False),
        (httpx.Response(503), True),
        (httpx.ConnectError("refused"), True),
    ],
    ids=["400", "401", "503", "connect-error"],
)
async def test_token_endpoint_failures_are_classified_and_nothing_is_sent(
    case: AdapterCase, wire: TokenWire, reply: httpx.Response | Exception, transient: bool
) -> None:
    wire.token_reply = reply
    with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
        await case.build(wire.http).send(case.message)
    assert isinstance(info.value, TransientProviderError) is transient
    assert "token endpoint" in str(info.value)
    assert wire.requests == []


async def test_tokens_and_keys_never_reach_logs_or_errors(
    case: AdapterCase, wire: TokenWire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = case.build(wire.http)
    texts = [repr(adapter), repr(getattr(adapter, "tokens", None))]
    await adapter.send(case.message)
    for reply in (httpx.Response(401), httpx.Response(403), httpx.Response(500)):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(case.message)
        texts.append(str(info.value))
    for secret in (*TOKENS, INFO["private_key"].splitlines()[1], INFO["private_key_id"], *case.secrets.values()):
        assert secret
        assert secret not in caplog.text
        assert all(secret not in text for text in texts)
