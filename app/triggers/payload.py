"""Reading a platform's JSON payload: the checks every trigger makes before it maps anything.

A platform's payload is untrusted until mapped: each reader returns the shape it promises or raises
`ValidationFailed` naming the dotted path (`field`) to blame, so a malformed webhook is a clear 422
and never a crash. The `lenient_*` readers are for optional detail that may simply be left out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.domain.errors import ValidationFailed
from app.domain.money import MAX_AMOUNT
from app.support.json_limits import JsonRejected, loads

MAX_TEXT = 200
MAX_CENTS = 100_000_000
_FRACTION = re.compile(r"(\.\d{6})\d+")


def json_object(body: bytes, *, decimal: bool = False) -> dict[str, Any]:
    """The raw body as a JSON object, read by the bounded loader (`decimal=True` keeps fractions as
    `Decimal`, exactly as written); anything it refuses is a `ValidationFailed` saying why."""
    try:
        data = loads(body, decimal=decimal)
    except JsonRejected as exc:
        raise ValidationFailed(f"the body is not acceptable JSON: {exc.message}", field="(body)") from None
    if not isinstance(data, dict):
        raise ValidationFailed("the body is not a JSON object", field="(body)")
    return data


def obj(value: Any, field: str) -> dict[str, Any]:
    """An object; a missing one (None) is empty."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field}: expected an object", field=field)
    return value


def array(value: Any, field: str) -> list[Any]:
    """A list; a missing one (None) is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(f"{field}: expected a list", field=field)
    return value


def objects(value: Any, field: str) -> list[dict[str, Any]]:
    """A list of objects; a missing one (None) is empty."""
    items = array(value, field)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationFailed(f"{field}.{i}: expected an object", field=f"{field}.{i}")
    return items


def lenient_obj(value: Any) -> dict[str, Any]:
    """An object, or empty for anything else."""
    return value if isinstance(value, dict) else {}


def lenient_list(value: Any) -> list[Any]:
    """A list, or empty for anything else."""
    return value if isinstance(value, list) else []


def text(value: Any, default: str) -> str:
    """A name or label: a string or number, trimmed, at most 200 characters; `default` when blank."""
    found = str(value).strip() if isinstance(value, str | int | float) else ""
    return (found or default)[:MAX_TEXT]


def optional_text(value: Any) -> str | None:
    """A note or reason: trimmed, at most 200 characters, or None when blank."""
    return text(value, "") or None


def number(value: Any, field: str, *, limit: Decimal = MAX_AMOUNT, signed: bool = True) -> Decimal:
    """A decimal number as the platform wrote it (string or JSON number), within ±`limit`."""
    amount: Decimal | None = None
    if isinstance(value, str | int | float | Decimal) and not isinstance(value, bool):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = None
    if amount is None or not amount.is_finite():
        raise ValidationFailed(f"{field}: not a number ({str(value)[:40]!r})", field=field)
    if abs(amount) > limit or (amount < 0 and not signed):
        raise ValidationFailed(f"{field}: out of range ({str(value)[:40]!r})", field=field)
    return amount


def cents(value: Any, field: str, *, signed: bool = False) -> Decimal:
    """Whole cents (a JSON integer) as an amount: `1099` is `Decimal("10.99")`."""
    low = -MAX_CENTS if signed else 0
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= MAX_CENTS:
        raise ValidationFailed(f"{field}: expected whole cents", field=field)
    return Decimal(value) / 100


def iso_time(*values: Any) -> datetime | None:
    """The first of `values` that is an ISO 8601 time with a UTC offset (`Z` allowed), else None."""
    for value in values:
        if not isinstance(value, str):
            continue
        try:
            parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip().replace("Z", "+00:00")))
        except ValueError:
            continue
        if parsed.tzinfo is not None:
            return parsed
    return None


def epoch_ms(value: Any) -> datetime | None:
    """Epoch milliseconds (a JSON number or a string of digits) as a UTC time, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None
