"""The receipt as data, for a store's own template at SendGrid, Postmark or Mandrill.

`build_template_data` turns a sale, the store profile and a language into a JSON-ready dict: the same
unified summary the receipt shows (`app.rendering.summary`), with the values a template needs to lay
it out itself. Its shape is published as a JSON Schema (draft 2020-12) in
`docs/receipt-data.schema.json`, and `docs/templates.md` tells a designer how to use it.

- Money is an object `{"amount": "1.39", "display": "$1.39"}`: `amount` a decimal string with two
  places (never a float), `display` the string our own receipt prints in the customer's language.
  Amounts taken off (savings, discounts, coupons) are positive in `amount` and shown `-$1.00`.
- Times are ISO 8601 with the sale's own UTC offset; dates ISO 8601 (`2025-12-05`).
- Cards appear as brand and last four only, as on the receipt, with how the card was read and the
  authorisation code when the POS sent them; never more of the card.
- Every key is always present (`null`, `""` or `[]` when absent), so a template never meets an
  undefined value.

`SCHEMA_VERSION` moves when a field is removed or changes meaning; adding a field does not move it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from app.domain.barcodes import RECEIPT_PREFIX
from app.domain.channels import Language
from app.domain.receipt import StoreProfile
from app.domain.sale import LineItem, Sale, Tender, TenderType
from app.rendering.formatting import format_quantity, money
from app.rendering.summary import LineView, ReceiptSummary, Row, build_summary, one_line

SCHEMA_VERSION = 1
"""The `schema_version` of the data; see `docs/receipt-data.schema.json`."""
BARCODE_SYMBOLOGY = "code128"
"""How the printed receipt encodes `RD-<sale id>`; a template may draw the same code (or a QR)."""


def build_template_data(
    sale: Sale,
    store: StoreProfile,
    language: Language,
    *,
    receipt_url: str | None = None,
    summary: ReceiptSummary | None = None,
) -> dict[str, Any]:
    """The receipt's data for a provider template; `summary` is reused when the caller has it already."""
    s = summary if summary is not None else build_summary(sale, store, language)
    taken_off: list[tuple[Decimal, str | None]] = [(d.amount, d.promotion_code) for d in sale.discounts]
    taken_off += [(c.amount, c.code) for c in sale.coupons]
    return {
        "schema_version": SCHEMA_VERSION,
        "language": s.language,
        "currency": sale.currency,
        "subject": s.subject,
        "store": {
            "id": sale.store_id,
            "name": s.store.name,
            "address": s.store.address,
            "phone": s.store.phone,
            "website": s.store.website,
        },
        "sale": {
            "id": sale.sale_id,
            "occurred_at": sale.occurred_at.isoformat(),
            "occurred_at_display": s.when,
            "lane": sale.lane,
            "cashier": one_line(sale.cashier) if sale.cashier else "",
            "order_id": sale.order_id,
        },
        "lines": [_line(item, view) for item, view in zip(sale.items, s.lines, strict=True)],
        "item_count": s.item_count,
        "discounts": [
            {"description": row.label, "code": code, "amount": _money(amount, row.amount)}
            for (amount, code), row in zip(taken_off, s.discounts, strict=True)
        ],
        "taxes": [
            {
                "name": tax.name,
                "label": row.label,
                "rate": str(tax.rate),
                "amount": _money(tax.amount, row.amount),
            }
            for tax, row in zip(sale.taxes, s.taxes, strict=True)
        ],
        "totals": {
            "items": _money(sale.items_total, money(sale.items_total)),
            "savings": _money(sale.total_savings, money(sale.total_savings, negative=True)),
            "savings_sentence": s.savings,
            "subtotal": _money(sale.subtotal, s.subtotal),
            "tax": _money(sale.tax_total, money(sale.tax_total)),
            "deposits": _money(sale.deposit_total, money(sale.deposit_total)),
            "total": _money(sale.total, s.total),
            "change_due": _money(sale.change_due, money(sale.change_due)),
        },
        "tenders": [_tender(t, row) for t, row in zip(sale.tenders, s.tenders, strict=True)],
        "has_snap": s.has_snap,
        "has_taxed": s.has_taxed,
        "taxed_legend": f"{s.t.taxed_marker} = {s.t.taxed_legend}" if s.has_taxed else "",
        "loyalty": _loyalty(sale, s),
        "promotions": [
            {
                "title": view.title,
                "text": view.text,
                "code": promo.code,
                "code_label": view.code,
                "expires_on": promo.expires_on.isoformat() if promo.expires_on else None,
                "expires_label": view.expires,
            }
            for promo, view in zip(sale.promotions, s.promotions, strict=True)
        ],
        "barcode": {
            "value": f"{RECEIPT_PREFIX}{sale.sale_id}",
            "symbology": BARCODE_SYMBOLOGY,
            "label": s.t.return_code.format(code=s.return_code),
        },
        "receipt_url": receipt_url,
        "footer": {
            "not_yours": s.footer.not_yours,
            "preferences": s.footer.preferences,
            "preferences_url": s.footer.preferences_url,
            "store_footer": s.footer.store_footer,
        },
    }


def dumps(data: dict[str, Any]) -> str:
    """The canonical JSON text of the data (sorted keys, no spaces): the same sale gives the same bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _money(amount: Decimal, display: str) -> dict[str, str]:
    return {"amount": f"{amount:.2f}", "display": display}


def _line(item: LineItem, view: LineView) -> dict[str, Any]:
    return {
        "name": view.name,
        "sku": item.sku,
        "upc": item.upc,
        "quantity": format_quantity(item.quantity, min_places=2 if item.is_weighed else 0).replace(",", ""),
        "unit": item.unit.value,
        "weighed": item.is_weighed,
        "detail": view.detail,
        "unit_price": _money(item.unit_price, money(item.unit_price)),
        "line_total": _money(item.line_total, view.amount),
        "snap_eligible": item.snap_eligible,
        "taxable": item.taxable,
        "marks": view.flag,
        "bottle_deposit": _money(item.bottle_deposit, money(item.bottle_deposit)) if item.bottle_deposit else None,
        "deposit_label": view.deposit.label if view.deposit else "",
        "savings": [
            {"description": row.label, "amount": _money(d.amount, row.amount)}
            for d, row in zip(item.discounts, view.savings, strict=True)
        ],
    }


def _tender(tender: Tender, row: Row) -> dict[str, Any]:
    card = tender.type is TenderType.CARD or tender.last4 is not None
    return {
        "type": tender.type.value,
        "label": row.label,
        "card_brand": tender.card_brand if card else None,
        "last4": tender.last4,
        "entry_mode": tender.entry_mode.value if tender.entry_mode else None,
        "auth_code": tender.auth_code,
        "detail": row.detail,
        "amount": _money(tender.amount, row.amount),
        "change_due": _money(tender.change_due, money(tender.change_due)),
    }


def _loyalty(sale: Sale, s: ReceiptSummary) -> dict[str, Any] | None:
    if sale.loyalty is None or s.loyalty is None:
        return None
    return {
        "points_earned": sale.loyalty.points_earned,
        "points_redeemed": sale.loyalty.points_redeemed,
        "balance": sale.loyalty.balance,
        "balance_pending": sale.loyalty.balance_pending,
        "rows": [{"label": row.label, "value": row.amount} for row in s.loyalty.rows],
        "summary": s.loyalty.short,
    }
