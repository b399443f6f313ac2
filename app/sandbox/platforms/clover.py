"""Clover stand-in: notifications as Clover sends them, and the order API they point at.

Webhooks (PROVIDERS.md B3): the unsigned `{"verificationCode": ...}` handshake, then notifications
carrying `X-Clover-Auth: <auth code>`. Orders: `GET /v3/merchants/{mId}/orders/{orderId}` with
`Authorization: Bearer <token>`, answering the Clover REST v3 order model (integer cents, `unitQty`
in thousandths, `{"elements": [...]}` lists, negative discount amounts). The orders list
`GET /v3/merchants/{mId}/orders?filter=modifiedTime>=<ms>&limit=&offset=` (docs.clover.com/docs/
applying-filters, docs.clover.com/docs/paginating-elements) answers from the kept orders, for the
catch-up poll. `sandbox fire clover refund` (or `void`) sends the notification of an order refunded
(or whose payments were voided) after its sale.
"""

from __future__ import annotations

import hmac
import json
import random
import time
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.platforms.base import PlatformStandIn, Prepared, SettingValue
from app.sandbox.pos import STORE_TZ, make_sale

if TYPE_CHECKING:
    from app.sandbox.platforms.orders import PlatformStore

SANDBOX_TOKEN = "sandbox-clover-api-token"  # noqa: S105 - opens only the local sandbox
SANDBOX_AUTH_CODE = "sandbox-clover-auth-code"
SANDBOX_MERCHANT_ID = "SBXMERCHANT01"
SANDBOX_APP_ID = "SBXAPP0001"
ORDER_PATH = "/v3/merchants/{mId}/orders/{orderId}"
ORDERS_PATH = "/v3/merchants/{mId}/orders"
MAX_LIMIT = 1000  # Clover's hard limit per page
BRANDS = {"Visa": "VISA", "Mastercard": "MC", "Amex": "AMEX", "Discover": "DISCOVER"}
TAX_RATE_SCALE = 10_000_000  # 10% is 1000000


def _cents(amount: str | Decimal) -> int:
    return int(Decimal(amount) * 100)


def signed_webhook(payload: dict[str, Any], *, auth_code: str = SANDBOX_AUTH_CODE) -> tuple[dict[str, str], bytes]:
    """Headers and body of a Clover notification (the auth code is the only credential)."""
    body = json.dumps(payload).encode("utf-8")
    return {"Content-Type": "application/json", "X-Clover-Auth": auth_code}, body


def verification_webhook(code: str) -> tuple[dict[str, str], bytes]:
    """The setup handshake Clover sends when the developer clicks "Send Verification Code"."""
    return {"Content-Type": "application/json"}, json.dumps({"verificationCode": code}).encode("utf-8")


def sample_event(
    order_id: str, *, merchant_id: str = SANDBOX_MERCHANT_ID, kind: str = "UPDATE", ts_ms: int = 1_733_155_200_000
) -> dict[str, Any]:
    """A notification naming one order object."""
    return {
        "appId": SANDBOX_APP_ID,
        "merchants": {merchant_id: [{"objectId": f"O:{order_id}", "type": kind, "ts": ts_ms}]},
    }


