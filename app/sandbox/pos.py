"""A simulated POS that rings up realistic grocery sales as canonical sale payloads."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")
STORE_TZ = ZoneInfo("America/Chicago")


@dataclass(frozen=True, slots=True)
class Product:
    upc: str
    name: str
    price: Decimal
    unit: str = "ea"
    taxable: bool = False
    snap: bool = True
    deposit: Decimal = Decimal("0.00")
    club_discount: Decimal = Decimal("0.00")


CATALOGUE: tuple[Product, ...] = (
    Product("041303001622", "Bananas", Decimal("0.59"), unit="lb"),
    Product("033383000125", "Gala Apples", Decimal("1.99"), unit="lb"),
    Product("071430010167", "Whole Milk 1 gal", Decimal("3.89")),
    Product("041303000045", "Large Eggs 12 ct", Decimal("2.99"), club_discount=Decimal("0.50")),
    Product("073410013397", "Sourdough Bread", Decimal("4.49")),
    Product("021130070442", "Ground Beef 80/20", Decimal("5.49"), unit="lb"),
    Product("070038311017", "Boneless Chicken Breast", Decimal("3.99"), unit="lb", club_discount=Decimal("1.00")),
    Product("012000001291", "Cola 12 pk cans", Decimal("7.99"), taxable=True, snap=True, deposit=Decimal("0.60")),
    Product("038000138416", "Corn Flakes 18 oz", Decimal("4.29"), club_discount=Decimal("1.00")),
    Product("041196910759", "Tomato Soup", Decimal("1.29")),
    Product("037000127116", "Paper Towels 6 roll", Decimal("11.99"), taxable=True, snap=False),
    Product("041167100011", "Dish Soap 24 oz", Decimal("3.79"), taxable=True, snap=False),
    Product("072250011259", "Baby Spinach 5 oz", Decimal("3.49")),
    Product("033383122520", "Avocados", Decimal("1.25"), club_discount=Decimal("0.25")),
    Product("041303015926", "Cheddar Cheese 8 oz", Decimal("3.29")),
    Product("070470003023", "Greek Yogurt", Decimal("1.19")),
    Product("041303020616", "Deli Turkey", Decimal("9.99"), unit="lb"),
    Product("011110038364", "Orange Juice 52 oz", Decimal("4.99")),
    Product("051000012616", "Pasta Sauce", Decimal("2.79"), club_discount=Decimal("0.40")),
    Product("016000275287", "Granola Bars 6 ct", Decimal("3.99")),
    Product("490000143130", "Sparkling Water 1 L", Decimal("1.49"), taxable=True, deposit=Decimal("0.10")),
    Product("087684000014", "Café Colombiano 12 oz", Decimal("8.99")),
    Product("078742370019", "Jalapeños", Decimal("1.49"), unit="lb"),
)

FIRST_NAMES = ("Ana", "José", "Maria", "James", "Linda", "Wei", "Priya", "Luis", "Sofía", "Tom")
LAST_NAMES = ("Garcia", "Smith", "Nguyen", "Johnson", "López", "Brown", "Patel", "Kim")
STATE_TAX = Decimal("0.0625")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def make_sale(
    rng: random.Random,
    *,
    sale_id: str,
    store_id: str = "store-0042",
    lane: str = "3",
    when: datetime | None = None,
    items: int | None = None,
    with_customer: bool | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """One consistent grocery sale as the JSON payload a POS posts to `/v1/sales`."""
    when = when or datetime.now(STORE_TZ)
    count = items if items is not None else rng.randint(3, 25)
    lines: list[dict[str, Any]] = []
    for product in rng.choices(CATALOGUE, k=count):
        if product.unit == "ea":
            quantity = Decimal(rng.choice((1, 1, 1, 2, 3)))
        else:
            quantity = Decimal(rng.randint(25, 450)) / Decimal(100)
        line_total = _money(quantity * product.price)
        line: dict[str, Any] = {
            "upc": product.upc,
            "name": product.name,
            "quantity": str(quantity),
            "unit": product.unit,
            "unit_price": str(product.price),
            "line_total": str(line_total),
            "taxable": product.taxable,
            "snap_eligible": product.snap,
        }
        if product.deposit:
            line["bottle_deposit"] = str(_money(product.deposit * quantity))
        if product.club_discount and rng.random() < 0.7:
            off = min(_money(product.club_discount * quantity), line_total)
            line["discounts"] = [{"description": "Club price", "amount": str(off)}]
        lines.append(line)

    discounts: list[dict[str, Any]] = []
    coupons: list[dict[str, Any]] = []
    items_total = sum((Decimal(line["line_total"]) for line in lines), Decimal("0"))
    line_discounts = sum((Decimal(d["amount"]) for line in lines for d in line.get("discounts", [])), Decimal("0"))
    if items_total - line_discounts > Decimal("50") and rng.random() < 0.5:
        discounts.append({"description": "$5 off $50 or more", "amount": "5.00", "promotion_code": "SAVE5"})
    if items_total - line_discounts > Decimal("20") and rng.random() < 0.3:
        coupons.append({"code": "MFR-0199", "description": "Manufacturer coupon", "amount": "1.00"})
    savings = line_discounts + sum((Decimal(d["amount"]) for d in discounts + coupons), Decimal("0"))
    subtotal = items_total - savings

    taxable_base = sum(
        (
            Decimal(line["line_total"]) - sum((Decimal(d["amount"]) for d in line.get("discounts", [])), Decimal("0"))
            for line in lines
            if line["taxable"]
        ),
        Decimal("0"),
    )
    taxes = (
        [{"name": "IL sales tax", "rate": str(STATE_TAX), "amount": str(_money(taxable_base * STATE_TAX))}]
        if taxable_base
        else []
    )
    tax_total = sum((Decimal(t["amount"]) for t in taxes), Decimal("0"))
    deposits = sum((Decimal(line.get("bottle_deposit", "0")) for line in lines), Decimal("0"))
    total = subtotal + tax_total + deposits

    tenders = _tenders(rng, total)
    sale: dict[str, Any] = {
        "sale_id": sale_id,
        "store_id": store_id,
        "lane": lane,
        "cashier": rng.choice(("Dana", "Luis", "Mei", "Sam")),
        "occurred_at": when.isoformat(),
        "currency": "USD",
        "items": lines,
        "discounts": discounts,
        "coupons": coupons,
        "taxes": taxes,
        "subtotal": str(subtotal),
        "total_savings": str(savings),
        "total": str(total),
        "tenders": tenders,
    }
    member = rng.random() < 0.6
    if member:
        earned = int(total)
        sale["loyalty"] = {
            "member_id": f"LM{rng.randint(10_000_000, 99_999_999)}",
            "points_earned": earned,
            "points_redeemed": 0,
            "balance": rng.randint(earned, earned + 5000),
            "balance_pending": rng.random() < 0.1,
        }
    if rng.random() < 0.5:
        sale["promotions"] = [
            {
                "title": "2x points on produce",
                "text": "Next week only, with your club card.",
                "code": "PRODUCE2X",
                "expires_on": (when + timedelta(days=7)).date().isoformat(),
            }
        ]
    if with_customer if with_customer is not None else rng.random() < 0.8:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        lang = language or ("es" if rng.random() < 0.25 else "en")
        customer: dict[str, Any] = {"name": f"{first} {last}", "language": lang}
        choice = rng.random()
        handle = f"{first}.{last}{rng.randint(1, 999)}".lower().replace("é", "e").replace("í", "i").replace("ó", "o")
        if choice < 0.5:
            customer["email"] = f"{handle}@example.com"
            customer["channels"] = ["email"]
        elif choice < 0.85:
            customer["phone"] = f"+1217555{rng.randint(0, 9999):04d}"
            customer["channels"] = ["sms"]
        else:
            customer["email"] = f"{handle}@example.com"
            customer["phone"] = f"+1217555{rng.randint(0, 9999):04d}"
            customer["channels"] = ["email", "sms"]
        if member:
            customer["loyalty_id"] = sale["loyalty"]["member_id"]
        sale["customer"] = customer
    return sale


def _tenders(rng: random.Random, total: Decimal) -> list[dict[str, Any]]:
    kind = rng.random()
    brand = rng.choice(("Visa", "Mastercard", "Amex", "Discover"))
    card = {
        "type": "card",
        "amount": str(total),
        "card_brand": brand,
        "last4": f"{rng.randint(0, 9999):04d}",
        "entry_mode": rng.choice(("chip", "contactless", "wallet")),
        "auth_code": f"{rng.randint(0, 999999):06d}",
    }
    if kind < 0.65 or total == 0:
        return [card]
    if kind < 0.85:
        tendered = (total / 10).to_integral_value(rounding="ROUND_CEILING") * 10
        return [{"type": "cash", "amount": str(tendered), "change_due": str(tendered - total)}]
    snap_part = _money(total * Decimal("0.6"))
    return [
        {"type": "ebt_snap", "amount": str(snap_part), "last4": f"{rng.randint(0, 9999):04d}"},
        dict(card, amount=str(total - snap_part)),
    ]
