from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from app.domain.cards import find_card_numbers, gtin_valid, luhn_valid
from app.domain.intake import InvalidSale, parse_sale
from app.domain.sale import Sale

Payload = Callable[..., dict[str, Any]]


def test_a_simulated_sale_is_consistent(sale_payload: Payload) -> None:
    sale = parse_sale(sale_payload())
    assert sale.total == sale.subtotal + sale.tax_total + sale.deposit_total
    assert isinstance(sale.total, Decimal)


def test_money_is_decimal_not_float(sale_payload: Payload) -> None:
    payload = sale_payload()
    payload["items"][0]["unit_price"] = "0.333"
    with pytest.raises(InvalidSale) as err:
        parse_sale(payload)
    assert err.value.problems[0].loc[:3] == ("items", 0, "unit_price")


@pytest.mark.parametrize("field", ["total", "subtotal", "total_savings"])
def test_inconsistent_totals_name_the_field(sale_payload: Payload, field: str) -> None:
    payload = sale_payload()
    payload[field] = str(Decimal(payload[field]) + Decimal("1.00"))
    with pytest.raises(InvalidSale) as err:
        parse_sale(payload)
    assert field in {p.path for p in err.value.problems}


def test_tenders_must_cover_the_total(sale_payload: Payload) -> None:
    payload = sale_payload()
    payload["tenders"] = [{"type": "card", "amount": "1.00", "card_brand": "Visa", "last4": "4242"}]
    with pytest.raises(InvalidSale) as err:
        parse_sale(payload)
    assert [p.path for p in err.value.problems] == ["tenders"]


def test_naive_time_is_refused(sale_payload: Payload) -> None:
    payload = sale_payload()
    payload["occurred_at"] = "2026-11-28T10:00:00"
    with pytest.raises(InvalidSale) as err:
        parse_sale(payload)
    assert err.value.problems[0].loc == ("occurred_at",)


@pytest.mark.parametrize(
    "where",
    [
        ("customer", "name"),
        ("items", 0, "name"),
        ("tenders", 0, "auth_code"),
    ],
)
def test_a_card_number_anywhere_is_refused_and_never_echoed(sale_payload: Payload, where: tuple[Any, ...]) -> None:
    payload = sale_payload(with_customer=True)
    target: Any = payload
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = "card 4111 1111 1111 1111"
    with pytest.raises(InvalidSale) as err:
        parse_sale(payload)
    assert err.value.problems[0].type == "card_number"
    assert "4111" not in str(err.value) and "4111" not in repr(err.value.problems)


def test_a_card_number_as_a_bare_json_number_is_refused(sale_payload: Payload) -> None:
    payload = sale_payload()
    payload["note"] = 5555555555554444
    assert list(find_card_numbers(payload)) == ["note"]


def test_valid_barcodes_are_not_card_numbers(sale_payload: Payload) -> None:
    payload = sale_payload()
    payload["items"][0]["upc"] = "4006381333924"  # EAN-13 that also passes Luhn
    assert gtin_valid("4006381333924") and luhn_valid("4006381333924")
    parse_sale(payload)


def test_unknown_fields_are_refused(sale_payload: Payload) -> None:
    payload = sale_payload()
    payload["surprise"] = 1
    with pytest.raises(InvalidSale) as err:
        parse_sale(payload)
    assert err.value.problems[0].loc == ("surprise",)


def test_weighed_line_total_must_match(sale_payload: Payload) -> None:
    payload = sale_payload()
    line = payload["items"][0]
    line.update(quantity="2.35", unit="lb", unit_price="0.59", line_total="1.39")
    line["line_total"] = "2.00"
    with pytest.raises(InvalidSale) as err:
        parse_sale(payload)
    assert err.value.problems[0].loc[:2] == ("items", 0)


def test_change_only_from_cash(sale_payload: Payload) -> None:
    payload = sale_payload()
    payload["tenders"][0]["change_due"] = "1.00"
    payload["tenders"][0]["type"] = "card"
    with pytest.raises(InvalidSale):
        parse_sale(payload)


def test_json_schema_documents_every_field() -> None:
    schema = Sale.model_json_schema()
    assert {"sale_id", "store_id", "lane", "items", "tenders", "total"} <= set(schema["required"])
    assert schema["properties"]["total"]["description"]


def test_uuids_are_not_card_numbers() -> None:
    import uuid

    from app.domain.cards import contains_card_number

    assert not any(contains_card_number(str(uuid.UUID(int=n * 7919 + 12345678901234567))) for n in range(2000))
    assert not any(contains_card_number(str(uuid.uuid4())) for _ in range(2000))
    assert contains_card_number("card 4111-1111-1111-1111 on file")
    assert contains_card_number("4111111111111111")
