"""The paper receipt layout: widths never exceeded, and every part of the sale on the paper."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Language
from app.domain.intake import parse_sale
from app.domain.printdoc import Barcode, Cut, Paper, PrintDocument, QrCode, SaleCode, TextLine
from app.domain.sale import Sale, TenderType
from app.rendering.formatting import money
from app.rendering.print_receipt import fit, print_receipt, sale_code
from app.sandbox.pos import STORE_TZ, make_sale

WHEN = datetime(2026, 11, 28, 10, 15, tzinfo=STORE_TZ)


def sale(seed: int, **kwargs: Any) -> Sale:
    return parse_sale(make_sale(random.Random(seed), sale_id=f"S-{seed:04d}", when=WHEN, **kwargs))


def texts(doc: PrintDocument) -> list[str]:
    return [line.text for line in doc.text_lines()]


@pytest.mark.parametrize("paper", list(Paper))
@pytest.mark.parametrize("language", list(Language))
def test_no_line_is_wider_than_the_paper(paper: Paper, language: Language) -> None:
    store = replace(
        DEMO_PROFILE,
        name="Supermercado La Económica de la Avenida Principal Número Cuarenta y Dos",
        footer="Devoluciones con recibo dentro de 30 días. https://example.com/a-very-long-return-policy-url-here",
        preferences_url="https://example.com/preferences/receipts/settings",
    )
    for seed in range(1, 25):
        doc = print_receipt(sale(seed, with_customer=True), store, language, paper=paper, codes=SaleCode.BOTH)
        assert doc.columns == paper.columns
        for line in doc.text_lines():
            room = paper.columns // 2 if line.double_width else paper.columns
            assert len(line.text) <= room, (seed, line.text)
        assert not any(line.text != line.text.rstrip() for line in doc.text_lines())


@pytest.mark.parametrize("paper", list(Paper))
def test_a_long_item_name_wraps_and_keeps_its_amount_right_aligned(paper: Paper) -> None:
    payload = make_sale(random.Random(7), sale_id="S-LONG", when=WHEN, items=1)
    payload["items"][0]["name"] = "Organic Free-Range Extra-Large Brown Eggs " + "Supercalifragilistic" * 4
    doc = print_receipt(parse_sale(payload), DEMO_PROFILE, Language.EN, paper=paper)
    lines = texts(doc)
    amount = money(parse_sale(payload).items[0].line_total)
    first = next(i for i, line in enumerate(lines) if line.startswith("Organic"))
    assert lines[first].rstrip(" ST").endswith(amount)
    assert lines[first].rstrip(" ST").index(amount) == paper.columns - 2 - len(amount)
    assert lines[first + 1].startswith("  ")  # the rest of the name, indented
    assert all(len(line) <= paper.columns for line in lines)


@pytest.mark.parametrize("paper", list(Paper))
def test_totals_tenders_savings_and_weights_are_printed(paper: Paper) -> None:
    checked = {"weights": 0, "savings": 0, "card": 0}
    for seed in range(1, 30):
        s = sale(seed, with_customer=True)
        doc = print_receipt(s, DEMO_PROFILE, Language.EN, paper=paper)
        lines = texts(doc)
        body = "\n".join(lines)
        total_line = next(line for line in doc.text_lines() if line.text.startswith("TOTAL"))
        assert total_line.bold and total_line.double_height and total_line.text.endswith(money(s.total))
        assert any(line.startswith("Subtotal") and line.endswith(money(s.subtotal)) for line in lines)
        for tax in s.taxes:
            assert any(line.endswith(money(tax.amount)) and tax.name in line for line in lines)
        for item in s.items:
            if item.is_weighed:
                checked["weights"] += 1
                assert f"{item.unit.value} @ {money(item.unit_price)}/{item.unit.value}" in body
        if s.total_savings:
            checked["savings"] += 1
            assert f"You saved {money(s.total_savings)}" in body
        for tender in s.tenders:
            if tender.type is TenderType.CARD and tender.last4:
                checked["card"] += 1
                assert f"\u2022\u2022\u2022\u2022 {tender.last4}" in body
        # no digit run that could be a card number: only amounts, dates, ids and last fours
        assert not re.search(r"\d{7,}", body.replace(s.sale_id, ""))
        if s.loyalty:
            assert "Points earned" in body
    assert all(checked.values()), checked


def test_header_is_bold_double_height_and_centred() -> None:
    doc = print_receipt(sale(3), DEMO_PROFILE, Language.EN)
    header = doc.blocks[0]
    assert isinstance(header, TextLine)
    assert header.text == "ReceiptDesk Demo Market" and header.bold and header.double_height
    assert isinstance(doc.blocks[-1], Cut)


@pytest.mark.parametrize(
    ("codes", "kinds"),
    [
        (SaleCode.BARCODE, [Barcode]),
        (SaleCode.QR, [QrCode]),
        (SaleCode.BOTH, [Barcode, QrCode]),
        (SaleCode.NONE, []),
    ],
)
def test_the_sale_id_is_printed_as_the_chosen_codes(codes: SaleCode, kinds: list[type]) -> None:
    s = sale(4)
    doc = print_receipt(s, DEMO_PROFILE, Language.EN, codes=codes)
    found = [b for b in doc.blocks if isinstance(b, Barcode | QrCode)]
    assert [type(b) for b in found] == kinds
    assert all(b.data == sale_code(s.sale_id) == f"RD-{s.sale_id}" for b in found)


def test_spanish_labels_come_from_the_catalogue() -> None:
    doc = print_receipt(sale(5, with_customer=True), DEMO_PROFILE, Language.ES, paper=Paper.MM58)
    body = "\n".join(texts(doc))
    assert "Subtotal" in body and "PAGO" in body and "¡Gracias por su compra!" in body


def test_fit_cuts_words_longer_than_the_line() -> None:
    assert fit("a" * 70, 32) == ["a" * 32, "a" * 32, "a" * 6]
    assert fit("one two three", 7) == ["one two", "three"]
