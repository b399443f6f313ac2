"""Clover webhooks (`/webhooks/clover`): the verification handshake, X-Clover-Auth, then the order.

PROVIDERS.md B3 (docs.clover.com/docs/webhooks):

- Setup: Clover POSTs `{"verificationCode": "<uuid>"}` unsigned; we answer 200 and show the code so
  the installer can paste it into the dashboard. `events` raises `CloverVerificationCode` (a
  `NotApplicable`) carrying it in `verification_code`; it is never a sale.
- Every later notification carries `X-Clover-Auth: <auth code>` (a static shared secret shown after
  verification): plain constant-time equality, no HMAC, no timestamp, so replays are caught only by
  the event id `"{objectId}:{type}:{ts}"`.
- The body names objects, not their content: `{"appId", "merchants": {mId: [{"objectId": "O:<id>",
  "type", "ts"}]}}`. For each order object of our merchant we GET
  `/v3/merchants/{mId}/orders/{orderId}?expand=...` with the merchant API token and map a paid order.

After the sale (`order_events`, shared with the catch-up poll): each refund the order lists
(`refunds`, docs.clover.com/dev/reference/paygetrefunds-3; `amount` in cents, tax included) is one
refund update, keyed by the refund's id; an order whose payments were all voided (`result` VOIDED,
with a `voidReason`, docs.clover.com/dev/reference/paygetpayment) is cancelled, and a void never
reached the card statement, so it says nothing was charged. Clover gives refunds no reason code; a
`voidReason` maps through `app.domain.reasons`. A Clover order has no name apart from its id (the id
is what Clover's own receipts print), so updates name it by its id.

Mapping choices (Clover REST v3 order model): money is integer cents; `unitQty` is thousandths of
`unitName`; discounts carry a negative `amount` or a whole `percentage`; tax is taken from the
payments' `taxAmount` (what was charged) rather than recomputed from line `taxRates`, which only give
the rate and the taxable flag. The order's own `total` is passed through, so `parse_sale` rejects an
order whose parts do not add up to it. A fetch that fails raises `TransientProviderError` (timeouts,
5xx, 429) or `PermanentProviderError` (401/403 and other statuses, e.g. a revoked token); a 404 (order
gone) is `NotApplicable` and a body that is not an order object is `ValidationFailed`.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx

from app.domain.errors import PermanentProviderError, SignatureRejected, TransientProviderError, ValidationFailed
from app.domain.events import PlatformEvent, TriggerEvent
from app.domain.inbound import InboundRequest
from app.domain.intake import parse_sale
from app.domain.lifecycle import OrderStatus, OrderUpdate, change_key
from app.domain.money import quantize
from app.domain.plugins import SecretField, SettingField
from app.domain.reasons import CLOVER_VOID, reason
from app.support.json_limits import JsonRejected, loads
from app.triggers.base import NotApplicable, PlatformTrigger
from app.triggers.payload import epoch_ms, json_object, objects, optional_text, text

log = logging.getLogger(__name__)

PLATFORM = "clover"
AUTH_HEADER = "X-Clover-Auth"
EXPAND = "lineItems,payments.cardTransaction,discounts,customers,refunds"
WEIGHT_UNITS = {"lb": "lb", "lbs": "lb", "pound": "lb", "kg": "kg", "oz": "oz"}
CASH_TENDER = "com.clover.tender.cash"
CARD_BRANDS = {"MC": "Mastercard", "AMEX": "Amex", "VISA": "Visa", "DISCOVER": "Discover"}
RATE_SCALE = Decimal(10_000_000)  # taxRates.rate: 10% is 1000000 (Clover REST "TaxRate.rate")


class CloverVerificationCode(NotApplicable):
    """Clover's setup handshake: show `verification_code` to the installer, answer 200, store nothing."""

    def __init__(self, verification_code: str) -> None:
        super().__init__("Clover webhook verification code received; paste it into the app's Webhooks page")
        self.verification_code = verification_code


