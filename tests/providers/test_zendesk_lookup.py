"""Zendesk lookup of a ticket in doubt: List Tickets by `external_id`, the delivery's reference.

No official Python oracle exists for Zendesk (PROVIDERS.md part C): the request is checked against
the documented call (developer.zendesk.com tickets#list-tickets, `external_id` query parameter) and
against the sandbox's independent reading of it; answers are tests/fixtures/providers/zendesk_tickets_*.json.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.message import OutboundMessage
from app.providers.zendesk import ZendeskAdapter
from tests.providers.support import FIXTURES, OFFLINE, Wire, open_wire

TOKEN = "zd-test-api-token-Qm42Lp"
AGENT = "receipts-bot@demo-market.example"
CUSTOMER = "ana.garcia@example.com"
SENT_AFTER = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)


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


def make(http: httpx.AsyncClient = OFFLINE) -> ZendeskAdapter:
    return ZendeskAdapter(http, api_token=TOKEN, subdomain="demo-market", email=AGENT)


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    async with open_wire(recorded("zendesk_tickets_by_external_id.json")) as opened:
        yield opened


async def test_lookup_lists_tickets_by_the_delivery_reference(wire: Wire) -> None:
    lookup = await make(wire.http).look_up(crm(), sent_after=SENT_AFTER)
    (request,) = wire.requests
    assert request.method == "GET"
    url = urlsplit(str(request.url))
    assert (url.scheme, url.netloc, url.path) == ("https", "demo-market.zendesk.com", "/api/v2/tickets.json")
    assert parse_qsl(url.query, strict_parsing=True) == [("external_id", "rd-D-9")]
    assert request.headers["Authorization"].startswith("Basic ")
    assert "Idempotency-Key" not in request.headers  # a read: nothing to replay
    assert lookup is not None
    assert (lookup.found, lookup.provider_message_id, lookup.raw_status) == (True, "35436", "open")


def test_a_reference_that_needs_escaping_is_escaped() -> None:
    request = make().lookup_request(crm(idempotency_key="rd-a&b=c d"), sent_after=SENT_AFTER)
    assert request is not None
    assert parse_qsl(urlsplit(request.url).query, strict_parsing=True) == [("external_id", "rd-a&b=c d")]


async def test_no_ticket_is_not_found(wire: Wire) -> None:
    wire.reply = recorded("zendesk_tickets_empty.json")
    lookup = await make(wire.http).look_up(crm(), sent_after=SENT_AFTER)
    assert lookup is not None and lookup.found is False


def test_a_ticket_with_another_reference_is_not_ours() -> None:
    lookup = make().parse_lookup(recorded("zendesk_tickets_by_external_id.json"), crm(idempotency_key="rd-D-10"))
    assert lookup.found is False


def test_two_tickets_under_one_reference_are_found_and_said() -> None:
    data = json.loads((FIXTURES / "zendesk_tickets_by_external_id.json").read_text())
    second = dict(data["body"]["tickets"][0], id=35437)
    data["body"]["tickets"].append(second)
    lookup = make().parse_lookup(httpx.Response(200, json=data["body"]), crm())
    assert (lookup.found, lookup.provider_message_id) == (True, "35436")
    assert lookup.detail is not None and "2 tickets" in lookup.detail


def test_an_answer_without_a_ticket_list_cannot_tell() -> None:
    assert make().parse_lookup(httpx.Response(200, json={"error": "?"}), crm()).found is None


@pytest.mark.parametrize(
    "reply",
    [
        "zendesk_error_429.json",
        httpx.Response(503, json={"error": {"title": "Service Unavailable", "message": "maintenance"}}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
    ids=["429", "503", "connect", "timeout"],
)
async def test_an_error_or_no_answer_cannot_tell(wire: Wire, reply: str | httpx.Response | Exception) -> None:
    wire.reply = recorded(reply) if isinstance(reply, str) else reply
    lookup = await make(wire.http).look_up(crm(), sent_after=SENT_AFTER)
    assert lookup is not None and lookup.found is None and lookup.detail


async def test_refused_credentials_mean_this_account_cannot_be_asked(wire: Wire) -> None:
    wire.reply = recorded("zendesk_error_401.json")
    assert await make(wire.http).look_up(crm(), sent_after=SENT_AFTER) is None


def test_zendesk_can_be_asked() -> None:
    assert ZendeskAdapter.can_look_up()
    assert (
        ZendeskAdapter.lookup_doc
        == "https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-tickets"
    )


async def test_every_attempt_carries_the_same_reference_as_key_and_external_id(wire: Wire) -> None:
    wire.reply = recorded("zendesk_ticket_201.json")
    adapter = make(wire.http)
    await adapter.send(crm())
    await adapter.send(crm())
    first, second = wire.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "rd-D-9"
    assert first.content == second.content  # the same body: a replay, never an IdempotentRequestError
    assert json.loads(first.content)["ticket"]["external_id"] == "rd-D-9"
    lookup = adapter.lookup_request(crm(), sent_after=SENT_AFTER)
    assert lookup is not None and "external_id=rd-D-9" in lookup.url
