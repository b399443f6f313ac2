"""Each adapter's status check, without the network: the request it builds, how it reads the answers
its provider documents (docs/providers.md § Asking for a status), and what an error answer means."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from app.domain.tracking import EventKind
from app.providers.base import HttpAdapter
from app.providers.mailgun import MailgunAdapter
from app.providers.mandrill import MandrillAdapter
from app.providers.postmark import PostmarkAdapter
from app.providers.registry import ADAPTERS
from app.providers.sendgrid import SendGridAdapter
from app.providers.twilio import TwilioAdapter
from app.providers.twilio_whatsapp import TwilioWhatsAppAdapter
from tests.providers.support import OFFLINE, open_wire

SID = "SM0123456789abcdef0123456789abcdef"


def twilio(http: httpx.AsyncClient = OFFLINE) -> TwilioAdapter:
    return TwilioAdapter(http, account_sid="AC" + "1" * 32, auth_token="token", from_number="+15005550006")


def answer(payload: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=payload, request=httpx.Request("GET", "https://provider.example/"))


def test_the_providers_that_can_be_asked_say_where_it_is_documented() -> None:
    askable = {pid for pid, cls in ADAPTERS.items() if cls.can_check_status()}
    assert {"twilio", "twilio_whatsapp", "mailgun", "postmark", "mandrill", "sendgrid"} <= askable
    for pid in askable:
        doc = ADAPTERS[pid].status_doc
        assert doc is not None and doc.startswith("https://"), pid
    assert TwilioWhatsAppAdapter.status_doc == TwilioAdapter.status_doc  # one Messages resource


def test_twilio_fetches_the_message_and_reads_its_status_as_the_callback_would() -> None:
    adapter = twilio()
    request = adapter.status_request(SID)
    assert request is not None and request.method == "GET"
    assert urlsplit(request.url).path == f"/2010-04-01/Accounts/AC{'1' * 32}/Messages/{SID}.json"
    undelivered = {"sid": SID, "status": "undelivered", "error_code": 30003, "error_message": "Unreachable"}
    read = adapter.parse_status(answer(undelivered), SID)
    assert (read.kind, read.raw_status, read.detail) == (
        EventKind.UNDELIVERED,
        "undelivered",
        "Unreachable (Twilio error 30003)",
    )
    assert adapter.parse_status(answer({"status": "delivered"}), SID).kind is EventKind.DELIVERED
    assert adapter.parse_status(answer({"status": "sent"}), SID).kind is EventKind.ACCEPTED
    assert adapter.parse_status(answer({"status": "something-new"}), SID).kind is EventKind.UNKNOWN


def test_mailgun_asks_for_the_message_events_and_a_bounce_outweighs_the_rest() -> None:
    adapter = MailgunAdapter(OFFLINE, api_key="key", domain="mg.example", from_email="r@mg.example")
    request = adapter.status_request("abc@mg.example")
    assert request is not None
    assert dict(parse_qsl(urlsplit(request.url).query))["message-id"] == "abc@mg.example"

    def event(name: str, at: float, **extra: Any) -> dict[str, Any]:
        return {
            "event": name,
            "id": f"{name}-{at}",
            "timestamp": at,
            "message": {"headers": {"message-id": "abc"}},
        } | extra

    accepted, delivered = event("accepted", 1.0), event("delivered", 2.0)
    bounce = event("failed", 3.0, severity="permanent", **{"delivery-status": {"description": "550 no such user"}})
    temporary = event("failed", 3.0, severity="temporary")
    assert adapter.parse_status(answer({"items": [accepted, delivered]}), "abc").kind is EventKind.DELIVERED
    read = adapter.parse_status(answer({"items": [bounce, accepted]}), "abc")
    assert (read.kind, read.detail) == (EventKind.BOUNCED, "550 no such user")
    assert adapter.parse_status(answer({"items": [accepted, temporary]}), "abc").kind is EventKind.DEFERRED
    assert adapter.parse_status(answer({"items": []}), "abc").raw_status == "not found"
    with pytest.raises(ValueError, match="items"):
        adapter.parse_status(answer({"nothing": True}), "abc")


def test_postmark_reads_the_message_events_of_its_details() -> None:
    adapter = PostmarkAdapter(OFFLINE, server_token="token", from_email="r@example.com")
    request = adapter.status_request("0a1b-2c")
    assert request is not None and urlsplit(request.url).path == "/messages/outbound/0a1b-2c/details"
    delivered = {"Type": "Delivered", "ReceivedAt": "2026-11-28T10:15:00.1234567-05:00", "Details": {}}
    bounced = {"Type": "Bounced", "ReceivedAt": "2026-11-28T10:16:00Z", "Details": {"Summary": "Unknown user"}}
    read = adapter.parse_status(answer({"Status": "Sent", "MessageEvents": [delivered]}), "0a1b-2c")
    assert read.kind is EventKind.DELIVERED and read.occurred_at is not None and read.occurred_at.minute == 15
    read = adapter.parse_status(answer({"Status": "Sent", "MessageEvents": [delivered, bounced]}), "0a1b-2c")
    assert (read.kind, read.detail) == (EventKind.BOUNCED, "Unknown user")
    still = adapter.parse_status(answer({"Status": "Queued", "MessageEvents": []}), "0a1b-2c")
    assert (still.kind, still.raw_status) == (EventKind.ACCEPTED, "Queued")
    assert adapter.status_not_found(answer({"ErrorCode": 701, "Message": "not found"}, 422))


def test_mandrill_reads_the_state_and_the_smtp_events_of_the_message_info() -> None:
    adapter = MandrillAdapter(OFFLINE, api_key="key", from_email="r@example.com")
    request = adapter.status_request("abc123")
    assert request is not None and request.json == {"key": "key", "id": "abc123"}
    handed_on = {"state": "sent", "smtp_events": [{"ts": 1764342900, "type": "sent", "diag": "250 OK"}]}
    assert adapter.parse_status(answer(handed_on), "abc123").kind is EventKind.DELIVERED
    assert adapter.parse_status(answer({"state": "sent", "smtp_events": []}), "abc123").kind is EventKind.ACCEPTED
    bounced = {"state": "bounced", "smtp_events": [{"ts": 1764342900, "type": "bounced", "diag": "550 no such user"}]}
    read = adapter.parse_status(answer(bounced), "abc123")
    assert (read.kind, read.detail) == (EventKind.BOUNCED, "550 no such user")
    assert adapter.status_not_found(answer({"status": "error", "name": "Unknown_Message"}, 500))


def test_sendgrid_asks_the_activity_feed_by_our_reference() -> None:
    adapter = SendGridAdapter(OFFLINE, api_key="SG.key", from_email="r@example.com")
    assert adapter.status_request("14c5d75ce93") is None  # the id alone does not find it
    request = adapter.status_request("14c5d75ce93", reference="d-1")
    assert request is not None
    assert dict(parse_qsl(urlsplit(request.url).query))["query"] == "unique_args['receiptdesk_key']=\"d-1\""
    other = {"msg_id": "99.filterdrecv-1", "status": "delivered"}
    mine = {"msg_id": "14c5d75ce93.filterdrecv-1", "status": "not_delivered"}
    read = adapter.parse_status(answer({"messages": [other, mine]}), "14c5d75ce93")
    assert (read.kind, read.raw_status) == (EventKind.BOUNCED, "not_delivered")
    assert adapter.parse_status(answer({"messages": []}), "14c5d75ce93").raw_status == "not found"
    assert {403, 404} <= SendGridAdapter.status_refused  # no Email Activity add-on: never asked


async def test_an_error_answer_is_asked_again_a_refusal_never_and_an_unknown_id_is_an_answer() -> None:
    async with open_wire(answer({"code": 20500, "message": "Internal"}, 500)) as wire:
        adapter = twilio(wire.http)
        later = await adapter.check_status(SID)
        assert later is not None and later.answer is None and "500" in (later.error or "")
        wire.reply = httpx.ConnectError("refused")
        unreachable = await adapter.check_status(SID)
        assert unreachable is not None and unreachable.answer is None
        wire.reply = answer({"code": 20404, "message": "not found"}, 404)
        unknown = await adapter.check_status(SID)
        assert unknown is not None and unknown.answer is not None and unknown.answer.raw_status == "not found"
        wire.reply = answer({"code": 20003, "message": "Authenticate"}, 401)
        assert await adapter.check_status(SID) is None
        wire.reply = answer({"sid": SID, "status": "delivered"})
        found = await adapter.check_status(SID)
        assert found is not None and found.answer is not None and found.answer.kind is EventKind.DELIVERED
        assert json.loads(found.answer.raw)["status"] == "delivered"


def test_a_provider_without_a_status_api_is_not_asked() -> None:
    cannot = [pid for pid, cls in ADAPTERS.items() if not cls.can_check_status()]
    assert cannot  # chat, CRM and others: their deliveries wait for callbacks
    for pid in cannot:
        cls: type[HttpAdapter] = ADAPTERS[pid]
        assert cls.status_request is HttpAdapter.status_request, pid
