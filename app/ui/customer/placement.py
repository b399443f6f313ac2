"""Where the customer-facing window goes: its own screen when the kiosk has a second one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

S = TypeVar("S")


def facing_screen(screens: Sequence[S], cashier: S, preferred: int) -> S | None:
    """The screen the customer window fills, or None when it shares the cashier's screen (in turn).

    `preferred` is the kiosk preference (an index into `screens`); when it names no other screen,
    the first screen that is not the cashier's is taken, so a second display is used by itself.
    """
    if 0 <= preferred < len(screens) and screens[preferred] is not cashier:
        return screens[preferred]
    return next((screen for screen in screens if screen is not cashier), None)
