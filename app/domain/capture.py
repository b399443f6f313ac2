"""Receipts read from a legacy POS's print stream: layouts, parsing into a `Sale`, capture records.

A layout is a set of regular expressions with named groups, one per kind of line (item, weighed
item, savings, subtotal, tax, total, tender...) plus the header fields (sale id, lane, date/time).
Two layouts ship as presets; a store adjusts or replaces patterns in `[capture.layout]`. The text
given here is always scrubbed of card data first (`app.domain.card_scrub`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from app.domain.errors import ConfigurationError, ReceiptDeskError
from app.domain.intake import InvalidSale, parse_sale
from app.domain.money import ZERO, quantize
from app.domain.sale import Sale


class CaptureState(StrEnum):
    """What became of a captured receipt."""

    SENT = "sent"
    HELD = "held"
    UNPARSED = "unparsed"


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One captured receipt as stored: `text` is already scrubbed of card data."""

    id: str
    source: str
    state: CaptureState
    text: str
    captured_at: datetime
    updated_at: datetime
    sale_id: str | None = None
    reason: str | None = None
    receipt_id: str | None = None


class CaptureUnparsed(ReceiptDeskError):
    """The lines of a capture do not give a valid sale under the configured layout."""


def capture_digest(text: str) -> str:
    """The hash of a scrubbed receipt: its event id, so the same receipt again is a duplicate."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Line kinds in the order they are tried; the first that matches a line wins. `item` comes last: it
# is the most general (a name and a price).
LINE_KINDS = (
    "ignore",
    "subtotal",
    "tax",
    "total",
    "savings_total",
    "change",
    "tender",
    "discount",
    "savings",
    "deposit",
    "weighed",
    "item",
)
HEADER_FIELDS = ("sale_id", "terminal", "datetime")
PATTERN_NAMES = (*HEADER_FIELDS, *LINE_KINDS)

_AMOUNT = r"\$(?P<amount>\d{1,6}\.\d{2})"

PRESETS: dict[str, dict[str, str]] = {
    # A classic supermarket POS: ST#/OP#/TE#/TR# header, F/T flags, club savings under the item.
    "classic": {
        "datetime_format": "%m/%d/%y %H:%M:%S",
        "taxable_flags": "T",
        "snap_flags": "F",
        "sale_id": r"^ST#\s*(?P<store>\d+)\s+OP#\s*(?P<cashier>\d+)\s+TE#\s*(?P<lane>\d+)\s+TR#\s*(?P<trans>\d+)$",
        "terminal": r"^CASHIER:?\s+(?P<cashier>[A-Z][A-Za-z .]{0,30})$",
        "datetime": r"^(?P<date>\d{2}/\d{2}/\d{2})\s+(?P<time>\d{2}:\d{2}:\d{2})$",
        "ignore": r"^(?:\*+|-+|=+)$|CHANGE DUE 0\.00|BALANCE",
        "subtotal": r"^\s*SUBTOTAL\s+(?P<amount>\d+\.\d{2})$",
        "tax": r"^\s*(?P<name>TAX)\s+(?:(?P<rate>\d{1,2}\.\d{1,4})\s*%\s+)?(?P<amount>\d+\.\d{2})$",
        "total": r"^\s*\*{0,4}\s*TOTAL\s+(?P<amount>\d+\.\d{2})$",
        "savings_total": r"^\s*(?:YOUR\s+)?(?:CLUB\s+)?SAVINGS\s+TOTAL\s+(?P<amount>\d+\.\d{2})$",
        "change": r"^\s*CHANGE\s+(?P<amount>\d+\.\d{2})$",
        "tender": r"^\s*(?P<brand>VISA|MASTERCARD|MC|AMEX|DISCOVER|DEBIT|CASH|EBT(?:\s+SNAP|\s+CASH)?|GIFT CARD)"
        r"(?:\s+[*X]{4,15}(?P<last4>\d{4}))?\s+(?P<amount>\d+\.\d{2})$",
        "discount": r"^\s*(?P<description>(?:STORE COUPON|MFR COUPON|\$\d+ OFF \$\d+)[A-Z0-9 ]*?)"
        r"\s+(?P<amount>\d+\.\d{2})-$",
        "savings": r"^\s+(?P<description>CLUB SAVINGS|CLUB PRICE|SALE PRICE|DIGITAL COUPON)\s+(?P<amount>\d+\.\d{2})-$",
        "deposit": r"^\s+(?:BOTTLE\s+)?DEPOSIT\s+(?P<amount>\d+\.\d{2})$",
        "weighed": r"^(?P<name>\S.*?)\s+(?P<qty>\d+\.\d{2,3})\s*(?P<unit>lb|kg|oz)\s*@\s*(?P<unit_price>\d+\.\d{2})"
        r"\s*/\s*(?:lb|kg|oz)\s+(?P<price>\d+\.\d{2})(?:\s+(?P<flags>[TFN]{1,2}))?$",
        "item": r"^(?P<name>\S.*?)\s+(?:(?P<qty>\d{1,3})\s*@\s*(?P<unit_price>\d+\.\d{2})\s+)?(?P<price>\d+\.\d{2})"
        r"(?:\s+(?P<flags>[TFN]{1,2}))?$",
    },
    # A compact POS: ISO dates, a printed receipt number, UPC first, dollar signs, per-kg produce.
    "compact": {
        "datetime_format": "%Y-%m-%d %H:%M",
        "taxable_flags": "T",
        "snap_flags": "S",
        "sale_id": r"^Receipt\s+(?P<sale_id>[A-Z0-9][A-Z0-9-]{2,40})$",
        "terminal": r"^Lane\s+(?P<lane>\d+)\s+Cashier:\s*(?P<cashier>\w[\w .]{0,30})$",
        "datetime": r"^(?P<date>\d{4}-\d{2}-\d{2})\s+(?P<time>\d{2}:\d{2})$",
        "ignore": r"^-+$",
        "subtotal": rf"^Subtotal\s+{_AMOUNT}$",
        "tax": r"^(?P<name>Sales Tax)(?:\s+(?P<rate>\d{1,2}\.\d{1,4})%)?\s+" + _AMOUNT + "$",
        "total": rf"^Total\s+{_AMOUNT}$",
        "savings_total": rf"^You saved\s+{_AMOUNT}$",
        "change": rf"^Change\s+{_AMOUNT}$",
        "tender": r"^(?P<brand>Visa|Mastercard|Amex|Discover|Debit|Cash|EBT SNAP|EBT Cash|Gift Card)"
        r"(?:\s+[*X]{4,15}(?P<last4>\d{4}))?\s+\$(?P<amount>\d+\.\d{2})$",
        "discount": r"^(?P<description>Store coupon[\w ]*?)\s+-\$(?P<amount>\d+\.\d{2})$",
        "savings": r"^\s+(?P<description>Member price|Coupon[\w ]*?)\s+-\$(?P<amount>\d+\.\d{2})$",
        "deposit": r"^\s+Deposit\s+\$(?P<amount>\d+\.\d{2})$",
        "weighed": r"^(?P<upc>\d{12,13})\s+(?P<name>.+?)\s+(?P<qty>\d+\.\d{3})\s*(?P<unit>kg|lb)\s*x\s*"
        r"\$(?P<unit_price>\d+\.\d{2})/(?:kg|lb)\s+\$(?P<price>\d+\.\d{2})(?:\s+(?P<flags>[TS]{1,2}))?$",
        "item": r"^(?P<upc>\d{12,13})\s+(?P<name>.+?)(?:\s+(?P<qty>\d{1,3})\s*x\s*\$(?P<unit_price>\d+\.\d{2}))?"
        r"\s+\$(?P<price>\d+\.\d{2})(?:\s+(?P<flags>[TS]{1,2}))?$",
    },
}
"""Built-in layouts; every value may be overridden per store under `[capture.layout.patterns]`."""

_OPTIONS = ("datetime_format", "taxable_flags", "snap_flags")
_BRANDS = {
    "VISA": "Visa",
    "MASTERCARD": "Mastercard",
    "MC": "Mastercard",
    "AMEX": "American Express",
    "DISCOVER": "Discover",
    "DEBIT": "Debit",
}
_TENDER_TYPES = {"CASH": "cash", "EBT": "ebt_snap", "EBT SNAP": "ebt_snap", "EBT CASH": "ebt_cash", "GIFT CARD": "gift"}


@dataclass(frozen=True, slots=True)
class Layout:
    """A POS receipt layout: compiled patterns by name, and how dates and item flags read."""

    name: str
    patterns: Mapping[str, re.Pattern[str]]
    datetime_format: str
    taxable_flags: str = "T"
    snap_flags: str = ""


def build_layout(preset: str, overrides: Mapping[str, str] | None = None) -> Layout:
    """The preset named `preset` with `overrides` applied; a bad pattern is a `ConfigurationError`."""
    if preset not in PRESETS and preset != "custom":
        raise ConfigurationError(f"[capture.layout] preset {preset!r} is unknown; use one of {', '.join(PRESETS)}.")
    values = {**PRESETS.get(preset, {}), **(overrides or {})}
    unknown = sorted(set(values) - set(PATTERN_NAMES) - set(_OPTIONS))
    if unknown:
        raise ConfigurationError(f"[capture.layout.patterns] has unknown name {unknown[0]!r}.")
    compiled: dict[str, re.Pattern[str]] = {}
    for name in PATTERN_NAMES:
        source = values.get(name)
        if not source:
            continue
        try:
            compiled[name] = re.compile(source)
        except re.error as exc:
            raise ConfigurationError(
                f"[capture.layout.patterns] {name}: not a valid regular expression ({exc})."
            ) from None
    for needed in ("total", "item", "datetime"):
        if needed not in compiled:
            raise ConfigurationError(f"[capture.layout.patterns] needs a {needed!r} pattern.")
    return Layout(
        preset,
        compiled,
        values.get("datetime_format") or "%m/%d/%y %H:%M:%S",
        values.get("taxable_flags", "T"),
        values.get("snap_flags", ""),
    )


@dataclass
class _Draft:
    header: dict[str, str] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    discounts: list[dict[str, str]] = field(default_factory=list)
    taxes: list[dict[str, str]] = field(default_factory=list)
    tenders: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)


def _money(text: str) -> Decimal:
    return quantize(Decimal(text))


def parse_capture(
    lines: Sequence[str], layout: Layout, *, store_id: str, lane: str = "1", tz: tzinfo | None = None
) -> Sale:
    """Read one scrubbed receipt into a `Sale`, checked like any POS sale (`parse_sale`).

    The POS prints local time: `tz` is the store's zone (None: this computer's zone). Raises
    `CaptureUnparsed` naming what is missing or does not add up.
    """
    draft = _Draft()
    for line in lines:
        try:
            _read_line(line, layout, draft)
        except (InvalidOperation, ValueError) as exc:
            raise CaptureUnparsed(f"cannot read the line {line.strip()!r}: {exc}") from None
    payload = _payload(draft, layout, store_id=store_id, lane=lane, tz=tz)
    try:
        return parse_sale(payload)
    except InvalidSale as exc:
        raise CaptureUnparsed(f"not a valid sale: {exc.message}") from None


def _read_line(line: str, layout: Layout, draft: _Draft) -> None:
    patterns = layout.patterns
    header_hit = False
    for name in HEADER_FIELDS:
        pattern = patterns.get(name)
        match = pattern.search(line) if pattern else None
        if match:
            header_hit = True
            for key, value in match.groupdict().items():
                if value is not None:
                    draft.header.setdefault(key, value.strip())
    if header_hit or not line.strip():
        return
    for kind in LINE_KINDS:
        pattern = patterns.get(kind)
        match = pattern.search(line) if pattern else None
        if match is None:
            continue
        if "total" in draft.totals and kind in ("item", "weighed", "savings", "deposit", "discount"):
            return  # after the total: footer text that happens to end in a number
        _apply(kind, {k: v for k, v in match.groupdict().items() if v is not None}, line, layout, draft)
        return


def _apply(kind: str, g: dict[str, str], line: str, layout: Layout, draft: _Draft) -> None:
    if kind == "ignore":
        return
    if kind in ("subtotal", "total", "savings_total", "change"):
        draft.totals.setdefault(kind, _money(g["amount"]))
    elif kind == "tax":
        draft.taxes.append(
            {"name": g.get("name", "Sales tax").title(), "rate": g.get("rate", ""), "amount": g["amount"]}
        )
    elif kind == "tender":
        draft.tenders.append(_tender(g))
    elif kind == "discount":
        draft.discounts.append({"description": g.get("description", line.strip())[:200], "amount": g["amount"]})
    elif kind in ("savings", "deposit"):
        if not draft.items:
            raise ValueError(f"{kind} line before any item")
        item = draft.items[-1]
        if kind == "deposit":
            item["bottle_deposit"] = str(_money(g["amount"]) + Decimal(item.get("bottle_deposit", "0")))
        else:
            description = g.get("description", "Savings").strip().title()
            item.setdefault("discounts", []).append({"description": description, "amount": g["amount"]})
    else:
        draft.items.append(_item(kind, g, layout))


def _item(kind: str, g: dict[str, str], layout: Layout) -> dict[str, Any]:
    price = _money(g["price"])
    flags = g.get("flags", "")
    if kind == "weighed":
        quantity = Decimal(g["qty"])
        unit = g.get("unit", "lb").lower()
        unit_price = _money(g["unit_price"])
    elif "qty" in g:
        quantity = Decimal(g["qty"])
        unit = "ea"
        unit_price = _money(g["unit_price"]) if "unit_price" in g else quantize(price / quantity)
    else:
        quantity, unit, unit_price = Decimal(1), "ea", price
    item: dict[str, Any] = {
        "name": " ".join(g["name"].split())[:200],
        "quantity": str(quantity),
        "unit": unit,
        "unit_price": str(unit_price),
        "line_total": str(price),
        "taxable": any(f in flags for f in layout.taxable_flags),
        "snap_eligible": any(f in flags for f in layout.snap_flags),
    }
    if g.get("upc"):
        item["upc"] = g["upc"]
    return item


def _tender(g: dict[str, str]) -> dict[str, Any]:
    word = " ".join(g["brand"].upper().split())
    tender: dict[str, Any] = {"amount": g["amount"]}
    if word in _TENDER_TYPES:
        tender["type"] = _TENDER_TYPES[word]
    else:
        tender["type"] = "card"
        tender["card_brand"] = _BRANDS.get(word, g["brand"].strip().title())
    if g.get("last4"):
        tender["last4"] = g["last4"]
    return tender


def _payload(draft: _Draft, layout: Layout, *, store_id: str, lane: str, tz: tzinfo | None) -> dict[str, Any]:
    header, totals = draft.header, draft.totals
    if "total" not in totals:
        raise CaptureUnparsed("no total line")
    if not draft.items:
        raise CaptureUnparsed("no item lines")
    if not draft.tenders:
        raise CaptureUnparsed("no tender line")
    if "date" not in header:
        raise CaptureUnparsed("no date and time")
    stamp = f"{header['date']} {header.get('time', '')}".strip()
    try:
        naive = datetime.strptime(stamp, layout.datetime_format)
    except ValueError:
        raise CaptureUnparsed(f"the date {stamp!r} does not read as {layout.datetime_format!r}") from None
    occurred = naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()
    the_lane = str(int(header["lane"])) if header.get("lane", "").isdigit() else header.get("lane") or lane
    sale_id = header.get("sale_id")
    if not sale_id:
        if "trans" not in header:
            raise CaptureUnparsed("no sale id or transaction number")
        sale_id = f"{naive:%Y%m%d}-{the_lane}-{header['trans']}"

    cash = [t for t in draft.tenders if t["type"] == "cash"]
    if "change" in totals and totals["change"] and cash:
        cash[-1]["change_due"] = str(totals["change"])

    line_savings = sum((Decimal(d["amount"]) for i in draft.items for d in i.get("discounts", [])), ZERO)
    savings = line_savings + sum((Decimal(d["amount"]) for d in draft.discounts), ZERO)
    items_total = sum((Decimal(i["line_total"]) for i in draft.items), ZERO)
    subtotal = totals.get("subtotal", items_total - savings)
    taxable = sum(
        (
            Decimal(i["line_total"]) - sum((Decimal(d["amount"]) for d in i.get("discounts", [])), ZERO)
            for i in draft.items
            if i["taxable"]
        ),
        ZERO,
    )
    taxes = [_tax(t, taxable or subtotal) for t in draft.taxes]
    payload: dict[str, Any] = {
        "sale_id": sale_id,
        "store_id": store_id,
        "lane": the_lane,
        "occurred_at": occurred.isoformat(),
        "items": draft.items,
        "discounts": draft.discounts,
        "taxes": taxes,
        "subtotal": str(subtotal),
        "total_savings": str(totals.get("savings_total", savings)),
        "total": str(totals["total"]),
        "tenders": draft.tenders,
    }
    if header.get("cashier"):
        payload["cashier"] = header["cashier"][:64]
    return payload


def _tax(t: dict[str, str], base: Decimal) -> dict[str, str]:
    amount = _money(t["amount"])
    if t["rate"]:
        rate = Decimal(t["rate"]) / 100
    else:
        rate = (amount / base).quantize(Decimal("0.000001")) if base else Decimal(0)
    return {"name": t["name"], "rate": str(min(rate, Decimal(1))), "amount": str(amount)}
