"""Money as `Decimal`, always in cents precision for USD."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("1000000.00")


def quantize(amount: Decimal) -> Decimal:
    """Round to whole cents, half up, as a till does."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _check_money(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if value != value.quantize(CENT):
        raise ValueError("must have at most two decimal places")
    if value < 0:
        raise ValueError("must not be negative")
    if value > MAX_AMOUNT:
        raise ValueError(f"must not exceed {MAX_AMOUNT}")
    return value.quantize(CENT)


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
