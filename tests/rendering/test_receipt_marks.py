"""Taxed-line marks and their legend, deposits on their lines, and how a card was paid, on every form
of the receipt, in both languages, on 80 and 58 mm paper."""

from __future__ import annotations

import random
import re
from datetime import datetime
from typing import Any

import pytest

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Language
from app.domain.intake import InvalidSale, parse_sale
from app.domain.printdoc import Paper, SaleCode
from app.domain.sale import Sale
from app.rendering.i18n import catalogue
from app.rendering.print_receipt import print_receipt
from app.rendering.receipts import ReceiptRenderer
from app.sandbox.pos import STORE_TZ, make_sale

WHEN = datetime(2026, 11, 28, 10, 15, tzinfo=STORE_TZ)
ENTRY_WORDS = {Language.EN: "Tap", Language.ES: "Sin contacto"}
AUTH_WORDS = {Language.EN: "Auth 0A12B3", Language.ES: "Aut. 0A12B3"}


def basket(**tender: Any) -> dict[str, Any]:
    """Soap (taxed), water (taxed, SNAP, deposit), bread (neither), paid by one card."""
    lines = [
        ("Dish Soap 24 oz", "3.79", True, False, "0"),
        ("Sparkling Water 1 L", "1.49", True, True, "0.10"),
        ("Sourdough Bread", "4.49", False, True, "0"),
    ]
    items = [
        {
            "name": name,
            "quantity": "1",
            "unit_price": price,
            "line_total": price,
            "taxable": taxable,
            "snap_eligible": snap,
            **({"bottle_deposit": deposit} if deposit != "0" else {}),
        }
        for name, price, taxable, snap, deposit in lines
    ]
    payload = make_sale(random.Random(1), sale_id="S-MARKS", when=WHEN, items=1)
    payload.update(
        items=items,
        discounts=[],
        coupons=[],
        subtotal="9.77",
        total_savings="0.00",
        taxes=[{"name": "IL sales tax", "rate": "0.0625", "amount": "0.33"}],
        total="10.20",
        tenders=[{"type": "card", "amount": "10.20", "card_brand": "Visa", "last4": "4414", **tender}],
    )
    payload.pop("loyalty", None)
    payload.pop("promotions", None)
    return payload


def marked_sale() -> Sale:
    return parse_sale(basket(entry_mode="contactless", auth_code="0A12B3"))


@pytest.fixture(scope="module")
def renderer() -> ReceiptRenderer:
    return ReceiptRenderer()


@pytest.mark.parametrize("language", list(Language))
def test_the_plain_text_marks_taxed_lines_and_shows_deposits_and_the_card_read(
    renderer: ReceiptRenderer, language: Language
) -> None:
    t = catalogue(language)
    text = renderer.render(marked_sale(), DEMO_PROFILE, language).text.splitlines()
    soap = next(line for line in text if line.startswith("Dish Soap"))
    water = next(line for line in text if line.startswith("Sparkling Water"))
    bread = next(line for line in text if line.startswith("Sourdough"))
    assert soap.endswith("$3.79 T")
    assert water.endswith("$1.49TS")  # taxed and SNAP: the amount stays in its column
    assert bread.endswith("$4.49 S")
    assert len({line.index("$") for line in (soap, water, bread)}) == 1
    deposit = text[text.index(water) + 1]
    assert deposit.startswith(f"  {t['deposit_line']}") and deposit.endswith("$0.10")
    assert f"T = {t['taxed_legend']}" in text
    card = text[text.index(next(line for line in text if "•••• 4414" in line)) + 1]
    assert card.strip() == f"{ENTRY_WORDS[language]} · {AUTH_WORDS[language]}"
    assert all(len(line) <= 48 for line in text)


