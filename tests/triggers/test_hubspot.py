"""HubSpot workflow trigger: signature v3 against a second implementation, 5-minute window, deal mapping."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import SignatureRejected, ValidationFailed
from app.domain.inbound import InboundRequest
from app.domain.intake import InvalidSale
from app.sandbox.platforms import hubspot as sandbox
from app.triggers.base import NotApplicable
from app.triggers.hubspot import HubSpotTrigger, compute_signature
from tests.fuzzing import examples

FIXTURES = Path(__file__).parent.parent / "fixtures" / "platforms"
URL = "https://hub.example.com/webhooks/hubspot?portal=123"
NOW = datetime(2024, 12, 2, 16, 0, 30, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
SECRET = sandbox.SANDBOX_CLIENT_SECRET


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def oracle_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """Second implementation from HubSpot's v3 description: decode the listed escapes with one regex,
    concatenate method, uri, body, timestamp as text, HMAC-SHA256, base64."""
    decoded = re.sub(
        r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", lambda m: bytes.fromhex(m.group(1)).decode(), uri, flags=re.I
    )
    message = f"{method}{decoded}{body.decode('utf-8')}{timestamp}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def request(headers: dict[str, str], body: bytes, *, url: str = URL, at: datetime = NOW) -> InboundRequest:
    return InboundRequest(url, {k.lower(): v for k, v in headers.items()}, body, at)


def trigger(secret: str = SECRET) -> HubSpotTrigger:
    return HubSpotTrigger(client_secret=secret, store_id="store-0042")


def signed(body: dict[str, Any], **kw: Any) -> tuple[dict[str, str], bytes]:
    return sandbox.signed_webhook(body, url=kw.pop("url", URL), timestamp_ms=kw.pop("timestamp_ms", NOW_MS), **kw)


def test_sandbox_signature_matches_the_second_implementation() -> None:
    headers, body = signed(fixture("hubspot_deal_closed_won.json"))
    assert headers["X-HubSpot-Signature-v3"] == oracle_signature(SECRET, "POST", URL, body, str(NOW_MS))
    trigger().verify(request(headers, body))


@settings(derandomize=True, max_examples=100)
@given(
    secret=st.text(min_size=1, max_size=30),
    path=st.text(alphabet="abc/%3AF2?@!$'()*,;=&", max_size=30),
    body=st.text(max_size=60),
    timestamp=st.integers(0, 2**45).map(str),
)
def test_compute_signature_agrees_with_the_second_implementation(
    secret: str, path: str, body: str, timestamp: str
) -> None:
    uri = f"https://hub.example.com/{path}"
    ours = compute_signature(secret, "POST", uri, body.encode(), timestamp)
    assert ours == oracle_signature(secret, "POST", uri, body.encode(), timestamp)


def test_percent_escapes_in_the_url_are_signed_decoded() -> None:
    encoded = "https://hub.example.com/webhooks/hubspot?next=%2Fdeals%3Fid%3D1"
    body = json.dumps(fixture("hubspot_deal_closed_won.json")).encode()
    signature = oracle_signature(SECRET, "POST", encoded, body, str(NOW_MS))
    assert signature != compute_signature(SECRET, "POST", encoded.replace("%2F", "%2f!"), body, str(NOW_MS))
    headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": str(NOW_MS)}
    trigger().verify(request(headers, body, url=encoded))


@pytest.mark.parametrize("age", [timedelta(minutes=5, seconds=1), timedelta(hours=2), -timedelta(minutes=6)])
def test_stale_or_future_timestamps_are_rejected(age: timedelta) -> None:
    headers, body = signed(
        fixture("hubspot_deal_closed_won.json"), timestamp_ms=NOW_MS - int(age.total_seconds() * 1000)
    )
    with pytest.raises(SignatureRejected):
        trigger().verify(request(headers, body))


def test_a_timestamp_within_five_minutes_passes() -> None:
    headers, body = signed(fixture("hubspot_deal_closed_won.json"), timestamp_ms=NOW_MS - 299_000)
    trigger().verify(request(headers, body))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b.replace(b"249.90", b"24.90")),
        lambda h, b: ({**h, "X-HubSpot-Request-Timestamp": str(NOW_MS + 1)}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "X-HubSpot-Signature-v3"}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "X-HubSpot-Request-Timestamp"}, b),
        lambda h, b: ({**h, "X-HubSpot-Request-Timestamp": "yesterday"}, b),
    ],
)
def test_tampered_or_unsigned_requests_are_rejected(tamper: Any) -> None:
    headers, body = tamper(*signed(fixture("hubspot_deal_closed_won.json")))
    with pytest.raises(SignatureRejected):
        trigger().verify(request(headers, body))


def test_wrong_secret_or_other_url_is_rejected() -> None:
    headers, body = signed(fixture("hubspot_deal_closed_won.json"), client_secret="other-app")
    with pytest.raises(SignatureRejected):
        trigger().verify(request(headers, body))
    headers, body = signed(fixture("hubspot_deal_closed_won.json"))
    with pytest.raises(SignatureRejected):
        trigger().verify(request(headers, body, url="https://evil.example.com/webhooks/hubspot?portal=123"))


async def test_deal_maps_to_a_one_line_sale() -> None:
    (event,) = await trigger().events(request(*signed(fixture("hubspot_deal_closed_won.json"))))
    sale = event.sale
    assert (event.source, event.event_id) == ("hubspot", "deal-18273645-1733155200000")
    assert (sale.sale_id, sale.lane, sale.order_id) == ("hubspot-18273645", "web", "deal-18273645")
    assert sale.occurred_at == datetime(2024, 12, 2, 16, 0, tzinfo=UTC)
    (item,) = sale.items
    assert (item.name, item.line_total) == ("Deal Holiday party catering", Decimal("249.90"))
    assert sale.total == sale.subtotal == sale.tenders[0].amount == Decimal("249.90")
    assert sale.customer is not None and sale.customer.email == "events@example.org"
    assert sale.inconsistencies() == []


async def test_iso_closedate_is_accepted() -> None:
    body = {**fixture("hubspot_deal_closed_won.json"), "closedate": "2024-12-02T16:00:00Z"}
    (event,) = await trigger().events(request(*signed(body)))
    assert event.sale.occurred_at == datetime(2024, 12, 2, 16, 0, tzinfo=UTC)


async def test_replayed_request_yields_the_same_event_id() -> None:
    first = await trigger().events(request(*signed(fixture("hubspot_deal_closed_won.json"))))
    again = await trigger().events(request(*signed(fixture("hubspot_deal_closed_won.json"), timestamp_ms=NOW_MS + 5)))
    assert first[0].event_id == again[0].event_id


@pytest.mark.parametrize("change", [{"dealstage": "closedlost"}, {"hs_is_closed_won": "false"}])
async def test_a_deal_not_closed_won_is_not_applicable(change: dict[str, str]) -> None:
    with pytest.raises(NotApplicable):
        await trigger().events(request(*signed({**fixture("hubspot_deal_closed_won.json"), **change})))


async def test_a_custom_pipeline_stage_id_is_accepted() -> None:
    body = {**fixture("hubspot_deal_closed_won.json"), "dealstage": "98765432", "hs_is_closed_won": "true"}
    assert len(await trigger().events(request(*signed(body)))) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"dealname": "x"}',
        b'{"hs_object_id": 1, "dealname": "x", "amount": "1", "closedate": "soon"}',
    ],
)
async def test_malformed_body_is_a_validation_failure(body: bytes) -> None:
    with pytest.raises(ValidationFailed):
        await trigger().events(request({}, body))


@pytest.mark.parametrize(
    "change",
    [{"amount": "12.345"}, {"amount": "-5"}, {"dealname": "4111 1111 1111 1111"}, {"contact_phone": 4111111111111111}],
)
async def test_bad_amounts_and_card_numbers_are_rejected(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidSale):
        await trigger().events(request(*signed({**fixture("hubspot_deal_closed_won.json"), **change})))


@settings(derandomize=True, max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32))
async def test_sandbox_deals_map_to_consistent_sales(seed: int) -> None:
    body = sandbox.sample_event(random.Random(seed), deal_id=str(seed + 1))
    (event,) = await trigger().events(request(*signed(body)))
    assert event.sale.total == Decimal(body["amount"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        k: json_values for k in ("hs_object_id", "dealname", "amount", "closedate", "dealstage", "contact_email")
    },
)


@settings(derandomize=True, max_examples=examples(200), deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        fields.map(lambda v: json.dumps(v).encode()),
    ),
    sign=st.booleans(),
    timestamp=st.integers(NOW_MS - 600_000, NOW_MS + 600_000).map(str) | st.text(max_size=15),
    signature=st.text(max_size=50),
)
async def test_random_requests_only_raise_the_documented_errors(
    body: bytes, sign: bool, timestamp: str, signature: str
) -> None:
    if sign:
        signature = compute_signature(SECRET, "POST", URL, body, timestamp)
    request_ = request({"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp}, body)
    try:
        trigger().verify(request_)
        await trigger().events(request_)
    except (SignatureRejected, ValidationFailed, NotApplicable):
        pass
