"""Tests of app.rendering: formatting, the unified summary, SMS segmenting and full receipts.

`sample_payload` is one hand-checked sale with every feature a receipt shows, its arithmetic
written out so a test can name the exact figures it expects.
"""

from __future__ import annotations

from typing import Any

TEST_CARD_NUMBER = "4111111111111111"
"""A well-known test PAN: it must never appear anywhere, only its last four `1111`."""


def sample_payload(**changes: Any) -> dict[str, Any]:
    """A consistent sale payload; keyword arguments replace top-level fields.

    items: Bananas 2.35 lb x $0.59 = $1.39; Large Eggs 2 x $2.99 = $5.98 (Club price -$1.00);
    Cola 12 pk $7.99 (+$0.60 deposit); Paper Towels $11.99. Items $27.35, savings $1.00 + $2.00
    order discount + $0.50 coupon = $3.50, subtotal $23.85, tax $1.25, deposits $0.60, total
    $25.70; paid Visa ..1111 $20.00 + cash $10.00 with $4.30 change.
    """
    payload: dict[str, Any] = {
        "sale_id": "S-1001",
        "store_id": "store-0042",
        "lane": "3",
        "cashier": "Dana",
        "occurred_at": "2025-11-28T23:57:00-06:00",
        "items": [
            {"name": "Bananas", "quantity": "2.35", "unit": "lb", "unit_price": "0.59", "line_total": "1.39",
             "snap_eligible": True},
            {"name": "Large Eggs 12 ct", "quantity": "2", "unit_price": "2.99", "line_total": "5.98",
             "snap_eligible": True, "discounts": [{"description": "Club price", "amount": "1.00"}]},
            {"name": "Cola 12 pk cans", "quantity": "1", "unit_price": "7.99", "line_total": "7.99",
             "taxable": True, "snap_eligible": True, "bottle_deposit": "0.60"},
            {"name": "Paper Towels 6 roll", "quantity": "1", "unit_price": "11.99", "line_total": "11.99",
             "taxable": True},
        ],
        "discounts": [{"description": "$2 off produce week", "amount": "2.00", "promotion_code": "SAVE2"}],
        "coupons": [{"code": "MFR-0199", "description": "Manufacturer coupon", "amount": "0.50"}],
        "taxes": [{"name": "IL sales tax", "rate": "0.0625", "amount": "1.25"}],
        "subtotal": "23.85",
        "total_savings": "3.50",
        "total": "25.70",
        "tenders": [
            {"type": "card", "amount": "20.00", "card_brand": "Visa", "last4": TEST_CARD_NUMBER[-4:],
             "entry_mode": "chip", "auth_code": "A1B2C3"},
            {"type": "cash", "amount": "10.00", "change_due": "4.30"},
        ],
        "loyalty": {"member_id": "LM12345678", "points_earned": 25, "points_redeemed": 100, "balance": 1234,
                    "balance_pending": True},
        "promotions": [{"title": "2x points on produce", "text": "Next week only, with your club card.",
                        "code": "PRODUCE2X", "expires_on": "2025-12-05"}],
    }  # fmt: skip
    payload.update(changes)
    return payload
