"""The receipt's barcode always fits its paper: read back from the ESC/POS bytes a receipt becomes.

The bytes are parsed here with no help from the encoder: `GS w n` gives the bar width, `GS k 73`
the CODE128 data (`{B` text, `{C` one byte per digit pair), and the symbol's width is counted
from them: 11 modules a character (start, data, switches, check), 13 for the stop, 10 of quiet
zone on each side. A receipt without a barcode must carry the same value in its QR code.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import pytest

from app.demo.wiring import DEMO_PROFILE
from app.devices.escpos import code128_payload, encode
from app.domain.channels import Language
from app.domain.intake import parse_sale
from app.domain.printdoc import Paper, SaleCode
from app.rendering.print_receipt import print_receipt
from app.sandbox.pos import make_sale

DOTS = {  # printable width by paper and head (docs/printing.md): most heads are 203 dpi, Epson's TM-T88 180
    (Paper.MM58, 203): 384,
    (Paper.MM80, 203): 576,
    (Paper.MM58, 180): 360,
    (Paper.MM80, 180): 512,
}

LONG_IDS = [
    "shopify-5000000007",  # the issue's RD-shopify-5000000007: 532 dots at the old fixed width
    "shopify-50000000071234",
    "A" * 40,
    "9" * 40,
    "a1" * 20,  # digits never in pairs: code set C cannot help
    "order-" + "1" * 34,
    "S" + "7" * 39,
    "Z" * 64,  # the longest sale id a sale may have
    "1" * 64,
    "S-0001",
]


@dataclass(frozen=True)
class PrintedBarcode:
    text: str
    module_width: int
    characters: int  # between start and check: data and code set switches

    @property
    def dots(self) -> int:
        return ((self.characters + 2) * 11 + 13 + 2 * 10) * self.module_width


def read_code128(payload: bytes) -> tuple[str, int]:
    """The text a `GS k 73` payload holds and how many symbol characters it takes."""
    text, characters, code_set, i = "", 0, "", 0
    while i < len(payload):
        if payload[i : i + 1] == b"{" and payload[i + 1 : i + 2] in (b"B", b"C"):
            characters += 1 if code_set else 0  # the first set is the start character's
            code_set = payload[i + 1 : i + 2].decode()
            i += 2
            continue
        assert code_set, "the payload must open with a code set"
        if code_set == "C":
            assert payload[i] <= 99
            text += f"{payload[i]:02d}"
            i += 1
        elif payload[i : i + 2] == b"{{":
            text += "{"
            i += 2
        else:
            text += chr(payload[i])
            i += 1
        characters += 1
    return text, characters


def barcodes(data: bytes) -> list[PrintedBarcode]:
    found = []
    for match in re.finditer(rb"\x1dk\x49(.)", data, re.DOTALL):
        width = re.findall(rb"\x1dw(.)", data[: match.start()], re.DOTALL)[-1][0]
        payload = data[match.end() : match.end() + match.group(1)[0]]
        text, characters = read_code128(payload)
        found.append(PrintedBarcode(text, width, characters))
    return found


def qr_codes(data: bytes) -> list[str]:
    """The data of every QR code stored (`GS ( k` function 180)."""
    found = []
    for match in re.finditer(rb"\x1d\(k(.)(.)\x31\x50\x30", data, re.DOTALL):
        length = match.group(1)[0] + 256 * match.group(2)[0] - 3
        found.append(data[match.end() : match.end() + length].decode())
    return found


QR_M_BYTES = (14, 26, 42, 62, 84)  # byte-mode capacity of QR versions 1-5 at level M (ISO/IEC 18004, table 7)


def qr_dots(data: bytes) -> list[int]:
    """Width of each QR code printed, quiet zones included: (17 + 4 x version + 8) modules of `GS ( k` fn 167 dots."""
    sizes = [m.group(1)[0] for m in re.finditer(rb"\x1d\(k\x03\x00\x31\x43(.)", data, re.DOTALL)]
    versions = [next(v for v, cap in enumerate(QR_M_BYTES, 1) if len(text.encode()) <= cap) for text in qr_codes(data)]
    return [(17 + 4 * version + 8) * size for size, version in zip(sizes, versions, strict=True)]


def printed(sale_id: str, paper: Paper, codes: SaleCode, dpi: int = 203) -> bytes:
    payload = make_sale(random.Random(7), sale_id=sale_id)
    return encode(print_receipt(parse_sale(payload), DEMO_PROFILE, Language.EN, paper=paper, codes=codes, dpi=dpi))


@pytest.mark.parametrize("dpi", [203, 180])
@pytest.mark.parametrize("codes", [SaleCode.BARCODE, SaleCode.BOTH])
@pytest.mark.parametrize("paper", list(Paper))
@pytest.mark.parametrize("sale_id", LONG_IDS)
def test_every_printed_barcode_fits_and_the_sale_id_is_always_printed(
    sale_id: str, paper: Paper, codes: SaleCode, dpi: int
) -> None:
    data = printed(sale_id, paper, codes, dpi)
    found = barcodes(data)
    for barcode in found:
        assert barcode.text == f"RD-{sale_id}"
        assert 2 <= barcode.module_width <= 6
        assert barcode.dots <= DOTS[paper, dpi], f"{barcode.dots} dots on {DOTS[paper, dpi]}"
    qrs = qr_codes(data)
    assert found or qrs == [f"RD-{sale_id}"]  # no barcode: the QR alone carries the sale id
    assert len(qrs) == (1 if codes is SaleCode.BOTH or not found else 0)
    assert all(dots <= DOTS[paper, dpi] for dots in qr_dots(data))


def test_the_issue_sale_id_fits_58mm_as_a_barcode_only_with_code_set_c() -> None:
    """RD-shopify-5000000007: 266 modules in set B (532 dots at width 2, more than 384); the ten digits
    in set C save four characters, 242 modules with quiet zones, still over 384 at width 2: QR alone."""
    (on_80,) = barcodes(printed("shopify-5000000007", Paper.MM80, SaleCode.BARCODE))
    assert (on_80.characters, on_80.module_width, on_80.dots) == (17, 2, 484)
    on_58 = printed("shopify-5000000007", Paper.MM58, SaleCode.BARCODE)
    assert barcodes(on_58) == [] and qr_codes(on_58) == ["RD-shopify-5000000007"]


def test_a_short_id_gets_wider_bars_where_they_fit() -> None:
    (on_80,) = barcodes(printed("S-0001", Paper.MM80, SaleCode.BARCODE))
    (on_58,) = barcodes(printed("S-0001", Paper.MM58, SaleCode.BARCODE))
    assert on_80.module_width == 3 and on_58.module_width == 2  # 143 modules: 429 dots at 3, over 384
    assert on_80.text == "RD-S-0001" and on_80.characters == 8  # R D - S - in B, then {C 00 01


def test_the_payload_doubles_braces_and_packs_digit_pairs() -> None:
    assert code128_payload("A{1234") == b"{BA{{{C\x0c\x22"
    assert code128_payload("12345") == b"{B1{C\x17\x2d"  # 4 characters, as {C 12 34 {B 5 would be
    assert read_code128(code128_payload("A{1234")) == ("A{1234", 5)
