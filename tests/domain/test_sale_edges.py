"""The sale contract at the edge, for every string field the published schema has (derived from it,
so a field added later is covered): no card number in any writing, no control character, no lone
surrogate, bidi controls removed from text, and money within its documented bounds."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.domain.intake import InvalidSale, parse_sale, stored_sale
from app.domain.sale import LINE_MAX, SALE_MAX, Sale
from tests.rendering import sample_payload

Path = tuple[str | int, ...]

CARDS = {"4111111111111111": (4, 4, 4, 4), "378282246310005": (4, 6, 5), "5555555555554444": (4, 4, 4, 4)}
SEPARATORS = ["", " ", "-", ".", "/", "_", ":", "#", "\\", " - ", "\u2013", "\u00a0"]
DIGIT_FORMS = ["ascii", "full-width"]


def full_payload() -> dict[str, Any]:
    """A valid sale with every optional part present, so any field can be set and read back."""
    payload = sample_payload()
    payload["order_id"] = "ORD-77"
    payload["items"][0], payload["items"][1] = payload["items"][1], payload["items"][0]  # a discounted line first
    payload["items"][0].update(sku="SKU-1", upc="4006381333924")
    payload["customer"] = {
        "name": "Ana Garcia",
        "email": "ana@example.com",
        "phone": "+12175550142",
        "loyalty_id": "LM1",
        "language": "en",
        "channels": ["email"],
    }
    return payload


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _walk(node: dict[str, Any], defs: dict[str, Any], path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    node = _resolve(node, defs)
    options = [_resolve(o, defs) for o in node.get("anyOf", [node])]
    kinds = {o.get("type") for o in options}
    for option in options:
        if option.get("type") == "string":
            yield path, {**option, "with_number": "number" in kinds}
        elif "properties" in option:
            for name, child in option["properties"].items():
                yield from _walk(child, defs, (*path, name))
        elif option.get("type") == "array":
            yield from _walk(option["items"], defs, (*path, 0))


def string_fields() -> dict[Path, dict[str, Any]]:
    """Every place of a sale where JSON may put a string, with that string's schema."""
    schema = Sale.model_json_schema()
    return dict(_walk(schema, schema.get("$defs", {}), ()))


STRING_FIELDS = string_fields()
TEXT_FIELDS = sorted(
    (p for p, s in STRING_FIELDS.items() if not ({"pattern", "enum", "const", "format"} & set(s) or s["with_number"])),
    key=str,
)
"""Names and free text: no pattern, no choices, no format, not an amount."""
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$"
IDENTIFIER_FIELDS = sorted((p for p, s in STRING_FIELDS.items() if s.get("pattern") == IDENTIFIER_PATTERN), key=str)
"""Ids: a strict pattern (which allows the separators `._:/#-`, so a card number needs the detector)."""


def dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)