class CloverTrigger(PlatformTrigger):
    """Clover order notifications for one merchant, completed by a fetch of the order."""

    platform: ClassVar[str] = PLATFORM
    display_name: ClassVar[str] = "Clover"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (
        SecretField("auth_code", "Webhook auth code (shown by Clover after the handshake)", required=False),
        SecretField("api_token", "Merchant API token (reads the orders notifications name)"),
    )
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("merchant_id", "Merchant id"),
        SettingField("base_url", "API base URL", required=False),
    )
    uses_http: ClassVar[bool] = True

    def __init__(
        self,
        *,
        auth_code: str | None,
        store_id: str,
        client: httpx.AsyncClient,
        api_token: str,
        merchant_id: str,
        base_url: str = "https://api.clover.com",
    ) -> None:
        """`auth_code` is None only until Clover shows it (after the handshake); until then all but
        the handshake is rejected."""
        super().__init__(store_id=store_id)
        self.require(api_token=api_token, merchant_id=merchant_id)
        self._auth_code = auth_code.encode("utf-8") if auth_code else None
        self._client = client
        self._api_token = api_token
        self.merchant_id = merchant_id
        self.base_url = base_url.rstrip("/")

    def verify(self, request: InboundRequest) -> None:
        """The handshake passes unsigned; everything else needs the exact X-Clover-Auth code."""
        if verification_code(request.body) is not None:
            return
        given = request.header(AUTH_HEADER)
        if self._auth_code is None:
            raise SignatureRejected("Clover auth code is not configured yet; only the verification handshake passes")
        if not given or not hmac.compare_digest(given.encode("utf-8", "replace"), self._auth_code):
            raise SignatureRejected("X-Clover-Auth does not match the auth code of this app")

    async def events(self, request: InboundRequest) -> list[PlatformEvent]:
        """A sale per paid order named in the notification (a batch may name several), and an update
        per refund or cancellation of it."""
        code = verification_code(request.body)
        if code is not None:
            log.info("Clover webhook verification code: %s", code)
            raise CloverVerificationCode(code)
        payload = json_object(request.body)
        merchants = payload.get("merchants")
        if not isinstance(merchants, dict):
            raise ValidationFailed("a Clover notification needs a `merchants` object", field="merchants")
        found: list[PlatformEvent] = []
        for merchant_id, items in merchants.items():
            if not isinstance(items, list):
                raise ValidationFailed("each merchant maps to a list of events", field=f"merchants.{merchant_id}")
            if merchant_id != self.merchant_id:
                continue
            for item in items:
                found.extend(await self._events(item, request.received_at))
        if not found:
            raise NotApplicable("no paid, refunded or cancelled order of this merchant in the Clover notification")
        return found

    async def _events(self, item: Any, received_at: datetime) -> list[PlatformEvent]:
        if not isinstance(item, dict):
            raise ValidationFailed("a Clover event must be an object", field="merchants")
        object_id, kind, ts = item.get("objectId"), item.get("type"), item.get("ts")
        if not isinstance(object_id, str) or not isinstance(kind, str) or not isinstance(ts, int | str):
            raise ValidationFailed("a Clover event needs objectId, type and ts", field="merchants")
        # objectId prefixes: O: orders, P: payments (B3); other object types ask for no receipt
        if not object_id.startswith("O:") or kind.upper() == "DELETE":
            return []
        order_id = object_id[2:]
        if not order_id or not order_id.isascii() or not order_id.replace("-", "").isalnum():
            raise ValidationFailed("malformed Clover order id", field="objectId")
        order = await self.fetch_order(order_id)
        return self.order_events(order, event_id=f"{object_id}:{kind}:{ts}"[:160], received_at=received_at)

    def order_events(self, order: dict[str, Any], *, event_id: str, received_at: datetime) -> list[PlatformEvent]:
        """What a fetched (or listed) order tells: its sale when paid, then each refund, or its cancellation.

        `event_id` names this sighting of the order; each update adds what it is about to it.
        """
        found: list[PlatformEvent] = []
        if is_paid(order):
            sale = parse_sale(order_to_sale(order, store_id=self.store_id))
            found.append(
                TriggerEvent(
                    source=PLATFORM, event_id=event_id, sale=sale, received_at=received_at, order_id=sale.order_id
                )
            )
        order_id = order.get("id")
        if not isinstance(order_id, str) or not order_id:
            return found
        for refund in _elements(order.get("refunds"), "refunds"):
            update = self._refund(order_id, refund, event_id, received_at)
            if update is not None:
                found.append(update)
        payments = _elements(order.get("payments"), "payments")
        voided = [p for p in payments if p.get("result") == "VOIDED"]
        if voided and not any(p.get("result", "SUCCESS") == "SUCCESS" for p in payments):
            code = optional_text(voided[0].get("voidReason"))
            found.append(
                self._update(
                    order_id,
                    f"{event_id}:cancelled",
                    received_at,
                    status=OrderStatus.CANCELLED,
                    occurred_at=epoch_ms(order.get("modifiedTime")) or received_at,
                    update_key=change_key("cancelled"),
                    reason=reason(CLOVER_VOID, code),
                    voided=True,
                    extra={"platform_reason": code[:60]} if code else {},
                )
            )
        return found

    def _refund(
        self, order_id: str, refund: dict[str, Any], event_id: str, received_at: datetime
    ) -> OrderUpdate | None:
        refund_id = refund.get("id")
        if not isinstance(refund_id, str) or not refund_id or refund.get("voided") is True:
            return None
        if str(refund.get("status") or "SUCCESS").upper() not in ("SUCCESS", "SUCCEEDED"):
            return None
        amount = _cents(refund.get("amount", 0))
        if amount <= 0:
            return None
        return self._update(
            order_id,
            f"{event_id}:refund:{refund_id}",
            received_at,
            status=OrderStatus.REFUNDED,
            occurred_at=epoch_ms(refund.get("clientCreatedTime") or refund.get("createdTime")) or received_at,
            update_key=change_key("refund", refund_id),
            refund_amount=amount,
        )

    def _update(self, order_id: str, event_id: str, received_at: datetime, **facts: Any) -> OrderUpdate:
        return OrderUpdate(
            source=PLATFORM,
            event_id=event_id[:200],
            store_id=self.store_id,
            order_id=order_id,
            sale_id=f"clover-{order_id}",
            received_at=received_at,
            **facts,
        )

    async def fetch_order(self, order_id: str) -> dict[str, Any]:
        """GET the order with its lines, payments, discounts and customers expanded."""
        url = f"{self.base_url}/v3/merchants/{self.merchant_id}/orders/{order_id}"
        try:
            response = await self._client.get(
                url, params={"expand": EXPAND}, headers={"Authorization": f"Bearer {self._api_token}"}
            )
        except httpx.HTTPError as exc:
            raise TransientProviderError(
                f"Clover order fetch failed: {type(exc).__name__}",
            ) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientProviderError("Clover order fetch failed", status_code=response.status_code)
        if response.status_code == 404:
            raise NotApplicable(f"Clover has no order {order_id} (deleted?)")
        if response.status_code != 200:
            raise PermanentProviderError("Clover refused the order fetch", status_code=response.status_code)
        try:
            order = loads(response.content)
        except JsonRejected as exc:
            raise ValidationFailed(f"Clover answered the order fetch with malformed JSON: {exc.message}") from None
        if not isinstance(order, dict):
            raise ValidationFailed("Clover answered the order fetch with something other than an order")
        return order


