"""Stripe trigger: Stripe-Signature against the official SDK, tolerance, PaymentIntent mapping.

Fixture `stripe_payment_intent_succeeded.json`: an event envelope around a PaymentIntent shaped like
stripe/openapi `fixtures3.json` `payment_intent`, with `latest_charge` expanded.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.errors import SignatureRejected, ValidationFailed
from app.domain.inbound import InboundRequest
from app.domain.lifecycle import OrderStatus, OrderUpdate
from app.domain.reasons import Reason
from app.sandbox.platforms import stripe as sandbox
from app.sandbox.pos import make_sale
from app.triggers.base import NotApplicable
from app.triggers.stripe import StripeTrigger, compute_signature
from tests.fuzzing import examples

FIXTURES = Path(__file__).parent.parent / "fixtures" / "platforms"
SECRET = "whsec_test_secret"
URL = "https://kiosk.example.com/webhooks/stripe"


def fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "stripe_payment_intent_succeeded.json").read_text())
    return data


def generate_header(body: bytes, secret: str = SECRET, *, timestamp: int | None = None, extra: str = "") -> str:
    """Mirror of stripe-python tests/test_webhook.py::generate_header, via the SDK's own signer."""
    t = int(time.time()) if timestamp is None else timestamp
    signature = stripe.WebhookSignature._compute_signature(f"{t}.{body.decode()}", secret)
    return f"t={t},{extra}v1={signature}"


def inbound(body: bytes, header: str, *, at: datetime | None = None) -> InboundRequest:
    return InboundRequest(URL, {"stripe-signature": header}, body, at or datetime.now(UTC))


@pytest.fixture
def trigger() -> StripeTrigger:
    return StripeTrigger(signing_secret=SECRET, store_id="store-0042")


def test_signature_matches_openssl_vector() -> None:
    # printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test
    expected = "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
    assert compute_signature("whsec_test", 1700000000, b'{"id":"evt_1"}') == expected


def test_sandbox_header_passes_the_sdk_and_the_trigger(trigger: StripeTrigger) -> None:
    headers, body = sandbox.signed_webhook("payment_intent.succeeded", fixture(), url=URL, secret=SECRET)
    assert stripe.WebhookSignature.verify_header(body.decode(), headers["Stripe-Signature"], SECRET, 300)
    trigger.verify(inbound(body, headers["Stripe-Signature"]))


def test_several_v1_signatures_any_may_match(trigger: StripeTrigger) -> None:
    body = json.dumps(fixture()).encode()
    header = generate_header(body, extra="v1=" + "0" * 64 + ",v0=abc,")
    assert stripe.WebhookSignature.verify_header(body.decode(), header, SECRET, 300)
    trigger.verify(inbound(body, header))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda body, header: (body + b" ", header),
        lambda body, header: (body, generate_header(body, "whsec_other")),
        lambda body, header: (body, header.split(",")[0]),
        lambda body, header: (body, ""),
        lambda body, header: (body, generate_header(body, timestamp=int(time.time()) - 301)),
    ],
    ids=["tampered", "wrong-secret", "no-v1", "no-header", "expired"],
)
def test_rejections_agree_with_the_sdk(trigger: StripeTrigger, mutate: Any) -> None:
    good = json.dumps(fixture()).encode()
    body, header = mutate(good, generate_header(good))
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body.decode(), header, SECRET, 300)
    with pytest.raises(SignatureRejected):
        trigger.verify(inbound(body, header))


def test_within_tolerance_is_accepted(trigger: StripeTrigger) -> None:
    body = b'{"id":"evt_1"}'
    header = generate_header(body, timestamp=int(time.time()) - 250)
    assert stripe.WebhookSignature.verify_header(body.decode(), header, SECRET, 300)
    trigger.verify(inbound(body, header))


async def test_payment_intent_fixture_maps_to_one_purchase_line(trigger: StripeTrigger) -> None:
    body = json.dumps(fixture()).encode()
    [event] = await trigger.events(inbound(body, generate_header(body)))
    sale = event.sale
    assert (event.source, event.event_id) == ("stripe", "evt_3MtwBwLkdIwHu7ix0snN0B15")
    assert sale.sale_id == "stripe-pi_3MtwBwLkdIwHu7ix28a3tqPa" and sale.order_id == event.order_id == "web-10042"
    assert [(i.name, i.line_total) for i in sale.items] == [("Purchase", Decimal("20.00"))]
    assert sale.total == Decimal("20.00") and sale.inconsistencies() == []
    assert (sale.tenders[0].card_brand, sale.tenders[0].last4) == ("Visa", "4242")
    assert sale.customer is not None and sale.customer.email == "jenny.rosen@example.com"
    assert sale.customer.channels == ["email"]
    assert sale.occurred_at == datetime.fromtimestamp(1795863600, UTC) and sale.lane == "web"


async def test_embedded_canonical_sale_is_used(trigger: StripeTrigger) -> None:
    canonical = make_sale(random.Random(3), sale_id="web-3", items=3, with_customer=False)
    canonical.pop("promotions", None)
    event = fixture()
    intent = event["data"]["object"]
    intent["amount_received"] = int(Decimal(canonical["total"]) * 100)
    intent["metadata"]["receiptdesk_sale"] = json.dumps(canonical)
    body = json.dumps(event).encode()
    [result] = await trigger.events(inbound(body, generate_header(body)))
    assert result.sale.sale_id == "web-3" and len(result.sale.items) == 3
    intent["amount_received"] += 1
    body = json.dumps(event).encode()
    with pytest.raises(ValidationFailed) as caught:
        await trigger.events(inbound(body, generate_header(body)))
    assert caught.value.field == "total"


