"""Twilio (SMS and WhatsApp) lookup of a message in doubt: the Messages list (ListMessage).

The request is checked against the official `twilio` SDK (`MessageList.page`) and the official
OpenAPI spec cut in tests/fixtures/oracles/twilio_list_messages.json; the answers are pages in
tests/fixtures/providers/twilio_messages_page_*.json. No network: httpx.MockTransport is the world.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx
import jsonschema
import pytest
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from app.domain.channels import Channel
from app.domain.message import OutboundMessage
from app.providers.twilio import CLOCK_SKEW, TwilioAdapter
from app.providers.twilio_whatsapp import TwilioWhatsAppAdapter
from tests.providers.support import OFFLINE, Wire, fixture, open_wire

ORACLE = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "oracles" / "twilio_list_messages.json").read_text()
)

ACCOUNT_SID = "AC1234567890abcdef1234567890abcdef"
AUTH_TOKEN = "tw-test-auth-token-5f1c9e"
FROM = "+15005550006"
SERVICE_SID = "MG0123456789abcdef0123456789abcdef"
CONTENT_SID = "HX0123456789abcdef0123456789abcdef"
TO = "+15558675310"
BODY = "Demo Market: your receipt https://r.example/abc · café ☕"
SENT_AFTER = datetime(2026, 11, 28, 10, 15, 0, tzinfo=UTC)  # the attempt was recorded just before 10:15:03
FOUND_SID = "SM9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def sms(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {"channel": Channel.SMS, "to": TO, "idempotency_key": "rd-D-42", "sms_body": BODY}
    return OutboundMessage(**(values | overrides))


def whatsapp(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.WHATSAPP,
        "to": TO,
        "idempotency_key": "rd-D-43",
        "sms_body": BODY,
        "provider_extra": {"session_open": True},
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient = OFFLINE, **settings: Any) -> TwilioAdapter:
    kwargs: dict[str, Any] = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM}
    return TwilioAdapter(http, **(kwargs | settings))


def make_whatsapp(http: httpx.AsyncClient = OFFLINE, **settings: Any) -> TwilioWhatsAppAdapter:
    kwargs: dict[str, Any] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": FROM,
        "content_sid": CONTENT_SID,
    }
    return TwilioWhatsAppAdapter(http, **(kwargs | settings))


def page(name: str, **changes: Any) -> dict[str, Any]:
    """A recorded page; `changes` are set on every message of it."""
    payload: dict[str, Any] = fixture(name)
    for item in payload["messages"]:
        item.update(changes)
    return payload


def as_whatsapp(payload: dict[str, Any]) -> dict[str, Any]:
    for item in payload["messages"]:
        item["to"], item["from"] = "whatsapp:" + item["to"], "whatsapp:" + item["from"]
    return payload


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    async with open_wire() as opened:
        yield opened


def query_of(url: str) -> dict[str, str]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)
    assert len({k for k, _ in pairs}) == len(pairs), "a query key repeats"
    return dict(pairs)


# --- the official SDK and spec as oracles -------------------------------------------------------


class CapturingTwilioHttp(HttpClient):
    """A twilio-python HttpClient that records what the SDK would send and answers an empty page."""

    def __init__(self) -> None:
        super().__init__(logger=logging.getLogger("twilio-oracle"), is_async=False)
        self.calls: list[dict[str, Any]] = []

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        self.calls.append({"method": method, "url": uri, "params": params or {}, "headers": headers, "auth": auth})
        return TwilioResponse(200, json.dumps(fixture("twilio_messages_page_empty.json")))


def sdk_page(**page_kwargs: Any) -> dict[str, Any]:
    http = CapturingTwilioHttp()
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http, environment={})
    client.messages.page(**page_kwargs)
    (call,) = http.calls
    return call


CASES: list[tuple[str, Callable[[], TwilioAdapter], OutboundMessage, dict[str, Any]]] = [
    ("sms-from", make, sms(), {"to": TO, "from_": FROM}),
    (
        "sms-service",
        lambda: make(from_number=None, messaging_service_sid=SERVICE_SID),
        sms(),
        {"to": TO},  # the list has no Messaging Service filter
    ),
    ("whatsapp", make_whatsapp, whatsapp(), {"to": "whatsapp:" + TO, "from_": "whatsapp:" + FROM}),
]


@pytest.mark.parametrize(("build", "message", "sdk_kwargs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lookup_request_equals_official_sdk(
    build: Callable[[], TwilioAdapter], message: OutboundMessage, sdk_kwargs: dict[str, Any]
) -> None:
    ours = build().lookup_request(message, sent_after=SENT_AFTER)
    assert ours is not None
    # The SDK passes a string through unchanged (serialize.iso8601_datetime): the GMT date, as the docs say.
    theirs = sdk_page(**sdk_kwargs, date_sent_after="2026-11-28", page_size=100)
    assert ours.method == theirs["method"] == "GET"
    assert ours.url.split("?")[0] == theirs["url"]
    assert query_of(ours.url) == {k: str(v) for k, v in theirs["params"].items()}
    assert ours.headers["Accept"] == theirs["headers"]["Accept"] == "application/json"
    assert ours.auth is not None
    request = httpx.Request("GET", ours.url)
    signed = next(ours.auth.auth_flow(request))
    scheme, _, token = signed.headers["Authorization"].partition(" ")
    assert (scheme, tuple(base64.b64decode(token).decode().split(":", 1))) == ("Basic", theirs["auth"])


@pytest.mark.parametrize(("build", "message"), [c[1:3] for c in CASES], ids=[c[0] for c in CASES])
def test_lookup_request_fits_official_openapi_spec(
    build: Callable[[], TwilioAdapter], message: OutboundMessage
) -> None:
    ours = build().lookup_request(message, sent_after=SENT_AFTER)
    assert ours is not None
    assert ORACLE["method"] == ours.method
    assert urlsplit(ours.url).path == ORACLE["path"].replace("{AccountSid}", ACCOUNT_SID)
    spec = {p["name"]: p["schema"] for p in ORACLE["parameters"] if p["in"] == "query"}
    query = query_of(ours.url)
    assert query.keys() <= spec.keys()
    size = int(query["PageSize"])
    assert spec["PageSize"]["minimum"] <= size <= spec["PageSize"]["maximum"]
    # The spec's own example puts the date filter on the wire exactly so: `DateSent%3E=2008-01-02`.
    assert "DateSent%3E=2026-11-28" in ours.url
    assert "DateSent%3E=2008-01-02" in ORACLE["examples"]["readFullPage1"]["first_page_uri"]


@pytest.mark.parametrize(
    "name", ["twilio_messages_page_found.json", "twilio_messages_page_more.json", "twilio_messages_page_empty.json"]
)
def test_recorded_pages_fit_the_official_page_schema(name: str) -> None:
    payload = fixture(name)
    jsonschema.validate(payload, json_schema(ORACLE["response_schema"]))
    for item in payload["messages"]:
        assert item.keys() <= set(ORACLE["message_properties"])


def json_schema(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes a type that allows null."""
    if isinstance(schema, dict):
        out = {k: json_schema(v) for k, v in schema.items() if k != "nullable"}
        if schema.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(schema, list):
        return [json_schema(v) for v in schema]
    return schema


