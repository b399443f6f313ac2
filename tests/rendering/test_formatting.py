"""Formatters: money, weighed and counted lines, rates, dates in the sale's offset, text columns."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.domain.channels import Language
from app.domain.sale import Unit
from app.rendering.formatting import (
    format_date,
    format_datetime,
    format_short_datetime,
    money,
    percent,
    quantity_detail,
    text_center,
    text_row,
)
from app.rendering.i18n import CATALOGUES, catalogue


@pytest.mark.parametrize(
    ("quantity", "unit", "price", "expected"),
    [
        ("2.35", Unit.LB, "0.59", "2.35 lb @ $0.59/lb"),
        ("2.5", Unit.LB, "1.99", "2.50 lb @ $1.99/lb"),
        ("0.125", Unit.KG, "12.00", "0.125 kg @ $12.00/kg"),
        ("12", Unit.OZ, "0.45", "12.00 oz @ $0.45/oz"),
        ("3", Unit.EA, "1.29", "3 @ $1.29"),
        ("1", Unit.EA, "4.49", ""),
        ("1500", Unit.EA, "1.00", "1,500 @ $1.00"),
    ],
)
def test_quantity_detail(quantity: str, unit: Unit, price: str, expected: str) -> None:
    assert quantity_detail(Decimal(quantity), unit, Decimal(price)) == expected


def test_money_and_percent() -> None:
    assert money(Decimal("1234.5")) == "$1,234.50"
    assert money(Decimal("1.00"), negative=True) == "-$1.00"
    assert percent(Decimal("0.0625")) == "6.25%"
    assert percent(Decimal("0.07")) == "7%"
    assert percent(Decimal("0.1")) == "10%"
    assert percent(Decimal("0.06875")) == "6.875%"


def test_dates_stay_in_the_sales_own_offset() -> None:
    # 23:57 in Chicago is already the next day in UTC: the receipt must show the till's time.
    when = datetime(2025, 11, 28, 23, 57, tzinfo=timezone(timedelta(hours=-6)))
    assert format_datetime(when, catalogue(Language.EN)) == "Nov 28, 2025 11:57 PM"
    assert format_datetime(when, catalogue(Language.ES)) == "28 nov 2025, 23:57"
    assert format_short_datetime(when, catalogue(Language.EN)) == "11/28/25 11:57 PM"
    assert format_short_datetime(when, catalogue(Language.ES)) == "28/11/25 23:57"
    noon = datetime(2025, 1, 2, 12, 5, tzinfo=UTC_PLUS_2)
    assert format_datetime(noon, catalogue(Language.EN)) == "Jan 2, 2025 12:05 PM"
    assert format_date(date(2025, 12, 5), catalogue(Language.ES)) == "5 dic 2025"


UTC_PLUS_2 = timezone(timedelta(hours=2))


def test_catalogues_have_the_same_keys() -> None:
    keys = {language: set(entries) for language, entries in CATALOGUES.items()}
    assert keys[Language.ES] == keys[Language.EN]
    assert set(CATALOGUES) == set(Language)


def test_text_row_aligns_amounts_and_flags() -> None:
    plain = text_row("Subtotal", "$23.85")
    flagged = text_row("Bananas 2.35 lb @ $0.59/lb", "$1.39", flag="S")
    assert len(plain) == 46
    assert plain.endswith("$23.85")
    assert len(flagged) == 48
    assert flagged.endswith("$1.39 S")
    assert flagged.index("$1.39") + len("$1.39") == 46


def test_text_row_wraps_long_labels_keeping_the_amount_on_the_first_line() -> None:
    row = text_row("Organic Free Range Boneless Skinless Chicken Thighs Family Pack", "$12.34")
    first, *rest = row.split("\n")
    assert first.endswith("$12.34")
    assert len(first) == 46
    assert rest
    assert all(line.startswith("  ") and len(line) <= 48 for line in rest)
    words = " ".join(part.strip() for part in [first.removesuffix("$12.34"), *rest]).split()
    assert " ".join(words) == "Organic Free Range Boneless Skinless Chicken Thighs Family Pack"


def test_text_center() -> None:
    assert text_center("abc") == " " * 22 + "abc"
    assert all(len(line) <= 48 for line in text_center("word " * 30).split("\n"))
