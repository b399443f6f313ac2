"""Shopify as the sandbox plays it: signed order webhooks built from simulated POS sales.

Headers as Shopify sends them (shopify.dev/docs/apps/build/webhooks): `X-Shopify-Topic`,
`X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the body, client secret), `X-Shopify-Shop-Domain`,
`X-Shopify-API-Version`, `X-Shopify-Webhook-Id`, `X-Shopify-Event-Id`, `X-Shopify-Triggered-At`.

Orders list (shopify.dev/docs/api/admin-rest/latest/resources/order#get-orders): `GET
/admin/api/<version>/orders.json?status=any&updated_at_min=...&limit=...` with
`X-Shopify-Access-Token`; pages by cursor (shopify.dev/docs/api/usage/pagination-rest): a
`Link: <...page_info=...>; rel="next"` header, and a page_info request takes no other filter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.platforms.base import PlatformStandIn, Prepared, SettingValue
from app.sandbox.pos import make_sale

if TYPE_CHECKING:
    from app.sandbox.platforms.orders import PlatformStore

SHOP_DOMAIN = "receiptdesk-sandbox.myshopify.com"
API_VERSION = "2025-10"
SANDBOX_ACCESS_TOKEN = "shpat_sandbox_access_token"  # noqa: S105 - opens only the local sandbox
SANDBOX_CLIENT_SECRET = "sandbox-shopify-client-secret"  # noqa: S105 - opens only the local sandbox
MAX_LIMIT = 250


def signed_webhook(
    topic_or_type: str, payload: dict[str, Any], *, url: str, secret: str
) -> tuple[dict[str, str], bytes]:
    """Headers and raw body of one Shopify delivery of `payload` under `topic_or_type` (`url` is unsigned)."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    digest = base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic_or_type,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": SHOP_DOMAIN,
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    return headers, body


