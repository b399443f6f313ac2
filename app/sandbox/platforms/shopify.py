"""Shopify as the sandbox plays it: signed order webhooks built from simulated POS sales.

Headers as Shopify sends them (shopify.dev/docs/apps/build/webhooks): `X-Shopify-Topic`,
`X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the body, client secret), `X-Shopify-Shop-Domain`,
`X-Shopify-API-Version`, `X-Shopify-Webhook-Id`, `X-Shopify-Event-Id`, `X-Shopify-Triggered-At`.
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
from typing import Any

from app.sandbox.pos import make_sale

SHOP_DOMAIN = "receiptdesk-sandbox.myshopify.com"
API_VERSION = "2025-10"


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
    """A REST Order (or, for fulfillments/*, a Fulfillment) built from a simulated POS sale."""
    rng = random.Random(sale_id_seed)
    sale = make_sale(rng, sale_id=f"web-{sale_id_seed}", items=rng.randint(2, 6), with_customer=True)
    order_id = 5_000_000_000 + sale_id_seed
    if topic.startswith("fulfillments/"):
        return {"id": order_id + 7, "order_id": order_id, "status": "success", "tracking_number": "1Z2345"}
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
    paid = topic == "orders/paid" or rng.random() < 0.5
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
