"""Card data rules: find full card numbers anywhere in a payload, mask what may be kept.

Only the card brand and last four digits ever get past the edge (PCI DSS 3.4, FACTA).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# A bare run of 13-19 digits, or one grouped by single spaces or dashes ("4111 1111 1111 1111"). A
# grouped run must stand apart from letters and dashes: the digit groups of a UUID are not a card.
_PLAIN = re.compile(r"(?<!\d)\d{13,19}(?!\d)")
_GROUPED = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")


def luhn_valid(digits: str) -> bool:
    """True when `digits` passes the Luhn (mod 10) check."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def gtin_valid(digits: str) -> bool:
    """True when `digits` is a GTIN-8/12/13/14 (UPC/EAN) with a correct GS1 check digit."""
    if len(digits) not in (8, 12, 13, 14) or not digits.isdigit():
        return False
    body, check = digits[:-1], int(digits[-1])
    weighted = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - weighted % 10) % 10 == check


def contains_card_number(text: str) -> bool:
    """True when `text` holds a digit run that looks like a full primary account number."""
    for pattern in (_PLAIN, _GROUPED):
        for match in pattern.finditer(text):
            digits = re.sub(r"[ -]", "", match.group())
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                return True
    return False


def find_card_numbers(payload: Any, path: str = "") -> Iterator[str]:
    """Yield the dotted path of every value in a parsed JSON payload holding a card number.

    Keys are checked as well as values. A `upc` field holding a valid GTIN is a barcode, not a card.
    """
    if isinstance(payload, dict):
        for key, value in payload.items():
            child = f"{path}.{key}" if path else str(key)
            if contains_card_number(str(key)):
                yield child
            elif key == "upc" and isinstance(value, str | int) and gtin_valid(str(value)):
                continue
            else:
                yield from find_card_numbers(value, child)
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            yield from find_card_numbers(value, f"{path}.{index}" if path else str(index))
    elif (
        isinstance(payload, str | int | float) and not isinstance(payload, bool) and contains_card_number(str(payload))
    ):
        yield path or "(body)"


def mask_card(brand: str | None, last4: str | None) -> str:
    """`Visa •••• 1234`; the only way a card is ever shown."""
    label = (brand or "Card").strip() or "Card"
    return f"{label} •••• {last4}" if last4 else label