@pytest.mark.parametrize("language", list(Language))
def test_the_html_marks_taxed_lines_and_shows_deposits_and_the_card_read(
    renderer: ReceiptRenderer, language: Language
) -> None:
    t = catalogue(language)
    html = renderer.render(marked_sale(), DEMO_PROFILE, language).html
    assert len(re.findall(rf'<span class="mark" title="{t["taxed_legend"]}"[^>]*>T</span>', html)) == 2
    assert f">T</span> = {t['taxed_legend']}</td>" in html
    assert len(re.findall(rf'<td class="deposit"[^>]*>{t["deposit_line"]}</td>', html)) == 1
    assert f">{ENTRY_WORDS[language]} · {AUTH_WORDS[language]}</span>" in html


@pytest.mark.parametrize("language", list(Language))
def test_the_sms_marks_taxed_lines_and_shows_deposits(renderer: ReceiptRenderer, language: Language) -> None:
    t = catalogue(language)
    body = renderer.render(marked_sale(), DEMO_PROFILE, language).sms.body.splitlines()
    assert "Dish Soap 24 oz $3.79 T" in body
    assert "Sourdough Bread $4.49" in body
    assert any(line.startswith("  ") and line.endswith("$0.10") for line in body)
    assert any(line.startswith("T = ") for line in body)
    assert t["taxed_marker"] == "T"


@pytest.mark.parametrize("paper", list(Paper))
@pytest.mark.parametrize("language", list(Language))
def test_the_print_shows_every_mark_within_the_paper(paper: Paper, language: Language) -> None:
    t = catalogue(language)
    doc = print_receipt(marked_sale(), DEMO_PROFILE, language, paper=paper, codes=SaleCode.BOTH)
    lines = [line.text for line in doc.text_lines()]
    assert all(len(line) <= paper.columns for line in lines), [line for line in lines if len(line) > paper.columns]
    soap = next(line for line in lines if line.startswith("Dish Soap"))
    water = next(line for line in lines if line.startswith("Sparkling Water"))
    assert soap.endswith("$3.79 T") and water.endswith("$1.49TS")
    assert len(soap) == len(water) == paper.columns
    assert any(line.strip().startswith(t["deposit_line"]) and line.endswith("$0.10") for line in lines)
    assert f"T = {t['taxed_legend']}" in lines
    assert f"S = {t['snap_legend']}" in lines
    assert any(line.strip() == f"{ENTRY_WORDS[language]} · {AUTH_WORDS[language]}" for line in lines)


@pytest.mark.parametrize("language", list(Language))
def test_no_legend_or_card_line_without_their_data(renderer: ReceiptRenderer, language: Language) -> None:
    payload = basket()
    for item in payload["items"]:
        item["taxable"] = False
    payload["taxes"], payload["total"] = [], "9.87"
    payload["tenders"][0]["amount"] = "9.87"
    receipt = renderer.render(parse_sale(payload), DEMO_PROFILE, language)
    t = catalogue(language)
    lines = receipt.text.splitlines()
    assert f"T = {t['taxed_legend']}" not in lines
    assert 'class="mark"' not in receipt.html
    after_card = lines[lines.index(next(line for line in lines if "•••• 4414" in line)) + 1]
    assert not after_card.startswith("  ")


@pytest.mark.parametrize(
    "tender",
    [
        {"entry_mode": "telepathy"},
        {"auth_code": "12-34"},
        {"auth_code": "4111111111111"},  # longer than any authorisation code; a card number's length
        {"auth_code": ""},
    ],
)
def test_an_unknown_entry_mode_or_a_malformed_auth_code_is_refused(tender: dict[str, str]) -> None:
    with pytest.raises(InvalidSale) as refused:
        parse_sale(basket(**tender))
    assert refused.value.problems[0].path.startswith("tenders.0.")
    assert "4111111111111" not in str(refused.value)


def test_an_entry_mode_of_other_is_kept_but_not_printed(renderer: ReceiptRenderer) -> None:
    sale = parse_sale(basket(entry_mode="other", auth_code="77"))
    text = renderer.render(sale, DEMO_PROFILE, Language.EN).text
    assert "  Auth 77" in text.splitlines()
