"""Card data rules: the one detector of full card numbers, and masking what may be kept.

Only the card brand and last four digits ever get past the edge (PCI DSS 3.4, FACTA). Every edge
(the sale contract, the `Idempotency-Key` header, platform and provider webhooks, settings, captured
print text, a resend's reason) asks `card_spans` / `contains_card_number` / `find_card_numbers`, so a
card number written one way is refused everywhere or nowhere.

What counts as a card number: 13 to 19 digits passing the Luhn check, written as one run or in
groups joined by up to three separators: white space, dashes of any kind, dots, slashes,
backslashes, underscores, colons and `#`. Digits of any script (full-width `４１１１`, Arabic-Indic …)
count as the digits they stand for, and invisible format characters (zero-width spaces, bidi marks,
soft hyphens) are ignored. A run longer than a card is searched group by group: the card in
"4111 1111 1111 1111 12/29" is found.

What is never taken for one, because its shape says what it is:

- a UUID (`8-4-4-4-12` hex digits, joined by dashes, dots, underscores or colons);
- a hex token of 24 or more characters with a letter among them, after a prefix of up to four letters
  (a UUID without dashes, a digest, a Twilio SID `SM…`);
- a date, a time of day, or both (`2026-11-28`, `11/28/2026`, `28.11.2026`, `10:15:00.123`);
- a compact timestamp (`20261128151542`, 14 or 17 digits), milliseconds since 1970 (13 digits
  starting with 1, 2001-2033), or seconds since 1970 with a fraction (`1764342942.908181`);
- a fraction of a small number (`0.4331989288330078`);
- a run starting with 0 (ISO/IEC 7812 issues no card there);
- a phone number written `+` then at most 15 digits (E.164);
- a long platform id grouped in sixes with dots (`820982.911946.154508`, see `triggers.shopify`);
- in a parsed payload, a valid GTIN under a barcode key (`upc`, `gtin`, `ean`, `barcode`).

`find_card_numbers(payload, ids_exempt=True)` also leaves alone, in a platform's or provider's own
payload, a plain run of digits under an id or tracking key (`id`, `order_id`, `objectId`,
`tracking_number`): the platform's numbering and a carrier's, not a card. That exemption is never
used for our own sale contract, whose identifiers carry no such meaning.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from decimal import Decimal
from itertools import accumulate
from typing import Any

from app.domain.errors import CardDataRejected

REFUSAL = "looks like a full card number; send only the card brand and last four digits"
"""Why a value is refused; the value itself is never repeated anywhere."""

BARCODE_KEYS = frozenset({"upc", "gtin", "ean", "barcode"})

# After folding, every separator is one of these (the dashes of every script become "-", every space " ").
_SEPARATORS = " -./\\_:#"
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2e3a\u2e3b")
_RUN = re.compile(rf"[0-9](?:[{re.escape(_SEPARATORS)}]{{0,3}}[0-9])*")
_GROUP = re.compile(r"[0-9]+")

_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)[0-9]{2}"
_CLOCK = r"(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]{1,9})?)?"
_NOT_A_CARD = re.compile(
    "|".join(
        (
            r"(?<![0-9A-Za-z])[0-9A-Fa-f]{8}([-._:])(?:[0-9A-Fa-f]{4}\1){3}[0-9A-Fa-f]{12}(?![0-9A-Za-z])",
            r"(?<![0-9A-Za-z])(?=[A-Za-z]{0,4}[0-9]*[A-Fa-f])[A-Za-z]{0,4}[0-9A-Fa-f]{24,}(?![0-9A-Za-z])",
            rf"(?<![0-9])(?:{_YEAR}([-/.]){_MONTH}\2{_DAY}|{_MONTH}/{_DAY}/(?:{_YEAR}|[0-9]{{2}})|{_DAY}\.{_MONTH}\.{_YEAR})"
            rf"(?:[T ]{_CLOCK})?(?![0-9])",
            rf"(?<![0-9:]){_CLOCK}(?![0-9:])",
            rf"(?<![0-9]){_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"
            r"(?:[0-9]{3})?(?![0-9])",
            r"(?<![0-9])1[0-9]{12}(?![0-9])",
            r"(?<![0-9.])1[0-9]{9}\.[0-9]{1,9}(?![0-9.])",
            r"(?<![0-9.])[0-9]{1,3}\.[0-9]{7,}(?![0-9.])",
        )
    )
)
_DOUBLED = str.maketrans("0123456789", "0246813579")
_SIXES = re.compile(r"[0-9]{1,6}(?:\.[0-9]{6}){2,}")


def luhn_valid(digits: str) -> bool:
    """True when `digits` (ASCII) passes the Luhn (mod 10) check."""
    if not digits.isascii() or not digits.isdigit():
        return False
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
    if len(digits) not in (8, 12, 13, 14) or not digits.isascii() or not digits.isdigit():
        return False
    body, check = digits[:-1], int(digits[-1])
    weighted = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - weighted % 10) % 10 == check


def _plain(char: str) -> str | None:
    """`char` as the detector reads it when that is settled without NFKC, else None."""
    value = unicodedata.decimal(char, None)
    if value is not None:
        return str(value)
    if char.isspace():
        return " "
    if char in _DASHES:
        return "-"
    if unicodedata.category(char) in ("Cf", "Cc"):
        return ""  # zero-width, bidi and control characters: invisible, so they split nothing
    return char if char.isascii() else None


def _fold_char(char: str) -> str:
    """One character as the detector reads it: an ASCII digit, "-" for any dash, " " for any space."""
    plain = _plain(char)
    if plain is not None:
        return plain
    return "".join(p if (p := _plain(c)) is not None else c for c in unicodedata.normalize("NFKC", char))


_ASCII = {c: " " for c in range(128) if chr(c).isspace()} | {c: "" for c in (*range(32), 127) if not chr(c).isspace()}


def fold(text: str) -> tuple[str, list[int] | None]:
    """`text` with every digit made ASCII and every separator made plain (NFKC), and for each
    character of the result the index in `text` it came from (None when that is its own index)."""
    if text.isascii():
        folded = text.translate(_ASCII)
        if len(folded) == len(text):
            return folded, None
    out: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        if "!" <= char <= "~":
            out.append(char)
            where.append(index)
            continue
        for folded_char in _fold_char(char):
            out.append(folded_char)
            where.append(index)
    return "".join(out), where


def _spans_in_run(run: str, offset: int, folded: str) -> Iterator[tuple[int, int, str]]:
    """Card numbers in one run of digit groups: (start, end) in `folded`, and the digits.

    A candidate starts and ends at group boundaries. The Luhn sum of each candidate comes from two
    prefix sums, so a long run of tiny groups costs a few operations per group, not per window.
    """
    if "." in run and _SIXES.fullmatch(run) and not set(run) - set("0123456789."):
        return  # a long platform id grouped in sixes (820982.911946.154508)
    groups = list(_GROUP.finditer(run))
    digits = "".join(g.group() for g in groups)
    if len(digits) < 13:
        return
    if offset > 0 and folded[offset - 1] == "+" and len(digits) <= 15:
        return  # +<country code><number>: a phone number
    if len(groups) == 1:
        if len(digits) <= 19 and digits[0] != "0" and luhn_valid(digits):
            yield offset, offset + len(run), digits
        return
    bounds = [0, *accumulate(len(group.group()) for group in groups)]
    # sums[p][k]: Luhn contributions of digits[:k], doubling the digits whose index parity is not p.
    plain = [ord(char) - 48 for char in digits]
    doubled = [ord(char) - 48 for char in digits.translate(_DOUBLED)]
    sums: list[list[int]] = []
    for parity in (0, 1):
        contributions = doubled.copy()
        contributions[parity::2] = plain[parity::2]
        sums.append(list(accumulate(contributions, initial=0)))
    for first in range(len(groups)):
        start = bounds[first]
        if digits[start] == "0":
            continue
        for last in range(bisect_left(bounds, start + 13), bisect_right(bounds, start + 19)):
            end = bounds[last]
            parity = (end - 1) % 2
            if (sums[parity][end] - sums[parity][start]) % 10 == 0:
                yield offset + groups[first].start(), offset + groups[last - 1].end(), digits[start:end]


_WORTH_A_LOOK = re.compile(r"[0-9]|[^\x00-\x7f]")


_NO_DIGITS = str.maketrans("", "", "0123456789")


def _candidates(text: str) -> Iterator[tuple[tuple[int, int], str]]:
    if text.isascii():
        if len(text) - len(text.translate(_NO_DIGITS)) < 13:
            return  # fewer digits than the shortest card number: most of a sale's text, counted in C
    elif not _WORTH_A_LOOK.search(text):
        return
    folded, where = fold(text)
    masked = _NOT_A_CARD.sub(lambda m: "x" * len(m.group()), folded)
    for run in _RUN.finditer(masked):
        if run.end() - run.start() < 13:
            continue
        for start, end, digits in _spans_in_run(run.group(), run.start(), masked):
            yield ((start, end) if where is None else (where[start], where[end - 1] + 1)), digits


def card_candidates(text: str) -> list[tuple[tuple[int, int], str]]:
    """Every card number in `text`: its (start, end) in `text` and its digits (ASCII)."""
    return list(_candidates(text))


def card_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) in `text` of every card number in it."""
    return [span for span, _ in _candidates(text)]