def test_the_date_filter_is_the_gmt_date_of_sent_after() -> None:
    ours = make().lookup_request(sms(), sent_after=datetime(2026, 11, 27, 22, 30, tzinfo=UTC))
    assert ours is not None
    assert query_of(ours.url)["DateSent>"] == "2026-11-27"
    local = datetime(2026, 11, 27, 20, 30, tzinfo=ZoneInfo("America/New_York"))  # 01:30 GMT the next day
    ours = make().lookup_request(sms(), sent_after=local)
    assert ours is not None
    assert query_of(ours.url)["DateSent>"] == "2026-11-28"


# --- parsing one page ---------------------------------------------------------------------------


def answer(payload: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=payload)


def test_found_names_the_sid_and_status() -> None:
    lookup = make().parse_lookup(answer(page_found()), sms(), sent_after=SENT_AFTER)
    assert (lookup.found, lookup.provider_message_id, lookup.raw_status) == (True, FOUND_SID, "delivered")


def page_found() -> dict[str, Any]:
    return fixture("twilio_messages_page_found.json")


def test_another_text_to_the_same_number_is_not_ours() -> None:
    lookup = make().parse_lookup(answer(page_found()), sms(sms_body="Demo Market: another receipt"))
    assert lookup.found is False


def test_a_message_created_before_the_attempt_is_not_it() -> None:
    later = SENT_AFTER + CLOCK_SKEW + timedelta(minutes=1)
    assert make().parse_lookup(answer(page_found()), sms(), sent_after=later).found is False
    # Within the clock-skew allowance it still counts: Twilio's clock is not ours.
    almost = SENT_AFTER + CLOCK_SKEW - timedelta(seconds=10)
    assert make().parse_lookup(answer(page_found()), sms(), sent_after=almost).found is True


