"""ZendeskAdapter: ticket body, `{email}/token` auth, Idempotency-Key, replay and conflict handling.

No official Python oracle exists for Zendesk (PROVIDERS.md part C). Idempotency rules follow
developer.zendesk.com ticketing/introduction#idempotency as implemented by the zendesk-java-client
(`IdempotencyUtil`: `x-idempotency-lookup` hit/miss, `IdempotentRequestError` on a changed body).
Recorded answers are in tests/fixtures/providers/zendesk_*.json.
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

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendStatus
from app.providers.zendesk import ZendeskAdapter
from app.sandbox import zendesk as zendesk_sandbox
from tests.providers.support import FIXTURES, OFFLINE

TOKEN = "zd-test-api-token-Qm42Lp"
AGENT = "receipts-bot@demo-market.example"
CUSTOMER = "ana.garcia@example.com"


def recorded(name: str) -> httpx.Response:
    data = json.loads((FIXTURES / name).read_text())
    return httpx.Response(data["status"], headers=data["headers"], json=data["body"])


def crm(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.CRM,
        "to": CUSTOMER,
        "idempotency_key": "rd-D-9",
        "subject": "Receipt S-1001",
        "html": "<p>Total <b>$42.17</b></p>",
        "metadata": {"receipt_id": "R-2026-0001", "sale_id": "S-1001"},
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient = OFFLINE, **settings: Any) -> ZendeskAdapter:
    kwargs: dict[str, Any] = {"api_token": TOKEN, "subdomain": "demo-market", "email": AGENT}
    return ZendeskAdapter(http, **(kwargs | settings))


@dataclass
class Wire:
    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(default_factory=lambda: recorded("zendesk_ticket_201.json"))


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


async def test_request_url_auth_idempotency_key_and_body(wire: Wire) -> None:
    result = await make(wire.http).send(crm())
    (request,) = wire.requests
    assert str(request.url) == "https://demo-market.zendesk.com/api/v2/tickets"
    scheme, _, token = request.headers["Authorization"].partition(" ")
    assert (scheme, base64.b64decode(token).decode()) == ("Basic", f"{AGENT}/token:{TOKEN}")
    assert request.headers["Idempotency-Key"] == "rd-D-9"
    assert json.loads(request.content) == {
        "ticket": {
            "subject": "Receipt S-1001",
            "comment": {"html_body": "<p>Total <b>$42.17</b></p>", "public": False},
            "requester": {"email": CUSTOMER},
            "tags": ["receiptdesk"],
            "external_id": "rd-D-9",
        }
    }
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_id == "35436"
    assert result.detail is None


def test_body_passes_the_sandbox_validator_an_independent_reading_of_the_docs() -> None:
    _, _, body = make().build_request(crm(provider_extra={"name": "Ana Garcia"}))
    assert zendesk_sandbox.validate(body) is None
    assert body["ticket"]["requester"] == {"email": CUSTOMER, "name": "Ana Garcia"}


def test_options_nobody_set_never_reach_the_wire() -> None:
    _, _, body = make().build_request(crm(metadata={}, html=None, text="Total $42.17", subject=None))
    assert body == {
        "ticket": {
            "subject": "Receipt",
            "comment": {"body": "Total $42.17", "public": False},
            "requester": {"email": CUSTOMER},
            "tags": ["receiptdesk"],
            "external_id": "rd-D-9",  # the delivery's reference, always
        }
    }


async def test_a_replay_is_the_first_ticket(wire: Wire) -> None:
    wire.reply = recorded("zendesk_ticket_201_replay.json")
    result = await make(wire.http).send(crm())
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_id == "35436"
    assert result.detail and "idempotency key hit" in result.detail


async def test_same_key_other_body_is_permanent(wire: Wire) -> None:
    wire.reply = recorded("zendesk_error_idempotent.json")
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(crm())
    assert not isinstance(info.value, TransientProviderError)
    assert info.value.code == "IdempotentRequestError"


async def test_409_in_flight_is_transient(wire: Wire) -> None:
    wire.reply = httpx.Response(409, json={"error": "IdempotentRequestInProgress"})
    with pytest.raises(TransientProviderError) as info:
        await make(wire.http).send(crm())
    assert info.value.retry_after == 1.0


@pytest.mark.parametrize(
    ("name", "code"), [("zendesk_error_401.json", None), ("zendesk_error_422.json", "RecordInvalid")]
)
async def test_recorded_errors_are_permanent(wire: Wire, name: str, code: str | None) -> None:
    wire.reply = recorded(name)
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(crm())
    assert info.value.code == (code or "Couldn't authenticate you")


async def test_object_shaped_errors_are_read_too(wire: Wire) -> None:
    wire.reply = httpx.Response(403, json={"error": {"title": "Forbidden", "message": "You do not have access"}})
    with pytest.raises(PermanentProviderError, match="Forbidden: You do not have access"):
        await make(wire.http).send(crm())


async def test_429_is_transient_with_retry_after(wire: Wire) -> None:
    wire.reply = recorded("zendesk_error_429.json")
    with pytest.raises(TransientProviderError) as info:
        await make(wire.http).send(crm())
    assert info.value.retry_after == 12.0


@pytest.mark.parametrize(("settings", "field"), [({"subdomain": "a/b"}, "subdomain"), ({"email": ""}, "email")])
def test_bad_settings_fail_at_construction(settings: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        make(OFFLINE, **settings)


def test_other_channels_are_unsupported_and_empty_messages_refused() -> None:
    with pytest.raises(UnsupportedFeature):
        make().build_request(crm(channel=Channel.CHAT))
    with pytest.raises(PermanentProviderError):
        make().build_request(crm(html=None, text=None))


async def test_token_absent_from_logs_repr_and_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make(wire.http)
    await adapter.send(crm())
    texts = [repr(adapter)]
    for reply in (recorded("zendesk_error_401.json"), recorded("zendesk_error_429.json"), httpx.ReadTimeout("t")):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(crm())
        texts += [str(info.value), repr(info.value), str(info.value.__cause__ or "")]
    assert TOKEN not in caplog.text
    assert all(TOKEN not in t for t in texts)
