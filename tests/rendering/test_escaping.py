"""Text from a sale and from the settings, rendered: HTML escaped, SMS as typed, paper without control bytes."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

import pytest

from app.demo.wiring import DEMO_PROFILE
from app.devices.escpos import encode, encode_text
from app.domain.channels import Language
from app.domain.intake import parse_sale
from app.domain.printdoc import Paper, SaleCode
from app.domain.sale import Sale
from app.domain.text import BIDI_CONTROLS
from app.rendering.print_receipt import print_receipt
from app.rendering.receipts import ReceiptRenderer
from app.rendering.sms import encode_info, segment_count

from . import sample_payload

MARKUP = "<script>alert(\"x\")</script> & 'Tom'"
BIDI = "\u202eevil\u202c \u2066Ana\u2069"
CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")


@pytest.fixture(scope="module")
def renderer() -> ReceiptRenderer:
    return ReceiptRenderer()


def nasty_sale(**item_names: str) -> Sale:
    """The sample sale with markup, quotes and bidi controls in names, a discount and a promotion."""
    payload: dict[str, Any] = sample_payload()
    payload["items"][0]["name"] = item_names.get("first", MARKUP)
    payload["items"][1]["name"] = item_names.get("second", BIDI)
    payload["items"][1]["discounts"][0]["description"] = 'Club "price" & <b>more</b>'
    payload["promotions"][0]["text"] = "<img src=x onerror=alert(1)>\nSecond line & more"
    return parse_sale(payload)


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_html_receipt_shows_markup_as_text(renderer: ReceiptRenderer) -> None:
    clean = renderer.render(nasty_sale(first="Bananas", second="Eggs"), DEMO_PROFILE, Language.EN)
    receipt = renderer.render(nasty_sale(), DEMO_PROFILE, Language.EN)
    parsed, reference = _Html(), _Html()
    parsed.feed(receipt.html)
    reference.feed(clean.html)
    assert parsed.tags == reference.tags  # no element came from the sale's text
    text = "".join(parsed.text)
    assert MARKUP in text and 'Club "price" & <b>more</b>' in text and "<img src=x onerror=alert(1)>" in text
    assert "evil Ana" in text
    assert not BIDI_CONTROLS.intersection(receipt.html + receipt.text + receipt.sms.body + receipt.subject)


def test_the_sms_is_plain_text_with_no_entities(renderer: ReceiptRenderer) -> None:
    sale = nasty_sale(first='Tom & "Jerry" <3', second="Eggs 'large'")
    sms = renderer.render(sale, DEMO_PROFILE, Language.EN).sms
    assert 'Tom & "Jerry" <3' in sms.body and "Eggs 'large'" in sms.body
    assert not re.search(r"&(?:amp|lt|gt|quot|#\d+|#x[0-9a-f]+);", sms.body, re.IGNORECASE)
    assert not BIDI_CONTROLS.intersection(sms.body)
    assert (sms.encoding, sms.segments) == (encode_info(sms.body)[0], segment_count(sms.body))


@pytest.mark.parametrize("paper", list(Paper))
def test_sale_text_reaches_the_printer_without_control_bytes(paper: Paper) -> None:
    doc = print_receipt(nasty_sale(), DEMO_PROFILE, Language.EN, paper=paper, codes=SaleCode.BOTH)
    lines = [line.text for line in doc.text_lines()]
    assert any(MARKUP[:20] in line for line in lines)
    for line in lines:
        assert not CONTROL_BYTES.search(encode_text(line)), line
        assert not BIDI_CONTROLS.intersection(line)


def test_control_characters_in_the_store_settings_never_reach_the_printer() -> None:
    # The settings file is text an operator pastes into (TOML's \u001b writes an ESC): `ESC @`
    # resets the printer mid-receipt, `DLE EOT` asks it for its status, `GS V` cuts the paper.
    sale = nasty_sale()
    dirty = replace(DEMO_PROFILE, name="Sh\x10\x04op", footer="Thanks\x1b@, bye\x1dV\x00", address="1 Main St\u202e")
    plain = replace(DEMO_PROFILE, name="Shop", footer="Thanks@, byeV", address="1 Main St")
    printed = encode(print_receipt(sale, dirty, Language.EN))
    assert printed == encode(print_receipt(sale, plain, Language.EN))
    assert b"Thanks@, byeV" in printed
