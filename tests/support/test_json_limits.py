"""The bounded JSON loader: what it refuses, what it keeps, and that it refuses with one error."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.support.json_limits import LIMITS, JsonLimits, JsonRejected, loads
from tests.fuzzing import examples


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b" \r\n\t", "empty"),
        (b"{not json", "json_invalid"),
        (b"[1,]", "json_invalid"),
        (b"[" * 1000 + b"]" * 1000, "too_deep"),
        (b"[" * 100_000, "too_deep"),
        (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "too_deep"),
        (b"[" * (LIMITS.max_depth + 1) + b"]" * (LIMITS.max_depth + 1), "too_deep"),
        (b"1" + b"0" * 70, "number_too_long"),
        (b"[1." + b"5" * 80 + b"]", "number_too_long"),
        (b"1e99999999999999999999999", "number_out_of_range"),
        (b"NaN", "not_a_number"),
        (b'{"total": Infinity}', "not_a_number"),
        (b"[-Infinity]", "not_a_number"),
        (b'{"a": 1, "a": 2}', "duplicate_key"),
        (b'{"x": {"b": 1, "c": 2, "b": 3}}', "duplicate_key"),
        (b'{"a": "\xff"}', "not_utf8"),
        (b"\x80", "not_utf8"),
        (b'{"a": "\xed\xa0\x80"}', "not_utf8"),  # a surrogate encoded as UTF-8 bytes is not UTF-8
        ('{"a": 1}'.encode("utf-16"), "not_utf8"),
        (b"\xfe\xff" + '{"a": 1}'.encode("utf-16-be"), "not_utf8"),
        ('{"a": 1}'.encode("utf-32"), "not_utf8"),
        (b'{"a": "\\ud800"}', "lone_surrogate"),
        (b'{"\\udfff": 1}', "lone_surrogate"),
        (b'["ok", "\\ud83d"]', "lone_surrogate"),
        (b'{"a": "x\\u0000y"}', "nul_character"),
        (b'{"a\\u0000": 1}', "nul_character"),
        (b"[" + b",".join([b"0"] * (LIMITS.max_items + 1)) + b"]", "too_many_items"),
        (json.dumps({f"k{i}": i for i in range(LIMITS.max_keys + 1)}).encode(), "too_many_keys"),
    ],
    ids=lambda v: repr(v)[:40] if isinstance(v, bytes) else v,
)
def test_refused_with_one_error_and_a_reason(body: bytes, reason: str) -> None:
    for decimal in (False, True):
        with pytest.raises(JsonRejected) as err:
            loads(body, decimal=decimal)
        assert err.value.reason == reason
        assert isinstance(err.value, ValueError) and err.value.message


@pytest.mark.parametrize("decimal", [False, True])
def test_a_number_beyond_a_float_is_refused_in_both_modes(decimal: bool) -> None:
    for body in (b"1e400", b"[-1e400]", b'{"total": 1e999999999}', b"[0.1e310]"):
        with pytest.raises(JsonRejected) as err:
            loads(body, decimal=decimal)
        assert err.value.reason == "number_out_of_range"
    assert loads(b"[1e308, -1e308, 1e-400]", decimal=True) == [Decimal("1E+308"), Decimal("-1E+308"), Decimal("1E-400")]


def test_a_utf8_byte_order_mark_is_stripped() -> None:
    assert loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert loads("\ufeff[true]") == [True]


def test_numbers_keep_their_value() -> None:
    assert loads(b'{"t": 10.10, "n": 3, "e": 1e308}', decimal=True) == {
        "t": Decimal("10.10"),
        "n": 3,
        "e": Decimal("1E+308"),
    }
    value = loads(b'{"t": 10.10, "big": 10000000000000000000000000000000000000000}')
    assert value == {"t": 10.1, "big": 10**40}
    assert isinstance(value["t"], float)


def test_within_the_bounds_is_read_as_json_reads_it() -> None:
    deepest = b"[" * LIMITS.max_depth + b"]" * LIMITS.max_depth
    assert loads(deepest) == json.loads(deepest)
    text = '{"name": "Caf\\u00e9 \\ud83d\\ude00", "list": [null, true, false, "", -0, 0.5]}'
    assert loads(text) == json.loads(text)


def test_limits_can_be_narrowed() -> None:
    tight = JsonLimits(max_depth=2, max_items=4, max_keys=2, max_number_chars=3)
    assert loads(b"[[1]]", limits=tight) == [[1]]
    for body in (b"[[[1]]]", b"[1,2,3,4]", b'{"a":1,"b":2,"c":3}', b"1234"):
        with pytest.raises(JsonRejected):
            loads(body, limits=tight)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=examples(200), deadline=None)
@given(body=st.one_of(st.binary(max_size=200), JSON_VALUES.map(lambda v: json.dumps(v).encode())))
def test_anything_is_a_value_or_a_rejection(body: bytes) -> None:
    """Whatever the bytes, the answer is a value or `JsonRejected`; never another exception."""
    try:
        value: Any = loads(body)
    except JsonRejected:
        return
    assert json.loads(body.decode("utf-8-sig")) == value