def put(payload: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """`payload` with `value` at `path`, containers made where the payload has none."""
    out = copy.deepcopy(payload)
    target: Any = out
    for key, following in pairwise(path):
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(key, int):
            while len(target) <= key:
                target.append(empty)
        else:
            target.setdefault(key, empty)
        target = target[key]
    if isinstance(path[-1], int):
        while len(target) <= path[-1]:
            target.append(None)
    target[path[-1]] = value
    return out


def read(sale: Sale, path: Path) -> Any:
    value: Any = sale
    for key in path:
        value = value[key] if isinstance(key, int) else getattr(value, key)
    return value


def problems(payload: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidSale) as caught:
        parse_sale(payload)
    return {p.path: p.type for p in caught.value.problems}


def test_the_schema_walk_finds_the_fields_a_test_must_cover() -> None:
    found = {dotted(p) for p in STRING_FIELDS}
    assert {"sale_id", "store_id", "lane", "order_id", "cashier", "items.0.name", "items.0.sku", "items.0.upc"} <= found
    assert {"customer.name", "customer.email", "promotions.0.text", "coupons.0.description", "total"} <= found
    assert {dotted(p) for p in TEXT_FIELDS} >= {"cashier", "items.0.name", "customer.name", "promotions.0.text"}
    assert {dotted(p) for p in IDENTIFIER_FIELDS} >= {"sale_id", "store_id", "lane", "order_id", "loyalty.member_id"}
    assert parse_sale(full_payload()).customer is not None


@pytest.mark.parametrize("path", sorted(STRING_FIELDS, key=str), ids=dotted)
@settings(max_examples=25, deadline=None)
@given(
    pan=st.sampled_from(list(CARDS)),
    separator=st.sampled_from(SEPARATORS),
    digits=st.sampled_from(DIGIT_FORMS),
    around=st.sampled_from(["{}", "S-{}", "card {} on file", "{}X"]),
)
def test_a_card_number_in_any_string_field_is_refused_naming_it(
    path: Path, pan: str, separator: str, digits: str, around: str
) -> None:
    groups, start = [], 0
    for size in CARDS[pan]:
        groups.append(pan[start : start + size])
        start += size
    written = separator.join(groups)
    if digits == "full-width":
        written = written.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    with pytest.raises(InvalidSale) as caught:
        parse_sale(put(full_payload(), path, around.format(written)))
    found = {p.path: p.type for p in caught.value.problems}
    assert found == {dotted(path): "card_number"}
    shown = str(caught.value) + repr(caught.value.problems)
    assert pan not in shown and groups[1] not in shown


@pytest.mark.parametrize("path", sorted(STRING_FIELDS, key=str), ids=dotted)
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\t", "\r", "\x7f", "\x85", "\x9b", "\u2028", "\ud800"])
def test_a_control_character_or_lone_surrogate_is_refused_naming_the_field(path: Path, char: str) -> None:
    found = problems(put(full_payload(), path, f"Ana{char}B"))
    assert dotted(path) in found
    if path in TEXT_FIELDS or path in IDENTIFIER_FIELDS:
        assert found[dotted(path)] == "unsafe_text"


@pytest.mark.parametrize("path", TEXT_FIELDS, ids=dotted)
def test_a_line_feed_is_refused_in_a_line_and_kept_in_free_text(path: Path) -> None:
    payload = put(full_payload(), path, "Ana\r\nB")
    if dotted(path) == "promotions.0.text":
        assert read(parse_sale(payload), path) == "Ana\nB"
    else:
        assert problems(payload) == {dotted(path): "unsafe_text"}


@pytest.mark.parametrize("path", TEXT_FIELDS, ids=dotted)
def test_bidi_controls_are_removed_from_names_and_text(path: Path) -> None:
    value = "Ana\u202e Ba\u202c\u2066r\u2069\u200f\u061c@example.com"
    assert read(parse_sale(put(full_payload(), path, value)), path) == "Ana Bar@example.com"


@pytest.mark.parametrize("path", IDENTIFIER_FIELDS, ids=dotted)
def test_identifiers_refuse_bidi_controls_instead(path: Path) -> None:
    assert dotted(path) in problems(put(full_payload(), path, "S-1001\u202e"))


def test_a_refused_value_is_in_no_message() -> None:
    payload = put(full_payload(), ("cashier",), "secret\x00value")
    with pytest.raises(InvalidSale) as caught:
        parse_sale(payload)
    assert "secret" not in str(caught.value) + repr(caught.value.problems)
    assert caught.value.field == "cashier" and "U+0000" in caught.value.message
    with pytest.raises(ValidationError) as direct:
        Sale.model_validate(payload)
    assert "secret" not in str(direct.value)


def amount_fields() -> dict[Path, Decimal]:
    """Every amount of a sale with its published maximum."""
    schema = Sale.model_json_schema()
    defs = schema["$defs"]
    found: dict[Path, Decimal] = {}

    def walk(node: dict[str, Any], path: Path) -> None:
        node = _resolve(node, defs)
        if "maximum" in node and "anyOf" in node:
            found[path] = Decimal(str(node["maximum"]))
        for option in (_resolve(o, defs) for o in node.get("anyOf", [node])):
            for name, child in option.get("properties", {}).items():
                walk(child, (*path, name))
            if option.get("type") == "array":
                walk(option["items"], (*path, 0))

    walk(schema, ())
    return found


AMOUNTS = amount_fields()


def test_every_amount_has_a_documented_bound() -> None:
    assert AMOUNTS[("items", 0, "line_total")] == LINE_MAX == Decimal("99999.99")
    assert AMOUNTS[("total",)] == SALE_MAX == Decimal("999999.99")
    assert {("items", 0, "unit_price"), ("tenders", 0, "amount"), ("taxes", 0, "amount")} <= set(AMOUNTS)
    text = json.dumps(Sale.model_json_schema())
    assert "at most $99,999.99" in text and "at most $999,999.99" in text


@pytest.mark.parametrize("path", sorted(AMOUNTS, key=str), ids=dotted)
def test_an_amount_past_its_bound_is_refused_naming_it(path: Path) -> None:
    over = AMOUNTS[path] + Decimal("0.01")
    found = problems(put(full_payload(), path, str(over)))
    assert found.get(dotted(path)) == "less_than_equal"
    at = problems(put(full_payload(), path, str(AMOUNTS[path])))
    assert at.get(dotted(path)) in (None, "inconsistent_total")  # the bound itself is allowed (totals then disagree)


def test_a_sale_at_the_bounds_is_accepted() -> None:
    payload = full_payload()
    payload["items"] = [
        {"name": f"Catering tray {n}", "quantity": "1", "unit_price": str(LINE_MAX), "line_total": str(LINE_MAX)}
        for n in range(10)
    ]
    payload.update(discounts=[], coupons=[], taxes=[], total_savings="0.00")
    total = LINE_MAX * 10
    payload.update(subtotal=str(total), total=str(total), tenders=[{"type": "check", "amount": str(total)}])
    assert parse_sale(payload).total == Decimal("999999.90")


def test_a_sale_stored_by_an_older_version_still_reads_with_its_controls_folded() -> None:
    payload = sample_payload()
    payload["items"][0]["name"] = "Bananas\torganic"  # accepted before control characters were refused
    stored = json.dumps(payload)
    with pytest.raises(ValidationError):
        Sale.model_validate_json(stored)
    assert stored_sale(stored).items[0].name == "Bananas organic"
    assert stored_sale(json.dumps(sample_payload())) == Sale.model_validate(sample_payload())
