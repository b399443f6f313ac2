"""Square webhooks (`/webhooks/square`): payment.updated and order.updated once COMPLETED as sales;
order.updated CANCELED and refund.created/updated once COMPLETED as order updates.

Signature (developer.squareup.com/docs/webhooks/step3validate): `x-square-hmacsha256-signature` is
the base64 HMAC-SHA256, keyed with the subscription's signature key, of the notification URL exactly
as configured followed by the raw body. Nothing time-related is signed; `event_id` is the dedupe key.
Neither event carries line items (order.updated has only `order_updated {order_id, state}`), so the
order is fetched with `GET /v2/orders/{order_id}`. Money is in cents (`amount_money.amount`).
A refund's `reason` is text the seller chose or typed: it maps through `app.domain.reasons` and is
never shown as written; a CANCELED order carries no reason. Square orders have no name a shopper
knows them by (a receipt shows the payment), so updates name them by order id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from app.domain.errors import ConfigurationError, SignatureRejected, TransientProviderError, ValidationFailed
from app.domain.events import PlatformEvent, TriggerEvent
from app.domain.inbound import InboundRequest
from app.domain.intake import parse_sale
from app.domain.lifecycle import OrderStatus, OrderUpdate, change_key
from app.domain.money import quantize
from app.domain.plugins import SecretField, SettingField
from app.domain.reasons import SQUARE_REFUND, reason
from app.support.json_limits import JsonRejected, loads
from app.triggers.base import NotApplicable, PlatformTrigger
from app.triggers.payload import cents, iso_time, json_object, obj, objects, optional_text, text

PLATFORM = "square"
BASE_URL = "https://connect.squareup.com"
SQUARE_VERSION = "2025-10-16"
_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,192}$")
_LOCATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,63}$")
CARD_BRANDS = {"VISA": "Visa", "MASTERCARD": "Mastercard", "AMERICAN_EXPRESS": "Amex", "DISCOVER": "Discover"}
ENTRY_MODES = {"EMV": "chip", "CONTACTLESS": "contactless", "SWIPED": "swipe", "KEYED": "manual"}
TENDER_TYPES = {"CARD": "card", "CASH": "cash", "SQUARE_GIFT_CARD": "gift", "WALLET": "card"}
WEIGHT_UNITS = {"IMPERIAL_POUND": "lb", "METRIC_KILOGRAM": "kg", "IMPERIAL_WEIGHT_OUNCE": "oz"}


def compute_signature(signature_key: str, notification_url: str, body: bytes) -> str:
    """The value Square puts in `x-square-hmacsha256-signature`."""
    digest = hmac.new(signature_key.encode("utf-8"), notification_url.encode("utf-8") + body, hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def money(value: Any, field: str) -> Decimal:
    """`{"amount": 1099, "currency": "USD"}` as `Decimal("10.99")`; a missing amount is zero."""
    return cents(obj(value, field).get("amount", 0), f"{field}.amount", signed=True)


class SquareTrigger(PlatformTrigger):
    """Completed Square payments and orders as sales, the order fetched from Square's API."""

    platform: ClassVar[str] = PLATFORM
    display_name: ClassVar[str] = "Square"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (
        SecretField("signature_key", "Webhook subscription signature key"),
        SecretField("access_token", "Access token (reads the orders webhooks name)"),
    )
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("notification_url", "Notification URL exactly as subscribed", required=False),
        SettingField("base_url", "API base URL", required=False),
    )
    uses_http: ClassVar[bool] = True

    def __init__(
        self,
        *,
        signature_key: str,
        store_id: str,
        client: httpx.AsyncClient,
        access_token: str,
        notification_url: str | None = None,
        base_url: str = BASE_URL,
        square_version: str = SQUARE_VERSION,
    ) -> None:
        self.require(signature_key=signature_key, access_token=access_token)
        super().__init__(store_id=store_id)
        self._key = signature_key
        self._client = client
        self._token = access_token
        self.notification_url = notification_url
        self.base_url = base_url.rstrip("/")
        self.square_version = square_version

    def verify(self, request: InboundRequest) -> None:
        """Constant-time check over the configured notification URL (else the URL called) + raw body."""
        given = (request.header("x-square-hmacsha256-signature") or "").strip()
        if not given:
            raise SignatureRejected("Square webhook without x-square-hmacsha256-signature")
        expected = compute_signature(self._key, self.notification_url or request.url, request.body)
        if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace")):
            raise SignatureRejected("Square webhook signature does not match")

    async def events(self, request: InboundRequest) -> list[PlatformEvent]:
        """A COMPLETED payment or order as one sale event; a CANCELED order or COMPLETED refund as an update."""
        envelope = json_object(request.body)
        kind, event_id = envelope.get("type"), envelope.get("event_id")
        data = obj(obj(envelope.get("data"), "data").get("object"), "data.object")
        payment: dict[str, Any] = {}
        if kind == "payment.updated":
            payment = obj(data.get("payment"), "data.object.payment")
            if payment.get("status") != "COMPLETED":
                raise NotApplicable(f"Square payment is {payment.get('status') or 'unknown'}, not COMPLETED")
            order_id = payment.get("order_id")
        elif kind == "order.updated":
            update = obj(data.get("order_updated"), "data.object.order_updated")
            if update.get("state") == "CANCELED":
                return [self._lifecycle(envelope, update, OrderStatus.CANCELLED, request.received_at)]
            if update.get("state") != "COMPLETED":
                raise NotApplicable(f"Square order is {update.get('state') or 'unknown'}, not COMPLETED")
            order_id = update.get("order_id")
        elif kind in ("refund.created", "refund.updated"):
            refund = obj(data.get("refund"), "data.object.refund")
            if refund.get("status") != "COMPLETED":
                raise NotApplicable(f"Square refund is {refund.get('status') or 'unknown'}, not COMPLETED")
            return [self._lifecycle(envelope, refund, OrderStatus.REFUNDED, request.received_at)]
        else:
            raise NotApplicable(f"Square event {str(kind)[:60]} asks for no receipt")
        if not isinstance(event_id, str) or not event_id.strip():
            raise ValidationFailed("Square webhook without event_id", field="event_id")
        if not isinstance(order_id, str) or not _ORDER_ID.match(order_id):
            raise ValidationFailed("Square event without a usable order_id", field="order_id")
        order = obj(data.get("order"), "data.object.order")
        if not order.get("line_items"):
            order = await self.fetch_order(order_id)
        sale = parse_sale(self.sale_payload(order, payment, fallback_time=envelope.get("created_at")))
        return [
            TriggerEvent(
                source=PLATFORM,
                event_id=event_id.strip()[:200],
                sale=sale,
                received_at=request.received_at,
                order_id=sale.order_id,
            )
        ]

    def _lifecycle(
        self, envelope: dict[str, Any], item: dict[str, Any], status: OrderStatus, received_at: datetime
    ) -> OrderUpdate:
        """A cancelled order (`order_updated`) or a completed refund (`refund`) as an order update."""
        event_id, order_id = envelope.get("event_id"), item.get("order_id")
        if not isinstance(event_id, str) or not event_id.strip():
            raise ValidationFailed("Square webhook without event_id", field="event_id")
        if not isinstance(order_id, str) or not _ORDER_ID.match(order_id):
            raise ValidationFailed("Square event without a usable order_id", field="order_id")
        refund = None
        key = change_key("cancelled")
        said = optional_text(item.get("reason")) if status is OrderStatus.REFUNDED else None
        if status is OrderStatus.REFUNDED:
            refund = money(item.get("amount_money"), "data.object.refund.amount_money")
            key = change_key("refund", item.get("id"))
        return OrderUpdate(
            source=PLATFORM,
            event_id=event_id.strip()[:200],
            store_id=self.store_id,
            order_id=order_id,
            sale_id=f"{PLATFORM}-{order_id}",
            status=status,
            occurred_at=iso_time(item.get("updated_at"), envelope.get("created_at")) or received_at,
            received_at=received_at,
            update_key=key,
            refund_amount=refund,
            reason=reason(SQUARE_REFUND, said, fold=True),
            extra={"platform_reason": said[:60]} if said else {},
        )

    async def fetch_order(self, order_id: str) -> dict[str, Any]:
        """`GET /v2/orders/{order_id}` with the access token (Square Orders API RetrieveOrder)."""
        headers = {"Authorization": f"Bearer {self._token}", "Square-Version": self.square_version}
        try:
            response = await self._client.get(f"{self.base_url}/v2/orders/{order_id}", headers=headers)
        except httpx.HTTPError as exc:
            raise TransientProviderError(f"Square order {order_id} could not be fetched: {exc}") from exc
        if response.status_code in (401, 403):
            raise ConfigurationError(f"Square refused the access token ({response.status_code})")
        if response.status_code == 404:
            raise ValidationFailed(f"Square order {order_id} does not exist", field="order_id")
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientProviderError(f"Square answered {response.status_code}", status_code=response.status_code)
        try:
            answer = loads(response.content)
        except JsonRejected:
            answer = None
        order = answer.get("order") if isinstance(answer, dict) else None
        if response.status_code != 200 or not isinstance(order, dict):
            raise ValidationFailed(f"Square order {order_id}: unexpected answer {response.status_code}")
        return order

    def sale_payload(self, order: dict[str, Any], payment: dict[str, Any], *, fallback_time: Any) -> dict[str, Any]:
        """The canonical sale dict for a Square Order (and the payment that completed it, if known)."""
        order_id = order.get("id")
        if not isinstance(order_id, str) or not order_id:
            raise ValidationFailed("Square order without an id", field="order.id")
        names = {d.get("uid"): d.get("name") for d in objects(order.get("discounts"), "order.discounts")}
        items = [
            self._line(line, f"order.line_items.{i}", names)
            for i, line in enumerate(objects(order.get("line_items"), "order.line_items"))
        ]
        for i, charge in enumerate(objects(order.get("service_charges"), "order.service_charges")):
            amount = money(charge.get("applied_money") or charge.get("amount_money"), f"order.service_charges.{i}")
            items.append(
                {
                    "name": text(charge.get("name"), "Service charge"),
                    "quantity": "1",
                    "unit_price": str(amount),
                    "line_total": str(amount),
                }
            )
        taxes = []
        for i, tax in enumerate(objects(order.get("taxes"), "order.taxes")):
            if tax.get("type") == "INCLUSIVE":
                raise ValidationFailed("Square orders with tax-inclusive prices are not supported", field="order.taxes")
            try:
                rate = (Decimal(str(tax.get("percentage") or "0")) / 100).quantize(Decimal("0.000001"))
            except ArithmeticError:
                raise ValidationFailed("not a percentage", field=f"order.taxes.{i}.percentage") from None
            taxes.append(
                {
                    "name": text(tax.get("name"), "Sales tax"),
                    "rate": str(rate),
                    "amount": str(money(tax.get("applied_money"), f"order.taxes.{i}.applied_money")),
                }
            )
        items_total = sum((Decimal(line["line_total"]) for line in items), Decimal(0))
        savings = sum((Decimal(d["amount"]) for line in items for d in line.get("discounts", [])), Decimal(0))
        total = money(order.get("total_money"), "order.total_money") - money(order.get("total_tip_money"), "tip")
        tenders = [
            self._tender(t, f"order.tenders.{i}") for i, t in enumerate(objects(order.get("tenders"), "order.tenders"))
        ]
        if not tenders and payment:
            # payment.amount_money excludes the tip; an order tender's amount_money includes it.
            source = {k: payment.get(k) for k in ("amount_money", "card_details", "cash_details")}
            tenders = [self._tender({"type": payment.get("source_type") or "CARD", **source}, "payment")]
        when = iso_time(order.get("closed_at"), order.get("updated_at"), order.get("created_at"), fallback_time)
        if when is None:
            raise ValidationFailed("Square order without a time", field="order.created_at")
        location = order.get("location_id")
        currency = obj(order.get("total_money"), "order.total_money").get("currency") or "USD"
        return {
            "sale_id": f"{PLATFORM}-{order_id}",
            "store_id": self.store_id,
            "lane": location if isinstance(location, str) and _LOCATION.match(location) else "web",
            "occurred_at": when.isoformat(),
            "currency": currency,
            "order_id": order_id,
            "items": items,
            "taxes": taxes,
            "subtotal": str(items_total - savings),
            "total_savings": str(savings),
            "total": str(total),
            "tenders": tenders,
            "customer": self._customer(order, payment),
        }

    def _line(self, line: dict[str, Any], field: str, names: dict[Any, Any]) -> dict[str, Any]:
        try:
            quantity = Decimal(str(line.get("quantity") or "1"))
        except ArithmeticError:
            raise ValidationFailed("not a quantity", field=f"{field}.quantity") from None
        unit_price = money(line.get("base_price_money"), f"{field}.base_price_money")
        measurement = obj(obj(line.get("quantity_unit"), f"{field}.quantity_unit").get("measurement_unit"), field)
        discounts = [
            {
                "description": text(names.get(d.get("discount_uid")), "Discount"),
                "amount": str(money(d.get("applied_money"), f"{field}.applied_discounts.{j}.applied_money")),
            }
            for j, d in enumerate(objects(line.get("applied_discounts"), f"{field}.applied_discounts"))
        ]
        try:
            line_total = quantize(quantity * unit_price)
        except ArithmeticError:
            raise ValidationFailed("quantity x price is not an amount", field=f"{field}.quantity") from None
        return {
            "name": text(line.get("name"), "Item"),
            "quantity": str(quantity),
            "unit": WEIGHT_UNITS.get(str(measurement.get("weight_unit")), "ea"),
            "unit_price": str(unit_price),
            "line_total": str(line_total),
            "taxable": bool(line.get("applied_taxes")),
            "discounts": [d for d in discounts if Decimal(d["amount"]) > 0],
        }

    def _tender(self, tender: dict[str, Any], field: str) -> dict[str, Any]:
        """Card brand and last four only (`card_details.card.card_brand`, `last_4`)."""
        amount = money(tender.get("amount_money"), f"{field}.amount_money") - money(tender.get("tip_money"), "tip")
        kind = TENDER_TYPES.get(str(tender.get("type")), "other")
        result: dict[str, Any] = {"type": kind, "amount": str(amount)}
        details = obj(tender.get("card_details"), f"{field}.card_details")
        card = obj(details.get("card"), f"{field}.card_details.card")
        if card:
            brand = str(card.get("card_brand") or "")
            result["card_brand"] = CARD_BRANDS.get(brand, brand.replace("_", " ").title()) or None
            result["last4"] = card.get("last_4")
            result["entry_mode"] = ENTRY_MODES.get(str(details.get("entry_method")), "other")
        cash = obj(tender.get("cash_details"), f"{field}.cash_details")
        if kind == "cash" and cash:
            change = money(cash.get("change_back_money"), f"{field}.cash_details.change_back_money")
            tendered = money(cash.get("buyer_tendered_money"), f"{field}.cash_details.buyer_tendered_money")
            result.update(amount=str(tendered or amount), change_due=str(change))
        return result

    def _customer(self, order: dict[str, Any], payment: dict[str, Any]) -> dict[str, Any] | None:
        recipient: dict[str, Any] = {}
        for fulfillment in objects(order.get("fulfillments"), "order.fulfillments"):
            for key in ("pickup_details", "shipment_details", "delivery_details"):
                recipient = recipient or obj(obj(fulfillment.get(key), key).get("recipient"), "recipient")
        email = payment.get("buyer_email_address") or recipient.get("email_address")
        phone = recipient.get("phone_number")
        if not (isinstance(email, str) and email) and not (isinstance(phone, str) and phone):
            return None
        name = recipient.get("display_name")
        return {
            "name": name[:100] if isinstance(name, str) and name else None,
            "email": email or None,
            "phone": phone or None,
            "channels": ["email"] if email else ["sms"],
        }
