"""Card scrubbing of printed receipt text: at most the last four digits, never an expiry (FACTA)."""

from __future__ import annotations

import re

import pytest

from app.domain.card_scrub import TRACK_REMOVED, brand_prefix, scrub
from app.domain.cards import contains_card_number, gtin_valid, luhn_valid

# Published test card numbers (Visa, Mastercard, Mastercard 2-series, Amex, Discover, Diners, JCB, UnionPay).
TEST_CARDS = [
    "4111111111111111",
    "4242424242424242",
    "4222222222222",
    "5555555555554444",
    "2223003122003222",
    "378282246310005",
    "6011111111111117",
    "30569309025904",
    "3530111333300000",
    "6200000000000005",
    "4111111111111111110",  # a 19-digit Visa
]


@pytest.mark.parametrize("pan", TEST_CARDS)
@pytest.mark.parametrize(
    "shape",
    [
        "{pan}",
        "CARD # {pan}",
        "VISA {pan}    30.04",
        "ACCT:{spaced}",
        "ACCT {dashed}",
        "{spaced} APPROVED",
    ],
)
def test_every_full_card_number_keeps_only_its_last_four(pan: str, shape: str) -> None:
    spaced = " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))
    dashed = spaced.replace(" ", "-")
    result = scrub(shape.format(pan=pan, spaced=spaced, dashed=dashed))
    assert result.clean and result.masked == 1
    assert not contains_card_number(result.text)
    assert "*" * (len(pan) - 4) + pan[-4:] in result.text
    assert len(re.findall(r"\d", result.text.split("30.04")[0])) == 4


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("VISA 411111******1111", "VISA ************1111"),
        ("MC 5555 55XX XXXX 4444", "MC ************4444"),
        ("AMEX 3782 822463 10005", "AMEX ***********0005"),
        ("VISA ************4242     30.04", "VISA ************4242     30.04"),
        ("XXXXXXXXXXXX1111 VISA", "XXXXXXXXXXXX1111 VISA"),
    ],
)
def test_partly_masked_numbers_show_at_most_four_digits(line: str, expected: str) -> None:
    result = scrub(line)
    assert result.text == expected and result.clean


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("EXP 12/27", "EXP **/**"),
        ("Exp: 12/2027", "Exp: **/**"),
        ("EXPIRY: 1227", "EXPIRY: **/**"),
        ("EXP DATE 12-27", "EXP DATE **/**"),
        ("EXP. 01/29", "EXP. **/**"),
        ("VALID THRU 06/28", "VALID THRU **/**"),
        ("VISA ************4242 12/27", "VISA ************4242 **/**"),
        ("MASTERCARD 5555 5555 5555 4444 EXP 12/27", "MASTERCARD ************4444 EXP **/**"),
    ],
)
def test_expiry_dates_are_masked(line: str, expected: str) -> None:
    result = scrub(line)
    assert result.text == expected and result.clean and result.expiries == 1


def test_an_expiry_on_the_line_after_the_card_is_masked() -> None:
    result = scrub("DEBIT ************1234\n  01/30  CHIP")
    assert result.text == "DEBIT ************1234\n  **/**  CHIP"


@pytest.mark.parametrize(
    "line",
    [
        "11/28/26 10:15:32",
        "2026-11-28 18:42",
        "BANANAS 2.31 lb @ 0.59/lb  1.36 F",
        "2/5.00 YOGURT  2.50",
        "10/10.00 SALE",
        "SODA 12/12 OZ CANS  5.99",  # no card on the line: 12/12 is a pack size
        "ST# 0042 OP# 000012 TE# 03 TR# 04521",
        "Receipt R-0042-05-118734",
        "AUTH 012345  AID A0000000031010",
        "(217) 555-0100",
        "012000001291 SPARKLING WATER 6PK $4.99 T",
    ],
)
def test_ordinary_receipt_lines_are_not_touched(line: str) -> None:
    result = scrub(line)
    assert result.text == line and result.clean and result.masked == result.expiries == 0


def test_gtins_are_item_codes_not_cards() -> None:
    for code in ("4006381333931", "0012345678905", "10012345678902", "5901234123457"):
        assert gtin_valid(code.zfill(14) if len(code) == 14 else code)
        line = f"{code} SPARKLING WATER  4.99"
        result = scrub(line)
        assert result.text == line and result.clean, code
    # a GTIN-13 that also passes Luhn: an item code on an item line, masked on a card line
    ean = next(
        f"{n:012d}" + str(c)
        for n in range(590123412345, 590123413345)
        for c in range(10)
        if gtin_valid(f"{n:012d}{c}") and luhn_valid(f"{n:012d}{c}") and brand_prefix(f"{n:012d}{c}")
    )
    assert scrub(f"{ean} OAT MILK  3.99").text == f"{ean} OAT MILK  3.99"
    assert scrub(f"CARD {ean}").text == f"CARD *********{ean[-4:]}"


def test_long_sale_ids_are_not_cards() -> None:
    # Luhn-valid, but no card starts like these: transaction numbers
    for body in ("004200031234567", "900000000000000", "000000420003118", "7000123456789012"):
        ident = next(body + str(c) for c in range(10) if luhn_valid(body + str(c)))
        line = f"TRANS# {ident}"
        result = scrub(line)
        assert result.text == line and result.clean, ident


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("%B4111111111111111^DOE/JOHN^27121010000000000", "track data"),
        (";4111111111111111=27121010000000000?", "track data"),
        ("CARD 4111.1111.1111.1111", "card number"),
        ("4111 1111  1111 1111", "card number"),
        ("REF 4111/1111/1111/1111", "card number"),
        ("EXP 2712", "expiry"),
    ],
)
def test_what_still_looks_like_card_data_is_held_and_blanked(line: str, reason: str) -> None:
    result = scrub(line)
    assert not result.clean and any(reason in s for s in result.suspects)
    assert "4111111111111111" not in re.sub(r"\D", "", result.text)
    assert "2712" not in result.text or reason != "expiry"


def test_track_data_is_removed_whole_name_and_discretionary_data_included() -> None:
    result = scrub("VISA SWIPED %B4111111111111111^DOE/JOHN^27121010000000000 APPROVED")
    assert result.text == f"VISA SWIPED {TRACK_REMOVED} APPROVED"
    assert not result.clean


def test_a_whole_receipt_is_scrubbed_line_by_line() -> None:
    text = "\n".join(
        [
            "GREEN VALLEY FOODS",
            "Receipt R-0042-05-118735",
            "Mastercard 5555 5555 5555 4444 $13.21",
            "Exp 12/27  Chip read",
            "You saved $1.00",
        ]
    )
    result = scrub(text)
    assert result.clean and result.masked == 1 and result.expiries == 1
    assert result.text.splitlines()[2:4] == ["Mastercard ************4444 $13.21", "Exp **/**  Chip read"]
    assert result.text.splitlines()[1] == "Receipt R-0042-05-118735"