def sample_event(topic: str, sale_id_seed: int) -> dict[str, Any]:
    """The REST resource a topic carries, for the simulated order `sale_id_seed`.

    orders/*: the Order; fulfillments/create: a Fulfillment shipping the first half of its lines
    (fulfillments/update: the same one, now delivered); refunds/create: a Refund of its first line;
    orders/cancelled: the Order, cancelled.
    """
    order = _sample_order(topic, sale_id_seed)
    lines = order["line_items"]
    if topic.startswith("fulfillments/"):
        shipped = lines[: max(1, len(lines) // 2)]
        tracking = f"1Z{sale_id_seed:06d}A1"
        return {
            "id": order["id"] + 7,
            "order_id": order["id"],
            "status": "success",
            "shipment_status": "delivered" if topic == "fulfillments/update" else "in_transit",
            "created_at": order["created_at"],
            "tracking_company": "UPS",
            "tracking_numbers": [tracking],
            "tracking_urls": [f"https://www.ups.com/track?tracknum={tracking}"],
            "line_items": [{k: line[k] for k in ("id", "title", "quantity", "sku", "price")} for line in shipped],
        }
    if topic == "refunds/create":
        first = lines[0]
        amount = Decimal(first["price"]) * first["quantity"]
        return {
            "id": order["id"] + 9,
            "order_id": order["id"],
            "created_at": order["created_at"],
            "note": "Damaged in delivery",
            "refund_line_items": [{"quantity": first["quantity"], "line_item": first}],
            "transactions": [{"kind": "refund", "status": "success", "amount": str(amount), "gateway": "shopify"}],
        }
    if topic == "orders/cancelled":
        return dict(order, cancelled_at=order["created_at"], cancel_reason="customer")
    return order


def _sample_order(topic: str, sale_id_seed: int) -> dict[str, Any]:
    rng = random.Random(sale_id_seed)
    sale = make_sale(rng, sale_id=f"web-{sale_id_seed}", items=rng.randint(2, 6), with_customer=True)
    order_id = 5_000_000_000 + sale_id_seed
    items = sale["items"]
    lines = []
    for line in items:
        quantity = Decimal(line["quantity"])
        whole = quantity == quantity.to_integral_value()
        lines.append(
            {
                "id": rng.randint(10**9, 10**10),
                "title": line["name"] if whole else f"{line['name']} ({quantity} {line['unit']})",
                "quantity": int(quantity) if whole else 1,
                "price": line["unit_price"] if whole else line["line_total"],
                "sku": line["upc"],
                "taxable": line["taxable"],
                "discount_allocations": [],
            }
        )
    items_total = sum((Decimal(x["price"]) * x["quantity"] for x in lines), Decimal(0))
    tax = sum((Decimal(x["price"]) * x["quantity"] for x in lines if x["taxable"]), Decimal(0)) * Decimal("0.0625")
    tax = tax.quantize(Decimal("0.01"))
    customer = sale.get("customer", {})
    email = customer.get("email") or "sandbox.buyer@example.com"
    paid = topic in ("orders/paid", "orders/cancelled") or not topic.startswith("orders/") or rng.random() < 0.5
    return {
        "id": order_id,
        "name": f"#{1000 + sale_id_seed}",
        "order_number": 1000 + sale_id_seed,
        "email": email,
        "phone": customer.get("phone"),
        "created_at": sale["occurred_at"],
        "processed_at": sale["occurred_at"],
        "currency": "USD",
        "financial_status": "paid" if paid else "pending",
        "taxes_included": False,
        "line_items": lines,
        "shipping_lines": [],
        "tax_lines": [{"title": "IL State Tax", "rate": 0.0625, "price": str(tax)}] if tax else [],
        "discount_codes": [],
        "total_discounts": "0.00",
        "subtotal_price": str(items_total),
        "total_tax": str(tax),
        "total_price": str(items_total + tax),
        "payment_details": {"credit_card_company": "Visa", "credit_card_number": "•••• •••• •••• 4242"},
        "customer": {"id": order_id + 1, "email": email, "first_name": "Sandbox", "last_name": "Buyer"},
    }


def _when(text: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _page_info(updated_min: str | None, status: str, offset: int) -> str:
    raw = json.dumps({"u": updated_min, "s": status, "o": offset}).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _read_page_info(token: str) -> tuple[str | None, str, int]:
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return data["u"], str(data["s"]), int(data["o"])


def routes(store: PlatformStore) -> list[Route]:
    """`GET /admin/api/{version}/orders.json` over the Shopify orders in `store`, oldest update first."""
    expected = SANDBOX_ACCESS_TOKEN.encode()

    async def list_orders(request: Request) -> Response:
        given = request.headers.get("x-shopify-access-token", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return JSONResponse(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, 401
            )
        failed = store.failure("shopify")
        if failed is not None:
            return failed
        query = request.query_params
        try:
            limit = int(query.get("limit", "50"))
            if not 1 <= limit <= MAX_LIMIT:
                raise ValueError
        except ValueError:
            return JSONResponse({"errors": {"limit": "Limit must be between 1 and 250"}}, 400)
        if "page_info" in query:
            extra = sorted(set(query) - {"page_info", "limit", "fields"})
            if extra:
                return JSONResponse(
                    {"errors": {extra[0]: f"{extra[0]} cannot be passed when page_info is present"}}, 400
                )
            try:
                updated_min, status, offset = _read_page_info(query["page_info"])
            except (ValueError, KeyError, TypeError):
                return JSONResponse({"errors": {"page_info": "Invalid value."}}, 400)
        else:
            updated_min, status, offset = query.get("updated_at_min"), query.get("status", "open"), 0
        since = _when(updated_min) if updated_min else None
        if updated_min and since is None:
            return JSONResponse({"errors": {"updated_at_min": "Invalid date"}}, 400)
        orders = sorted(store.kept("shopify").values(), key=lambda o: str(o.get("updated_at")))
        if since is not None:
            orders = [o for o in orders if (_when(o.get("updated_at")) or since) >= since]
        if status == "open":
            orders = [o for o in orders if not o.get("closed_at") and not o.get("cancelled_at")]
        page = orders[offset : offset + limit]
        headers = {}
        if offset + limit < len(orders):
            token = _page_info(updated_min, status, offset + limit)
            next_url = request.url.replace_query_params(limit=limit, page_info=token)
            headers["Link"] = f'<{next_url}>; rel="next"'
        return JSONResponse({"orders": page}, headers=headers)

    return [Route("/admin/api/{version}/orders.json", list_orders, methods=["GET"])]


class ShopifyStandIn(PlatformStandIn):
    """Order and lifecycle webhooks signed with the sandbox app's client secret; the orders list."""

    platform: ClassVar[str] = "shopify"
    default_topic: ClassVar[str] = "orders/paid"
    update_topics: ClassVar[tuple[str, ...]] = (
        "fulfillments/create",
        "fulfillments/update",
        "refunds/create",
        "orders/cancelled",
    )
    secrets: ClassVar[dict[str, str]] = {"client_secret": SANDBOX_CLIENT_SECRET, "access_token": SANDBOX_ACCESS_TOKEN}
    keeps_orders: ClassVar[bool] = True
    stamps_updates: ClassVar[bool] = True

    @classmethod
    def settings(cls, sandbox_url: str) -> dict[str, SettingValue]:
        return {"shop": SHOP_DOMAIN, "base_url": sandbox_url, "api_version": API_VERSION}

    @classmethod
    def prepare(cls, url: str, topic: str, seed: int) -> Prepared:
        order = sample_event(topic, seed)
        headers, body = signed_webhook(topic, order, url=url, secret=SANDBOX_CLIENT_SECRET)
        return Prepared(url, headers, body, order if topic.startswith("orders/") else None)

    @classmethod
    def api_routes(cls, store: PlatformStore) -> list[Route]:
        return routes(store)
