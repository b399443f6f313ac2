"""Small pure formatters for receipt text: money, quantities, rates, dates, monospace columns.

Nothing here reads the process locale or time zone, so the same sale always formats the same way
on every machine. Dates and times are shown in the sale's own UTC offset, never converted.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from app.domain.money import format_usd
from app.domain.sale import Unit

TEXT_WIDTH = 48
"""Columns of the plain-text receipt (a monospace e-mail body, like an 80 mm till roll)."""


@lru_cache(maxsize=8192)
def money(amount: Decimal, *, negative: bool = False) -> str:
    """`$1,234.56`, or `-$1.00` for an amount taken off (memoised: prices repeat across sales)."""
    return format_usd(amount, negative=negative)


def format_quantity(quantity: Decimal, *, min_places: int = 0) -> str:
    """A quantity with its own precision, at least `min_places` decimals: `3`, `2.35`, `0.125`."""
    exponent = quantity.normalize().as_tuple().exponent
    places = max(min_places, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    return f"{quantity:,.{places}f}"


@lru_cache(maxsize=8192)
def quantity_detail(quantity: Decimal, unit: Unit, unit_price: Decimal) -> str:
    """How a line was priced: `2.35 lb @ $0.59/lb`, `3 @ $1.29`, or empty for one item (memoised)."""
    if unit is Unit.EA:
        if quantity == 1:
            return ""
        return f"{format_quantity(quantity)} @ {money(unit_price)}"
    return f"{format_quantity(quantity, min_places=2)} {unit.value} @ {money(unit_price)}/{unit.value}"


def percent(rate: Decimal) -> str:
    """A fractional rate as a percentage: 0.0625 -> `6.25%`, 0.07 -> `7%`."""
    return f"{(rate * 100).normalize():f}%"


def count(value: int) -> str:
    """A whole number with thousands separators: `12,345`."""
    return f"{value:,}"


def _month(labels: Mapping[str, str], month: int) -> str:
    return labels["months"].split()[month - 1]


def format_date(value: date, labels: Mapping[str, str]) -> str:
    """A calendar date in the language's words: `Dec 5, 2025` / `5 dic 2025`."""
    return labels["date_format"].format(month=_month(labels, value.month), day=value.day, year=value.year)


def _time_fields(value: datetime, labels: Mapping[str, str]) -> dict[str, object]:
    return {
        "month": _month(labels, value.month),
        "m": value.month,
        "day": value.day,
        "year": value.year,
        "yy": f"{value.year % 100:02d}",
        "hour12": (value.hour % 12) or 12,
        "hour24": f"{value.hour:02d}",
        "minute": f"{value.minute:02d}",
        "ampm": "AM" if value.hour < 12 else "PM",
    }


def format_datetime(value: datetime, labels: Mapping[str, str]) -> str:
    """Date and time as they were at the till (the sale's own offset): `Nov 28, 2025 5:50 PM`."""
    return labels["datetime_format"].format(**_time_fields(value, labels))


def format_short_datetime(value: datetime, labels: Mapping[str, str]) -> str:
    """A compact date and time for SMS: `11/28/25 5:50 PM` / `28/11/25 17:50`."""
    return labels["short_datetime_format"].format(**_time_fields(value, labels))


def text_row(left: str, right: str = "", *, flag: str = "", indent: int = 0, width: int = TEXT_WIDTH) -> str:
    """One monospace row: `left` from column `indent`, `right` ending two columns before `width`.

    The last two columns hold a `flag` of one character (`S` SNAP-eligible, `T` taxed) after a space,
    or of two (`TS`) with none, so amounts of flagged and plain rows form one column. A `left` too
    long for its room wraps on word boundaries onto further lines indented two more columns;
    `right` stays on the first line.
    Rows carry no trailing spaces.
    """
    pad = " " * indent
    if not right:
        room = width - indent
        if len(left) <= room:
            return pad + left
        return _wrapped(pad, left, room, width - indent - 2, indent)
    end = width - 2
    tail = f"{right}{flag}" if len(flag) > 1 else f"{right} {flag}".rstrip()
    room = end - indent - len(right) - 1
    if len(left) <= room:
        return f"{pad}{left}".ljust(end - len(right)) + tail
    first, _, rest = _wrapped(pad, left, max(room, 8), width - indent - 2, indent).partition("\n")
    row = first.ljust(end - len(right)) + tail
    return f"{row}\n{rest}" if rest else row


def _wrapped(pad: str, text: str, first_width: int, rest_width: int, indent: int) -> str:
    first, *others = textwrap.wrap(text, first_width) or [""]
    more = " " * (indent + 2)
    lines = [pad + first]
    if others:
        lines.extend(more + chunk for chunk in textwrap.wrap(" ".join(others), max(rest_width, 8)))
    return "\n".join(lines)


def text_center(text: str, *, width: int = TEXT_WIDTH) -> str:
    """`text` centred in `width` columns (wrapped first when longer), without trailing spaces."""
    if len(text) <= width:
        return text.center(width).rstrip()
    return "\n".join(line.center(width).rstrip() for line in textwrap.wrap(text, width))


def text_wrap(text: str, *, width: int = TEXT_WIDTH) -> str:
    """`text` wrapped on word boundaries to `width` columns; a word longer than that (a URL) stays whole."""
    if len(text) <= width and "\n" not in text:
        return text
    return "\n".join(
        "\n".join(textwrap.wrap(paragraph, width, break_long_words=False, break_on_hyphens=False))
        for paragraph in text.splitlines()
    )