def verification_code(body: bytes) -> str | None:
    """The code of a setup handshake body `{"verificationCode": "..."}`, else None.

    The handshake is unsigned, so this reads a body nobody has vouched for: at most 512 bytes, with
    the bounded loader."""
    if len(body) > 512 or b"verificationCode" not in body:
        return None
    try:
        data = loads(body)
    except JsonRejected:
        return None
    if isinstance(data, dict) and set(data) == {"verificationCode"} and isinstance(data["verificationCode"], str):
        code: str = data["verificationCode"].strip()
        return code[:100] or None
    return None


def is_paid(order: dict[str, Any]) -> bool:
    """Paid per `paymentState`, or a `locked` order when Clover leaves `paymentState` out."""
    state = order.get("paymentState")
    if state is not None:
        return bool(state == "PAID")
    return bool(order.get("state") == "locked")


def order_to_sale(order: dict[str, Any], *, store_id: str) -> dict[str, Any]:
    """The canonical sale dict of a paid Clover order (checked afterwards by `parse_sale`)."""
    lines = _elements(order.get("lineItems"), "lineItems")
    items = [_line(li) for li in lines]
    items_total = sum((Decimal(i["line_total"]) for i in items), Decimal(0))
    line_off = sum((Decimal(d["amount"]) for i in items for d in i["discounts"]), Decimal(0))
    discounts = [
        {"description": text(d.get("name"), "Discount"), "amount": str(_discount(d, items_total - line_off))}
        for d in _elements(order.get("discounts"), "discounts")
    ]
    savings = line_off + sum((Decimal(d["amount"]) for d in discounts), Decimal(0))
    payments = [p for p in _elements(order.get("payments"), "payments") if p.get("result", "SUCCESS") == "SUCCESS"]
    tax = sum((_cents(p.get("taxAmount", 0)) for p in payments), Decimal(0))
    rates = {str(r.get("rate")) for li in lines for r in _elements(li.get("taxRates"), "lineItems.taxRates")}
    rate = _cents_rate(next(iter(rates))) if len(rates) == 1 else Decimal(0)
    customer = next(iter(_elements(order.get("customers"), "customers")), None)
    order_id = order.get("id")
    if not isinstance(order_id, str) or not order_id:
        raise ValidationFailed("the Clover order has no id", field="id")
    device = order.get("device")
    sale: dict[str, Any] = {
        "sale_id": f"clover-{order_id}",
        "store_id": store_id,
        # device ids are dashed UUIDs: dots keep the card-number scan from reading digit groups as a PAN
        "lane": str(device["id"]).replace("-", ".") if isinstance(device, dict) and device.get("id") else "clover",
        "occurred_at": _from_ms(order.get("clientCreatedTime") or order.get("createdTime")),
        "currency": order.get("currency") or "USD",
        "order_id": order_id,
        "items": items,
        "discounts": discounts,
        "taxes": [{"name": "Sales tax", "rate": str(rate), "amount": str(tax)}] if tax else [],
        "subtotal": str(items_total - savings),
        "total_savings": str(savings),
        "total": str(_cents(order.get("total"))),
        "tenders": [_tender(p) for p in payments],
    }
    if isinstance(customer, dict):
        sale["customer"] = _customer(customer)
    return sale