async def test_other_events_are_not_applicable(trigger: StripeTrigger) -> None:
    for kind in ("customer.created", "payment_intent.created"):
        body = json.dumps({**fixture(), "type": kind}).encode()
        trigger.verify(inbound(body, generate_header(body)))
        with pytest.raises(NotApplicable):
            await trigger.events(inbound(body, generate_header(body)))


def refund_fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "stripe_charge_refunded.json").read_text())
    return data


async def test_a_refunded_charge_is_a_refund_update_of_its_payment_intent(trigger: StripeTrigger) -> None:
    body = json.dumps(refund_fixture()).encode()
    request = inbound(body, generate_header(body))
    trigger.verify(request)
    [update] = await trigger.events(request)
    assert isinstance(update, OrderUpdate)
    assert update.status is OrderStatus.REFUNDED
    assert update.order_id == "pi_3OaRk2LkdIwHu7ix0ZnV0JrX"
    assert update.sale_id == "stripe-pi_3OaRk2LkdIwHu7ix0ZnV0JrX"
    assert update.refund_amount == Decimal("12.99")
    assert update.reason is Reason.CUSTOMER_REQUEST
    assert update.event_id == "evt_3OaRk2LkdIwHu7ix0Yx0Rfnd"


async def test_a_second_partial_refund_announces_only_the_new_amount(trigger: StripeTrigger) -> None:
    event = refund_fixture()
    event["data"]["object"]["amount_refunded"] = 2000
    event["data"]["previous_attributes"] = {"amount_refunded": 1299}
    body = json.dumps(event).encode()
    [update] = await trigger.events(inbound(body, generate_header(body)))
    assert isinstance(update, OrderUpdate)
    assert update.refund_amount == Decimal("7.01")
    first = refund_fixture()
    first_body = json.dumps(first).encode()
    [earlier] = await trigger.events(inbound(first_body, generate_header(first_body)))
    assert isinstance(earlier, OrderUpdate)
    assert earlier.update_key != update.update_key


async def test_a_refund_names_the_pos_order_from_the_charge_metadata(trigger: StripeTrigger) -> None:
    event = refund_fixture()
    event["data"]["object"]["metadata"] = {"order_id": "POS-0042-1187"}
    body = json.dumps(event).encode()
    [update] = await trigger.events(inbound(body, generate_header(body)))
    assert isinstance(update, OrderUpdate)
    assert update.order_id == "POS-0042-1187"


async def test_a_refund_without_a_payment_intent_is_refused(trigger: StripeTrigger) -> None:
    event = refund_fixture()
    event["data"]["object"]["payment_intent"] = None
    body = json.dumps(event).encode()
    with pytest.raises(ValidationFailed):
        await trigger.events(inbound(body, generate_header(body)))


async def test_replay_keeps_the_event_id(trigger: StripeTrigger) -> None:
    body = json.dumps(fixture()).encode()
    request = inbound(body, generate_header(body))
    first, again = await trigger.events(request), await trigger.events(request)
    assert first[0].event_id == again[0].event_id


async def test_malformed_json_and_card_numbers_are_validation_failures(trigger: StripeTrigger) -> None:
    with pytest.raises(ValidationFailed):
        await trigger.events(inbound(b"{", generate_header(b"{")))
    event = fixture()
    event["data"]["object"]["metadata"]["order_id"] = "4111111111111111"
    body = json.dumps(event).encode()
    with pytest.raises(ValidationFailed, match="card number"):
        await trigger.events(inbound(body, generate_header(body)))


async def test_sandbox_sample_events_round_trip(trigger: StripeTrigger) -> None:
    for seed in range(10):
        headers, body = sandbox.signed_webhook(
            "payment_intent.succeeded", sandbox.sample_event("payment_intent.succeeded", seed), url=URL, secret=SECRET
        )
        request = inbound(body, headers["Stripe-Signature"])
        trigger.verify(request)
        [event] = await trigger.events(request)
        assert event.sale.inconsistencies() == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
INTENT = st.dictionaries(
    st.sampled_from(["id", "status", "amount", "amount_received", "currency", "metadata", "latest_charge", "charges"]),
    JSON,
).map(lambda d: {"status": "succeeded", **d})
EVENT = st.fixed_dictionaries(
    {"id": JSON, "type": st.sampled_from(["payment_intent.succeeded", "charge.refunded"]) | st.text(max_size=5)},
    optional={"created": JSON, "data": st.fixed_dictionaries({"object": INTENT}) | JSON},
)


@settings(derandomize=True, max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=200) | EVENT.map(lambda d: json.dumps(d).encode()), sign=st.booleans(), header=st.text())
def test_random_input_raises_only_trigger_errors(body: bytes, sign: bool, header: str) -> None:
    trigger = StripeTrigger(signing_secret=SECRET, store_id="store-0042")
    now = int(time.time())
    request = inbound(body, f"t={now},v1={compute_signature(SECRET, now, body)}" if sign else header)
    try:
        trigger.verify(request)
        asyncio.run(trigger.events(request))
    except (SignatureRejected, ValidationFailed, NotApplicable):
        pass
