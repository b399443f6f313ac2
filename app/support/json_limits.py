"""Reading JSON nobody has vouched for yet: one loader with bounds, one error.

Every body that arrives from outside (a POS sale, a platform webhook, a provider's status callback)
is read with `loads`, never with `json.loads`. It refuses, with `JsonRejected` (a `ValueError`, so
every "malformed input" handler already catches it):

- bytes that are not UTF-8 (RFC 8259 §8.1: JSON exchanged between systems is UTF-8), including
  UTF-16 and UTF-32 text, with or without their byte order marks;
- an empty body, and anything `json` itself cannot read;
- nesting deeper than `max_depth` (32) containers, more than `max_items` values in the whole
  document, more than `max_keys` keys in one object;
- a number literal longer than `max_number_chars` characters (so `10**4000` is refused before
  anyone converts it), a number beyond what a 64-bit float holds (`1e400`: about 1.8e308 and up, in
  both modes, so a `Decimal` never carries an exponent no arithmetic context can take), and the
  non-standard constants `NaN`, `Infinity` and `-Infinity` that Python's `json` would otherwise accept;
- a key repeated in one object (which one "wins" differs between parsers, so a signed body could
  mean two things);
- a string (key or value) holding U+0000 (PostgreSQL text cannot store it) or a lone UTF-16
  surrogate from an escape such as `"\\ud800"` (it cannot be encoded as UTF-8, so it could be
  neither stored nor echoed).

A UTF-8 byte order mark at the very start is stripped, not refused: RFC 8259 §8.1 lets a parser
ignore it, some Windows tools write one, and signatures are always checked over the raw bytes, BOM
included, before this runs.

`decimal=True` reads fractions as `Decimal`, exactly as written (`10.10` stays `Decimal("10.10")`),
which is what money wants; the default reads them as `float` for payloads that are stored back as
JSON. Integers are always `int`.

Depth is checked after the parse, which is safe: `json`'s C scanner counts its own recursion and
raises `RecursionError` long before the stack is at risk (that too becomes `JsonRejected`), and
anything shallower than that is walked iteratively here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_UTF8_BOM = b"\xef\xbb\xbf"
_OTHER_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_FLOAT_MAX_EXPONENT = 308


class JsonRejected(ValueError):
    """A body `loads` refuses; `reason` is a short code (`too_deep`), `message` says it for a person."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """The bounds `loads` applies; the defaults fit every payload ReceiptDesk takes with room to spare."""

    max_depth: int = 32
    """Containers nested in containers: a Toast order with nested modifiers is about ten deep."""
    max_items: int = 100_000
    """Values in the whole document (containers, keys' values, array elements)."""
    max_keys: int = 1_000
    """Keys in one object."""
    max_number_chars: int = 64
    """Characters of one number literal, sign and exponent included."""


LIMITS = JsonLimits()


def loads(data: bytes | str, *, decimal: bool = False, limits: JsonLimits = LIMITS) -> Any:
    """The JSON value of `data` within `limits`; raises `JsonRejected` for anything else."""
    text = _text(data)
    if not text.strip():
        raise JsonRejected("empty", "the body is empty")
    try:
        value = json.loads(
            text,
            parse_int=_int_reader(limits),
            parse_float=_float_reader(limits, decimal=decimal),
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_reader(limits),
        )
    except JsonRejected:
        raise
    except RecursionError:
        raise JsonRejected("too_deep", f"nested deeper than {limits.max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise JsonRejected("json_invalid", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # e.g. int() refusing more digits than sys.get_int_max_str_digits()
        raise JsonRejected("json_invalid", f"not JSON: {exc}"[:200]) from None
    _check_shape(value, limits)
    return value


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if data.startswith(_OTHER_BOMS):
        raise JsonRejected("not_utf8", "the body is UTF-16 or UTF-32; JSON must be UTF-8")
    try:
        return data.removeprefix(_UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonRejected("not_utf8", f"the body is not UTF-8 (byte {exc.start})") from None


def _int_reader(limits: JsonLimits) -> Callable[[str], int]:
    def read(literal: str) -> int:
        if len(literal) > limits.max_number_chars:
            raise JsonRejected("number_too_long", f"a number of {len(literal)} characters")
        return int(literal)

    return read


def _float_reader(limits: JsonLimits, *, decimal: bool) -> Callable[[str], float | Decimal]:
    def read(literal: str) -> float | Decimal:
        if len(literal) > limits.max_number_chars:
            raise JsonRejected("number_too_long", f"a number of {len(literal)} characters")
        if decimal:
            try:
                exact = Decimal(literal)
            except InvalidOperation:  # an exponent beyond what Decimal can hold at all
                raise JsonRejected("number_out_of_range", f"the number {literal} is out of range") from None
            if exact.adjusted() > _FLOAT_MAX_EXPONENT:
                raise JsonRejected("number_out_of_range", f"the number {literal} is out of range")
            return exact
        number = float(literal)
        if not math.isfinite(number):
            raise JsonRejected("number_out_of_range", f"the number {literal} is out of range")
        return number

    return read


def _refuse_constant(name: str) -> Any:
    raise JsonRejected("not_a_number", f"{name} is not a JSON number")


def _object_reader(limits: JsonLimits) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def read(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len(pairs) > limits.max_keys:
            raise JsonRejected("too_many_keys", f"an object with more than {limits.max_keys} keys")
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise JsonRejected("duplicate_key", f"the key {_shown(key)} appears twice in one object")
                seen.add(key)
        return result

    return read


def _check_shape(value: Any, limits: JsonLimits) -> None:
    """Depth, size and storable strings, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    items = 0
    while stack:
        current, depth = stack.pop()
        items += 1
        if items > limits.max_items:
            raise JsonRejected("too_many_items", f"more than {limits.max_items} values")
        if isinstance(current, str):
            _check_string(current)
        elif isinstance(current, dict | list):
            if depth >= limits.max_depth:
                raise JsonRejected("too_deep", f"nested deeper than {limits.max_depth} levels")
            if isinstance(current, dict):
                for key in current:
                    _check_string(key)
                stack.extend((child, depth + 1) for child in current.values())
            else:
                stack.extend((child, depth + 1) for child in current)


def _check_string(text: str) -> None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return
    if found.group() == "\x00":
        raise JsonRejected("nul_character", "a string holds U+0000, which cannot be stored")
    raise JsonRejected("lone_surrogate", f"a string holds a lone surrogate (\\u{ord(found.group()):04x})")


def _shown(key: str) -> str:
    return repr(key[:40] + ("…" if len(key) > 40 else ""))
