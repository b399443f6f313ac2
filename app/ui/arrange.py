"""Where the demo's three windows go on one screen, so none covers another.

A pure function of the screen's free area: on a wide screen (1800 px and more) cashier, customer
and manager stand side by side; on a narrower one the cashier takes the left and the customer and
the manager share the right, one above the other. Each tile leaves room for the window manager's
frame and title bar, so the framed windows do not overlap either. No Qt: rectangles are tuples.
"""

from __future__ import annotations

from typing import NamedTuple

WIDE = 1800
"""From this width up, three columns."""
FRAME = 8
"""Room for a window's side and bottom borders (px)."""
TITLE_BAR = 32
"""Room for a window's title bar (px)."""
SIDE_WIDTH = 400
"""The least width the customer's and the manager's windows keep when the cashier's asks for more."""


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
    """The client area (inside the frame) of each window."""

    cashier: Rect
    customer: Rect
    manager: Rect


def _inside_frame(tile: Rect) -> Rect:
    """The client area of a window whose frame fills `tile`."""
    return Rect(tile.x + FRAME, tile.y + TITLE_BAR, tile.width - 2 * FRAME, tile.height - TITLE_BAR - FRAME)


def arrange(screen: Rect, cashier_width: int = 0) -> Arrangement:
    """Tiles for cashier, customer and manager on `screen` (its available area), none overlapping.

    The cashier's window is the one the counter works in: it gets at least `cashier_width` (its
    minimum, inside the frame) as far as the customer and the manager keep `SIDE_WIDTH`.
    """
    x, y, width, height = screen
    wide = width >= WIDE
    share = width * 2 // 5 if wide else width * 11 // 20
    columns = 2 if wide else 1
    cashier_w = min(max(share, cashier_width + 2 * FRAME), width - columns * (SIDE_WIDTH + 2 * FRAME))
    if wide:
        side_w = (width - cashier_w) // 2
        tiles = (
            Rect(x, y, cashier_w, height),
            Rect(x + cashier_w, y, side_w, height),
            Rect(x + cashier_w + side_w, y, width - cashier_w - side_w, height),
        )
    else:
        side_w = width - cashier_w
        customer_h = height * 3 // 5
        tiles = (
            Rect(x, y, cashier_w, height),
            Rect(x + cashier_w, y, side_w, customer_h),
            Rect(x + cashier_w, y + customer_h, side_w, height - customer_h),
        )
    return Arrangement(*(_inside_frame(tile) for tile in tiles))
