"""Turning an untrusted payload into a `Sale`, or a list of precise reasons why not."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.domain.cards import REFUSAL, field_name, find_card_numbers
from app.domain.errors import ValidationFailed
from app.domain.sale import Sale
from app.domain.text import refused_character


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with an input, at a path of keys and indexes."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    @property
    def path(self) -> str:
        return ".".join(str(part) for part in self.loc) or "(body)"


class InvalidSale(ValidationFailed):
    """The payload is not an acceptable sale; `problems` lists every reason."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first.path}: {first.msg}{more}", field=first.path)
        self.problems = problems


def parse_sale(payload: Any) -> Sale:
    """Validate a decoded JSON payload as a `Sale`.

    Checks, in order: no full card number anywhere, keys and unknown fields included (`app.domain.cards`),
    the schema (text hygiene and money bounds included), then that the totals add up. Raises
    `InvalidSale` naming every offending field; no problem ever repeats the value it is about.
    """
    card_paths = list(find_card_numbers(payload))
    if card_paths:
        raise InvalidSale([FieldProblem(tuple(_split(p)), REFUSAL, "card_number") for p in card_paths])
    try:
        sale = Sale.model_validate(payload)
    except ValidationError as exc:
        raise InvalidSale(
            [
                FieldProblem(_loc(e["loc"]), e["msg"], e["type"])
                for e in exc.errors(include_url=False, include_input=False)
            ]
        ) from None
    problems = [FieldProblem((field,), msg, "inconsistent_total") for field, msg in sale.inconsistencies()]
    if problems:
        raise InvalidSale(problems)
    return sale


def _split(path: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in path.split(".")]


def _loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A pydantic error location fit to be shown (an unknown key is the sender's text)."""
    return tuple(part if isinstance(part, int) else field_name(str(part)) for part in loc)


def stored_sale(payload: str) -> Sale:
    """A sale as stored when it was accepted, read under today's rules.

    A control character that an older version let through (a tab in an item's name) becomes a space:
    the sale was accepted then, and it must still print and still be told about.
    """
    try:
        return Sale.model_validate_json(payload)
    except ValidationError:
        return Sale.model_validate(_fold_controls(json.loads(payload)))


def _fold_controls(value: Any) -> Any:
    if isinstance(value, str):
        return "".join(" " if refused_character(c, multiline=True) else c for c in value)
    if isinstance(value, dict):
        return {key: _fold_controls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fold_controls(item) for item in value]
    return value
