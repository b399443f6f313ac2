"""What a scanned barcode is: a loyalty card, a paper receipt, or something the kiosk cannot use.

Pure rules over the text a scanner sent (serial line or keyboard wedge). UPC-A, EAN-13 and EAN-8
carry a GS1 check digit: a loyalty number printed as one of them is only accepted when its
check digit is right, so a misread never identifies the wrong customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from app.domain.cards import gtin_valid

RECEIPT_PREFIX = "RD-"
"""What the receipt printer puts before the sale id in the receipt's Code128 and QR code."""

DEFAULT_RECEIPT_PATTERN = r"(?:RD-(?=[A-Za-z0-9])|(?=[A-Za-z]))(?P<sale_id>(?!RD-)[A-Za-z0-9][A-Za-z0-9._-]{0,63})"
"""`RD-<sale id>` as printed; also a bare sale id starting with a letter (receipts printed by the register)."""
DEFAULT_LOYALTY_PREFIXES = ("LM",)
MAX_CODE_LENGTH = 128

_SYMBOLOGY_BY_LENGTH = {12: "UPC-A", 13: "EAN-13", 8: "EAN-8"}


class ScanKind(StrEnum):
    """The closed set of things a scan can be."""

    LOYALTY = "loyalty"
    RECEIPT = "receipt"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Scan:
    """One classified scan: `value` is the loyalty id or the sale id (the code itself when unknown).

    `symbology` names the retail symbology the digits form (UPC-A, EAN-13, EAN-8), if any;
    `message` says in words what was scanned, for the status bar.
    """

    kind: ScanKind
    code: str
    value: str
    message: str
    symbology: str | None = None


@dataclass(frozen=True)
class BarcodeRules:
    """The store's own barcodes, from the `[scanner]` settings.

    A loyalty card matches one of `loyalty_prefixes` (the code starts with it) or one of
    `loyalty_patterns` (a regex the whole code must match; a group named `id` picks the loyalty
    id out of it). Otherwise a receipt matches `receipt_pattern` (whole code), whose group
    `sale_id` (or first group) is the sale id.
    """

    loyalty_prefixes: tuple[str, ...] = DEFAULT_LOYALTY_PREFIXES
    loyalty_patterns: tuple[str, ...] = ()
    receipt_pattern: str = DEFAULT_RECEIPT_PATTERN
    _compiled: dict[str, re.Pattern[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for pattern in (*self.loyalty_patterns, self.receipt_pattern):
            try:
                self._compiled[pattern] = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"The barcode pattern {pattern!r} is not a valid regular expression: {exc}") from None

    @cached_property
    def receipt(self) -> re.Pattern[str]:
        return self._compiled[self.receipt_pattern]

    @cached_property
    def loyalty(self) -> tuple[re.Pattern[str], ...]:
        return tuple(self._compiled[p] for p in self.loyalty_patterns)


def upc_a_valid(code: str) -> bool:
    """True for 12 digits with a correct UPC-A check digit."""
    return len(code) == 12 and gtin_valid(code)


def ean13_valid(code: str) -> bool:
    """True for 13 digits with a correct EAN-13 check digit."""
    return len(code) == 13 and gtin_valid(code)


def ean8_valid(code: str) -> bool:
    """True for 8 digits with a correct EAN-8 check digit."""
    return len(code) == 8 and gtin_valid(code)


def symbology_of(code: str) -> str | None:
    """`UPC-A`, `EAN-13` or `EAN-8` when `code` has that many digits (check digit not judged), else None."""
    return _SYMBOLOGY_BY_LENGTH.get(len(code)) if code.isascii() and code.isdigit() else None


def receipt_barcode(sale_id: str) -> str:
    """What the receipt printer encodes (Code128) so a scan of the paper receipt opens the sale."""
    return f"{RECEIPT_PREFIX}{sale_id}"


def classify(raw: str, rules: BarcodeRules) -> Scan:
    """Say what a scanned code is. Never raises: anything unusable is `UNKNOWN` with a message."""
    code = raw.strip()
    if not code:
        return Scan(ScanKind.UNKNOWN, code, code, "The scan was empty. Scan again.")
    if len(code) > MAX_CODE_LENGTH or not (code.isascii() and code.isprintable()):
        return Scan(ScanKind.UNKNOWN, code, code, "The scanner sent something unreadable. Scan again.")
    symbology = symbology_of(code)
    loyalty_id = _loyalty_id(code, rules)
    if loyalty_id is not None:
        if symbology is not None and not gtin_valid(code):
            return Scan(
                ScanKind.UNKNOWN,
                code,
                code,
                f"That loyalty card ({symbology}) did not read right: its check digit is wrong. Scan it again.",
                symbology,
            )
        return Scan(ScanKind.LOYALTY, code, loyalty_id, f"Loyalty card \u2026{loyalty_id[-4:]}", symbology)
    receipt = rules.receipt.fullmatch(code)
    if receipt is not None:
        sale_id = _group(receipt, "sale_id")
        return Scan(ScanKind.RECEIPT, code, sale_id, f"Receipt of sale {sale_id}", symbology)
    if symbology is not None:
        if gtin_valid(code):
            message = f"That is a product barcode ({symbology}), not a loyalty card or a receipt."
        else:
            message = f"That barcode ({symbology}) did not read right: its check digit is wrong. Scan it again."
        return Scan(ScanKind.UNKNOWN, code, code, message, symbology)
    return Scan(ScanKind.UNKNOWN, code, code, "Not a loyalty card or a receipt barcode this store knows.")


def _loyalty_id(code: str, rules: BarcodeRules) -> str | None:
    if any(prefix and code.startswith(prefix) for prefix in rules.loyalty_prefixes):
        return code
    for pattern in rules.loyalty:
        match = pattern.fullmatch(code)
        if match is not None:
            return _group(match, "id")
    return None


def _group(match: re.Match[str], name: str) -> str:
    """The named group, else the first group, else the whole match."""
    if name in match.re.groupindex and match.group(name):
        return match.group(name)
    if match.re.groups and match.group(1):
        return match.group(1)
    return match.group(0)
