"""Money as `Decimal`, always in cents precision for USD."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("1000000.00")
_EXACT = Context(prec=40, rounding=ROUND_HALF_UP, traps=[])
"""Enough digits for any amount up to MAX_AMOUNT at any precision asked of it, and no traps: the
checks below never raise `InvalidOperation` whatever the thread's own decimal context says."""


def quantize(amount: Decimal) -> Decimal:
    """Round to whole cents, half up, as a till does."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _check_money(value: Decimal) -> Decimal:
    """A validated amount, or a `ValueError` pydantic reports against the field.

    The order matters: size is checked by comparison (which never raises) before anything rounds, so
    `1e308`, `10**40` or `1e999999999` are "must not exceed", never a `decimal.InvalidOperation`.
    """
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if value.is_signed():
        raise ValueError("must not be negative" + (" (-0 is not an amount)" if value.is_zero() else ""))
    if value > MAX_AMOUNT:
        raise ValueError(f"must not exceed {MAX_AMOUNT}")
    cents = value.quantize(CENT, context=_EXACT)
    if value != cents:
        raise ValueError("must have at most two decimal places")
    return cents


Money = Annotated[
    Decimal,
    AfterValidator(_check_money),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]
"""A non-negative amount with at most two decimal places; JSON carries it as a string."""


def format_usd(amount: Decimal, *, negative: bool = False) -> str:
    """`$1,234.50` (or `-$1,234.50`), the way a US receipt prints money."""
    sign = "-" if negative and amount != 0 else ""
    return f"{sign}${quantize(amount):,.2f}"
