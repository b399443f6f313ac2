"""The smallest thing a customer's finger should have to hit on the customer screen."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

MIN_TOUCH_PX = 48
"""Logical pixels, each way: Material's 48 dp target (https://m3.material.io/foundations/designing/structure),
above WCAG 2.5.5's 44 CSS px (https://www.w3.org/WAI/WCAG21/Understanding/target-size.html)."""


def at_least_touch(widget: QWidget) -> None:
    """Keep `widget` at least `MIN_TOUCH_PX` tall and wide, whatever its text size."""
    widget.setMinimumSize(max(widget.minimumWidth(), MIN_TOUCH_PX), max(widget.minimumHeight(), MIN_TOUCH_PX))
