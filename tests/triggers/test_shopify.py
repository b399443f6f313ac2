"""Shopify trigger: HMAC over the raw body, stale retries, order mapping, fulfilments, cancellations, refunds.

Fixtures: `shopify_*_fixture_sdk.json` are Shopify/shopify_python_api `test/fixtures/order.json` (bf871c7),
`fulfillment.json` (58462b4, line items trimmed) and `refund.json` (2f53a7c); that order's own totals do not add
up (3 x 199.00 against a 398.00 subtotal), which is used to test refusal.
`shopify_order_paid.json` is hand-written in the same REST shape.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.errors import ConfigurationError, SignatureRejected, ValidationFailed
from app.domain.inbound import InboundRequest
from app.domain.lifecycle import OrderStatus, OrderUpdate, Tracking, UpdateLine
from app.domain.reasons import Reason
from app.sandbox.platforms import shopify as sandbox
from app.triggers.base import NotApplicable
from app.triggers.shopify import ShopifyTrigger, compute_hmac, shopify_id
from tests.fuzzing import examples

FIXTURES = Path(__file__).parent.parent / "fixtures" / "platforms"
SECRET = "shpss_test_client_secret"
URL = "https://kiosk.example.com/webhooks/shopify"
NOW = datetime(2026, 11, 27, 20, 10, tzinfo=UTC)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def delivery(topic: str, payload: dict[str, Any], *, secret: str = SECRET, **extra: str) -> InboundRequest:
    headers, body = sandbox.signed_webhook(topic, payload, url=URL, secret=secret)
    headers["X-Shopify-Triggered-At"] = NOW.isoformat()
    headers.update(extra)
    return InboundRequest(URL, {k.lower(): v for k, v in headers.items()}, body, NOW)


@pytest.fixture
def trigger() -> ShopifyTrigger:
    return ShopifyTrigger(client_secret=SECRET, store_id="store-0042")


def test_hmac_matches_a_vector_computed_with_openssl() -> None:
    # printf '{"id":1}' | openssl dgst -sha256 -hmac hush -binary | base64
    assert compute_hmac("hush", b'{"id":1}') == "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY="


def test_missing_secret_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="client_secret"):
        ShopifyTrigger(client_secret="", store_id="s")


async def test_paid_order_fixture_maps_to_a_consistent_sale(trigger: ShopifyTrigger) -> None:
    request = delivery("orders/paid", fixture("shopify_order_paid.json"), **{"X-Shopify-Event-Id": "evt-1"})
    trigger.verify(request)
    [event] = await trigger.events(request)
    sale = event.sale
    assert (event.source, event.event_id) == ("shopify", "evt-1")
    assert sale.sale_id == "shopify-820982.911946.154508" and event.order_id == sale.order_id
    assert [i.name for i in sale.items] == ["Whole Milk 1 gal", "Paper Towels 6 roll", "Sourdough Bread", "Shipping"]
    assert sale.items[1].taxable and sale.items[1].discounts[0].description == "FALL5"
    assert sale.total_savings == Decimal("5.00") and not sale.discounts
    assert [t.name for t in sale.taxes] == ["IL State Tax", "Cook County Tax"]
    assert sale.total == Decimal("34.43") and sale.inconsistencies() == []
    tender = sale.tenders[0]
    assert (tender.card_brand, tender.last4, tender.amount) == ("Visa", "4242", Decimal("34.43"))
    assert "424242" not in sale.model_dump_json()  # the BIN never travels
    assert sale.customer is not None and sale.customer.email == "jon@example.com"
    assert sale.lane == "web" and sale.occurred_at.utcoffset() == timedelta(hours=-6)


async def test_order_level_discount_without_allocations(trigger: ShopifyTrigger) -> None:
    order = fixture("shopify_order_paid.json")
    for line in order["line_items"]:
        line["discount_allocations"] = []
    [event] = await trigger.events(delivery("orders/create", order))
    assert event.sale.discounts[0].promotion_code == "FALL5"
    assert event.sale.discounts[0].amount == Decimal("5.00")


async def test_sdk_fixture_unpaid_is_not_applicable_and_its_totals_are_refused(trigger: ShopifyTrigger) -> None:
    order = fixture("shopify_order_fixture_sdk.json")["order"]
    with pytest.raises(NotApplicable, match="authorized"):
        await trigger.events(delivery("orders/create", order))
    order["financial_status"] = "paid"
    with pytest.raises(ValidationFailed) as caught:
        await trigger.events(delivery("orders/paid", order))
    assert caught.value.field == "total"


async def test_a_fulfilment_still_at_the_warehouse_is_not_applicable(trigger: ShopifyTrigger) -> None:
    # The SDK fixture's fulfilment is `pending`: nothing has shipped yet.
    payload = fixture("shopify_fulfillment_fixture_sdk.json")["fulfillment"]
    request = delivery("fulfillments/create", payload, **{"X-Shopify-Event-Id": "e1"})
    trigger.verify(request)
    with pytest.raises(NotApplicable, match="450789469"):
        await trigger.events(request)


async def test_a_successful_fulfilment_is_a_shipment_with_its_lines_and_tracking(trigger: ShopifyTrigger) -> None:
    payload = dict(fixture("shopify_fulfillment_fixture_sdk.json")["fulfillment"], status="success")
    [update] = await trigger.events(delivery("fulfillments/create", payload, **{"X-Shopify-Event-Id": "e2"}))
    assert isinstance(update, OrderUpdate)
    assert update.status is OrderStatus.SHIPPED
    assert (update.order_id, update.sale_id) == ("450789469", "shopify-450789469")
    assert update.lines == (UpdateLine("IPod Nano - 8gb", Decimal(1), "IPOD2008GREEN"),)
    assert update.tracking == (Tracking("null-company", "1Z2345", "http://www.google.com/search?q=1Z2345"),)
    assert update.occurred_at == datetime(2013, 11, 1, 20, 6, 8, tzinfo=UTC)
    # The same fulfilment told again by fulfillments/update: same change, same key.
    [again] = await trigger.events(delivery("fulfillments/update", payload, **{"X-Shopify-Event-Id": "e3"}))
    assert isinstance(again, OrderUpdate)
    assert again.update_key == update.update_key and again.event_id != update.event_id
    # A new tracking number is a new change.
    moved = dict(payload, tracking_numbers=["1Z9999"], tracking_number="1Z9999")
    [changed] = await trigger.events(delivery("fulfillments/update", moved, **{"X-Shopify-Event-Id": "e4"}))
    assert isinstance(changed, OrderUpdate)
    assert changed.update_key != update.update_key


async def test_a_refund_carries_its_lines_and_amount_but_never_its_staff_note(trigger: ShopifyTrigger) -> None:
    payload = fixture("shopify_refund_fixture_sdk.json")["refund"]
    [update] = await trigger.events(delivery("refunds/create", payload, **{"X-Shopify-Event-Id": "r1"}))
    assert isinstance(update, OrderUpdate)
    assert update.status is OrderStatus.REFUNDED
    assert update.refund_amount == Decimal("209.00")
    assert update.reason is Reason.NEUTRAL  # the note is staff-only: a neutral sentence, never the note
    assert "it broke during shipping" not in repr(update.detail())
    assert [line.sku for line in update.lines] == ["IPOD2008BLACK", "IPOD2008GREEN"]


async def test_a_cancelled_order_is_a_cancellation_with_its_reason(trigger: ShopifyTrigger) -> None:
    order = dict(fixture("shopify_order_paid.json"), cancelled_at="2026-11-27T21:00:00-05:00", cancel_reason="customer")
    [update] = await trigger.events(delivery("orders/cancelled", order, **{"X-Shopify-Event-Id": "c1"}))
    assert isinstance(update, OrderUpdate)
    assert update.status is OrderStatus.CANCELLED
    assert update.order_id == shopify_id(order["id"])
    assert update.reason is Reason.CUSTOMER_REQUEST
    assert update.order_name == order["name"]


async def test_a_lifecycle_payload_that_cannot_be_mapped_is_a_validation_failure(trigger: ShopifyTrigger) -> None:
    with pytest.raises(ValidationFailed):
        await trigger.events(delivery("fulfillments/create", {"status": "success"}, **{"X-Shopify-Event-Id": "x"}))
    bad = {"order_id": 1, "status": "success", "line_items": [{"title": "A", "quantity": "lots"}]}
    with pytest.raises(ValidationFailed):
        await trigger.events(delivery("fulfillments/create", bad, **{"X-Shopify-Event-Id": "y"}))


def test_tampered_body_wrong_secret_and_missing_header_are_rejected(trigger: ShopifyTrigger) -> None:
    good = delivery("orders/paid", fixture("shopify_order_paid.json"))
    tampered = InboundRequest(URL, good.headers, good.body.replace(b"34.43", b"3.43"), NOW)
    with pytest.raises(SignatureRejected):
        trigger.verify(tampered)
    with pytest.raises(SignatureRejected):
        trigger.verify(delivery("orders/paid", {"id": 1}, secret="other"))
    headers = {k: v for k, v in good.headers.items() if k != "x-shopify-hmac-sha256"}
    with pytest.raises(SignatureRejected):
        trigger.verify(InboundRequest(URL, headers, good.body, NOW))


def test_previous_secret_is_accepted_during_rotation() -> None:
    rotated = ShopifyTrigger(client_secret="new", previous_client_secret=SECRET, store_id="s")
    rotated.verify(delivery("orders/paid", {"id": 1}))


def test_stale_retry_is_rejected(trigger: ShopifyTrigger) -> None:
    old = (NOW - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")  # Shopify sends nanoseconds
    with pytest.raises(SignatureRejected, match="stale"):
        trigger.verify(delivery("orders/paid", {"id": 1}, **{"X-Shopify-Triggered-At": old}))
    recent = (NOW - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    trigger.verify(delivery("orders/paid", {"id": 1}, **{"X-Shopify-Triggered-At": recent}))


async def test_replayed_event_keeps_its_event_id(trigger: ShopifyTrigger) -> None:
    request = delivery("orders/paid", fixture("shopify_order_paid.json"), **{"X-Shopify-Event-Id": "e-7"})
    first, again = await trigger.events(request), await trigger.events(request)
    assert first[0].event_id == again[0].event_id == "e-7"
    assert first[0].sale == again[0].sale


async def test_webhook_id_is_the_fallback_event_id(trigger: ShopifyTrigger) -> None:
    request = delivery("orders/paid", fixture("shopify_order_paid.json"), **{"X-Shopify-Event-Id": ""})
    [event] = await trigger.events(request)
    assert event.event_id == request.header("X-Shopify-Webhook-Id")


async def test_malformed_json_is_a_validation_failure(trigger: ShopifyTrigger) -> None:
    request = delivery("orders/paid", {})
    for body in (b"{not json", b"\xff\xfe", b"[" * 100_000):
        with pytest.raises(ValidationFailed):
            await trigger.events(InboundRequest(URL, request.headers, body, NOW))


async def test_card_numbers_are_refused(trigger: ShopifyTrigger) -> None:
    order = fixture("shopify_order_paid.json")
    order["line_items"][0]["title"] = "4111 1111 1111 1111"
    with pytest.raises(ValidationFailed, match="card number"):
        await trigger.events(delivery("orders/paid", order))
    order = fixture("shopify_order_paid.json")
    order["payment_details"]["credit_card_number"] = "4242424242424242"
    with pytest.raises(ValidationFailed, match="card number"):
        await trigger.events(delivery("orders/paid", order))


def test_long_ids_are_grouped_so_the_card_guard_leaves_them_alone() -> None:
    assert shopify_id(4111111111111111) == "4111.111111.111111"
    assert shopify_id(450789469) == "450789469"


async def test_sandbox_sample_events_round_trip(trigger: ShopifyTrigger) -> None:
    for seed in range(20):
        request = delivery("orders/paid", sandbox.sample_event("orders/paid", seed))
        trigger.verify(request)
        [event] = await trigger.events(request)
        assert event.sale.inconsistencies() == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
ORDER_KEYS = st.sampled_from(
    ["id", "financial_status", "line_items", "tax_lines", "total_price", "created_at", "transactions", "customer"]
)


@settings(derandomize=True, max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    topic=st.sampled_from(["orders/paid", "orders/create", "fulfillments/create", "x"]) | st.text(max_size=10),
    body=st.binary(max_size=200)
    | st.dictionaries(ORDER_KEYS, JSON).map(lambda d: json.dumps(d).encode())
    | st.dictionaries(ORDER_KEYS, JSON).map(lambda d: json.dumps({**d, "financial_status": "paid"}).encode())
    | st.fixed_dictionaries(
        {
            "financial_status": st.just("paid"),
            "id": JSON,
            "line_items": st.lists(
                st.dictionaries(st.sampled_from(["quantity", "price", "title", "discount_allocations"]), JSON)
            ),
        }
    ).map(lambda d: json.dumps(d).encode()),
    sign=st.booleans(),
    headers=st.dictionaries(st.sampled_from(["x-shopify-triggered-at", "x-shopify-event-id"]), st.text(max_size=30)),
)
def test_random_input_raises_only_trigger_errors(topic: str, body: bytes, sign: bool, headers: dict[str, str]) -> None:
    trigger = ShopifyTrigger(client_secret=SECRET, store_id="store-0042")
    all_headers = {**headers, "x-shopify-topic": topic}
    if sign:
        all_headers["x-shopify-hmac-sha256"] = compute_hmac(SECRET, body)
    request = InboundRequest(URL, all_headers, body, NOW)
    try:
        trigger.verify(request)
        asyncio.run(trigger.events(request))
    except (SignatureRejected, ValidationFailed, NotApplicable):
        pass
