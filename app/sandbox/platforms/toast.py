"""Toast stand-in: `order_updated` webhook messages signed as Toast signs them.

PROVIDERS.md B4: headers Toast-Signature (base64 HMAC-SHA256 over body + timestamp — here the
message's `timestamp` field, the same open-item assumption as the trigger), Toast-Event-Type,
Toast-Event-Category, Toast-Restaurant-External-ID, Toast-Attempt-Number. Dollars are JSON numbers.
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
from typing import Any, ClassVar

from app.sandbox.platforms.base import PlatformStandIn, Prepared
from app.sandbox.pos import STORE_TZ, make_sale

SANDBOX_WEBHOOK_SECRET = "sandbox-toast-webhook-secret"  # noqa: S105 - opens only the local sandbox
SANDBOX_RESTAURANT_GUID = "6f4c6c1e-0000-4000-8000-00000000d0a5"
SANDBOX_REVENUE_CENTER = "rc-front-counter"
BRANDS = {"Visa": "VISA", "Mastercard": "MASTERCARD", "Amex": "AMEX", "Discover": "DISCOVER"}


def toast_time(when: datetime) -> str:
    """Toast's date format: 2024-10-10T18:30:00.000+0000."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def signed_webhook(
    message: dict[str, Any], *, secret: str = SANDBOX_WEBHOOK_SECRET, attempt: int = 1
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a Toast webhook delivery for `message`."""
    body = json.dumps(message).encode("utf-8")
    signed = body + str(message["timestamp"]).encode("utf-8")
    signature = base64.b64encode(hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "Toast-Signature": signature,
        "Toast-Event-Type": str(message.get("eventType", "")),
        "Toast-Event-Category": str(message.get("eventCategory", "")),
        "Toast-Restaurant-External-ID": SANDBOX_RESTAURANT_GUID,
        "Toast-Attempt-Number": str(attempt),
    }
    return headers, body


def _num(value: str | Decimal) -> float:
    """Toast's API writes money as JSON numbers, so the sandbox does too; the trigger reads them as Decimal."""
    return float(Decimal(value).quantize(Decimal("0.01")))


def sample_event(
    rng: random.Random, *, order_guid: str | None = None, paid: bool = True, when: datetime | None = None
) -> dict[str, Any]:
    """An `order_updated` message with one check holding a `make_sale` basket."""
    when = when or datetime.now(STORE_TZ)
    order_guid = order_guid or str(uuid.UUID(int=rng.getrandbits(128), version=4))
    check_guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    sale = make_sale(rng, sale_id=check_guid, when=when)
    selections: list[dict[str, Any]] = []
    for line in sale["items"]:
        off = sum((Decimal(d["amount"]) for d in line.get("discounts", [])), Decimal(0))
        tax = (Decimal(line["line_total"]) - off) * Decimal("0.0625") if line["taxable"] else Decimal(0)
        selections.append(
            {
                "guid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "displayName": line["name"],
                "quantity": _num(line["quantity"]),
                "unitOfMeasure": line["unit"].upper() if line["unit"] != "ea" else "NONE",
                "receiptLinePrice": _num(line["unit_price"]),
                "preDiscountPrice": _num(line["line_total"]),
                "price": _num(Decimal(line["line_total"]) - off),
                "tax": _num(tax),
                "appliedTaxes": [{"name": "IL sales tax", "rate": 0.0625}] if line["taxable"] else [],
                "appliedDiscounts": [
                    {"name": d["description"], "discountAmount": _num(d["amount"])} for d in line.get("discounts", [])
                ],
                "voided": False,
            }
        )
        if line.get("bottle_deposit"):
            deposit = _num(line["bottle_deposit"])
            selections.append(
                {
                    "displayName": "Bottle deposit",
                    "quantity": 1,
                    "receiptLinePrice": deposit,
                    "preDiscountPrice": deposit,
                    "price": deposit,
                    "tax": 0,
                }
            )
    tax_total = sum((Decimal(t["amount"]) for t in sale["taxes"]), Decimal(0))
    check: dict[str, Any] = {
        "guid": check_guid,
        "displayNumber": str(rng.randint(1, 999)),
        "paymentStatus": "PAID" if paid else "OPEN",
        "closedDate": toast_time(when) if paid else None,
        "selections": selections,
        "appliedDiscounts": [
            {"name": d["description"], "discountAmount": _num(d["amount"])} for d in sale["discounts"] + sale["coupons"]
        ],
        "amount": _num(Decimal(sale["total"]) - tax_total),
        "taxAmount": _num(tax_total),
        "totalAmount": _num(sale["total"]),
        "payments": [_payment(t) for t in sale["tenders"]] if paid else [],
        "voided": False,
    }
    if sale.get("customer"):
        customer = sale["customer"]
        first, _, last = str(customer.get("name", "")).partition(" ")
        check["customer"] = {
            "firstName": first,
            "lastName": last,
            "email": customer.get("email"),
            "phone": customer.get("phone"),
        }
    return {
        "timestamp": toast_time(when),
        "eventCategory": "orders",
        "eventType": "order_updated",
        "guid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "details": {
            "guid": order_guid,
            "restaurantGuid": SANDBOX_RESTAURANT_GUID,
            "revenueCenter": {"guid": SANDBOX_REVENUE_CENTER},
            "openedDate": toast_time(when),
            "paidDate": toast_time(when) if paid else None,
            "voided": False,
            "checks": [check],
        },
    }


def _payment(tender: dict[str, Any]) -> dict[str, Any]:
    applied = Decimal(tender["amount"]) - Decimal(tender.get("change_due", "0"))
    payment: dict[str, Any] = {"amount": _num(applied), "tipAmount": 0, "paymentStatus": "CAPTURED"}
    if tender["type"] == "card":
        brand = BRANDS.get(tender["card_brand"], tender["card_brand"].upper())
        payment.update(type="CREDIT", cardType=brand, last4Digits=tender["last4"])
    elif tender["type"] == "cash":
        payment.update(type="CASH", amountTendered=_num(tender["amount"]))
    else:
        payment["type"] = "OTHER"
    return payment


class ToastStandIn(PlatformStandIn):
    """`order_updated` messages signed with the webhook secret."""

    platform: ClassVar[str] = "toast"
    default_topic: ClassVar[str] = "ORDER_UPDATED"
    secrets: ClassVar[dict[str, str]] = {"webhook_secret": SANDBOX_WEBHOOK_SECRET}

    @classmethod
    def prepare(cls, url: str, topic: str, seed: int) -> Prepared:
        return Prepared(url, *signed_webhook(sample_event(random.Random(seed))), None)
