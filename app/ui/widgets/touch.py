"""Controls sized for a hurried hand at the till: the whole visible box answers a click."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QAbstractButton, QRadioButton, QWidget

MIN_BUTTON_PX = 44
"""The least height of the button that sends a receipt (Apple's and WCAG 2.5.5's 44 px target)."""
MIN_CHOICE_PX = 32
"""The least height of a radio button's hit area."""


class RoomyRadioButton(QRadioButton):
    """A radio button whose whole rectangle (at least `MIN_CHOICE_PX` tall) takes the click.

    Qt's own radio button answers only on the small dot and its text; a cashier aiming at the row
    beside them missed it.
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setMinimumHeight(MIN_CHOICE_PX)

    def hitButton(self, pos: QPoint) -> bool:
        return self.rect().contains(pos)


def at_least(button: QAbstractButton, pixels: int) -> None:
    """Make `button` at least `pixels` tall (and keep any larger height it already had)."""
    button.setMinimumHeight(max(pixels, button.minimumHeight()))
