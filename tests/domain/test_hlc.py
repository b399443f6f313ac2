"""Hybrid logical clocks: order across lanes whose clocks disagree, and a revocation's tie-break."""

from __future__ import annotations

import pytest

from app.domain.hlc import SAME_MOMENT_MS, ClockSkewed, HybridClock, Stamp, later


class Wall:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_stamps_sort_as_text_as_they_do_as_stamps() -> None:
    wall = Wall(1_733_369_542_123)
    clock = HybridClock("store-1/2", wall=wall)
    first, second = clock.now(), clock.now()  # the same millisecond: the counter orders them
    wall.ms += 1
    third = clock.now()
    stamps = [first, second, third]
    assert sorted(stamps) == stamps and sorted(s.text for s in stamps) == [s.text for s in stamps]
    assert Stamp.parse(third.text) == third
    with pytest.raises(ValueError, match="not a clock stamp"):
        Stamp.parse("12-3-x")


def test_a_lane_whose_clock_is_behind_still_stamps_after_what_it_saw() -> None:
    fast, slow = HybridClock("a", wall=Wall(10_000)), HybridClock("b", wall=Wall(4_000))
    seen = fast.now()
    answer = slow.observe(seen)
    assert answer > seen and slow.now() > answer  # six seconds slow, and still after


def test_a_stamp_from_too_far_ahead_is_refused() -> None:
    lane = HybridClock("a", wall=Wall(0), max_skew_ms=60_000)
    with pytest.raises(ClockSkewed):
        lane.observe(Stamp(60_001, 0, "b"))


def test_a_revocation_beats_a_grant_of_the_same_moment_otherwise_the_later_wins() -> None:
    grant, stop = Stamp(1_000_500, 0, "a"), Stamp(1_000_000, 0, "b")
    assert later(stop, True, grant, False) and not later(grant, False, stop, True)
    much_later = Stamp(stop.wall_ms + SAME_MOMENT_MS, 0, "a")
    assert later(much_later, False, stop, True)  # a grant given after the stop (START) wins
    assert not later(grant, False, grant, False)  # the same change twice replaces nothing
