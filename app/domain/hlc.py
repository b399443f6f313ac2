"""Hybrid logical clocks: which of two changes to the same record, made at different lanes, is the later.

A stamp is the wall-clock millisecond, a counter and the lane that made it (Kulkarni et al., "Logical
Physical Clocks and Consistent Snapshots in Globally Distributed Databases", 2014). A lane's clock
never runs behind a stamp it has seen, so a lane whose clock is slow cannot make a change that sorts
before the change it answers; a stamp more than `MAX_SKEW_MS` ahead of our wall clock is refused
instead of dragging every clock forward with it (a lane whose clock is far off is shown in health).

Stamps encode as fixed-width text that sorts in stamp order (`Stamp.text`), so databases compare them
as strings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_SKEW_MS = 5 * 60 * 1000
"""A stamp further ahead of our wall clock than this is not believed (five minutes)."""

SAME_MOMENT_MS = 1000
"""Changes less than this apart are at the same moment: there a revocation beats a grant."""

CLOCK_OFF_MS = 5000
"""A lane's clock measured this far or further from the hub's is off: the times of its changes are moved
by the measured difference before they are stamped (at the hub) or compared (at the lane itself), so a
lane whose clock runs ahead does not overrule a later change made elsewhere. Below it, the measurement
is mostly network delay, and times are taken as they are."""


def corrected_ms(skew_ms: int | None) -> int:
    """The shift to add to a lane's times to make them the hub's: `skew_ms` (hub minus lane) once it
    reaches `CLOCK_OFF_MS`, else 0."""
    return skew_ms if skew_ms is not None and abs(skew_ms) >= CLOCK_OFF_MS else 0


class ClockSkewed(ValueError):
    """A stamp from too far in the future: the lane that made it has a clock that is off."""


@dataclass(frozen=True, slots=True, order=True)
class Stamp:
    wall_ms: int
    counter: int
    node: str

    @property
    def text(self) -> str:
        """`000001733369542123-00000-store-0042/1`: sorts as the stamps do."""
        return f"{self.wall_ms:018d}-{self.counter:05d}-{self.node}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        """The stamp `text` spells; `ValueError` when it is not one."""
        wall, counter, node = text.split("-", 2)
        if len(wall) != 18 or len(counter) != 5 or not wall.isdigit() or not counter.isdigit() or not node:
            raise ValueError(f"not a clock stamp: {text[:60]!r}")
        return cls(int(wall), int(counter), node)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class HybridClock:
    """One lane's (or the hub's) clock. Not thread-safe: one per event loop."""

    def __init__(self, node: str, *, wall: Callable[[], int] = wall_clock_ms, max_skew_ms: int = MAX_SKEW_MS) -> None:
        self.node = node
        self._wall = wall
        self._max_skew = max_skew_ms
        self._last = Stamp(0, 0, node)

    def now(self) -> Stamp:
        """A stamp for a change made here, after every stamp made or seen before."""
        wall = self._wall()
        last = self._last
        self._last = (
            Stamp(wall, 0, self.node) if wall > last.wall_ms else Stamp(last.wall_ms, last.counter + 1, self.node)
        )
        return self._last

    def observe(self, remote: Stamp) -> Stamp:
        """Take in a stamp from elsewhere; raise `ClockSkewed` when it is too far ahead of our wall clock."""
        wall = self._wall()
        if remote.wall_ms - wall > self._max_skew:
            raise ClockSkewed(f"{remote.node}'s clock is {(remote.wall_ms - wall) // 1000} s ahead of this one")
        last = self._last
        top = max(wall, last.wall_ms, remote.wall_ms)
        if top == last.wall_ms == remote.wall_ms:
            counter = max(last.counter, remote.counter) + 1
        elif top == last.wall_ms:
            counter = last.counter + 1
        elif top == remote.wall_ms:
            counter = remote.counter + 1
        else:
            counter = 0
        self._last = Stamp(top, counter, self.node)
        return self._last


def later(a: Stamp, a_revokes: bool, b: Stamp, b_revokes: bool) -> bool:
    """Whether change `a` beats change `b` to the same record.

    A revocation beats a grant made at the same moment (within `SAME_MOMENT_MS`); otherwise the later
    stamp wins, and equal stamps (the same change seen twice) do not replace each other.
    """
    if a_revokes != b_revokes and abs(a.wall_ms - b.wall_ms) < SAME_MOMENT_MS:
        return a_revokes
    return a > b
