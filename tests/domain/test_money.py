"""Money validation refuses every odd number with a field error, never with a decimal exception."""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from app.domain.intake import InvalidSale, parse_sale
from app.domain.money import MAX_AMOUNT, Money
from tests.fuzzing import examples

Payload = Callable[..., dict[str, Any]]


class Priced(BaseModel):
    amount: Money


ODD = [
    "1e308",
    1e308,
    Decimal("1E+308"),
    10**40,
    "1" * 5000,
    "1e999999999999999999",
    "12345678901234567890123456789.01",
    "NaN",
    "sNaN",
    Decimal("sNaN"),
    "Infinity",
    "-Infinity",
    float("inf"),
    float("nan"),
    "-0",
    "-0.00",
    Decimal("-0"),
    -0.0,
    "1.001",
    "1.0000000000000000000000000000000000001",
    "0.0000000000000000000000000000000000000001",
    "1e-999999999",
    "-1",
    "1000000.01",
]


@pytest.mark.parametrize("value", ODD, ids=[repr(v)[:40] for v in ODD])
def test_odd_amounts_are_a_field_error(value: Any) -> None:
    with pytest.raises(ValidationError) as err:
        Priced(amount=value)
    assert [e["loc"] for e in err.value.errors()] == [("amount",)]


@pytest.mark.parametrize(
    ("value", "cents"),
    [("0", "0.00"), (0, "0.00"), ("10.5", "10.50"), ("1.500", "1.50"), (Decimal("999999.99"), "999999.99")],
)
def test_plain_amounts_come_out_in_cents(value: Any, cents: str) -> None:
    assert str(Priced(amount=value).amount) == cents


def test_the_thread_decimal_context_does_not_matter() -> None:
    with decimal.localcontext(decimal.Context(prec=3, traps=[decimal.Inexact, decimal.Rounded])):
        assert Priced(amount="999999.99").amount == Decimal("999999.99")
        with pytest.raises(ValidationError):
            Priced(amount="1e308")


NUMBERS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-10, max_value=2 * MAX_AMOUNT, places=3),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-(10**6), 10**6), st.integers(-(10**12), 10**12)),
)


@settings(max_examples=examples(300), deadline=None)
@given(value=NUMBERS)
def test_any_number_is_an_amount_or_a_field_error(value: Any) -> None:
    refused: list[Any] = []
    try:
        amount = Priced(amount=value).amount
    except ValidationError as err:
        refused = [e["loc"] for e in err.errors()]
    if refused:
        assert refused == [("amount",)]
        return
    assert Decimal(0) <= amount <= MAX_AMOUNT and amount == amount.quantize(Decimal("0.01"))
    assert not amount.is_signed()


@pytest.mark.parametrize("value", ["1e308", 10**40, "-0", "NaN", "Infinity", Decimal("1E+999999")])
def test_a_sale_with_an_odd_total_names_the_total(sale_payload: Payload, value: Any) -> None:
    payload = sale_payload()
    payload["total"] = value
    with pytest.raises(InvalidSale) as err:
        parse_sale(payload)
    assert ("total",) in [p.loc for p in err.value.problems]
