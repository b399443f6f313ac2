"""Scrubbing card data out of printed receipt text before anything is stored or sent.

FACTA (15 U.S.C. 1681c(g)) lets a printed receipt show at most the last five digits of a card and
no expiry date; PCI DSS 3.3/3.4 forbids keeping full numbers and track data. We keep at most the
last four: a full card number becomes `************1234`, an expiry becomes `**/**`.

What the masker is not sure about (a Luhn-valid digit run with odd separators, track data) is
reported in `ScrubResult.suspects`: such a capture is held for a manager instead of being sent, and
the suspect digits are blanked in the text that is kept (the last four stay readable); track data
is removed whole. Besides its own loose search, the scrubber asks the one card-number detector
(`app.domain.cards.card_candidates`), so digits of other scripts (full-width `４１１１`), other dashes,
`#` or a backslash between groups, and invisible characters inside a number are caught here as at
every other edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.domain.cards import card_candidates, gtin_valid, luhn_valid

# 13-19 digits, bare or grouped by single spaces or dashes, standing apart from words.
_PAN = re.compile(r"(?<![\w*-])\d(?:[ -]?\d){12,18}(?![\w*]|-\d)")
# A card number partly masked by the POS ("411111******1111", "4111 XXXX XXXX 1111"): too many digits.
_PARTLY_MASKED = re.compile(
    r"(?<![\w*])(?:[\dXx*]{13,19}|[\dXx*]{4}(?:[ -][\dXx*]{4}){3}|[\dXx*]{4}[ -][\dXx*]{6}[ -][\dXx*]{5})(?![\w*])"
)
# Digits with any light separators between them: what a PAN looks like when the masker missed it.
_LOOSE = re.compile(r"\d(?:[ .\-/_:]{0,3}\d){12,22}")
_TRACK = (  # the whole track goes, discretionary data and cardholder name included
    re.compile(r"%?B\d{13,19}\^[^^\n]{0,26}\^\d{4}\S*"),  # track 1: %B<PAN>^NAME^YYMM...
    re.compile(r";?\d{13,19}=\d{4}\S*"),  # track 2: ;<PAN>=YYMM...
)
TRACK_REMOVED = "[card track data removed]"
_EXPIRY_LABEL = r"(?:EXP(?:IRY|IRES|IRATION)?(?:\s*DATE)?|EXP\.|VALID\s+THRU|GOOD\s+THRU|EXPDATE)"
_EXPIRY_VALUE = r"(?:(?:0[1-9]|1[0-2])\s*[/\-.]\s*(?:20)?\d{2}|(?:0[1-9]|1[0-2])(?:20)?\d{2}|\*\*/\*\*)"
_LABELLED_EXPIRY = re.compile(rf"(?i)\b({_EXPIRY_LABEL})(\s*[:#]?\s*)({_EXPIRY_VALUE})(?!\d)")
_LABEL_LEFTOVER = re.compile(rf"(?i)\b{_EXPIRY_LABEL}\s*[:#]?\s*(?!\*\*/\*\*)\d[\d/\-. ]{{2,}}")
# MM/YY or MM/YYYY standing alone (not a part of MM/DD/YY): an expiry when on a card line.
_BARE_EXPIRY = re.compile(r"(?<![\d/.\-])(?:0[1-9]|1[0-2])/(?:20)?\d{2}(?![\d/.\-])")
_CARD_CONTEXT = re.compile(
    r"(?i)\b(?:VISA|MASTER\s*CARD|MC|AMEX|AMERICAN\s+EXPRESS|DISCOVER|DINERS|JCB|UNION\s*PAY|MAESTRO|"
    r"DEBIT|CREDIT|CARD|ACCT|ACCOUNT|PAN|CHIP|CONTACTLESS|SWIPED?|EMV|AID|EXP\w*)\b|\*{4,}\d{4}"
)
_ID_LABEL = re.compile(r"(?i)\b(?:TRANS(?:ACTION)?|TRN|TXN|TR|SALE|ORDER|INVOICE|INV|REF|RECEIPT|REC|TICKET|SEQ)\b")
MASK = "*"


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """Scrubbed text; `suspects` says why it may still hold card data (empty when clean)."""

    text: str
    masked: int
    expiries: int
    suspects: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.suspects


def brand_prefix(digits: str) -> bool:
    """True when `digits` starts like a payment card of a plausible length (ISO/IEC 7812 IIN ranges)."""
    n = len(digits)
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    return (
        (digits[0] == "4" and n in (13, 16, 19))  # Visa
        or (51 <= two <= 55 and n == 16)
        or (2221 <= four <= 2720 and n == 16)  # Mastercard
        or (two in (34, 37) and n == 15)  # American Express
        or ((four == 6011 or two == 65 or 644 <= four // 10 <= 649 or 622126 <= six <= 622925) and 16 <= n <= 19)
        or (two == 62 and 16 <= n <= 19)  # UnionPay
        or (3528 <= four <= 3589 and 16 <= n <= 19)  # JCB
        or ((two in (36, 38, 39) or 300 <= four // 10 <= 305) and 14 <= n <= 19)  # Diners
        or ((two == 50 or 56 <= two <= 69) and 13 <= n <= 19)  # Maestro
        or (digits[0] == "1" and n == 15)  # UATP
    )


def masked(digits: str) -> str:
    """`************1234`: as many stars as hidden digits, then the last four."""
    return MASK * (len(digits) - 4) + digits[-4:]


def _is_item_code(digits: str, raw: str, line: str) -> bool:
    """A bare GTIN-13/14 on a line with no card words is a barcode, not a card."""
    return raw.isdigit() and gtin_valid(digits) and not _CARD_CONTEXT.search(line)


def _looks_like_card(digits: str, raw: str, line: str) -> bool:
    """Luhn-valid and either shaped like a real card number or printed on a card line."""
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        return False
    if _is_item_code(digits, raw, line):
        return False
    if brand_prefix(digits):
        return True
    # No card starts this way: a long sale or transaction id, unless the line talks about cards.
    return bool(_CARD_CONTEXT.search(line)) and not _ID_LABEL.search(line)


def scrub_line(line: str, context: str = "") -> tuple[str, int, int]:
    """One line scrubbed; `context` is the line before it (card words there count too)."""
    count = expiries = 0
    around = f"{context}\n{line}"

    def pan(match: re.Match[str]) -> str:
        nonlocal count
        raw = match.group()
        digits = re.sub(r"\D", "", raw)
        if _looks_like_card(digits, raw, line):
            count += 1
            return masked(digits)
        return raw

    def partly(match: re.Match[str]) -> str:
        nonlocal count
        raw = match.group()
        visible = re.sub(r"\D", "", raw)
        chars = re.sub(r"[ -]", "", raw)
        if len(visible) <= 4 or len(visible) == len(chars) or not 13 <= len(chars) <= 19:
            return raw
        count += 1
        tail = chars[-4:]
        return MASK * (len(chars) - 4) + (tail if tail.isdigit() else MASK * 4)

    def labelled(match: re.Match[str]) -> str:
        nonlocal expiries
        if match.group(3) == "**/**":
            return match.group()
        expiries += 1
        return f"{match.group(1)}{match.group(2)}**/**"

    def bare(match: re.Match[str]) -> str:
        nonlocal expiries
        expiries += 1
        return "**/**"

    line = _PAN.sub(pan, line)
    line = _PARTLY_MASKED.sub(partly, line)
    line = _LABELLED_EXPIRY.sub(labelled, line)
    if _CARD_CONTEXT.search(around):
        line = _BARE_EXPIRY.sub(bare, line)
    return line, count, expiries


def suspects_in(line: str) -> list[tuple[str, tuple[int, int]]]:
    """What on an already-scrubbed line still looks like card data, with its span."""
    found: list[tuple[str, tuple[int, int]]] = []
    for pattern in _TRACK:
        for match in pattern.finditer(line):
            found.append(("magnetic stripe track data", match.span()))
    for match in _LOOSE.finditer(line):
        raw = match.group()
        digits = re.sub(r"\D", "", raw)
        for size in range(19, 12, -1):  # any card-sized window of the run
            hit = next(
                (
                    digits[i : i + size]
                    for i in range(len(digits) - size + 1)
                    if luhn_valid(digits[i : i + size]) and brand_prefix(digits[i : i + size])
                ),
                None,
            )
            if hit is not None and not _is_item_code(digits, raw, line):
                found.append(("a digit run shaped like a card number", match.span()))
                break
    for span, digits in card_candidates(line):  # the detector every edge uses
        start, end = span
        if any(start < b and a < end for _, (a, b) in found):
            continue
        if brand_prefix(digits) and not _is_item_code(digits, line[start:end], line):
            found.append(("a digit run shaped like a card number", span))
    for match in _LABEL_LEFTOVER.finditer(line):
        found.append(("an expiry date the masker could not read", match.span()))
    return found


def _blank(line: str, span: tuple[int, int]) -> str:
    """Blank every digit of `span` but the last four."""
    start, end = span
    part = line[start:end]
    digit_positions = [i for i, ch in enumerate(part) if ch.isdigit()]
    keep = set(digit_positions[-4:]) if len(digit_positions) > 8 else set()
    chars = [MASK if ch.isdigit() and i not in keep else ch for i, ch in enumerate(part)]
    return line[:start] + "".join(chars) + line[end:]


def scrub(text: str) -> ScrubResult:
    """Mask card numbers and expiry dates in `text`; report (and blank) what still looks like card data."""
    out: list[str] = []
    total = expiries = 0
    reasons: list[str] = []
    previous = ""
    for raw_line in text.split("\n"):
        line = raw_line
        for pattern in _TRACK:  # before masking, which would hide the shape of track data
            if pattern.search(line):
                reasons.append("magnetic stripe track data")
                line = pattern.sub(TRACK_REMOVED, line)
        line, n, e = scrub_line(line, previous)
        total += n
        expiries += e
        found = suspects_in(line)
        for reason, span in sorted(found, key=lambda item: item[1], reverse=True):
            line = _blank(line, span)
            reasons.append(reason)
        out.append(line)
        previous = raw_line
    return ScrubResult("\n".join(out), total, expiries, tuple(dict.fromkeys(reasons)))
