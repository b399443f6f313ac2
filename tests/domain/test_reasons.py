"""Reason codes of every platform map to one closed vocabulary, each said as a sentence in every language."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.channels import Language
from app.domain.lifecycle import Charge, UpdateLine, cancellation
from app.domain.reasons import (
    CLOVER_VOID,
    SHOPIFY_CANCEL,
    SQUARE_REFUND,
    STRIPE_CANCELLATION,
    STRIPE_REFUND,
    Reason,
    reason,
    stored_reason,
)
from app.rendering.i18n import CATALOGUES, catalogue

TABLES = {
    "shopify cancel_reason": SHOPIFY_CANCEL,
    "stripe refund reason": STRIPE_REFUND,
    "stripe cancellation_reason": STRIPE_CANCELLATION,
    "square refund reason": SQUARE_REFUND,
    "clover voidReason": CLOVER_VOID,
}
# The documented code lists (each table's comment cites where): every code is in its table.
DOCUMENTED = {
    "shopify cancel_reason": {"customer", "declined", "fraud", "inventory", "other", "staff"},
    "stripe refund reason": {"duplicate", "fraudulent", "requested_by_customer", "expired_uncaptured_charge"},
    "stripe cancellation_reason": {
        "abandoned",
        "automatic",
        "duplicate",
        "expired",
        "failed_invoice",
        "fraudulent",
        "requested_by_customer",
        "void_invoice",
    },
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_documented_code_is_mapped(name: str) -> None:
    assert set(TABLES[name]) == DOCUMENTED[name]


@pytest.mark.parametrize("language", list(CATALOGUES), ids=lambda lang: lang.value)
@pytest.mark.parametrize("meant", list(Reason), ids=lambda r: r.value)
def test_every_reason_is_a_sentence_in_every_language(meant: Reason, language: Language) -> None:
    sentence = catalogue(language)[f"reason_{meant.value}"]
    assert sentence[0].isupper() and sentence.endswith(".") and "{" not in sentence
    if language is not Language.EN:
        assert sentence != catalogue(Language.EN)[f"reason_{meant.value}"]  # translated, not fallen back
    codes = {code for table in TABLES.values() for code in table if "_" in code or code.isupper()}
    assert not any(code.casefold() in sentence.casefold() for code in codes)  # no machine code in words


def test_an_unknown_code_is_neutral_and_no_code_is_no_reason() -> None:
    assert reason(SHOPIFY_CANCEL, "warehouse_flood") is Reason.NEUTRAL
    assert reason(SHOPIFY_CANCEL, "Customer") is Reason.NEUTRAL  # codes are exact; only typed text is folded
    assert reason(SQUARE_REFUND, "  RETURNED   goods ", fold=True) is Reason.RETURNED
    assert reason(STRIPE_REFUND, None) is None and reason(STRIPE_REFUND, "  ") is None
    assert reason(STRIPE_REFUND, 42) is None


def test_a_stored_reason_reads_back_and_old_free_text_is_neutral() -> None:
    assert stored_reason("hold_expired") is Reason.HOLD_EXPIRED
    assert stored_reason("it broke during shipping") is Reason.NEUTRAL
    assert stored_reason(None) is None and stored_reason("") is None


MILK, BREAD = UpdateLine("Milk", Decimal(2), "M1"), UpdateLine("Bread", Decimal(1), "B1")
ONE_MILK = UpdateLine("Milk", Decimal(1), "M1")


@pytest.mark.parametrize(
    ("charged", "refunded", "shipments", "charge", "still", "gone"),
    [
        (True, Decimal(0), [], Charge.REFUND_FOLLOWS, (), (MILK, BREAD)),
        (False, Decimal(0), [], Charge.NONE, (), (MILK, BREAD)),
        (True, Decimal("3.50"), [], Charge.REFUNDED, (), (MILK, BREAD)),
        (True, Decimal(0), [(UpdateLine("milk", Decimal(1)),)], Charge.REFUND_FOLLOWS, (ONE_MILK,), (ONE_MILK, BREAD)),
    ],
    ids=["charged", "nothing charged", "refunded", "part shipped"],
)
def test_a_cancellation_is_told_against_what_happened(
    charged: bool,
    refunded: Decimal,
    shipments: list[tuple[UpdateLine, ...]],
    charge: Charge,
    still: tuple[UpdateLine, ...],
    gone: tuple[UpdateLine, ...],
) -> None:
    told = cancellation([MILK, BREAD], shipments, charged=charged, refunded=refunded)
    assert told.charge is charge
    assert told.refunded == (refunded if charge is Charge.REFUNDED else None)
    assert told.still_coming == still and told.partly_shipped is bool(still)
    assert told.cancelled == gone
