"""Stripe as the sandbox plays it: `Stripe-Signature`-signed events built from simulated POS sales.

Signature (stripe-python `_webhook.py`): `t=<unix>,v1=<hex HMAC-SHA256 of "<t>." + body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from decimal import Decimal
from typing import Any

from app.sandbox.pos import make_sale

API_VERSION = "2025-09-30.clover"


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
    return {
        "id": f"evt_sandbox{sale_id_seed}",
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": {"object": intent},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": topic,
    }
