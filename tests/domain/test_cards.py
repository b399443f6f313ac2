"""The one card-number detector: every way a card number is written is found, what only looks like
one is not, and a refusal names the field but never the number."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.domain.cards import (
    card_spans,
    contains_card_number,
    find_card_numbers,
    luhn_valid,
    refuse_card_number,
    refuse_card_numbers,
)
from app.domain.errors import CardDataRejected, ValidationFailed

TEST_CARDS = {
    "4111111111111111": (4, 4, 4, 4),  # Visa
    "5555555555554444": (4, 4, 4, 4),  # Mastercard
    "2223003122003222": (4, 4, 4, 4),  # Mastercard 2-series
    "378282246310005": (4, 6, 5),  # American Express
    "6011111111111117": (4, 4, 4, 4),  # Discover
    "3530111333300000": (4, 4, 4, 4),  # JCB
    "30569309025904": (4, 6, 4),  # Diners
    "4222222222222": (4, 4, 5),  # a 13-digit Visa
    "6200000000000005": (4, 4, 4, 4),  # UnionPay
    "4111111111111111110": (4, 4, 4, 4, 3),  # a 19-digit Visa
}
SEPARATORS = [" ", "-", ".", "/", "_", ":", "#", "\\", " - ", "\u00a0", "\u2013", "\u2009", "\u3000", "\uff0d"]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def grouped(digits: str, shape: tuple[int, ...], separator: str) -> str:
    parts, start = [], 0
    for size in shape:
        parts.append(digits[start : start + size])
        start += size
    return separator.join(parts)


@pytest.mark.parametrize("pan", list(TEST_CARDS))
def test_each_test_card_is_luhn_valid_and_found_bare(pan: str) -> None:
    assert luhn_valid(pan) and contains_card_number(pan)


@pytest.mark.parametrize("separator", SEPARATORS)
@pytest.mark.parametrize("pan", list(TEST_CARDS))
def test_every_separator_between_the_groups(pan: str, separator: str) -> None:
    written = grouped(pan, TEST_CARDS[pan], separator)
    assert contains_card_number(written), written
    assert contains_card_number(f"S-{written}"), written  # inside an identifier
    assert contains_card_number(f"Card {written} exp 12/29 thanks"), written
    spans = card_spans(f"x {written} y")  # a 19-digit card also holds a 16-digit one: spans may overlap
    assert min(a for a, _ in spans) == 2 and max(b for _, b in spans) == 2 + len(written)


@pytest.mark.parametrize(
    "written",
    [
        "4111-1111.1111/1111",  # mixed separators
        "4111 1111-1111_1111",
        "4111111111111111".translate(FULL_WIDTH),
        "4111 1111 1111 1111".translate(FULL_WIDTH),
        "4111111111111111".translate(ARABIC_INDIC),
        "4111\u200b1111\u200b1111\u200b1111",  # zero-width spaces
        "4111\u202e1111\u202c1111\u20661111",  # bidi controls inside
        "41\u00ad11 1111 1111 1111",  # a soft hyphen
        "4111 1111 1111 1111 12/29",  # followed by its expiry: the run is longer than a card
        "12 4111 1111 1111 1111",  # after a quantity
        "𝟒𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏",  # mathematical digits
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",  # one digit at a time
    ],
)
def test_other_ways_of_writing_it(written: str) -> None:
    assert contains_card_number(written)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28T10:15:00.123456-06:00",
        "2026-11-28 10:15:00.123",
        "11/28/2026 10:15:00",
        "28.11.2026 10:15",
        "20261128151542.8d2f6a1c0b3e4f57@sandbox.example",  # a provider's message id
        "deal-18273645-1733155200000",  # milliseconds since 1970
        "deal-123-1733155230123",
        "1764342942.908181",  # seconds since 1970, with a fraction
        "0.4331989288330078",
        "+86 138 0013 8000",  # E.164 phone numbers
        "+44 20 7946 0018",
        "(217) 555-0142",
        "820982.911946.154508",  # a long platform id grouped in sixes
        "c3034515972939b0db43738610d5fe14",  # a UUID without dashes
        "SMc3034515972939b0db43738610d5fe14",  # a Twilio message SID
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # a SHA-1 digest
        "004200031234567",  # starts with 0: no card does
        "4111111111111112",  # fails the Luhn check
        "4111-1111-1111",  # too short
        "S-1001",
        "SKU 12345678",
    ],
)
def test_what_only_looks_like_digits_of_a_card(text: str) -> None:
    assert not contains_card_number(text)


def test_uuids_in_any_writing_are_not_cards() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        value = uuid.UUID(int=rng.getrandbits(128))
        for text in (str(value), str(value).replace("-", "."), str(value).upper(), value.hex):
            assert not contains_card_number(text), text
    assert not any(contains_card_number(str(uuid.UUID(int=n * 7919 + 12345678901234567))) for n in range(3000))


@given(
    first=st.sampled_from("3456789"),
    body=st.text(alphabet="0123456789", min_size=11, max_size=17),
    sizes=st.lists(st.integers(3, 8), min_size=1, max_size=6),
    separator=st.sampled_from(SEPARATORS),
    before=st.sampled_from(["", "card ", "S-", "#", "Ref: ", "ABC"]),
    after=st.sampled_from(["", " thanks", "-X", " 12/29", "Z"]),
)
def test_any_luhn_valid_number_in_any_grouping_is_found(
    first: str, body: str, sizes: list[int], separator: str, before: str, after: str
) -> None:
    # Groups of three to eight digits, starting with 3-9: a time (10:15), a date (2026-11-28), a
    # timestamp (1733155200000), a decimal fraction or a leading zero are shapes the detector leaves alone.
    pan = next(first + body + str(c) for c in range(10) if luhn_valid(first + body + str(c)))
    groups, start, turn = [], 0, 0
    while len(pan) - start > 8:  # groups of at most eight: no group is a timestamp of its own
        size = min(sizes[turn % len(sizes)], len(pan) - start - 3)
        groups.append(pan[start : start + size])
        start, turn = start + size, turn + 1
    groups.append(pan[start:])
    assume(not (separator == "." and len(groups) > 2 and all(len(g) == 6 for g in groups[1:])))
    text = before + separator.join(groups) + after
    assert contains_card_number(text), text


def test_a_payload_names_paths_keys_and_numbers() -> None:
    payload = {
        "items": [{"name": "ok"}, {"name": "card 4111.1111.1111.1111"}],
        "note": 4111111111111111,
        "amount": Decimal("4111111111111111"),
        "upc": "4006381333924",  # a valid EAN-13 that also passes Luhn: a barcode
        "4111-1111-1111-1111": "the key itself",
        "nested": {"5555 5555 5555 4444": 1},
        "fraction": 0.4111111111111111,
    }
    assert list(find_card_numbers(payload)) == ["items.1.name", "note", "amount", "(key)", "nested.(key)"]


def test_numbers_far_beyond_a_cards_size_are_passed_over_without_overflow() -> None:
    huge = {"a": Decimal("1e999999999"), "b": Decimal("-1e999999999"), "c": 10**5000, "d": float("inf")}
    assert list(find_card_numbers(huge)) == []


def test_a_platforms_own_ids_and_tracking_numbers_are_not_cards_there() -> None:
    payload = {
        "id": 4111111111111111,
        "order_id": "4111111111111111",
        "admin_graphql_api_id": "gid://shopify/Order/4111111111111111",
        "objectId": 4111111111111111,
        "fulfillments": [{"tracking_numbers": ["4111111111111111"], "tracking": [{"number": "4111111111111111"}]}],
        "note": "4111 1111 1111 1111",
        "id_card": {"number": "4111111111111111"},
    }
    assert list(find_card_numbers(payload, ids_exempt=True)) == ["note", "id_card.number"]
    assert len(list(find_card_numbers(payload))) == 8


def test_a_refusal_names_the_field_and_never_the_number() -> None:
    with pytest.raises(CardDataRejected) as caught:
        refuse_card_number("pos 4111-1111-1111-1111", "Idempotency-Key")
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.field == "Idempotency-Key"
    assert "Idempotency-Key" in caught.value.message and "1111" not in str(caught.value)
    with pytest.raises(CardDataRejected) as many:
        refuse_card_numbers({"a": "4111111111111111", "4111 1111 1111 1111": {"b": 5555555555554444}}, where="body")
    assert many.value.field == "body.a" and "(and 1 more)" in many.value.message
    assert "4111" not in str(many.value) and "5555" not in str(many.value)
    refuse_card_number(None, "x")
    refuse_card_numbers({"id": 4111111111111111}, ids_exempt=True)


def test_a_megabyte_of_digit_groups_is_read_in_linear_time() -> None:
    # The guard reads whole request bodies before anything else: its cost must grow with the text, not
    # with the number of windows in it. A card at the very end is still found.
    text = "1 " * 200_000 + "4111 1111 1111 1111"
    assert contains_card_number(text)
    assert not contains_card_number("1 " * 200_000)
