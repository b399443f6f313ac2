"""Where the demo's three windows go on one screen: each at a size it can be used at, none over another.

A pure function of the screen's free area. The cashier's window is the one the counter works in,
so it keeps `COUNTER_WIDTH` (its sale list and receipt preview without sideways scrolling). What
is left decides the rest:

- room for the customer beside it (`CUSTOMER_WIDTH`, 2560 px screens): the customer's window
  takes the right-hand column and stays up, as on a second screen;
- no room (1366 x 768, 1280 x 800, 1920 x 1080): the customer's window takes the cashier's place, and shows
  only during the customer's turn, as on a kiosk with one screen;
- room for the manager too (`MANAGER_SIZE` beside both, rare): a column of its own; otherwise,
  when open, the manager's window takes the cashier's place, and nothing comes over it.

A window "in turn" shares the cashier's tile: while it is up the cashier's window steps aside
(`KioskShell` hides it), so the windows shown never overlap. Each tile leaves room for the window
manager's frame and title bar. No Qt: rectangles are tuples.
"""

from __future__ import annotations

from typing import NamedTuple

FRAME = 8
"""Room for a window's side and bottom borders (px)."""
TITLE_BAR = 32
"""Room for a window's title bar (px)."""
COUNTER_WIDTH = 1264
"""The cashier's window at this width (inside the frame: a 1280 px screen's) shows its sale list,
deliveries and the receipt preview with no sideways scrolling and no word broken across lines;
narrower, the preview breaks words and the list's last column slides off."""
CUSTOMER_WIDTH = 724
"""The least width (inside the frame) at which the customer's window stands beside the cashier's: its
own minimum, where the choice buttons keep their words and the keyboard's keys stay over 48 px wide."""
MANAGER_SIZE = (960, 600)
"""The least size (inside the frame) at which the manager's window is usable: its receipt list shows
every column and the timeline shows beneath it. Never given less."""


class Rect(NamedTuple):
    """A rectangle in screen pixels."""

    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.x + self.width

    @property
    def bottom(self) -> int:
        """One past the last row."""
        return self.y + self.height

    def intersects(self, other: Rect) -> bool:
        """Whether the two share any pixel."""
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom

    def contains(self, other: Rect) -> bool:
        """Whether `other` lies wholly inside."""
        return self.x <= other.x and self.y <= other.y and other.right <= self.right and other.bottom <= self.bottom


class Arrangement(NamedTuple):
    """The client area (inside the frame) of each window, and which windows take the cashier's place."""

    cashier: Rect
    customer: Rect
    manager: Rect
    customer_in_turn: bool
    """The customer's window shares the cashier's tile: it shows only during the customer's turn."""
    manager_in_turn: bool
    """The manager's window shares the cashier's tile: while open, the cashier's steps aside."""

    def shown(self, *, customer: bool, manager: bool) -> dict[str, Rect]:
        """The windows on screen when the customer's (`customer`) and the manager's (`manager`) are
        up, by name: a window in turn puts the cashier's aside; the manager's comes first."""
        shown: dict[str, Rect] = {}
        if manager:
            shown["manager"] = self.manager
        if customer and not (manager and self.customer_in_turn):  # never over the manager
            shown["customer"] = self.customer
        covered = (manager and self.manager_in_turn) or ("customer" in shown and self.customer_in_turn)
        if not covered:
            shown["cashier"] = self.cashier
        return shown


def _inside_frame(tile: Rect) -> Rect:
    """The client area of a window whose frame fills `tile`."""
    return Rect(tile.x + FRAME, tile.y + TITLE_BAR, tile.width - 2 * FRAME, tile.height - TITLE_BAR - FRAME)


def arrange(screen: Rect, counter_width: int = COUNTER_WIDTH) -> Arrangement:
    """The windows' places on `screen` (its available area): see the module's docstring.

    `counter_width` is the width the cashier's window needs (inside the frame); it never gets less
    while the screen has it.
    """
    x, y, width, height = screen
    whole = Rect(x, y, width, height)
    counter = counter_width + 2 * FRAME
    beside = width - counter >= CUSTOMER_WIDTH + 2 * FRAME
    if not beside:
        inside = _inside_frame(whole)
        return Arrangement(inside, inside, inside, customer_in_turn=True, manager_in_turn=True)
    manager_w = MANAGER_SIZE[0] + 2 * FRAME
    own_column = width - counter - manager_w >= CUSTOMER_WIDTH + 2 * FRAME
    left = width - manager_w if own_column else width
    cashier_w = max(counter, left * 3 // 5)
    cashier = Rect(x, y, cashier_w, height)
    customer = Rect(x + cashier_w, y, left - cashier_w, height)
    manager = Rect(x + left, y, manager_w, height) if own_column else cashier
    return Arrangement(
        _inside_frame(cashier),
        _inside_frame(customer),
        _inside_frame(manager),
        customer_in_turn=False,
        manager_in_turn=not own_column,
    )
