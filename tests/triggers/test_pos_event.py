"""The POS's `Idempotency-Key` becomes the stored event id: only printable ASCII, never a card number."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from app.domain.errors import CardDataRejected, ValidationFailed
from app.domain.intake import parse_sale
from app.domain.sale import Sale
from app.sandbox.pos import make_sale
from app.triggers.pos import pos_event

NOW = datetime(2026, 11, 28, 16, 15, tzinfo=UTC)


def sale(**changes: str) -> Sale:
    payload = make_sale(random.Random(3), sale_id="S-1001", when=NOW)
    payload.update(changes)
    return parse_sale(payload)


@pytest.mark.parametrize(
    "key",
    [
        "4111111111111111",
        "4111-1111-1111-1111",
        "till-4111.1111.1111.1111",
        "4111/1111/1111/1111 ",
        "k 4111_1111_1111_1111",
    ],
)
def test_a_card_number_as_the_key_is_refused_naming_the_header(key: str) -> None:
    with pytest.raises(CardDataRejected) as caught:
        pos_event(sale(), idempotency_key=key, received_at=NOW)
    assert caught.value.field == "Idempotency-Key" and "1111" not in str(caught.value)


@pytest.mark.parametrize("key", ["k\x00", "k\x7f1", "k\u202e", "４１１１", "key-é"])
def test_a_key_that_is_not_printable_ascii_is_refused(key: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        pos_event(sale(), idempotency_key=key, received_at=NOW)
    assert caught.value.field == "Idempotency-Key" and key not in str(caught.value)


def test_store_and_sale_id_joined_may_not_read_as_a_card_number() -> None:
    with pytest.raises(CardDataRejected) as caught:
        pos_event(sale(store_id="4111-1111", sale_id="1111-1111"), idempotency_key=None, received_at=NOW)
    assert caught.value.field == "store_id and sale_id"


def test_ordinary_keys() -> None:
    assert pos_event(sale(), idempotency_key=" till-3 0042 ", received_at=NOW).event_id == "till-3 0042"
    assert pos_event(sale(), idempotency_key=None, received_at=NOW).event_id == "store-0042:S-1001"
    assert len(pos_event(sale(), idempotency_key="k" * 500, received_at=NOW).event_id) == 200