def contains_card_number(text: str) -> bool:
    """True when `text` holds something that reads as a full primary account number."""
    return next(_candidates(text), None) is not None


def _is_identifier_key(key: str) -> bool:
    lowered = key.lower()
    return (
        lowered in ("id", "ids", "gid", "guid")
        or lowered.endswith(("_id", "_ids", "-id", "_gid", "_guid", "guid"))
        or key.endswith(("Id", "Ids", "ID"))
    )


def _plain_identifier(value: Any) -> bool:
    """A number, a string of digits only, a `gid://…/123` or an http(s) URL: how platforms write ids."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, str):
        text = value.strip()
        return (text.isascii() and text.isdigit()) or text.startswith(("gid://", "https://", "http://"))
    if isinstance(value, list):
        return all(_plain_identifier(item) for item in value)
    return False


def _number_text(value: int | float | Decimal) -> str:
    """A JSON number as the digits a card number would have: the fraction of a number is no card."""
    if isinstance(value, int):
        whole = value
    elif isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() >= 20:  # compares exponents: no context can overflow
            return ""
        whole = int(value)
    else:
        if value != value or abs(value) >= 1e20:  # NaN, infinities, and what is no card's size
            return ""
        whole = int(value)
    return str(whole) if abs(whole) < 10**20 else ""


def field_name(path: str) -> str:
    """`path` fit to be shown: shortened, and never itself holding a card number."""
    path = path[:200]
    return path if not contains_card_number(path) else "(a field whose name looks like a card number)"


def find_card_numbers(payload: Any, path: str = "", *, ids_exempt: bool = False) -> Iterator[str]:
    """Yield the dotted path of every value in a parsed JSON payload holding a card number.

    Keys are checked as well as values (a key that is itself a card number is named `(key)`, never
    repeated). A barcode key (`upc`, …) holding a valid GTIN is a barcode. With `ids_exempt`, a
    platform's plain numeric ids and carriers' tracking numbers are left alone (see the module).
    """
    return _find(payload, path, ids_exempt=ids_exempt, tracking=False)


def _find(payload: Any, path: str, *, ids_exempt: bool, tracking: bool) -> Iterator[str]:
    if isinstance(payload, dict):
        for key, value in payload.items():
            name = str(key)
            if contains_card_number(name):
                yield f"{path}.(key)" if path else "(key)"
                continue
            child = f"{path}.{name}" if path else name
            if name.lower() in BARCODE_KEYS and isinstance(value, str | int) and gtin_valid(str(value)):
                continue
            inside = tracking or (ids_exempt and "tracking" in name.lower())
            if ids_exempt and (inside or _is_identifier_key(name)) and _plain_identifier(value):
                continue
            yield from _find(value, child, ids_exempt=ids_exempt, tracking=inside)
    elif isinstance(payload, list | tuple):
        for index, value in enumerate(payload):
            child = f"{path}.{index}" if path else str(index)
            if tracking and _plain_identifier(value):
                continue
            yield from _find(value, child, ids_exempt=ids_exempt, tracking=tracking)
    elif isinstance(payload, str):
        if contains_card_number(payload):
            yield path or "(body)"
    elif (
        isinstance(payload, int | float | Decimal)
        and not isinstance(payload, bool)
        and contains_card_number(_number_text(payload))
    ):
        yield path or "(body)"


def refuse_card_number(value: str | None, field: str) -> None:
    """Raise `CardDataRejected` naming `field` (never the value) when `value` holds a card number."""
    if value and contains_card_number(value):
        raise CardDataRejected(f"{field_name(field)} {REFUSAL}.", field=field_name(field))


def refuse_card_numbers(payload: Any, *, where: str = "", ids_exempt: bool = False) -> None:
    """Raise `CardDataRejected` naming the first field of `payload` holding a card number (and how many)."""
    paths = list(find_card_numbers(payload, where, ids_exempt=ids_exempt))
    if paths:
        first = field_name(paths[0])
        more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
        raise CardDataRejected(f"{first} {REFUSAL}{more}.", field=first)


def mask_card(brand: str | None, last4: str | None) -> str:
    """`Visa •••• 1234`; the only way a card is ever shown."""
    label = (brand or "Card").strip() or "Card"
    return f"{label} •••• {last4}" if last4 else label