def _line(li: dict[str, Any]) -> dict[str, Any]:
    price = _cents(li.get("price"))
    unit = WEIGHT_UNITS.get(str(li.get("unitName") or "").strip().lower(), "ea")
    qty = _int(li["unitQty"], "unitQty") / 1000 if li.get("unitQty") else Decimal(1)  # thousandths of unitName
    line_total = quantize(qty * price)
    discounts = [
        {"description": text(d.get("name"), "Discount"), "amount": str(_discount(d, line_total))}
        for d in _elements(li.get("discounts"), "lineItems.discounts")
    ]
    return {
        "name": text(li.get("name"), "Item"),
        "quantity": str(qty.normalize()),
        "unit": unit,
        "unit_price": str(price),
        "line_total": str(line_total),
        "taxable": bool(_elements(li.get("taxRates"), "lineItems.taxRates")),
        "discounts": discounts,
    }


def _discount(d: dict[str, Any], base: Decimal) -> Decimal:
    if d.get("amount") is not None:
        return abs(_cents(d["amount"]))  # Clover stores discount amounts as negative cents
    return quantize(base * _int(d.get("percentage") or 0, "percentage") / 100)


def _tender(p: dict[str, Any]) -> dict[str, Any]:
    amount = _cents(p.get("amount"))
    card = p.get("cardTransaction")
    raw_tender = p.get("tender")
    tender: dict[str, Any] = raw_tender if isinstance(raw_tender, dict) else {}
    if isinstance(card, dict):
        return {
            "type": "card",
            "amount": str(amount),
            "card_brand": _brand(card.get("cardType")),
            "last4": card.get("last4"),
        }
    if tender.get("labelKey") == CASH_TENDER:
        handed = _cents(p["cashTendered"]) if p.get("cashTendered") else amount
        return {"type": "cash", "amount": str(handed), "change_due": str(handed - amount)}
    return {"type": "other", "amount": str(amount)}


def _brand(card_type: Any) -> str:
    raw = text(card_type, "Card")[:30]
    return CARD_BRANDS.get(raw.upper(), raw.title())


def _customer(c: dict[str, Any]) -> dict[str, Any]:
    name = " ".join(str(c[k]) for k in ("firstName", "lastName") if c.get(k)) or None
    email = next((e.get("emailAddress") for e in _elements(c.get("emailAddresses"), "customers.emailAddresses")), None)
    phone = next((p.get("phoneNumber") for p in _elements(c.get("phoneNumbers"), "customers.phoneNumbers")), None)
    return {"name": name, "email": email, "phone": phone}


def _elements(value: Any, field: str) -> list[dict[str, Any]]:
    """Clover wraps expanded lists as `{"elements": [...]}`."""
    return objects(value.get("elements") if isinstance(value, dict) else value, field)


def _int(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationFailed(f"`{field}` must be a whole number", field=field)
    try:
        number = int(value)
    except ValueError as exc:
        raise ValidationFailed(f"`{field}` must be a whole number", field=field) from exc
    if abs(number) > 10**12:
        raise ValidationFailed(f"`{field}` is out of range", field=field)
    return Decimal(number)


def _cents(value: Any) -> Decimal:
    return _int(value, "amount") / 100


def _cents_rate(raw: str) -> Decimal:
    try:
        return (Decimal(raw) / RATE_SCALE).quantize(Decimal("0.000001"))
    except InvalidOperation:
        return Decimal(0)


def _from_ms(value: Any) -> str:
    when = epoch_ms(value)
    if when is None:
        raise ValidationFailed("the order has no usable createdTime", field="createdTime")
    return when.isoformat()
