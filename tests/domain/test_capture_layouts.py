"""Receipt layouts: the two presets read their recorded receipts into sales; custom patterns work."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.config.settings import CaptureSettings
from app.devices.escpos_stream import EscPosStream, ReceiptComplete
from app.domain.capture import PRESETS, CaptureUnparsed, build_layout, capture_digest, parse_capture
from app.domain.card_scrub import scrub
from app.domain.errors import ConfigurationError
from app.domain.sale import TenderType, Unit

FIXTURES = Path(__file__).parents[1] / "fixtures" / "escpos"
CHICAGO = ZoneInfo("America/Chicago")


def lines_of(name: str) -> list[str]:
    [receipt] = [e.lines for e in EscPosStream().feed((FIXTURES / name).read_bytes()) if isinstance(e, ReceiptComplete)]
    return scrub("\n".join(receipt)).text.split("\n")


def test_the_classic_layout_reads_weighed_produce_savings_tax_and_the_card() -> None:
    sale = parse_capture(lines_of("classic.bin"), build_layout("classic"), store_id="store-0042", tz=CHICAGO)
    assert sale.sale_id == "20261128-3-04521" and sale.lane == "3" and sale.cashier == "000012"
    assert sale.occurred_at.isoformat() == "2026-11-28T10:15:32-06:00"
    bananas = sale.items[0]
    assert (bananas.name, bananas.quantity, bananas.unit, bananas.unit_price, bananas.line_total) == (
        "BANANAS",
        Decimal("2.31"),
        Unit.LB,
        Decimal("0.59"),
        Decimal("1.36"),
    )
    assert bananas.snap_eligible and not bananas.taxable
    milk, eggs, towels, water, peppers = sale.items[1:]
    assert [d.amount for d in milk.discounts] == [Decimal("0.50")]
    assert (eggs.quantity, eggs.unit_price) == (Decimal(2), Decimal("2.79"))
    assert towels.taxable and towels.discounts[0].description == "Club Savings"
    assert water.bottle_deposit == Decimal("0.60")
    assert peppers.name == "JALAPE\u00d1O PEPPERS" and peppers.unit is Unit.LB
    assert sale.subtotal == Decimal("28.57") and sale.total_savings == Decimal("1.50")
    assert [(t.rate, t.amount) for t in sale.taxes] == [(Decimal("0.0625"), Decimal("0.87"))]
    assert sale.total == Decimal("30.04")
    [card] = sale.tenders
    assert (card.type, card.card_brand, card.last4, card.amount) == (TenderType.CARD, "Visa", "4242", Decimal("30.04"))


def test_the_compact_layout_reads_upcs_per_kg_produce_and_coupons() -> None:
    sale = parse_capture(lines_of("compact.bin"), build_layout("compact"), store_id="store-0042", tz=CHICAGO)
    assert sale.sale_id == "R-0042-05-118734" and sale.lane == "5" and sale.cashier == "MARIA"
    assert sale.occurred_at.isoformat() == "2026-11-28T18:42:00-06:00"
    assert [i.upc for i in sale.items] == ["012000001291", "070038000563", "000000040112"]
    assert sale.items[2].unit is Unit.KG and sale.items[2].quantity == Decimal("1.250")
    assert sale.items[1].discounts[0].amount == Decimal("1.00")
    assert sale.total == Decimal("13.21") and sale.tenders[0].last4 == "5454"


def test_the_scrubbed_full_card_fixture_reads_with_only_the_last_four() -> None:
    sale = parse_capture(lines_of("compact_full_card.bin"), build_layout("compact"), store_id="s1", tz=CHICAGO)
    assert sale.tenders[0].card_brand == "Mastercard" and sale.tenders[0].last4 == "4444"


def test_cash_with_change_and_a_computed_tax_rate() -> None:
    lines = [
        "ST# 0042 OP# 000007 TE# 01 TR# 00001",
        "03/08/26 02:30:00",
        "BREAD                      2.50 F",
        "SOAP                       4.00 T",
        "           SUBTOTAL         6.50",
        "           TAX              0.25",
        "           TOTAL            6.75",
        "CASH                      10.00",
        "CHANGE                     3.25",
    ]
    sale = parse_capture(lines, build_layout("classic"), store_id="s1", tz=CHICAGO)
    [cash] = sale.tenders
    assert cash.type is TenderType.CASH and cash.change_due == Decimal("3.25")
    assert sale.taxes[0].rate == Decimal("0.0625")  # 0.25 on the 4.00 taxable
    assert sale.occurred_at.utcoffset() is not None


def test_without_a_zone_the_local_zone_is_used() -> None:
    sale = parse_capture(lines_of("classic.bin"), build_layout("classic"), store_id="s1")
    assert sale.occurred_at.tzinfo is not None


@pytest.mark.parametrize(
    ("drop", "why"),
    [("TOTAL", "total"), ("VISA", "tender"), ("11/28/26", "date"), ("ST#", "sale id"), ("SUBTOTAL", "subtotal")],
)
def test_a_receipt_missing_a_part_is_unparsed_with_a_reason(drop: str, why: str) -> None:
    lines = [line for line in lines_of("classic.bin") if drop not in line or (drop == "TOTAL" and "SUB" in line)]
    if drop == "SUBTOTAL":  # the printed subtotal disagrees with the items: checked like any POS sale
        lines = [line.replace("3.49 F", "4.49 F") for line in lines_of("classic.bin")]
    with pytest.raises(CaptureUnparsed) as err:
        parse_capture(lines, build_layout("classic"), store_id="s1", tz=CHICAGO)
    assert why in err.value.message


def test_custom_patterns_override_a_preset() -> None:
    layout = build_layout("classic", {"total": r"^\s*GRAND TOTAL\s+(?P<amount>\d+\.\d{2})$"})
    lines = [line.replace("**** TOTAL", "GRAND TOTAL") for line in lines_of("classic.bin")]
    with pytest.raises(CaptureUnparsed, match="total"):
        parse_capture(lines, build_layout("classic"), store_id="s1", tz=CHICAGO)
    assert parse_capture(lines, layout, store_id="s1", tz=CHICAGO).total == Decimal("30.04")


@pytest.mark.parametrize(
    ("preset", "patterns", "message"),
    [
        ("nope", {}, "preset"),
        ("classic", {"totl": "x"}, "unknown"),
        ("classic", {"item": "(unclosed"}, "regular expression"),
        ("custom", {"item": "x"}, "needs"),
    ],
)
def test_bad_layout_settings_are_configuration_errors(preset: str, patterns: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_layout(preset, patterns)


def test_settings_default_to_off_with_a_preset_layout() -> None:
    settings = CaptureSettings()
    assert not settings.enabled and settings.layout.preset in PRESETS and settings.listen_port == 9100
    custom = CaptureSettings.model_validate(
        {"enabled": True, "mode": "tcp", "layout": {"preset": "compact", "patterns": {"ignore": "^=+$"}}}
    )
    assert build_layout(custom.layout.preset, custom.layout.patterns).patterns["ignore"].pattern == "^=+$"


def test_the_digest_is_stable_and_content_bound() -> None:
    text = "\n".join(lines_of("classic.bin"))
    assert capture_digest(text) == capture_digest(text) != capture_digest(text + " ")
