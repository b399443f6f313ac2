"""Toast trigger: Toast-Signature against a second implementation, paid checks mapped to Sales."""

from __future__ import annotations

import base64
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
from app.domain.lifecycle import OrderStatus, OrderUpdate
from app.sandbox.platforms import toast as sandbox
from app.triggers.base import NotApplicable
from app.triggers.toast import ToastTrigger, compute_signature, safe_id, signing_timestamp
from tests.fuzzing import examples

FIXTURES = Path(__file__).parent.parent / "fixtures" / "platforms"
URL = "https://hub.example.com/webhooks/toast"
NOW = datetime(2024, 12, 2, 16, 5, 2, tzinfo=UTC)
SECRET = sandbox.SANDBOX_WEBHOOK_SECRET


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def oracle_signature(secret: str, body: bytes) -> str:
    """Second implementation from PROVIDERS.md B4: base64 HMAC-SHA256 of raw body + the message's
    timestamp (the open-item assumption), the timestamp read from the raw bytes, not via json."""
    match = re.search(rb'"timestamp"\s*:\s*"([^"]*)"', body)
    assert match is not None
    return base64.standard_b64encode(hmac.digest(secret.encode(), body + match.group(1), "sha256")).decode()


def request(headers: dict[str, str], body: bytes, *, at: datetime = NOW) -> InboundRequest:
    return InboundRequest(URL, {k.lower(): v for k, v in headers.items()}, body, at)


def trigger(secret: str = SECRET) -> ToastTrigger:
    return ToastTrigger(webhook_secret=secret, store_id="store-0042")


def test_sandbox_signature_matches_the_second_implementation() -> None:
    headers, body = sandbox.signed_webhook(fixture("toast_order_updated_paid.json"))
    assert headers["Toast-Signature"] == oracle_signature(SECRET, body)
    assert headers["Toast-Event-Type"] == "order_updated" and headers["Toast-Attempt-Number"] == "1"
    trigger().verify(request(headers, body))


@settings(derandomize=True, max_examples=100)
@given(
    secret=st.text(min_size=1, max_size=40),
    timestamp=st.text(alphabet=st.characters(blacklist_characters='"\\', blacklist_categories=["Cs", "Cc"])),
    extra=st.dictionaries(  # strings a body may hold: the bounded loader refuses NUL and lone surrogates
        st.sampled_from(["guid", "eventType", "n"]),
        st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=10),
    ),
)
def test_compute_signature_agrees_with_the_second_implementation(
    secret: str, timestamp: str, extra: dict[str, str]
) -> None:
    body = json.dumps({"timestamp": timestamp, **extra}, ensure_ascii=False).encode()
    assert signing_timestamp(body) == timestamp
    assert compute_signature(secret, body, timestamp) == oracle_signature(secret, body)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b.replace(b"23.41", b"2.41")),
        lambda h, b: (h, b.replace(b"2024-12-02T16:05:01.234+0000", b"2024-12-02T16:05:01.235+0000")),
        lambda h, b: ({k: v for k, v in h.items() if k != "Toast-Signature"}, b),
        lambda h, b: ({**h, "Toast-Signature": "not base64!"}, b),
        lambda h, b: (h, b"{}"),
    ],
)
def test_tampered_or_unsigned_deliveries_are_rejected(tamper: Any) -> None:
    headers, body = tamper(*sandbox.signed_webhook(fixture("toast_order_updated_paid.json")))
    with pytest.raises(SignatureRejected):
        trigger().verify(request(headers, body))


@pytest.mark.parametrize(
    ("late", "accepted"),
    [
        (timedelta(seconds=1), True),
        (timedelta(minutes=16), True),  # after Toast's second and last resend
        (timedelta(minutes=59), True),
        (timedelta(hours=1, seconds=1), False),
        (timedelta(days=2), False),
        (-timedelta(minutes=30), True),  # our clock behind Toast's
        (-timedelta(hours=2), False),
    ],
)
def test_a_signed_message_is_refused_outside_the_replay_window(late: timedelta, accepted: bool) -> None:
    message = fixture("toast_order_updated_paid.json")
    sent = datetime(2024, 12, 2, 16, 5, 1, 234000, tzinfo=UTC)  # the fixture's signed timestamp
    headers, body = sandbox.signed_webhook(message)
    if accepted:
        trigger().verify(request(headers, body, at=sent + late))
    else:
        with pytest.raises(SignatureRejected, match="timestamp"):
            trigger().verify(request(headers, body, at=sent + late))


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"timestamp": "1", "timestamp": "2"}', rb'{"timestamp": "\ud800"}', b"\xff"],
)
def test_a_body_the_bounded_loader_refuses_has_no_signature(body: bytes) -> None:
    assert signing_timestamp(body) is None
    with pytest.raises(SignatureRejected):
        trigger().verify(request({"Toast-Signature": compute_signature(SECRET, body, "1")}, body))


def test_wrong_secret_is_rejected() -> None:
    headers, body = sandbox.signed_webhook(fixture("toast_order_updated_paid.json"), secret="another-subscription")
    with pytest.raises(SignatureRejected):
        trigger().verify(request(headers, body))


