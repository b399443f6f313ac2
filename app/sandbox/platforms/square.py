"""Square as the sandbox plays it: signed webhooks and `GET /v2/orders/{order_id}`.

Webhook signature (developer.squareup.com/docs/webhooks/step3validate): base64 HMAC-SHA256 of the
notification URL + raw body, keyed with the subscription's signature key. The orders route answers
like Square's RetrieveOrder: `{"order": {...}}`, 401 `UNAUTHORIZED` without the Bearer token,
404 `NOT_FOUND` for an unknown id.

Orders search (developer.squareup.com/reference/square/orders/search-orders): `POST /v2/orders/search`
with `location_ids`, `query.filter.date_time_filter.updated_at {start_at, end_at}`,
`query.filter.state_filter.states`, `query.sort`, `limit` (default 500) and `cursor`; the answer is
`{"orders": [...], "cursor": "..."}` with `cursor` only while more pages remain.
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

SANDBOX_ACCESS_TOKEN = "EAAAsandbox-square-access-token"  # noqa: S105 - a public sandbox constant
SANDBOX_SIGNATURE_KEY = "sandbox-square-signature-key"
SANDBOX_LOCATION = "LSANDBOX0042"
MAX_LIMIT = 1000
MERCHANT_ID = "MLSANDBOX0042"


def signed_webhook(
    topic_or_type: str, payload: dict[str, Any], *, url: str, secret: str
) -> tuple[dict[str, str], bytes]:
    """Headers and raw body of one Square delivery (`payload` is the whole event envelope)."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    mac = hmac.new(secret.encode("utf-8"), url.encode("utf-8") + body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "x-square-hmacsha256-signature": base64.b64encode(mac).decode("ascii"),
        "square-environment": "Sandbox",
    }
    return headers, body


def _money(amount: Decimal) -> dict[str, Any]:
    return {"amount": int(amount * 100), "currency": "USD"}


def sample_order(sale_id_seed: int) -> dict[str, Any]:
    """A COMPLETED Square Order (RetrieveOrder shape) built from a simulated POS sale."""
    rng = random.Random(sale_id_seed)
    sale = make_sale(rng, sale_id=f"sq-{sale_id_seed}", items=rng.randint(2, 6), with_customer=False)
    lines = []
    for i, line in enumerate(sale["items"]):
        weighed = line["unit"] != "ea"
        item: dict[str, Any] = {
            "uid": f"li{i}",
            "name": line["name"],
            "quantity": line["quantity"],
            "base_price_money": _money(Decimal(line["unit_price"])),
            "total_money": _money(Decimal(line["line_total"])),
        }
        if weighed:
            item["quantity_unit"] = {"measurement_unit": {"weight_unit": "IMPERIAL_POUND"}, "precision": 2}
        lines.append(item)
    total = sum((Decimal(x["line_total"]) for x in sale["items"]), Decimal(0))
    card = {"card_brand": "VISA", "last_4": "1111", "exp_month": 12, "exp_year": 2030}
    order_id = f"SQORDER{sale_id_seed:06d}"
    return {
        "id": order_id,
        "location_id": SANDBOX_LOCATION,
        "state": "COMPLETED",
        "created_at": sale["occurred_at"],
        "closed_at": sale["occurred_at"],
        "line_items": lines,
        "total_money": _money(total),
        "total_tax_money": _money(Decimal(0)),
        "tenders": [
            {
                "id": f"T{sale_id_seed}",
                "type": "CARD",
                "amount_money": _money(total),
                "card_details": {"status": "CAPTURED", "card": card, "entry_method": "EMV"},
            }
        ],
    }


def sample_event(topic: str, sale_id_seed: int) -> dict[str, Any]:
    """An `order.updated` or `payment.updated` envelope for `sample_order(sale_id_seed)`."""
    order = sample_order(sale_id_seed)
    created = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    if topic == "payment.updated":
        obj: dict[str, Any] = {
            "payment": {
                "id": f"PAY{sale_id_seed}",
                "order_id": order["id"],
                "status": "COMPLETED",
                "amount_money": order["total_money"],
                "total_money": order["total_money"],
                "location_id": SANDBOX_LOCATION,
                "buyer_email_address": "sandbox.buyer@example.com",
                "source_type": "CARD",
            }
        }
        kind, data_id = "payment", f"PAY{sale_id_seed}"
    else:
        update = {"order_id": order["id"], "version": 4, "location_id": SANDBOX_LOCATION, "state": "COMPLETED"}
        obj = {"order_updated": {**update, "created_at": created, "updated_at": created}}
        kind, data_id = "order_updated", order["id"]
    return {
        "merchant_id": MERCHANT_ID,
        "type": topic,
        "event_id": str(uuid.uuid4()),
        "created_at": created,
        "data": {"type": kind, "id": data_id, "object": obj},
    }


