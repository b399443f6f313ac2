"""Shopify order webhooks (`/webhooks/shopify`): orders/create, orders/paid, fulfillments/create|update.

Signature (shopify.dev/docs/apps/build/webhooks/verify-deliveries): `X-Shopify-Hmac-Sha256` is the
base64 HMAC-SHA256 of the raw body keyed with the app's client secret; during a secret rotation the
old secret stays valid for up to an hour, so an optional previous secret is accepted too.
Nothing time-related is signed. A delivery whose `X-Shopify-Triggered-At` is older than
`STALE_AFTER` is refused: Shopify retries 8 times over 4 hours (shopify.dev/docs/apps/build/webhooks),
so anything older is not a genuine retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from app.domain.cards import contains_card_number
from app.domain.errors import CardDataRejected, SignatureRejected, ValidationFailed
from app.domain.events import PlatformEvent, TriggerEvent
from app.domain.inbound import InboundRequest
from app.domain.intake import parse_sale
from app.domain.money import quantize
from app.domain.plugins import SecretField
from app.triggers.base import NotApplicable, PlatformTrigger
from app.triggers.payload import array, iso_time, json_object, number, obj, text
from app.triggers.shopify_lifecycle import LIFECYCLE_TOPICS, order_name, order_update

PLATFORM = "shopify"
STALE_AFTER = timedelta(hours=5)
"""Shopify's 4-hour retry window plus an hour for clock skew and our own queueing."""
SALE_TOPICS = frozenset({"orders/create", "orders/paid"})
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,63}$")


