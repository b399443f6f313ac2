"""SMS bodies: GSM 03.38 detection, segment counting, and the receipt text that fits a budget.

A message is GSM-7 when every character is in the GSM 03.38 basic set or its extension table
(extension characters cost two septets: an escape and the character). Anything else makes the
whole message UCS-2, counted in UTF-16 code units. Limits: GSM-7 160 single / 153 per part,
UCS-2 70 single / 67 per part. Multi-part counting never splits an escape pair or a surrogate pair
across parts, as a sender's segmenter does not either.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

from jinja2 import Template

from app.domain.receipt import SmsText
from app.rendering.summary import ReceiptSummary

Encoding = Literal["GSM-7", "UCS-2"]

GSM_BASIC: Final[frozenset[str]] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The 127 printable characters of the GSM 03.38 default alphabet (0x1B, the escape, excluded)."""

GSM_EXTENSION: Final[frozenset[str]] = frozenset("\f^{}\\[~]|€")
"""The GSM 03.38 extension table: each costs two septets (escape + character)."""

_GSM: Final[frozenset[str]] = GSM_BASIC | GSM_EXTENSION

# Characters GSM-7 cannot carry, with the look-alike it can (typographic punctuation, spaces).
_LOOKALIKES: Final[dict[str, str]] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "*", "\u00b7": "-", "\u00d7": "x",
    "\t": " ", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ",
}  # fmt: skip

_BLANK_RUNS = re.compile(r"\n{3,}")


def encode_info(text: str) -> tuple[Encoding, int]:
    """The encoding `text` needs and its length in that encoding's units.

    GSM-7: septets (extension characters count 2). UCS-2: UTF-16 code units (an emoji counts 2).
    """
    if _GSM.issuperset(text):
        if GSM_EXTENSION.isdisjoint(text):
            return "GSM-7", len(text)
        return "GSM-7", len(text) + sum(1 for ch in text if ch in GSM_EXTENSION)
    return "UCS-2", len(text.encode("utf-16-le")) // 2


def segment_count(text: str) -> int:
    """How many SMS segments `text` takes (0 for an empty text)."""
    encoding, units = encode_info(text)
    single, per_part = (160, 153) if encoding == "GSM-7" else (70, 67)
    if units <= single:
        return 1 if units else 0
    if units == len(text):  # every character costs one unit: nothing can straddle a boundary
        return -(-units // per_part)
    segments, used = 1, 0
    for ch in text:
        cost = _cost(ch, encoding)
        if used + cost > per_part:
            segments, used = segments + 1, 0
        used += cost
    return segments


def _cost(ch: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if ch in GSM_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def gsm_fold(text: str) -> str:
    """Replace each character GSM-7 cannot carry by its closest GSM-7 form, when it has one.

    Characters already in GSM-7 stay, accents included (`é`, `ñ`, `ü`, `à` are in the basic set),
    so `Jalapeños` keeps its `ñ` while `Sofía` becomes `Sofia` and `ahorró` becomes `ahorro`.
    Typographic quotes, dashes and spaces become their ASCII look-alikes; other letters lose
    their accents through NFKD decomposition. What has no GSM-7 form (emoji, CJK) is kept.
    """
    if _GSM.issuperset(text):
        return text
    out: list[str] = []
    for ch in text:
        if ch in _GSM:
            out.append(ch)
        elif ch in _LOOKALIKES:
            out.append(_LOOKALIKES[ch])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and _GSM.issuperset(base) else ch)
    return "".join(out)


def tidy(body: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row, none at either end."""
    lines = "\n".join(line.rstrip() for line in body.strip().splitlines())
    return _BLANK_RUNS.sub("\n\n", lines)


def make_sms(
    summary: ReceiptSummary,
    *,
    full: Template,
    short: Template,
    budget_segments: int = 4,
    ascii_fold: bool = True,
    receipt_url: str | None = None,
) -> SmsText:
    """The SMS receipt: every line when the whole text fits `budget_segments`, else a summary.

    `full` renders header, lines and totals; `short` renders header, item count, totals and where
    to find the full receipt. Whole lines only: the body is chosen, never cut (a summary over the
    budget, which only very long store or tax names can cause, is sent whole). With `ascii_fold`
    (the default) the body, store words and Spanish labels included, goes through `gsm_fold` so an
    accent outside GSM-7 does not turn the message into UCS-2 (70 characters per segment instead
    of 160); turn it off for stores that prefer exact spelling over cost.
    """
    labels = summary.t
    context = {
        "s": summary,
        "t": labels,
        "receipt_url": receipt_url or "",
        "full_receipt": labels.full_receipt.format(where=receipt_url or labels.service_desk),
    }
    segments = budget_segments + 1
    if _lines_length(summary) <= capacity(budget_segments):
        body = _finish(full.render(context), ascii_fold)
        segments = segment_count(body)
    if segments > budget_segments:
        body = _finish(short.render(context), ascii_fold)
        segments = segment_count(body)
    encoding, _ = encode_info(body)
    return SmsText(body=body, encoding=encoding, segments=segments)


def capacity(segments: int, encoding: Encoding = "GSM-7") -> int:
    """The most units `segments` segments can carry: 160 or 153 per part (GSM-7), 70 or 67 (UCS-2)."""
    single, per_part = (160, 153) if encoding == "GSM-7" else (70, 67)
    return single if segments == 1 else per_part * segments


def _lines_length(summary: ReceiptSummary) -> int:
    """A lower bound of the full form's length: its item lines alone, each `label amount\\n`.

    Valid because the summary holds single-line strings and folding never shortens a text; past
    the GSM-7 capacity the full form cannot fit in either encoding, so it is not rendered at all.
    """
    return sum(len(line.label) + len(line.amount) + 2 for line in summary.lines)


def _finish(body: str, ascii_fold: bool) -> str:
    body = tidy(body)
    return gsm_fold(body) if ascii_fold else body