def sample_order(
    rng: random.Random, *, order_id: str, paid: bool = True, when: datetime | None = None, lane: str = "3"
) -> dict[str, Any]:
    """A Clover order (expanded) holding one `make_sale` basket; deposits become their own lines."""
    when = when or datetime.now(STORE_TZ)
    sale = make_sale(rng, sale_id=order_id, when=when, lane=lane)
    lines: list[dict[str, Any]] = []
    for line in sale["items"]:
        item: dict[str, Any] = {"id": f"LI{len(lines):04d}", "name": line["name"], "price": _cents(line["unit_price"])}
        qty = Decimal(line["quantity"])
        if line["unit"] != "ea" or qty != 1:
            item["unitQty"] = int(qty * 1000)
            item["unitName"] = line["unit"] if line["unit"] != "ea" else None
        if line.get("discounts"):
            item["discounts"] = {
                "elements": [{"name": d["description"], "amount": -_cents(d["amount"])} for d in line["discounts"]]
            }
        if line["taxable"]:
            item["taxRates"] = {"elements": [{"name": "IL sales tax", "rate": 625_000}]}
        lines.append(item)
        if line.get("bottle_deposit"):
            lines.append(
                {"id": f"LI{len(lines):04d}", "name": "Bottle deposit", "price": _cents(line["bottle_deposit"])}
            )
    tax = sum((Decimal(t["amount"]) for t in sale["taxes"]), Decimal(0))
    payments = [_payment(t, tax if i == 0 else Decimal(0)) for i, t in enumerate(sale["tenders"])] if paid else []
    order: dict[str, Any] = {
        "id": order_id,
        "currency": "USD",
        "total": _cents(sale["total"]),
        "state": "locked" if paid else "open",
        "paymentState": "PAID" if paid else "OPEN",
        "createdTime": int(when.timestamp() * 1000),
        "modifiedTime": int(when.timestamp() * 1000),
        "device": {"id": f"LANE-{lane}"},
        "lineItems": {"elements": lines},
        "discounts": {
            "elements": [{"name": d["description"], "amount": -_cents(d["amount"])} for d in sale["discounts"]]
            + [{"name": c["description"], "amount": -_cents(c["amount"])} for c in sale["coupons"]]
        },
        "payments": {"elements": payments},
    }
    customer = sale.get("customer")
    if customer:
        first, _, last = str(customer.get("name", "")).partition(" ")
        entry: dict[str, Any] = {"id": "CUST0001", "firstName": first, "lastName": last}
        if customer.get("email"):
            entry["emailAddresses"] = {"elements": [{"emailAddress": customer["email"]}]}
        if customer.get("phone"):
            entry["phoneNumbers"] = {"elements": [{"phoneNumber": customer["phone"]}]}
        order["customers"] = {"elements": [entry]}
    return order


def refunded(order: dict[str, Any], *, amount: int, refund_id: str = "SBXREFUND01", at_ms: int) -> dict[str, Any]:
    """`order` after a refund of `amount` cents at `at_ms`: the refund listed, the order modified then."""
    refunds = [*order.get("refunds", {}).get("elements", []), {"id": refund_id, "amount": amount, "createdTime": at_ms}]
    total = sum(int(r["amount"]) for r in refunds)
    state = "REFUNDED" if total >= int(order["total"]) else "PARTIALLY_REFUNDED"
    return dict(order, refunds={"elements": refunds}, paymentState=state, modifiedTime=at_ms)


def voided(order: dict[str, Any], *, reason: str = "USER_CUSTOMER_CANCEL", at_ms: int) -> dict[str, Any]:
    """`order` with every payment voided at `at_ms` for `reason` (a Clover `voidReason`)."""
    payments = [dict(p, result="VOIDED", voidReason=reason) for p in order["payments"]["elements"]]
    return dict(order, payments={"elements": payments}, paymentState="OPEN", modifiedTime=at_ms)


def _payment(tender: dict[str, Any], tax: Decimal) -> dict[str, Any]:
    amount = Decimal(tender["amount"]) - Decimal(tender.get("change_due", "0"))
    payment: dict[str, Any] = {"id": f"PAY{tender['type'].upper()}", "amount": _cents(amount), "taxAmount": _cents(tax)}
    payment["result"] = "SUCCESS"
    if tender["type"] == "card":
        payment["tender"] = {"labelKey": "com.clover.tender.credit_card", "label": "Credit Card"}
        payment["cardTransaction"] = {
            "cardType": BRANDS.get(tender["card_brand"], tender["card_brand"].upper()),
            "last4": tender["last4"],
            "entryType": "EMV_CONTACT",
        }
    elif tender["type"] == "cash":
        payment["tender"] = {"labelKey": "com.clover.tender.cash", "label": "Cash"}
        payment["cashTendered"] = _cents(tender["amount"])
    else:
        payment["tender"] = {"labelKey": "com.clover.tender.external_payment", "label": "EBT"}
    return payment


