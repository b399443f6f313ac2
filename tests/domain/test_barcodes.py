"""Barcode classification: check digits, loyalty cards by prefix or pattern, receipt barcodes, the rest."""

from __future__ import annotations

import pytest

from app.domain.barcodes import (
    BarcodeRules,
    ScanKind,
    classify,
    ean8_valid,
    ean13_valid,
    receipt_barcode,
    symbology_of,
    upc_a_valid,
)

RULES = BarcodeRules()


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("036000291452", True),  # UPC-A
        ("036000291453", False),
        ("012345678905", True),
        ("01234567890", False),  # 11 digits
        ("03600029145A", False),
    ],
)
def test_upc_a_check_digit(code: str, valid: bool) -> None:
    assert upc_a_valid(code) is valid


@pytest.mark.parametrize(
    ("code", "valid"),
    [("4006381333931", True), ("4006381333932", False), ("5901234123457", True), ("590123412345", False)],
)
def test_ean13_check_digit(code: str, valid: bool) -> None:
    assert ean13_valid(code) is valid


@pytest.mark.parametrize(("code", "valid"), [("96385074", True), ("96385075", False), ("73513537", True)])
def test_ean8_check_digit(code: str, valid: bool) -> None:
    assert ean8_valid(code) is valid


def test_symbology_by_length() -> None:
    assert symbology_of("036000291452") == "UPC-A"
    assert symbology_of("4006381333931") == "EAN-13"
    assert symbology_of("96385074") == "EAN-8"
    assert symbology_of("LM12345678") is None
    assert symbology_of("１２３４５６７８") is None  # full-width digits are not a barcode


def test_loyalty_card_by_prefix() -> None:
    scan = classify("LM48213377\r\n", RULES)
    assert scan.kind is ScanKind.LOYALTY
    assert scan.value == "LM48213377"
    assert "3377" in scan.message


def test_loyalty_card_as_upc_needs_its_check_digit() -> None:
    rules = BarcodeRules(loyalty_prefixes=("4",))
    good = classify("400000000015", rules)
    assert good.kind is ScanKind.LOYALTY
    assert good.symbology == "UPC-A"
    bad = classify("400000000016", rules)
    assert bad.kind is ScanKind.UNKNOWN
    assert "check digit" in bad.message


def test_loyalty_card_by_pattern_with_id_group() -> None:
    rules = BarcodeRules(loyalty_prefixes=(), loyalty_patterns=(r"2(?P<id>9\d{10})\d",))
    ean = classify("2912345678906", rules)
    assert ean.kind is ScanKind.LOYALTY
    assert ean.value == "91234567890"
    assert ean.symbology == "EAN-13"
    assert classify("2912345678907", rules).kind is ScanKind.UNKNOWN  # wrong check digit


def test_loyalty_pattern_without_group_gives_the_whole_code() -> None:
    rules = BarcodeRules(loyalty_prefixes=(), loyalty_patterns=(r"CARD-\d{6}",))
    assert classify("CARD-123456", rules).value == "CARD-123456"
    assert classify("CARD-12345", rules).kind is not ScanKind.LOYALTY


def test_receipt_barcode_is_the_sale_id() -> None:
    bare = classify("K1A2B3C4D", RULES)
    assert bare.kind is ScanKind.RECEIPT
    assert bare.value == "K1A2B3C4D"
    prefixed = classify(receipt_barcode("T00012345"), RULES)
    assert prefixed.kind is ScanKind.RECEIPT
    assert prefixed.value == "T00012345"
    assert "T00012345" in prefixed.message


@pytest.mark.parametrize(
    ("code", "sale_id"),
    [("RD-12345", "12345"), ("RD-K1A2B3C4D", "K1A2B3C4D"), ("S-1001", "S-1001"), ("RDX42", "RDX42")],
)
def test_printed_receipt_codes_give_the_sale_id(code: str, sale_id: str) -> None:
    scan = classify(code, RULES)
    assert (scan.kind, scan.value) == (ScanKind.RECEIPT, sale_id)


def test_what_the_printer_prints_reads_back_as_the_sale() -> None:
    from app.rendering.print_receipt import sale_code

    for sale_id in ("K1A2B3C4D", "000123", "T00012345"):
        scan = classify(sale_code(sale_id), RULES)
        assert (scan.kind, scan.value) == (ScanKind.RECEIPT, sale_id)


def test_receipt_pattern_is_configurable() -> None:
    rules = BarcodeRules(receipt_pattern=r"RCPT:(\d{6,})")
    scan = classify("RCPT:001234", rules)
    assert (scan.kind, scan.value) == (ScanKind.RECEIPT, "001234")
    assert classify("K1A2B3C4D", rules).kind is ScanKind.UNKNOWN


def test_loyalty_wins_over_a_receipt_pattern_that_also_matches() -> None:
    assert classify("LM12345678", RULES).kind is ScanKind.LOYALTY


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("036000291452", "product barcode (UPC-A)"),
        ("036000291453", "check digit is wrong"),
        ("12", "Not a loyalty card or a receipt"),
        ("", "empty"),
        ("K12\x07", "unreadable"),
        ("é-123456", "unreadable"),
    ],
)
def test_unknown_codes_say_why(code: str, words: str) -> None:
    scan = classify(code, RULES)
    assert scan.kind is ScanKind.UNKNOWN
    assert words in scan.message


def test_a_bad_pattern_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        BarcodeRules(loyalty_patterns=("LM(",))
