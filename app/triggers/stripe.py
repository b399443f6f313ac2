"""Stripe webhooks (`/webhooks/stripe`): payment_intent.succeeded as a sale, charge.refunded as a refund,
payment_intent.canceled as a cancellation.

Signature (stripe-python `_webhook.py`): `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`; each v1
is the hex HMAC-SHA256 of `"<t>." + raw body` keyed with the endpoint secret (`whsec_...`); any v1
may match (several during a secret rotation). Like the SDK, a `t` older than 300 s is refused.
A PaymentIntent has no line items: it becomes one "Purchase" line, unless its metadata carries our
canonical sale as JSON under `receiptdesk_sale`. A refund names its sale by the charge's
`metadata.order_id`, else by its PaymentIntent (the order id of a sale without one in its metadata).
Refund `reason` and PaymentIntent `cancellation_reason` map through `app.domain.reasons`, never shown
as written. A cancelled PaymentIntent never moved money (docs.stripe.com/api/payment_intents/cancel:
only an uncaptured one can be cancelled), so its cancellation says nothing was charged. The name a
shopper knows a payment by is its charge's `receipt_number`, once Stripe has sent a receipt
(docs.stripe.com/api/charges/object#charge_object-receipt_number).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from app.domain.errors import SignatureRejected, ValidationFailed
from app.domain.events import PlatformEvent, TriggerEvent
from app.domain.inbound import InboundRequest
from app.domain.intake import parse_sale
from app.domain.lifecycle import OrderStatus, OrderUpdate, change_key
from app.domain.plugins import SecretField
from app.domain.reasons import STRIPE_CANCELLATION, STRIPE_REFUND, reason
from app.support.json_limits import JsonRejected, loads
from app.triggers.base import NotApplicable, PlatformTrigger
from app.triggers.payload import cents, json_object, obj, optional_text

PLATFORM = "stripe"
TOLERANCE_S = 300
"""Replay window on `t`: Stripe's own default tolerance, five minutes (https://docs.stripe.com/webhooks#replay-attacks;
docs/providers.md § B5). Checked against the request's `received_at`, past side only, as the SDK does."""
CARD_BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "Amex", "discover": "Discover"}
_STRIPE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
EVENT_TYPES = ("payment_intent.succeeded", "charge.refunded", "payment_intent.canceled")
READ_METHODS = {
    "contact_emv": "chip",
    "contactless_emv": "contactless",
    "contactless_magstripe_mode": "contactless",
    "magnetic_stripe_track2": "swipe",
    "magnetic_stripe_fallback": "swipe",
}


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex v1 signature Stripe computes over `"<t>." + body`."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class StripeTrigger(PlatformTrigger):
    """Succeeded PaymentIntents as sales; refunds verified and set aside."""

    platform: ClassVar[str] = PLATFORM
    display_name: ClassVar[str] = "Stripe"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (
        SecretField("signing_secret", "Webhook endpoint signing secret (whsec_...)"),
    )

    def __init__(self, *, signing_secret: str, store_id: str, tolerance_s: int = TOLERANCE_S) -> None:
        self.require(signing_secret=signing_secret)
        super().__init__(store_id=store_id)
        self._secret = signing_secret
        self.tolerance_s = tolerance_s

    def verify(self, request: InboundRequest) -> None:
        """Constant-time check of every v1 signature; refuse a `t` older than the tolerance."""
        header = request.header("Stripe-Signature") or ""
        timestamp: int | None = None
        signatures: list[str] = []
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            if key == "t" and value.isdigit() and len(value) < 12:
                timestamp = int(value)
            elif key == "v1":
                signatures.append(value)
        if timestamp is None or not signatures:
            raise SignatureRejected("Stripe-Signature lacks a timestamp or a v1 signature")
        expected = compute_signature(self._secret, timestamp, request.body).encode("ascii")
        if not any(hmac.compare_digest(expected, s.encode("utf-8", "replace")) for s in signatures):
            raise SignatureRejected("Stripe webhook signature does not match")
        if timestamp < request.received_at.timestamp() - self.tolerance_s:
            raise SignatureRejected(f"Stripe webhook timestamp {timestamp} is older than {self.tolerance_s} s")

    async def events(self, request: InboundRequest) -> list[PlatformEvent]:
        """A succeeded PaymentIntent as one sale event, a refunded charge as one order update."""
        event = json_object(request.body)
        kind, event_id = event.get("type"), event.get("id")
        if kind not in EVENT_TYPES:
            raise NotApplicable(f"Stripe event {str(kind)[:60]} asks for no receipt")
        if not isinstance(event_id, str) or not event_id.strip():
            raise ValidationFailed("Stripe event without an id", field="id")
        if kind == "charge.refunded":
            return [self.refund(event, event_id.strip()[:200], request.received_at)]
        if kind == "payment_intent.canceled":
            return [self.cancellation(event, event_id.strip()[:200], request.received_at)]
        intent = obj(obj(event.get("data"), "data").get("object"), "data.object")
        if intent.get("status") != "succeeded":
            raise NotApplicable(f"Stripe PaymentIntent is {intent.get('status')}, not succeeded")
        created = event.get("created")
        if not isinstance(created, int) or isinstance(created, bool) or not 0 < created < 10**11:
            raise ValidationFailed("Stripe event without a created time", field="created")
        sale = parse_sale(self.sale_payload(intent, datetime.fromtimestamp(created, UTC)))
        return [
            TriggerEvent(
                source=PLATFORM,
                event_id=event_id.strip()[:200],
                sale=sale,
                received_at=request.received_at,
                order_id=sale.order_id,
            )
        ]

    def sale_payload(self, intent: dict[str, Any], when: datetime) -> dict[str, Any]:
        """The canonical sale dict for a PaymentIntent."""
        intent_id = intent.get("id")
        if not isinstance(intent_id, str) or not intent_id:
            raise ValidationFailed("Stripe PaymentIntent without an id", field="data.object.id")
        received = intent.get("amount_received", intent.get("amount"))
        amount = cents(received, "data.object.amount_received")
        metadata = obj(intent.get("metadata"), "data.object.metadata")
        currency = str(intent.get("currency") or "usd").upper()
        embedded = metadata.get("receiptdesk_sale")
        if isinstance(embedded, str) and embedded.strip():
            return self._embedded(embedded, intent_id, amount, currency)
        email = intent.get("receipt_email")
        tender = {"type": "card", "amount": str(amount), **self._card(intent)}
        if "card_brand" not in tender and intent.get("payment_method_types") not in (["card"], ["card_present"]):
            tender["type"] = "other"
        return {
            "sale_id": f"{PLATFORM}-{intent_id}",
            "store_id": self.store_id,
            "lane": "web",
            "occurred_at": when.isoformat(),
            "currency": currency,
            "order_id": metadata.get("order_id") or intent_id,
            "order_name": _receipt_number(_latest_charge(intent)),
            "items": [{"name": "Purchase", "quantity": "1", "unit_price": str(amount), "line_total": str(amount)}],
            "subtotal": str(amount),
            "total_savings": "0.00",
            "total": str(amount),
            "tenders": [tender],
            "customer": {"email": email, "channels": ["email"]} if isinstance(email, str) and email else None,
        }

    def refund(self, event: dict[str, Any], event_id: str, received_at: datetime) -> OrderUpdate:
        """A `charge.refunded` event as a refund update: this refund's amount, and why."""
        data = obj(event.get("data"), "data")
        charge = obj(data.get("object"), "data.object")
        charge_id, intent_id = charge.get("id"), charge.get("payment_intent")
        if not isinstance(charge_id, str) or not charge_id:
            raise ValidationFailed("Stripe charge without an id", field="data.object.id")
        if not isinstance(intent_id, str) or not _STRIPE_ID.match(intent_id):
            raise ValidationFailed("Stripe charge without a PaymentIntent", field="data.object.payment_intent")
        order = obj(charge.get("metadata"), "data.object.metadata").get("order_id")
        order_id = order if isinstance(order, str) and _STRIPE_ID.match(order) else intent_id
        total = cents(charge.get("amount_refunded"), "data.object.amount_refunded")
        before = obj(data.get("previous_attributes"), "data.previous_attributes").get("amount_refunded", 0)
        amount = total - cents(before, "data.previous_attributes.amount_refunded")
        if amount <= 0:
            raise NotApplicable(f"Stripe charge {charge_id} refunds nothing new")
        refunds = obj(charge.get("refunds"), "data.object.refunds").get("data")
        latest = refunds[0] if isinstance(refunds, list) and refunds and isinstance(refunds[0], dict) else {}
        code = optional_text(latest.get("reason"))
        return OrderUpdate(
            source=PLATFORM,
            event_id=event_id,
            store_id=self.store_id,
            order_id=order_id,
            sale_id=f"{PLATFORM}-{intent_id}",
            status=OrderStatus.REFUNDED,
            occurred_at=_created(event, received_at),
            received_at=received_at,
            update_key=change_key("refund", charge_id, total),
            refund_amount=amount,
            reason=reason(STRIPE_REFUND, code),
            order_name=_receipt_number(charge),
            extra={"platform_reason": code[:60]} if code else {},
        )

    def cancellation(self, event: dict[str, Any], event_id: str, received_at: datetime) -> OrderUpdate:
        """A `payment_intent.canceled` event as a cancellation: nothing was charged, and why."""
        intent = obj(obj(event.get("data"), "data").get("object"), "data.object")
        intent_id = intent.get("id")
        if not isinstance(intent_id, str) or not _STRIPE_ID.match(intent_id):
            raise ValidationFailed("Stripe PaymentIntent without an id", field="data.object.id")
        order = obj(intent.get("metadata"), "data.object.metadata").get("order_id")
        code = optional_text(intent.get("cancellation_reason"))
        return OrderUpdate(
            source=PLATFORM,
            event_id=event_id,
            store_id=self.store_id,
            order_id=order if isinstance(order, str) and _STRIPE_ID.match(order) else intent_id,
            sale_id=f"{PLATFORM}-{intent_id}",
            status=OrderStatus.CANCELLED,
            occurred_at=_created(event, received_at),
            received_at=received_at,
            update_key=change_key("cancelled", intent_id),
            reason=reason(STRIPE_CANCELLATION, code),
            voided=True,
            extra={"platform_reason": code[:60]} if code else {},
        )

    def _embedded(self, text: str, intent_id: str, amount: Decimal, currency: str) -> dict[str, Any]:
        """Our own sale from `metadata.receiptdesk_sale`; its total must be what Stripe collected."""
        try:
            sale = loads(text, decimal=True)
        except JsonRejected as exc:
            raise ValidationFailed(
                f"not acceptable JSON: {exc.message}", field="data.object.metadata.receiptdesk_sale"
            ) from None
        sale = dict(obj(sale, "data.object.metadata.receiptdesk_sale"))
        sale["store_id"] = self.store_id
        sale.setdefault("sale_id", f"{PLATFORM}-{intent_id}")
        sale.setdefault("currency", currency)
        try:
            declared = Decimal(str(sale.get("total")))
        except ArithmeticError:
            declared = None
        if declared is None or not declared.is_finite() or declared != amount:  # sNaN would raise on !=
            raise ValidationFailed(f"the embedded sale's total is not the {amount} collected", field="total")
        return sale

    def _card(self, intent: dict[str, Any]) -> dict[str, Any]:
        """Brand and last four from the latest charge, when the payload has it expanded."""
        charge = _latest_charge(intent)
        details = obj(charge.get("payment_method_details"), "latest_charge.payment_method_details")
        card = obj(details.get("card") or details.get("card_present"), "payment_method_details.card")
        brand, last4 = card.get("brand"), card.get("last4")
        if not isinstance(brand, str) or not brand:
            return {}
        result: dict[str, Any] = {"card_brand": CARD_BRANDS.get(brand, brand.title()), "last4": last4}
        if card.get("wallet"):
            result["entry_mode"] = "wallet"
        elif isinstance(card.get("read_method"), str):
            result["entry_mode"] = READ_METHODS.get(card["read_method"], "other")
        return result


def _latest_charge(intent: dict[str, Any]) -> dict[str, Any]:
    """The PaymentIntent's latest charge when the payload has it expanded, else empty."""
    charge = intent.get("latest_charge")
    if isinstance(charge, dict):
        return charge
    charges = obj(intent.get("charges"), "data.object.charges").get("data")
    return charges[-1] if isinstance(charges, list) and charges and isinstance(charges[-1], dict) else {}


def _receipt_number(charge: dict[str, Any]) -> str | None:
    """The charge's `receipt_number` (`1234-5678`), the number on the receipt Stripe emailed, if any."""
    number = charge.get("receipt_number")
    if not isinstance(number, str) or not _STRIPE_ID.match(number.strip()):
        return None
    return f"#{number.strip()}"


def _created(event: dict[str, Any], received_at: datetime) -> datetime:
    created = event.get("created")
    if isinstance(created, int) and not isinstance(created, bool) and 0 < created < 10**11:
        return datetime.fromtimestamp(created, UTC)
    return received_at
