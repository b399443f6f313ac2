"""Stripe as the sandbox plays it: `Stripe-Signature`-signed events built from simulated POS sales.

Signature (stripe-python `_webhook.py`): `t=<unix>,v1=<hex HMAC-SHA256 of "<t>." + body>`.

Events list (docs.stripe.com/api/events/list): `GET /v1/events?type=...&created[gte]=...&limit=...
&starting_after=<event id>`, newest first, answered as `{"object": "list", "data": [...], "has_more"}`;
the secret key goes as Basic auth user name or as a Bearer token (docs.stripe.com/api/authentication).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.platforms.base import PlatformStandIn, Prepared, SettingValue
from app.sandbox.pos import make_sale

if TYPE_CHECKING:
    from app.sandbox.platforms.orders import PlatformStore

API_VERSION = "2025-09-30.clover"
SANDBOX_SECRET_KEY = "sk_test_sandbox_secret_key"  # noqa: S105 - opens only the local sandbox
SANDBOX_SIGNING_SECRET = "whsec_sandbox_signing_secret"  # noqa: S105 - opens only the local sandbox


def signature_header(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """`t=...,v1=...` for `body` at `timestamp` (now when omitted)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signed_webhook(
    topic_or_type: str, payload: dict[str, Any], *, url: str, secret: str
) -> tuple[dict[str, str], bytes]:
    """Headers and raw body of one Stripe delivery (`payload` is the whole event; `url` is unsigned)."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": signature_header(body, secret)}, body


def sample_event(topic: str, sale_id_seed: int) -> dict[str, Any]:
    """A `payment_intent.succeeded` (or `topic`) event whose PaymentIntent carries a simulated sale's total."""
    rng = random.Random(sale_id_seed)
    sale = make_sale(rng, sale_id=f"web-{sale_id_seed}", items=rng.randint(2, 6), with_customer=True)
    amount = int(Decimal(sale["total"]) * 100)
    created = int(time.time())
    charge = {
        "id": f"ch_sandbox{sale_id_seed}",
        "object": "charge",
        "amount": amount,
        "created": created,
        "payment_method_details": {
            "type": "card",
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030, "wallet": None},
        },
    }
    intent = {
        "id": f"pi_sandbox{sale_id_seed}",
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": "usd",
        "created": created,
        "status": "succeeded",
        "receipt_email": sale.get("customer", {}).get("email"),
        "metadata": {"order_id": f"web-{sale_id_seed}"},
        "latest_charge": charge,
        "payment_method_types": ["card"],
    }
    data: dict[str, Any] = {"object": intent}
    event_id = f"evt_sandbox{sale_id_seed}"
    if topic == "charge.refunded":  # the first line of the order, refunded on its charge
        first = sale["items"][0]
        refunded = int(Decimal(first["line_total"]) * 100)
        refund = {"id": f"re_sandbox{sale_id_seed}", "object": "refund", "amount": refunded, "status": "succeeded"}
        refund["reason"] = "requested_by_customer"
        charge.update(
            payment_intent=intent["id"],
            metadata=intent["metadata"],
            amount_refunded=refunded,
            refunded=refunded == amount,
            refunds={"object": "list", "data": [refund], "has_more": False},
        )
        data = {"object": charge, "previous_attributes": {"amount_refunded": 0, "refunded": False}}
        event_id = f"evt_sandbox_refund{sale_id_seed}"
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": topic,
    }


def _secret_key(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode("utf-8").partition(":")[0]
        except ValueError:
            return ""
    return ""


def _error(status: int, message: str, param: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if param:
        error["param"] = param
    return JSONResponse({"error": error}, status)


def routes(store: PlatformStore) -> list[Route]:
    """`GET /v1/events` over the Stripe events in `store` (kept oldest first, listed newest first)."""
    expected = SANDBOX_SECRET_KEY.encode()

    async def list_events(request: Request) -> Response:
        given = _secret_key(request.headers.get("authorization", "")).encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return _error(401, "Invalid API Key provided")
        failed = store.failure("stripe")
        if failed is not None:
            return failed
        query = request.query_params
        try:
            limit = int(query.get("limit", "10"))
            bounds = {
                op: int(query[f"created[{op}]"]) for op in ("gt", "gte", "lt", "lte") if f"created[{op}]" in query
            }
            if "created" in query:
                bounds["eq"] = int(query["created"])
        except ValueError:
            return _error(400, "Invalid integer", "created")
        if not 1 <= limit <= 100:
            return _error(400, "limit must be between 1 and 100", "limit")
        tests = {
            "gt": lambda c, v: c > v,
            "gte": lambda c, v: c >= v,
            "lt": lambda c, v: c < v,
            "lte": lambda c, v: c <= v,
            "eq": lambda c, v: c == v,
        }
        kind = query.get("type")
        events = [
            e
            for e in reversed(store.kept("stripe").values())
            if (kind is None or e.get("type") == kind)
            and all(tests[op](int(e.get("created", 0)), v) for op, v in bounds.items())
        ]
        after = query.get("starting_after")
        if after:
            ids = [e.get("id") for e in events]
            if after not in ids:
                return _error(400, f"No such event: '{after}'", "starting_after")
            events = events[ids.index(after) + 1 :]
        page = events[:limit]
        return JSONResponse({"object": "list", "url": "/v1/events", "has_more": len(events) > limit, "data": page})

    return [Route("/v1/events", list_events, methods=["GET"])]


class StripeStandIn(PlatformStandIn):
    """`Stripe-Signature`-signed events; the events list, where a succeeded PaymentIntent is kept."""

    platform: ClassVar[str] = "stripe"
    default_topic: ClassVar[str] = "payment_intent.succeeded"
    update_topics: ClassVar[tuple[str, ...]] = ("charge.refunded",)
    secrets: ClassVar[dict[str, str]] = {"signing_secret": SANDBOX_SIGNING_SECRET, "secret_key": SANDBOX_SECRET_KEY}
    keeps_orders: ClassVar[bool] = True  # events, as Stripe's list API answers with them

    @classmethod
    def settings(cls, sandbox_url: str) -> dict[str, SettingValue]:
        return {"base_url": sandbox_url}

    @classmethod
    def prepare(cls, url: str, topic: str, seed: int) -> Prepared:
        event = sample_event(topic, seed)
        headers, body = signed_webhook(topic, event, url=url, secret=SANDBOX_SIGNING_SECRET)
        return Prepared(url, headers, body, event if topic == "payment_intent.succeeded" else None)

    @classmethod
    def api_routes(cls, store: PlatformStore) -> list[Route]:
        return routes(store)