def routes(orders: dict[str, dict[str, Any]], *, token: str = SANDBOX_TOKEN) -> list[Route]:
    """`GET /v3/merchants/{mId}/orders/{orderId}` over `orders` (keyed by order id), Bearer-checked."""
    expected = f"Bearer {token}".encode()

    async def get_order(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"message": "401 Unauthorized"}, 401)
        order = orders.get(request.path_params["orderId"])
        if order is None:
            return JSONResponse({"message": "404 Not Found"}, 404)
        return JSONResponse(order)

    return [Route(ORDER_PATH, get_order, methods=["GET"])]


def list_routes(store: PlatformStore, *, token: str = SANDBOX_TOKEN) -> list[Route]:
    """`GET /v3/merchants/{mId}/orders` over the kept Clover orders: `filter=modifiedTime>=<ms>`, `limit`, `offset`."""
    expected = f"Bearer {token}".encode()

    async def list_orders(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"message": "401 Unauthorized"}, 401)
        failed = store.failure("clover")
        if failed is not None:
            return failed
        query = request.query_params
        since = 0
        for condition in query.getlist("filter"):
            field, _, value = condition.partition(">=")
            if field != "modifiedTime" or not value.isdigit():
                return JSONResponse({"message": f"Invalid filter: {condition}"}, 400)
            since = int(value)
        try:
            limit, offset = int(query.get("limit", "100")), int(query.get("offset", "0"))
            if not 1 <= limit <= MAX_LIMIT or offset < 0:
                raise ValueError
        except ValueError:
            return JSONResponse({"message": "limit must be 1..1000 and offset at least 0"}, 400)
        orders = [
            o for o in store.kept("clover").values() if int(o.get("modifiedTime", o.get("createdTime", 0))) >= since
        ]
        return JSONResponse({"elements": orders[offset : offset + limit]})

    return [Route(ORDERS_PATH, list_orders, methods=["GET"])]


class CloverStandIn(PlatformStandIn):
    """Notifications carrying the auth code; the order fetch they point at."""

    platform: ClassVar[str] = "clover"
    default_topic: ClassVar[str] = "UPDATE"
    update_topics: ClassVar[tuple[str, ...]] = ("refund", "void")
    secrets: ClassVar[dict[str, str]] = {"auth_code": SANDBOX_AUTH_CODE, "api_token": SANDBOX_TOKEN}
    keeps_orders: ClassVar[bool] = True

    @classmethod
    def settings(cls, sandbox_url: str) -> dict[str, SettingValue]:
        return {"base_url": sandbox_url, "merchant_id": SANDBOX_MERCHANT_ID}

    @classmethod
    def prepare(cls, url: str, topic: str, seed: int) -> Prepared:
        order = sample_order(random.Random(seed), order_id=f"SBXORDER{seed:05d}")
        now_ms = int(time.time() * 1000)
        if topic == "refund":  # the first line's price back
            first = order["lineItems"]["elements"][0]
            order = refunded(order, amount=int(first["price"]), refund_id=f"SBXREFUND{seed:05d}", at_ms=now_ms)
        elif topic == "void":
            order = voided(order, at_ms=now_ms)
        kind = "UPDATE" if topic in cls.update_topics else topic
        headers, body = signed_webhook(sample_event(order["id"], kind=kind, ts_ms=now_ms))
        return Prepared(url, headers, body, order)

    @classmethod
    def api_routes(cls, store: PlatformStore) -> list[Route]:
        return [*routes(store.kept("clover")), *list_routes(store)]
