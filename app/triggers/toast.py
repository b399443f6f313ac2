"""Toast orders webhooks (`/webhooks/toast`): Toast-Signature, then one sale per paid check.

PROVIDERS.md B4 (doc.toasttab.com/doc/devguide/apiMessageSigning.html, devOrdersWebhookRef.html):

- `Toast-Signature` = base64 HMAC-SHA256, key = the subscription's webhook secret, over the raw body
  followed by the message timestamp. Which timestamp is an open item (PROVIDERS.md D1); we assume the
  message's own top-level `timestamp` field, exactly as it appears in the JSON. `signing_timestamp`
  is the one function to change once a real delivery shows otherwise.
- The message is `{timestamp, eventCategory, eventType, guid, details: <Order>}`; `guid` (or
  `eventGUID`) is the event id and dedupe key (Toast may deliver twice). A new order also arrives as
  `order_updated`.
- Order model (UNVERIFIED field detail, B4): `checks[]` with `selections[]` (displayName, quantity,
  unitOfMeasure, receiptLinePrice per unit, preDiscountPrice, price after discounts,
  appliedDiscounts), check-level `appliedDiscounts`, `taxAmount`, `totalAmount` (tax included, tip
  excluded), `paymentStatus` and `payments[]` (type CREDIT/CASH/..., cardType, last4Digits, amount,
  amountTendered). Only a check whose paymentStatus is PAID or CLOSED becomes a sale.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from app.domain.errors import SignatureRejected, ValidationFailed
from app.domain.events import PlatformEvent, TriggerEvent
from app.domain.inbound import InboundRequest
from app.domain.intake import parse_sale
from app.domain.lifecycle import OrderStatus, OrderUpdate, change_key
from app.domain.money import quantize
from app.domain.plugins import SecretField
from app.support.json_limits import JsonRejected, loads
from app.triggers.base import NotApplicable, PlatformTrigger
from app.triggers.payload import iso_time, json_object, number, objects

PLATFORM = "toast"
SIGNATURE_HEADER = "Toast-Signature"
ORDER_EVENT_TYPES = frozenset({"order_updated", "channel_order_updated"})
PAID_STATUSES = frozenset({"PAID", "CLOSED"})
UNITS = {"LB": "lb", "KG": "kg", "OZ": "oz"}
TENDERS = {"CREDIT": "card", "CASH": "cash", "GIFTCARD": "gift"}
LIMIT = Decimal(10_000_000)  # any amount or quantity beyond this is not a restaurant's
MAX_AGE = timedelta(hours=1)
"""Replay window on the signed timestamp. Toast resends a failed update after 5 minutes and once more
10 minutes later, then gives up (doc.toasttab.com/doc/devguide/apiRetrySupport.html): every genuine
delivery arrives within about a quarter of an hour of its timestamp; an hour leaves room for clock
skew and timeouts (docs/providers.md § B4)."""


def signing_timestamp(body: bytes) -> str | None:
    """The timestamp appended to the body before signing — ASSUMED (open item D1): the body's
    top-level `timestamp` value as it appears in the JSON (a string verbatim, a number as written).

    Toast signs inside the body, so this reads the body before it is verified: with the bounded loader,
    and a body it refuses has no timestamp (so no signature)."""
    try:
        data = loads(body, decimal=True)
    except JsonRejected:
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("timestamp")
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def compute_signature(secret: str, body: bytes, timestamp: str) -> str:
    """base64 HMAC-SHA256 over body + timestamp (UTF-8), keyed by the webhook secret."""
    digest = hmac.new(secret.encode("utf-8"), body + timestamp.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class ToastTrigger(PlatformTrigger):
    """Toast order webhooks for one restaurant location."""

    platform: ClassVar[str] = PLATFORM
    display_name: ClassVar[str] = "Toast"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("webhook_secret", "Webhook subscription secret"),)

    def __init__(self, *, webhook_secret: str, store_id: str, max_age: timedelta = MAX_AGE) -> None:
        self.require(webhook_secret=webhook_secret)
        super().__init__(store_id=store_id)
        self._secret = webhook_secret
        self.max_age = max_age

    def verify(self, request: InboundRequest) -> None:
        """Constant-time check of Toast-Signature over body + `signing_timestamp(body)`, then the replay
        window when that timestamp reads as a time (the signed field is itself an assumption, D1)."""
        given = request.header(SIGNATURE_HEADER)
        timestamp = signing_timestamp(request.body)
        if not given or timestamp is None:
            raise SignatureRejected("Toast-Signature or the signed timestamp is missing")
        expected = compute_signature(self._secret, request.body, timestamp)
        if not hmac.compare_digest(expected.encode("ascii"), given.strip().encode("utf-8", "replace")):
            raise SignatureRejected("Toast-Signature does not match the webhook secret")
        sent = iso_time(timestamp)
        if sent is not None and abs(request.received_at - sent) > self.max_age:
            raise SignatureRejected(f"the Toast message timestamp {timestamp[:40]} is more than {self.max_age} away")

    async def events(self, request: InboundRequest) -> list[PlatformEvent]:
        """One sale event per paid or closed check of the order; a voided order as a cancellation."""
        message = json_object(request.body, decimal=True)
        event_guid = message.get("guid") or message.get("eventGUID")
        if not isinstance(event_guid, str) or not event_guid:
            raise ValidationFailed("a Toast message needs its event guid", field="guid")
        event_type = str(message.get("eventType", "")).lower()
        if event_type not in ORDER_EVENT_TYPES:
            raise NotApplicable(f"Toast event type {event_type or '(none)'} asks for no receipt")
        order = message.get("details")
        if not isinstance(order, dict) or not isinstance(order.get("guid"), str):
            raise ValidationFailed("a Toast order message needs `details` with the order", field="details")
        checks = order.get("checks")
        if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
            raise ValidationFailed("the order's checks must be a list of objects", field="details.checks")
        if order.get("voided") is True:  # a void after payment cancels the order its receipt named
            return [self._voided(order, event_guid, request.received_at)]
        paid = [c for c in checks if c.get("paymentStatus") in PAID_STATUSES and c.get("voided") is not True]
        if not paid:
            raise NotApplicable("no paid check in the Toast order yet")
        found: list[PlatformEvent] = []
        for check in paid:
            sale = parse_sale(check_to_sale(order, check, store_id=self.store_id, message=message))
            event_id = event_guid if len(checks) == 1 else f"{event_guid}:{check.get('guid')}"
            found.append(
                TriggerEvent(
                    source=PLATFORM,
                    event_id=event_id[:200],
                    sale=sale,
                    received_at=request.received_at,
                    order_id=sale.order_id,
                )
            )
        return found

    def _voided(self, order: dict[str, Any], event_guid: str, received_at: datetime) -> OrderUpdate:
        occurred = iso_time(order.get("voidDate") or order.get("modifiedDate")) or received_at
        return OrderUpdate(
            source=PLATFORM,
            event_id=event_guid[:200],
            store_id=self.store_id,
            order_id=safe_id(order["guid"]),
            status=OrderStatus.CANCELLED,
            occurred_at=occurred,
            received_at=received_at,
            update_key=change_key("voided"),  # a void gives no reason a shopper could be told
        )


def check_to_sale(
    order: dict[str, Any], check: dict[str, Any], *, store_id: str, message: dict[str, Any]
) -> dict[str, Any]:
    """The canonical sale dict of one paid check (checked afterwards by `parse_sale`)."""
    selections = objects(check.get("selections"), "selections")
    items = [_line(s) for s in selections if s.get("voided") is not True]
    items_total = sum((Decimal(i["line_total"]) for i in items), Decimal(0))
    discounts = [_discount(d) for d in objects(check.get("appliedDiscounts"), "appliedDiscounts")]
    savings = sum((Decimal(d["amount"]) for i in items for d in i["discounts"]), Decimal(0))
    savings += sum((Decimal(d["amount"]) for d in discounts), Decimal(0))
    tax = _money(check.get("taxAmount", 0))
    rates = {
        str(t.get("rate")) for s in selections for t in objects(s.get("appliedTaxes"), "appliedTaxes") if "rate" in t
    }
    rate = _money_rate(next(iter(rates))) if len(rates) == 1 else Decimal(0)
    payments = [p for p in objects(check.get("payments"), "payments") if p.get("paymentStatus") != "VOIDED"]
    center = order.get("revenueCenter")
    when = check.get("closedDate") or order.get("paidDate") or order.get("closedDate") or message.get("timestamp")
    sale: dict[str, Any] = {
        "sale_id": f"toast-{safe_id(check.get('guid'))}",
        "store_id": store_id,
        "lane": str(center["guid"]) if isinstance(center, dict) and center.get("guid") else "web",
        "occurred_at": _aware(when),
        "order_id": safe_id(order["guid"]),
        "items": items,
        "discounts": discounts,
        "taxes": [{"name": "Sales tax", "rate": str(rate), "amount": str(tax)}] if tax else [],
        "subtotal": str(items_total - savings),
        "total_savings": str(savings),
        "total": str(_money(check.get("totalAmount"))),
        "tenders": [_tender(p) for p in payments],
    }
    customer = check.get("customer")
    if isinstance(customer, dict):
        name = " ".join(str(customer[k]) for k in ("firstName", "lastName") if customer.get(k)) or None
        sale["customer"] = {"name": name, "email": customer.get("email"), "phone": customer.get("phone")}
    return sale


def safe_id(guid: Any) -> str:
    """A Toast GUID as an id, dashes turned to dots: the card-number scan reads a dashed UUID's digit
    groups as one run (`1234-567890123456` is 16 digits, Luhn-valid for ~1 GUID in 100); dots keep
    every run at 12 digits or fewer, below any card number."""
    return str(guid).replace("-", ".")


def _line(s: dict[str, Any]) -> dict[str, Any]:
    quantity = number(s.get("quantity", 1), "quantity", limit=LIMIT)
    discounts = [_discount(d) for d in objects(s.get("appliedDiscounts"), "appliedDiscounts")]
    off = sum((Decimal(d["amount"]) for d in discounts), Decimal(0))
    pre = s.get("preDiscountPrice")
    line_total = _money(pre) if pre is not None else _money(s.get("price")) + off
    unit_price = _money(s["receiptLinePrice"]) if s.get("receiptLinePrice") is not None else None
    if unit_price is None:
        unit_price = quantize(line_total / quantity) if quantity else line_total
    return {
        "name": str(s.get("displayName") or "Item")[:200],
        "quantity": str(quantity.normalize()),
        "unit": UNITS.get(str(s.get("unitOfMeasure", "")).upper(), "ea"),
        "unit_price": str(unit_price),
        "line_total": str(line_total),
        "taxable": _money(s.get("tax", 0)) > 0,
        "discounts": discounts,
    }


def _discount(d: dict[str, Any]) -> dict[str, Any]:
    return {"description": str(d.get("name") or "Discount")[:200], "amount": str(_money(d.get("discountAmount")))}


def _tender(p: dict[str, Any]) -> dict[str, Any]:
    amount = _money(p.get("amount"))
    kind = TENDERS.get(str(p.get("type", "")).upper(), "other")
    if kind == "card":
        brand = str(p.get("cardType") or "Card").title()[:30]
        return {"type": "card", "amount": str(amount), "card_brand": brand, "last4": p.get("last4Digits")}
    if kind == "cash" and p.get("amountTendered") is not None:
        handed = _money(p["amountTendered"])
        return {"type": "cash", "amount": str(handed), "change_due": str(handed - amount)}
    return {"type": kind, "amount": str(amount)}


def _money(value: Any) -> Decimal:
    """Toast sends dollars as JSON numbers; round to cents half-up as the till printed them."""
    return quantize(number(value, "amount", limit=LIMIT))


def _aware(value: Any) -> str:
    """Toast dates look like 2024-10-10T18:30:00.000+0000."""
    when = iso_time(value)
    if when is None:
        raise ValidationFailed("the check has no closedDate with a UTC offset", field="closedDate")
    return when.isoformat()


def _money_rate(raw: str) -> Decimal:
    try:
        return Decimal(raw).quantize(Decimal("0.000001"))
    except InvalidOperation:
        return Decimal(0)
