"""CODE128 planning: the fewest symbol characters in code sets B and C, and the width that fits."""

from __future__ import annotations

import itertools
from functools import cache

import pytest

from app.domain.code128 import CodeSet, encodable, module_width_for, plan


@cache
def fewest(data: str, code_set: str) -> int:
    """Exhaustively: characters to write `data` starting in `code_set` (switches counted)."""
    if not data:
        return 0
    options = []
    for target in ("B", "C"):
        switch = 0 if target == code_set else 1
        if target == "B":
            options.append(switch + 1 + fewest(data[1:], "B"))
        elif data[:2].isdigit() and len(data) >= 2:
            options.append(switch + 1 + fewest(data[2:], "C"))
    return min(options)


@pytest.mark.parametrize("length", range(1, 9))
def test_the_plan_is_never_longer_than_any_other_choice_of_sets(length: int) -> None:
    for chars in itertools.product("1a", repeat=length):
        data = "".join(chars)
        code = plan(data)
        assert code.characters == min(fewest(data, "B"), fewest(data, "C")), data
        assert "".join(s.text for s in code.segments) == data
        assert all(s.text.isdigit() and len(s.text) % 2 == 0 for s in code.segments if s.code_set is CodeSet.C)


def test_width_in_modules_counts_start_check_stop_and_quiet_zones() -> None:
    code = plan("RD-S1")  # all in B: start, 5, check = 7 characters of 11, stop 13, quiet 2 x 10
    assert code.segments[0].code_set is CodeSet.B and code.modules == 7 * 11 + 13 + 20
    digits = plan("12345678")  # start C, 4 pairs, check
    assert [s.code_set for s in digits.segments] == [CodeSet.C] and digits.modules == 6 * 11 + 13 + 20


def test_the_widest_bars_that_fit_else_none() -> None:
    code = plan("RD-S1")  # 110 modules
    assert module_width_for(code, 576) == 3
    assert module_width_for(code, 300) == 2
    assert module_width_for(code, 219) is None
    assert module_width_for(code, 576, preferred=6) == 5


def test_only_printable_ascii_is_encodable() -> None:
    assert encodable("RD-{x}") and not encodable("") and not encodable("caf\u00e9") and not encodable("a\tb")
    with pytest.raises(ValueError, match="printable ASCII"):
        plan("\u00e9")
