"""How wide a CODE128 symbol is, and the shortest way to write it in code sets B and C.

A CODE128 symbol is a start character, the data characters (code set switches included), a
check character and a stop character. Every character is 11 modules wide except the stop, which
is 13; a quiet zone of 10 modules belongs on each side (ISO/IEC 15417). Code set B writes one
printable ASCII character per symbol character, code set C two digits, so a run of digits costs
half as much in C, plus one character to switch to it and, if more follows, one to switch back.
`plan` chooses the sets by a shortest path over the data, so no other choice is shorter.

`module_width_for` picks the width of the narrowest bar in printer dots (ESC/POS `GS w n`) for the
symbol to fit the paper's printable width, quiet zones included; None when no width fits, and the
receipt then prints its QR code alone (see `docs/printing.md` for the sources of these numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

CHARACTER_MODULES = 11
STOP_MODULES = 13
QUIET_ZONE_MODULES = 10
MIN_MODULE_DOTS = 2
"""Epson's range for `GS w n` is 2 to 6 on TM-series printers; a printer ignores an n outside its range
and keeps its current width, so a width of 1 could print a symbol wider than planned."""
MAX_MODULE_DOTS = 6
PREFERRED_MODULE_DOTS = 3
"""Epson's default `GS w` (0.375 mm on a 203 dpi head): the widest bar a receipt asks for."""


class CodeSet(StrEnum):
    B = "B"
    C = "C"


@dataclass(frozen=True, slots=True)
class Segment:
    """Consecutive data written in one code set (in C, an even number of digits)."""

    code_set: CodeSet
    text: str

    @property
    def characters(self) -> int:
        """Symbol characters its data takes (the switch into it not counted)."""
        return len(self.text) // 2 if self.code_set is CodeSet.C else len(self.text)


@dataclass(frozen=True, slots=True)
class Code128:
    """`data` as code set segments; the first segment's set is the start character's."""

    data: str
    segments: tuple[Segment, ...]

    @property
    def characters(self) -> int:
        """Symbol characters between start and check: the data and every switch of code set."""
        return sum(s.characters for s in self.segments) + len(self.segments) - 1

    @property
    def modules(self) -> int:
        """The symbol's width in modules: start, characters, check, stop, and both quiet zones."""
        return (self.characters + 2) * CHARACTER_MODULES + STOP_MODULES + 2 * QUIET_ZONE_MODULES

    def dots(self, module_width: int) -> int:
        """The width on paper, quiet zones included, with bars `module_width` dots wide."""
        return self.modules * module_width


def encodable(data: str) -> bool:
    """True when code sets B and C can write `data`: 1 or more printable ASCII characters."""
    return bool(data) and all(32 <= ord(c) < 127 for c in data)


def plan(data: str) -> Code128:
    """The fewest symbol characters for `data` in code sets B and C. `ValueError` when not `encodable`."""
    if not encodable(data):
        raise ValueError("CODE128 code sets B and C take 1 or more printable ASCII characters")
    n = len(data)
    sets = (CodeSet.B, CodeSet.C)
    # cost[i][s]: fewest characters to write data[i:] when the symbol is in code set s at position i.
    big = 10 * n + 10
    cost = [[0, 0] for _ in range(n + 1)]
    step: list[list[tuple[int, int]]] = [[(0, 0), (0, 0)] for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for s in (0, 1):
            stay = _stay(data, i, sets[s])
            here = big if stay is None else 1 + cost[i + stay][s]
            other = _stay(data, i, sets[1 - s])
            switch = big if other is None else 2 + cost[i + other][1 - s]
            if here <= switch:
                cost[i][s], step[i][s] = here, (i + (stay or 0), s)
            else:
                cost[i][s], step[i][s] = switch, (i + (other or 0), 1 - s)
    s = 0 if cost[0][0] <= cost[0][1] else 1
    segments: list[Segment] = []
    i = 0
    while i < n:
        nxt, t = step[i][s]
        if segments and segments[-1].code_set is sets[t]:
            segments[-1] = Segment(sets[t], segments[-1].text + data[i:nxt])
        else:
            segments.append(Segment(sets[t], data[i:nxt]))
        i, s = nxt, t
    return Code128(data, tuple(segments))


def _stay(data: str, i: int, code_set: CodeSet) -> int | None:
    """How many characters of `data` one symbol character in `code_set` takes at `i`; None if it cannot."""
    if code_set is CodeSet.B:
        return 1
    pair = data[i : i + 2]
    return 2 if len(pair) == 2 and pair.isascii() and pair.isdigit() else None


def module_width_for(code: Code128, dots: int, *, preferred: int = PREFERRED_MODULE_DOTS) -> int | None:
    """The widest bar (at most `preferred`, at least `MIN_MODULE_DOTS`) at which `code` fits `dots`."""
    for width in range(min(preferred, MAX_MODULE_DOTS), MIN_MODULE_DOTS - 1, -1):
        if code.dots(width) <= dots:
            return width
    return None