def test_another_sender_or_an_inbound_message_is_not_ours() -> None:
    assert (
        make().parse_lookup(answer(page("twilio_messages_page_found.json", **{"from": "+15005550009"})), sms()).found
        is False
    )
    inbound = page("twilio_messages_page_found.json", direction="inbound")
    assert make().parse_lookup(answer(inbound), sms()).found is False


@pytest.mark.parametrize(("status", "code"), [("failed", 30008), ("undelivered", 30003)])
def test_a_failed_message_was_still_taken(status: str, code: int) -> None:
    payload = page("twilio_messages_page_found.json", status=status, error_code=code)
    lookup = make().parse_lookup(answer(payload), sms(), sent_after=SENT_AFTER)
    assert (lookup.found, lookup.raw_status) == (True, status)
    assert lookup.detail is not None and status in lookup.detail and str(code) in lookup.detail


def test_two_matches_are_found_and_said() -> None:
    payload = page_found()
    payload["messages"][1]["body"] = BODY
    lookup = make().parse_lookup(answer(payload), sms())
    assert lookup.found is True and lookup.provider_message_id == FOUND_SID  # the newest
    assert lookup.detail is not None and "2 messages" in lookup.detail


def test_an_empty_page_is_not_found() -> None:
    lookup = make().parse_lookup(answer(fixture("twilio_messages_page_empty.json")), sms())
    assert lookup.found is False


def test_a_page_without_it_whose_list_goes_on_cannot_tell_alone() -> None:
    lookup = make().parse_lookup(answer(fixture("twilio_messages_page_more.json")), sms(), sent_after=SENT_AFTER)
    assert lookup.found is None


def test_an_answer_without_a_list_cannot_tell() -> None:
    assert make().parse_lookup(answer({"code": 20404}), sms()).found is None


def test_a_messaging_service_send_is_matched_by_its_service() -> None:
    adapter = make(from_number=None, messaging_service_sid=SERVICE_SID)
    assert adapter.parse_lookup(answer(page_found()), sms()).found is False  # the fixture has no service
    payload = page("twilio_messages_page_found.json", messaging_service_sid=SERVICE_SID)
    assert adapter.parse_lookup(answer(payload), sms()).found is True


def test_whatsapp_free_form_is_matched_on_whatsapp_addresses() -> None:
    adapter = make_whatsapp()
    assert adapter.parse_lookup(answer(as_whatsapp(page_found())), whatsapp()).found is True
    assert adapter.parse_lookup(answer(page_found()), whatsapp()).found is False  # the SMS ones are not it


def test_a_whatsapp_template_has_no_text_to_compare() -> None:
    adapter = make_whatsapp()
    template = whatsapp(provider_extra={}, metadata={"store": "Demo Market", "total": "$42.17"})
    lookup = adapter.parse_lookup(answer(as_whatsapp(page_found())), template, sent_after=SENT_AFTER)
    assert lookup.found is None and lookup.detail is not None and "template" in lookup.detail
    assert adapter.parse_lookup(answer(fixture("twilio_messages_page_empty.json")), template).found is False


# --- on the wire: paging, errors ----------------------------------------------------------------


