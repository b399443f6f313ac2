"""The unified summary: every figure of the sale, formatted, in the customer's language."""

from __future__ import annotations

from dataclasses import replace

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Language
from app.domain.intake import parse_sale
from app.domain.receipt import StoreProfile
from app.rendering.summary import ReceiptSummary, Row, build_summary

from . import TEST_CARD_NUMBER, sample_payload

STORE = replace(DEMO_PROFILE, footer="Returns within 30 days.", preferences_url="https://example.com/prefs")


def summary(language: Language = Language.EN, store: StoreProfile = STORE, **changes: object) -> ReceiptSummary:
    return build_summary(parse_sale(sample_payload(**changes)), store, language)


def test_weighed_line_shows_weight_times_unit_price() -> None:
    bananas = summary().lines[0]
    assert bananas.label == "Bananas 2.35 lb @ $0.59/lb"
    assert bananas.amount == "$1.39"
    assert bananas.snap


def test_counted_lines_and_line_savings() -> None:
    eggs, cola, towels = summary().lines[1:]
    assert eggs.label == "Large Eggs 12 ct 2 @ $2.99"
    assert eggs.savings == (Row("Club price", "-$1.00"),)
    assert cola.label == "Cola 12 pk cans"
    assert cola.snap
    assert not towels.snap


def test_totals_taxes_deposits_and_savings() -> None:
    s = summary()
    assert s.discounts == (
        Row("$2 off produce week", "-$2.00"),
        Row("Coupon MFR-0199: Manufacturer coupon", "-$0.50"),
    )
    assert (s.subtotal, s.deposits, s.total, s.tax_total) == ("$23.85", "$0.60", "$25.70", "$1.25")
    assert s.taxes == (Row("IL sales tax 6.25%", "$1.25"),)
    assert s.savings == "You saved $3.50"
    assert s.item_count == "5 items"  # 1 weighed line + 2 eggs + 1 cola + 1 towels
    assert s.has_snap


def test_loyalty_pending_is_marked_in_each_language() -> None:
    loyalty = summary().loyalty
    assert loyalty is not None
    assert loyalty.pending
    assert Row("Points balance", "1,234 (pending)") in loyalty.rows
    assert Row("Points redeemed", "-100") in loyalty.rows
    assert loyalty.short == "Points +25 -100, balance 1,234 (pending)"
    spanish = summary(Language.ES).loyalty
    assert spanish is not None
    assert Row("Saldo de puntos", "1,234 (pendiente)") in spanish.rows


def test_confirmed_balance_is_not_marked_pending() -> None:
    s = summary(loyalty={"member_id": "LM1", "points_earned": 5, "balance": 10})
    assert s.loyalty is not None
    assert s.loyalty.short == "Points +5, balance 10"


def test_tenders_show_brand_and_last_four_only() -> None:
    s = summary()
    assert s.tenders == (Row("Visa •••• 1111", "$20.00", "Chip · Auth A1B2C3"), Row("Cash", "$10.00"))
    assert s.change_due == "$4.30"
    assert TEST_CARD_NUMBER not in repr(s)


def test_ebt_tender_is_masked_with_its_label() -> None:
    s = summary(
        Language.ES,
        tenders=[
            {"type": "ebt_snap", "amount": "15.70", "last4": "9876"},
            {"type": "card", "amount": "10.00", "last4": "1111"},
        ],
    )
    assert s.tenders == (Row("EBT SNAP •••• 9876", "$15.70"), Row("Tarjeta •••• 1111", "$10.00"))
    assert s.change_due == ""


def test_promotions_and_footer() -> None:
    s = summary()
    (promo,) = s.promotions
    assert (promo.title, promo.code, promo.expires) == (
        "2x points on produce",
        "Code: PRODUCE2X",
        "Expires Dec 5, 2025",
    )
    assert s.footer.not_yours == "Not your receipt? Tell us at (217) 555-0100."
    assert s.footer.preferences == "To change how you get receipts, visit https://example.com/prefs."
    assert s.footer.preferences_href == "https://example.com/prefs"
    assert s.footer.store_footer == "Returns within 30 days."


def test_footer_without_preferences_url_points_to_the_service_desk() -> None:
    s = summary(Language.ES, store=DEMO_PROFILE)
    assert s.footer.preferences_href == ""
    assert "mostrador de servicio" in s.footer.preferences


def test_non_web_preferences_address_is_shown_but_not_linked() -> None:
    s = summary(store=replace(DEMO_PROFILE, preferences_url="javascript:alert(1)"))
    assert s.footer.preferences_href == ""


def test_spanish_summary_and_header() -> None:
    s = summary(Language.ES)
    assert s.subject == "Su recibo de ReceiptDesk Demo Market — $25.70"
    assert s.savings == "Usted ahorró $3.50"
    assert s.meta == ("Venta S-1001", "Caja 3", "Cajero Dana")
    assert s.when == "28 nov 2025, 23:57"
    assert s.promotions[0].expires == "Vence el 5 dic 2025"


def test_absent_parts_are_empty() -> None:
    s = summary(loyalty=None, promotions=[], cashier=None)
    assert s.loyalty is None
    assert s.promotions == ()
    assert s.meta == ("Sale S-1001", "Lane 3")


def test_names_are_single_lines() -> None:
    s = summary(store=replace(DEMO_PROFILE, name="Corner\nMarket"))
    assert s.store.name == "Corner Market"
    assert "\n" not in s.subject