def routes(orders: dict[str, dict[str, Any]]) -> list[Route]:
    """`GET /v2/orders/{order_id}` over `orders` (id -> Order), Bearer `SANDBOX_ACCESS_TOKEN` required."""
    expected = f"Bearer {SANDBOX_ACCESS_TOKEN}".encode()

    async def retrieve(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            error = {
                "category": "AUTHENTICATION_ERROR",
                "code": "UNAUTHORIZED",
                "detail": "This request could not be authorized.",
            }
            return JSONResponse({"errors": [error]}, 401)
        order = orders.get(request.path_params["order_id"])
        if order is None:
            error = {"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND", "detail": "Order not found."}
            return JSONResponse({"errors": [error]}, 404)
        return JSONResponse({"order": order})

    return [Route("/v2/orders/{order_id}", retrieve, methods=["GET"])]


def _error(status: int, category: str, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"errors": [{"category": category, "code": code, "detail": detail}]}, status)


def _when(text: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def search_routes(store: PlatformStore) -> list[Route]:
    """`POST /v2/orders/search` over the Square orders in `store`, and `GET /v2/orders/{order_id}` over the same."""
    expected = f"Bearer {SANDBOX_ACCESS_TOKEN}".encode()
    kept = store.kept("square")

    async def search(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return _error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "This request could not be authorized.")
        failed = store.failure("square")
        if failed is not None:
            return failed
        try:
            body = json.loads(await request.body() or b"{}")
            locations = body.get("location_ids") or []
            query = body.get("query") or {}
            filters = query.get("filter") or {}
            window = (filters.get("date_time_filter") or {}).get("updated_at") or {}
            states = (filters.get("state_filter") or {}).get("states")
            limit = int(body.get("limit") or 500)
            offset = int(body["cursor"]) if body.get("cursor") else 0
        except (ValueError, AttributeError, TypeError):
            return _error(
                400, "INVALID_REQUEST_ERROR", "BAD_REQUEST", "The request body is not a SearchOrders request."
            )
        if not locations or not 1 <= limit <= MAX_LIMIT:
            return _error(
                400, "INVALID_REQUEST_ERROR", "INVALID_VALUE", "location_ids and a limit of 1..1000 are needed."
            )
        start, end = _when(window.get("start_at")), _when(window.get("end_at"))
        orders = sorted(
            (o for o in kept.values() if o.get("location_id") in locations),
            key=lambda o: str(o.get("updated_at")),
        )
        if start is not None:
            orders = [o for o in orders if (_when(o.get("updated_at")) or start) >= start]
        if end is not None:
            orders = [o for o in orders if (_when(o.get("updated_at")) or end) <= end]
        if states:
            orders = [o for o in orders if o.get("state") in states]
        if (query.get("sort") or {}).get("sort_order") == "DESC":
            orders.reverse()
        page = orders[offset : offset + limit]
        answer: dict[str, Any] = {"orders": page} if page else {}
        if offset + limit < len(orders):
            answer["cursor"] = str(offset + limit)
        return JSONResponse(answer)

    return [Route("/v2/orders/search", search, methods=["POST"]), *routes(kept)]


class SquareStandIn(PlatformStandIn):
    """Webhooks signed over the notification URL; the order fetch and the orders search."""

    platform: ClassVar[str] = "square"
    default_topic: ClassVar[str] = "order.updated"
    secrets: ClassVar[dict[str, str]] = {
        "signature_key": SANDBOX_SIGNATURE_KEY,
        "access_token": SANDBOX_ACCESS_TOKEN,
    }
    keeps_orders: ClassVar[bool] = True
    stamps_updates: ClassVar[bool] = True

    @classmethod
    def settings(cls, sandbox_url: str) -> dict[str, SettingValue]:
        return {"base_url": sandbox_url, "location_id": SANDBOX_LOCATION}

    @classmethod
    def prepare(cls, url: str, topic: str, seed: int) -> Prepared:
        order = sample_order(seed)
        headers, body = signed_webhook(topic, sample_event(topic, seed), url=url, secret=SANDBOX_SIGNATURE_KEY)
        return Prepared(url, headers, body, order)

    @classmethod
    def api_routes(cls, store: PlatformStore) -> list[Route]:
        return search_routes(store)