async def test_look_up_follows_next_page_uri_on_twilios_host(wire: Wire) -> None:
    wire.replies = [
        answer(fixture("twilio_messages_page_more.json")),
        answer(fixture("twilio_messages_page_last.json")),
    ]
    lookup = await make(wire.http).look_up(sms(), sent_after=SENT_AFTER)
    assert (lookup is not None and lookup.found, lookup and lookup.provider_message_id) == (True, FOUND_SID)
    first, second = wire.requests
    assert str(second.url) == "https://api.twilio.com" + fixture("twilio_messages_page_more.json")["next_page_uri"]
    assert second.headers["Authorization"] == first.headers["Authorization"]


async def test_the_page_bound_reached_without_it_cannot_tell(wire: Wire) -> None:
    wire.replies = [answer(fixture("twilio_messages_page_more.json"))]
    adapter = make(wire.http)
    adapter.lookup_max_pages = 3
    lookup = await adapter.look_up(sms(), sent_after=SENT_AFTER)
    assert lookup is not None and lookup.found is None
    assert len(wire.requests) == 3


async def test_a_next_page_elsewhere_is_not_followed(wire: Wire) -> None:
    payload = fixture("twilio_messages_page_more.json")
    payload["next_page_uri"] = "https://elsewhere.example/2010-04-01/Accounts/x/Messages.json"
    wire.replies = [answer(payload)]
    lookup = await make(wire.http).look_up(sms(), sent_after=SENT_AFTER)
    assert lookup is not None and lookup.found is None
    assert len(wire.requests) == 1


async def test_not_on_any_page_of_a_list_that_ends_is_not_found(wire: Wire) -> None:
    last = fixture("twilio_messages_page_last.json")
    last["messages"][0]["body"] = "Demo Market: someone else's receipt"
    wire.replies = [answer(fixture("twilio_messages_page_more.json")), answer(last)]
    lookup = await make(wire.http).look_up(sms(), sent_after=SENT_AFTER)
    assert lookup is not None and lookup.found is False


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(429, json=fixture("twilio_error_20429.json")),
        httpx.Response(401, json=fixture("twilio_error_20003.json")),
        httpx.Response(503, text="Service Unavailable"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
    ids=["429", "401", "503", "connect", "timeout"],
)
async def test_an_error_or_no_answer_cannot_tell(wire: Wire, reply: httpx.Response | Exception) -> None:
    wire.replies = [reply]
    lookup = await make(wire.http).look_up(sms(), sent_after=SENT_AFTER)
    assert lookup is not None and lookup.found is None and lookup.detail


async def test_an_error_on_a_later_page_cannot_tell(wire: Wire) -> None:
    wire.replies = [answer(fixture("twilio_messages_page_more.json")), httpx.Response(500, text="oops")]
    lookup = await make(wire.http).look_up(sms(), sent_after=SENT_AFTER)
    assert lookup is not None and lookup.found is None


def test_both_adapters_can_be_asked() -> None:
    assert TwilioAdapter.can_look_up() and TwilioWhatsAppAdapter.can_look_up()
    assert TwilioAdapter.lookup_doc is not None and "twilio.com/docs" in TwilioAdapter.lookup_doc


# --- the same reference on every attempt --------------------------------------------------------


async def test_every_attempt_of_one_delivery_sends_the_same_text(wire: Wire) -> None:
    """Twilio keeps no reference of ours: the text is what the lookup matches, so it must not change."""
    wire.replies = [httpx.Response(201, json=fixture("twilio_message_queued.json"))]
    for adapter, message in ((make(wire.http), sms()), (make_whatsapp(wire.http), whatsapp())):
        wire.requests.clear()
        await adapter.send(message)
        await adapter.send(message)
        first, second = (dict(parse_qsl(r.content.decode())) for r in wire.requests)
        assert first == second and first["Body"] == BODY
        lookup = adapter.lookup_request(message, sent_after=SENT_AFTER)
        assert lookup is not None
        assert query_of(lookup.url)["To"] == first["To"] and query_of(lookup.url)["From"] == first["From"]