async def test_paid_check_maps_to_a_consistent_sale() -> None:
    message = fixture("toast_order_updated_paid.json")
    (event,) = await trigger().events(request(*sandbox.signed_webhook(message)))
    sale = event.sale
    assert event.source == "toast" and event.event_id == message["guid"]
    assert sale.sale_id == "toast-a0b1c2d3.e4f5.4a6b.8c7d.9e0f1a2b3c4d"
    assert event.order_id == sale.order_id == "3f2e1d0c.9b8a.4765.8432.10fedcba9876"
    assert sale.lane == "rc-front-counter"
    assert sale.occurred_at == datetime(2024, 12, 2, 16, 5, tzinfo=UTC)
    turkey, cola = sale.items  # the voided selection is left out
    assert (turkey.quantity, turkey.unit.value, turkey.unit_price, turkey.line_total) == (
        Decimal("1.25"), "lb", Decimal("9.99"), Decimal("12.49"),
    )  # fmt: skip
    assert cola.discount_total == Decimal("1.00") and cola.taxable and not turkey.taxable
    assert sale.discounts[0].amount == Decimal("5.00")
    assert (sale.subtotal, sale.total_savings, sale.total) == (Decimal("22.47"), Decimal("6.00"), Decimal("23.41"))
    assert (sale.taxes[0].amount, sale.taxes[0].rate) == (Decimal("0.94"), Decimal("0.0625"))
    tender = sale.tenders[0]
    assert (tender.card_brand, tender.last4, tender.amount) == ("Visa", "4242", Decimal("23.41"))  # tip excluded
    assert sale.customer is not None and sale.customer.phone == "+12175550188"
    assert sale.inconsistencies() == []


async def test_replayed_delivery_yields_the_same_event_id() -> None:
    message = fixture("toast_order_updated_paid.json")
    headers, body = sandbox.signed_webhook(message)
    retry_headers, retry_body = sandbox.signed_webhook(message, attempt=2)
    first = await trigger().events(request(headers, body))
    again = await trigger().events(request(retry_headers, retry_body))
    assert first[0].event_id == again[0].event_id and first[0].sale == again[0].sale


async def test_unpaid_check_is_not_applicable() -> None:
    with pytest.raises(NotApplicable):
        await trigger().events(request(*sandbox.signed_webhook(fixture("toast_order_updated_open.json"))))


async def test_other_events_are_not_applicable() -> None:
    message = fixture("toast_order_updated_paid.json")
    message["eventType"] = "menu_updated"
    with pytest.raises(NotApplicable):
        await trigger().events(request(*sandbox.signed_webhook(message)))


async def test_a_voided_order_cancels_the_order_its_receipt_named() -> None:
    message = fixture("toast_order_updated_paid.json")
    message["details"]["voided"] = True
    [update] = await trigger().events(request(*sandbox.signed_webhook(message)))
    assert isinstance(update, OrderUpdate)
    assert update.status is OrderStatus.CANCELLED
    assert update.order_id == safe_id(message["details"]["guid"])


@pytest.mark.parametrize(
    "body", [b"{oops", b"[1, 2]", b'{"guid": "g", "eventType": "order_updated"}', b'{"eventType": 1}']
)
async def test_malformed_body_is_a_validation_failure(body: bytes) -> None:
    with pytest.raises(ValidationFailed):
        await trigger().events(request({}, body))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c["payments"][0].update(last4Digits="4111111111111111"),
        lambda c: c["selections"][0].update(displayName="Turkey 4242 4242 4242 4242"),
    ],
)
async def test_a_card_number_in_the_check_is_rejected(mutate: Any) -> None:
    message = fixture("toast_order_updated_paid.json")
    mutate(message["details"]["checks"][0])
    with pytest.raises(InvalidSale) as info:
        await trigger().events(request(*sandbox.signed_webhook(message)))
    assert "4111111111111111" not in str(info.value)


async def test_a_check_whose_totals_do_not_add_up_is_rejected() -> None:
    message = fixture("toast_order_updated_paid.json")
    message["details"]["checks"][0]["totalAmount"] = 24.41
    with pytest.raises(InvalidSale, match="total"):
        await trigger().events(request(*sandbox.signed_webhook(message)))


@settings(derandomize=True, max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32))
async def test_sandbox_messages_map_to_consistent_sales(seed: int) -> None:
    message = sandbox.sample_event(random.Random(seed))
    headers, body = sandbox.signed_webhook(message)
    trigger().verify(request(headers, body, at=datetime.now(UTC)))  # the sandbox stamps its messages now
    (event,) = await trigger().events(request(headers, body))
    assert event.sale.total == Decimal(str(message["details"]["checks"][0]["totalAmount"])).quantize(Decimal("0.01"))
    assert event.sale.inconsistencies() == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)


def _mutated_fixture(path: list[str | int], value: Any) -> bytes:
    message = fixture("toast_order_updated_paid.json")
    target: Any = message["details"]["checks"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(message).encode()


@settings(derandomize=True, max_examples=examples(200), deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.builds(
            _mutated_fixture,
            st.sampled_from(
                [
                    ["selections", 0, "quantity"],
                    ["selections", 0, "receiptLinePrice"],
                    ["payments", 0, "type"],
                    ["taxAmount"],
                    ["selections"],
                    ["payments"],
                    ["closedDate"],
                    ["appliedDiscounts"],
                    ["customer"],
                ]
            ),
            json_values,
        ),
    ),
    sign=st.booleans(),
    signature=st.text(max_size=50),
)
async def test_random_requests_only_raise_the_documented_errors(body: bytes, sign: bool, signature: str) -> None:
    if sign:
        match = re.search(rb'"timestamp"\s*:\s*"([^"]*)"', body)
        signature = oracle_signature(SECRET, body) if match else signature
    request_ = request({"Toast-Signature": signature}, body)
    try:
        trigger().verify(request_)
        await trigger().events(request_)
    except (SignatureRejected, ValidationFailed, NotApplicable):
        pass
