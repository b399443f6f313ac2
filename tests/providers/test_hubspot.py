"""HubSpotAdapter: single-send request, EmailSendStatusView parsing, sendId idempotency, errors.

The field names below are pinned from HubSpot's own generated client (HubSpot/hubspot-api-python,
`marketing/transactional/models/public_single_send_request_egg.py`, `public_single_send_email.py`,
`email_send_status_view.py`: attribute_map and enums), read as source, not installed. Recorded
answers are in tests/fixtures/providers/hubspot_*.json.
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
from app.providers.hubspot import SEND_RESULTS_KNOWN, HubSpotAdapter, rate_limit_wait
from tests.providers.support import FIXTURES, OFFLINE

TOKEN = "pat-na1-hubspot-test-token-7d1e"
EMAIL_ID = "123456789"
CUSTOMER = "ana.garcia@example.com"
META = {"receipt_id": "R-1", "sale_id": "S-1001", "delivery_id": "D-9", "store": "Demo Market", "total": "$42.17"}
# attribute_map values of the official models.
REQUEST_KEYS = {"emailId", "message", "contactProperties", "customProperties"}
MESSAGE_KEYS = {"from", "to", "sendId", "replyTo", "cc", "bcc"}
# EmailSendStatusView.send_result allowed_values (42 values).
OFFICIAL_SEND_RESULTS = 42


def recorded(name: str) -> httpx.Response:
    data = json.loads((FIXTURES / name).read_text())
    return httpx.Response(data["status"], headers=data["headers"], json=data["body"])


def crm(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.CRM,
        "to": CUSTOMER,
        "idempotency_key": "rd-D-9",
        "subject": "Your receipt",
        "html": "<p>receipt</p>",
        "metadata": dict(META),
    }
    return OutboundMessage(**(values | overrides))


@dataclass
class Wire:
    http: httpx.AsyncClient
    requests: list[httpx.Request] = field(default_factory=list)
    reply: httpx.Response | Exception = field(default_factory=lambda: recorded("hubspot_send_pending.json"))

    def adapter(self, **settings: str) -> HubSpotAdapter:
        return HubSpotAdapter.create(self.http, {"email_id": EMAIL_ID, **settings}, {"access_token": TOKEN})


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


async def test_request_matches_the_official_model(wire: Wire) -> None:
    result = await wire.adapter().send(crm())
    (request,) = wire.requests
    assert str(request.url) == "https://api.hubapi.com/marketing/v3/transactional/single-email/send"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    body = json.loads(request.content)
    assert set(body) <= REQUEST_KEYS
    assert set(body["message"]) <= MESSAGE_KEYS
    assert body == {
        "emailId": 123456789,  # int64, not a string
        "message": {"to": CUSTOMER, "sendId": "rd-D-9"},
        "customProperties": META,
    }
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_id == "a8d6f3c2-1b4e-4f5a-9c7d-2e3f4a5b6c7d"
    assert result.raw_status == "PENDING"


def test_options_go_on_the_wire_only_when_set() -> None:
    adapter = HubSpotAdapter(OFFLINE, access_token=TOKEN, email_id=EMAIL_ID, from_email="Demo <r@demo.example>")
    message = crm(
        metadata={},
        provider_extra={"contact_properties": {"firstname": "Ana"}, "custom_properties": {"points": 12}},
    )
    _, body = adapter.build_request(message)
    assert body["message"] == {"to": CUSTOMER, "sendId": "rd-D-9", "from": "Demo <r@demo.example>"}
    assert body["contactProperties"] == {"firstname": "Ana"}  # v3 maps, not v1 [{name, value}] lists
    assert body["customProperties"] == {"points": 12}
    _, bare = adapter.build_request(crm(metadata={}))
    assert set(bare) == {"emailId", "message"}


def test_our_html_is_not_sent_hubspot_renders_its_template() -> None:
    _, body = HubSpotAdapter(OFFLINE, access_token=TOKEN, email_id=EMAIL_ID).build_request(crm())
    assert "<p>receipt</p>" not in json.dumps(body)


@pytest.mark.parametrize("bad", ["abc", "12x", " "], ids=["letters", "mixed", "blank"])
def test_email_id_must_be_numeric(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="email_id"):
        HubSpotAdapter(OFFLINE, access_token=TOKEN, email_id=bad)


@pytest.mark.parametrize(
    "message",
    [crm(channel=Channel.EMAIL), crm(attachments=(Attachment("r.pdf", "application/pdf", b"%PDF"),))],
    ids=["wrong-channel", "attachment"],
)
def test_what_single_send_cannot_express_is_unsupported(message: OutboundMessage) -> None:
    with pytest.raises(UnsupportedFeature):
        HubSpotAdapter(OFFLINE, access_token=TOKEN, email_id=EMAIL_ID).build_request(message)


# --- response parser ---------------------------------------------------------------------------


def test_every_official_send_result_is_known() -> None:
    assert len(SEND_RESULTS_KNOWN) == OFFICIAL_SEND_RESULTS


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"statusId": "s", "status": "PROCESSING"}, SendStatus.ACCEPTED),
        ({"statusId": "s", "status": "COMPLETE", "sendResult": "SENT"}, SendStatus.ACCEPTED),
        ({"statusId": "s", "status": "COMPLETE", "sendResult": "QUEUED"}, SendStatus.ACCEPTED),
        ({"statusId": "s", "status": "COMPLETE", "sendResult": "INVALID_TO_ADDRESS"}, SendStatus.REJECTED),
        ({"statusId": "s", "status": "COMPLETE", "sendResult": "IDEMPOTENT_FAIL"}, SendStatus.REJECTED),
        ({"statusId": "s", "status": "CANCELED"}, SendStatus.REJECTED),
        ({"statusId": "s", "status": "COMPLETE", "sendResult": "BRAND_NEW_RESULT"}, SendStatus.UNKNOWN),
        ({"statusId": "s", "status": "TELEPORTED"}, SendStatus.UNKNOWN),
        ({}, SendStatus.UNKNOWN),
    ],
)
def test_status_table(payload: dict[str, Any], status: SendStatus) -> None:
    adapter = HubSpotAdapter(OFFLINE, access_token=TOKEN, email_id=EMAIL_ID)
    assert adapter.parse_response(httpx.Response(200, json=payload)).status is status


def test_recorded_bounce_is_rejected_with_its_reason() -> None:
    adapter = HubSpotAdapter(OFFLINE, access_token=TOKEN, email_id=EMAIL_ID)
    result = adapter.parse_response(recorded("hubspot_send_complete_bounced.json"))
    assert result.status is SendStatus.REJECTED
    assert result.raw_status == "COMPLETE/PREVIOUSLY_BOUNCED"
    assert result.detail == "PREVIOUSLY_BOUNCED"


def test_repeated_send_id_is_already_accepted() -> None:
    adapter = HubSpotAdapter(OFFLINE, access_token=TOKEN, email_id=EMAIL_ID)
    ignored = adapter.parse_response(recorded("hubspot_send_idempotent_ignore.json"))
    assert ignored.status is SendStatus.ACCEPTED
    assert ignored.provider_message_id == "a8d6f3c2-1b4e-4f5a-9c7d-2e3f4a5b6c7d"
    # A 409 for a duplicate sendId is handled the same way (UNVERIFIED behaviour of HubSpot).
    conflict = adapter.parse_response(httpx.Response(409, json={"status": "error", "category": "CONFLICT"}))
    assert conflict.status is SendStatus.ACCEPTED


@pytest.mark.parametrize(
    ("name", "category"),
    [("hubspot_error_401.json", "INVALID_AUTHENTICATION"), ("hubspot_error_400.json", "VALIDATION_ERROR")],
)
async def test_recorded_errors_are_permanent(wire: Wire, name: str, category: str) -> None:
    wire.reply = recorded(name)
    with pytest.raises(PermanentProviderError) as info:
        await wire.adapter().send(crm())
    assert not isinstance(info.value, TransientProviderError)
    assert info.value.code == category


async def test_429_without_retry_after_waits_one_rate_limit_interval(wire: Wire) -> None:
    wire.reply = recorded("hubspot_error_429.json")
    with pytest.raises(TransientProviderError) as info:
        await wire.adapter().send(crm())
    assert info.value.retry_after == 10.0
    assert "ten_secondly_rolling" in str(info.value)


def test_rate_limit_wait_needs_an_exhausted_window() -> None:
    headers = {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    assert rate_limit_wait(headers | {"X-HubSpot-RateLimit-Remaining": "3"}) is None
    assert rate_limit_wait(headers) is None
    assert rate_limit_wait(headers | {"X-HubSpot-RateLimit-Remaining": "0"}) == 10.0


async def test_token_absent_from_logs_repr_and_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = wire.adapter()
    await adapter.send(crm())
    texts = [repr(adapter)]
    for reply in (recorded("hubspot_error_401.json"), recorded("hubspot_error_429.json"), httpx.ReadTimeout("t")):
        wire.reply = reply
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(crm())
        texts += [str(info.value), repr(info.value), str(info.value.__cause__ or "")]
    assert TOKEN not in caplog.text
    assert all(TOKEN not in t for t in texts)