def compute_hmac(secret: str, body: bytes) -> str:
    """The value Shopify puts in `X-Shopify-Hmac-Sha256` for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def shopify_id(raw: object) -> str:
    """An order id as we write it: ids of 13+ digits go in groups of six (`820982.911946.154508`).

    Shopify ids are 64-bit integers; written as one run a Luhn-valid one would be taken for a card
    number by the card guard of `parse_sale`, so long ones are grouped the same way every time.
    """
    text = str(raw).strip()
    if not text.isdigit() or len(text) < 13:
        return text
    groups = [text[max(0, end - 6) : end] for end in range(len(text), 0, -6)]
    return ".".join(reversed(groups))


def _money(value: Any, field: str) -> Decimal:
    return quantize(number(value, field))


def _tax(line: Any, field: str) -> dict[str, Any]:
    line = obj(line, field)
    rate = number(line.get("rate") or 0, f"{field}.rate")
    return {
        "name": text(line.get("title"), "Sales tax"),
        "rate": str(rate.quantize(Decimal("0.000001"))),
        "amount": str(_money(line.get("price") or "0", f"{field}.price")),
    }


class ShopifyTrigger(PlatformTrigger):
    """Paid Shopify orders as sales; fulfilments, cancellations and refunds as order updates."""

    platform: ClassVar[str] = PLATFORM
    display_name: ClassVar[str] = "Shopify"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (
        SecretField("client_secret", "App client secret (signs webhooks)"),
        SecretField("previous_client_secret", "Previous client secret, during a rotation", required=False),
    )

    def __init__(
        self,
        *,
        client_secret: str,
        store_id: str,
        previous_client_secret: str | None = None,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.require(client_secret=client_secret)
        super().__init__(store_id=store_id)
        self._secrets = [client_secret] + ([previous_client_secret] if previous_client_secret else [])
        self.stale_after = stale_after

    def verify(self, request: InboundRequest) -> None:
        """Constant-time HMAC check against each accepted secret, then the stale-retry check."""
        given = (request.header("X-Shopify-Hmac-Sha256") or "").strip()
        if not given:
            raise SignatureRejected("Shopify webhook without X-Shopify-Hmac-Sha256")
        given_bytes = given.encode("utf-8", "replace")
        if not any(
            hmac.compare_digest(compute_hmac(secret, request.body).encode("ascii"), given_bytes)
            for secret in self._secrets
        ):
            raise SignatureRejected("Shopify webhook signature does not match")
        triggered = iso_time(request.header("X-Shopify-Triggered-At"))
        if triggered is not None and request.received_at - triggered > self.stale_after:
            raise SignatureRejected(f"Shopify webhook triggered at {triggered.isoformat()} is a stale retry")

    async def events(self, request: InboundRequest) -> list[PlatformEvent]:
        """A paid order as one sale event, a fulfilment, cancellation or refund as one order update."""
        topic = (request.header("X-Shopify-Topic") or "").strip().lower()
        event_id = (request.header("X-Shopify-Event-Id") or request.header("X-Shopify-Webhook-Id") or "").strip()
        payload = json_object(request.body)
        if topic not in SALE_TOPICS | LIFECYCLE_TOPICS:
            raise NotApplicable(f"Shopify topic {topic or '(none)'} asks for no receipt")
        if not event_id:
            raise ValidationFailed(
                "Shopify webhook without X-Shopify-Event-Id or X-Shopify-Webhook-Id", field="headers"
            )
        if topic in LIFECYCLE_TOPICS:
            raw_order = payload.get("order_id") if topic != "orders/cancelled" else payload.get("id")
            if not isinstance(raw_order, int | str) or isinstance(raw_order, bool) or not str(raw_order).strip():
                raise ValidationFailed(f"Shopify {topic} without an order id", field="order_id")
            order_id = shopify_id(raw_order)
            if not _IDENTIFIER.match(order_id):
                raise ValidationFailed(f"Shopify {topic}: unusable order id", field="order_id")
            when = iso_time(payload.get("updated_at"), payload.get("created_at"))
            return [
                order_update(
                    topic,
                    payload,
                    event_id=event_id[:200],
                    store_id=self.store_id,
                    order_id=order_id,
                    received_at=request.received_at,
                    when=when,
                )
            ]
        status = payload.get("financial_status")
        if status != "paid":
            raise NotApplicable(f"Shopify order {shopify_id(payload.get('id'))} is {status or 'unpaid'}, not paid")
        sale = parse_sale(self.sale_payload(payload))
        return [
            TriggerEvent(
                source=PLATFORM,
                event_id=event_id[:200],
                sale=sale,
                received_at=request.received_at,
                order_id=sale.order_id,
            )
        ]

    def sale_payload(self, order: dict[str, Any]) -> dict[str, Any]:
        """The canonical sale dict for a Shopify order (REST Order JSON, as webhooks carry it)."""
        raw_id = order.get("id")
        if not isinstance(raw_id, int | str) or isinstance(raw_id, bool) or not str(raw_id).strip():
            raise ValidationFailed("Shopify order without an id", field="id")
        order_id = shopify_id(raw_id)
        if order.get("taxes_included") is True:
            raise ValidationFailed("Shopify orders with tax-inclusive prices are not supported", field="taxes_included")
        applications = array(order.get("discount_applications"), "discount_applications")
        items = [
            self._line(line, f"line_items.{i}", applications)
            for i, line in enumerate(array(order.get("line_items"), "line_items"))
        ]
        for i, ship in enumerate(array(order.get("shipping_lines"), "shipping_lines")):
            line = dict(obj(ship, f"shipping_lines.{i}"), quantity=1, taxable=False, sku="SHIPPING")
            line["title"] = "Shipping"  # our Sale has no shipping field: shipping is a line
            items.append(self._line(line, f"shipping_lines.{i}", applications))
        line_savings = sum((Decimal(d["amount"]) for item in items for d in item["discounts"]), Decimal(0))
        total_discounts = _money(order.get("total_discounts") or "0", "total_discounts")
        discounts: list[dict[str, Any]] = []
        rest = total_discounts - line_savings
        if rest > 0:
            codes = [obj(c, "discount_codes").get("code") for c in array(order.get("discount_codes"), "discount_codes")]
            code = codes[0] if len(codes) == 1 and isinstance(codes[0], str) and _IDENTIFIER.match(codes[0]) else None
            label = ", ".join(c for c in codes if isinstance(c, str)) or "Order discount"
            discounts.append(
                {"description": text(label, "Order discount"), "amount": str(rest), "promotion_code": code}
            )
        taxes = [_tax(t, f"tax_lines.{i}") for i, t in enumerate(array(order.get("tax_lines"), "tax_lines"))]
        items_total = sum((Decimal(item["line_total"]) for item in items), Decimal(0))
        savings = line_savings + sum((Decimal(d["amount"]) for d in discounts), Decimal(0))
        total = _money(order.get("total_price") or "0", "total_price")
        when = iso_time(order.get("processed_at"), order.get("created_at"))
        if when is None:
            raise ValidationFailed("Shopify order without a processed_at/created_at time", field="created_at")
        return {
            "sale_id": f"{PLATFORM}-{order_id}",
            "store_id": self.store_id,
            "lane": "web",
            "occurred_at": when.isoformat(),
            "currency": order.get("currency") or "USD",
            "order_id": order_id,
            "order_name": order_name(order),
            "items": items,
            "discounts": discounts,
            "taxes": taxes,
            "subtotal": str(items_total - savings),
            "total_savings": str(savings),
            "total": str(total),
            "tenders": self._tenders(order, total),
            "customer": self._customer(order),
        }

    def _line(self, line: Any, field: str, applications: list[Any]) -> dict[str, Any]:
        line = obj(line, field)
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= 100_000:
            raise ValidationFailed(f"{field}.quantity: expected a whole number", field=f"{field}.quantity")
        price = _money(line.get("price"), f"{field}.price")
        discounts = []
        for j, alloc in enumerate(array(line.get("discount_allocations"), f"{field}.discount_allocations")):
            alloc = obj(alloc, f"{field}.discount_allocations.{j}")
            amount = _money(alloc.get("amount") or "0", f"{field}.discount_allocations.{j}.amount")
            index = alloc.get("discount_application_index")
            app = applications[index] if isinstance(index, int) and 0 <= index < len(applications) else {}
            app = app if isinstance(app, dict) else {}
            if amount > 0:
                label = app.get("title") or app.get("code") or app.get("description")
                discounts.append({"description": text(label, "Discount"), "amount": str(amount)})
        sku = line.get("sku")
        return {
            "sku": sku if isinstance(sku, str) and _IDENTIFIER.match(sku) else None,
            "name": text(line.get("title") or line.get("name"), "Item"),
            "quantity": str(quantity),
            "unit_price": str(price),
            "line_total": str(quantize(price * quantity)),
            "taxable": line.get("taxable") is True,
            "discounts": discounts,
        }

    def _tenders(self, order: dict[str, Any], total: Decimal) -> list[dict[str, Any]]:
        tenders = []
        for i, tx in enumerate(array(order.get("transactions"), "transactions")):
            tx = obj(tx, f"transactions.{i}")
            if tx.get("kind") in ("sale", "capture") and tx.get("status") == "success":
                amount = _money(tx.get("amount") or "0", f"transactions.{i}.amount")
                tenders.append(_tender(tx.get("gateway"), tx.get("payment_details"), amount, f"transactions.{i}"))
        if not tenders:
            tenders.append(_tender(order.get("gateway"), order.get("payment_details"), total, "payment_details"))
        return tenders

    def _customer(self, order: dict[str, Any]) -> dict[str, Any] | None:
        customer = obj(order.get("customer"), "customer")
        email = order.get("email") or order.get("contact_email") or customer.get("email")
        phone = order.get("phone") or customer.get("phone")
        name = " ".join(str(customer.get(k)) for k in ("first_name", "last_name") if customer.get(k))
        if not (email or phone):
            return None
        channels = ["email"] if email else ["sms"]
        return {"name": name[:100] or None, "email": email or None, "phone": phone or None, "channels": channels}


def _tender(gateway: Any, details: Any, amount: Decimal, field: str) -> dict[str, Any]:
    """Brand and last four only: `credit_card_number` arrives masked ("•••• •••• •••• 4242")."""
    details = obj(details, f"{field}.payment_details")
    masked = details.get("credit_card_number")
    if isinstance(masked, str) and contains_card_number(masked):
        raise CardDataRejected(
            f"{field}.payment_details.credit_card_number: looks like a full card number",
            field=f"{field}.payment_details.credit_card_number",
        )
    digits = re.sub(r"\D", "", masked) if isinstance(masked, str) else ""
    brand = details.get("credit_card_company")
    if gateway == "gift_card":
        return {"type": "gift", "amount": str(amount)}
    if isinstance(brand, str) and brand.strip():
        return {
            "type": "card",
            "amount": str(amount),
            "card_brand": brand.strip()[:30],
            "last4": digits[-4:] if len(digits) >= 4 else None,
        }
    return {"type": "other", "amount": str(amount)}
