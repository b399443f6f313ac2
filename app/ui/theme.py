"""Fonts, colours and the style sheet: calm, high contrast, sized from the system font.

Font sizes are always the application font's point size times a factor, never pixels, so the
whole kiosk follows the system's text size.
"""

from __future__ import annotations

from string import Template

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon
from PySide6.QtWidgets import QAbstractButton, QWidget

from app.support.package_data import read_resource, resource_path

INK = "#1d2733"
MUTED = "#5b6775"
PAPER = "#f6f7f9"
CARD = "#ffffff"
LINE = "#d5dae1"
ACCENT = "#1f6f4a"
ACCENT_DARK = "#17573a"
WARN = "#a35a00"
BAD = "#b3261e"
GOOD = "#1f6f4a"

PALETTE: dict[str, str] = {
    "INK": INK, "MUTED": MUTED, "PAPER": PAPER, "CARD": CARD, "LINE": LINE,
    "ACCENT": ACCENT, "ACCENT_DARK": ACCENT_DARK, "WARN": WARN, "BAD": BAD, "GOOD": GOOD,
}  # fmt: skip
"""The colours the style sheet names as `$NAME`."""

STATE_COLOURS: dict[str, str] = {
    "queued": "#7a8794",
    "sending": "#3d6fb6",
    "sent": "#2f8f5b",
    "delivered": "#1f6f4a",
    "unknown": "#a35a00",
    "bounced": "#c2410c",
    "failed": "#b3261e",
    "dead": "#6b1b16",
}
"""One colour per delivery state, for chips and the chart."""


def font(factor: float = 1.0, *, bold: bool = False) -> QFont:
    """The application font scaled by `factor` (points, relative to the system size)."""
    base = QGuiApplication.font()
    scaled = QFont(base)
    size = base.pointSizeF() if base.pointSizeF() > 0 else 10.0
    scaled.setPointSizeF(size * factor)
    scaled.setBold(bold)
    return scaled


def set_font(widget: QWidget, factor: float, *, bold: bool = False) -> None:
    """Give `widget` the application font scaled by `factor`."""
    widget.setFont(font(factor, bold=bold))


def touch_target(button: QAbstractButton, lines: float = 2.6) -> None:
    """Make a button at least `lines` text lines tall: a comfortable touch target at any text size."""
    button.setMinimumHeight(int(button.fontMetrics().height() * lines))


def state_colour(state: str) -> QColor:
    """The chart and chip colour of a delivery state."""
    return QColor(STATE_COLOURS.get(state, MUTED))


def style_sheet() -> str:
    """The kiosk's style sheet: `kiosk.qss` among the resources, with the palette above put in."""
    return Template(read_resource("kiosk.qss")).substitute(PALETTE)


def app_icon() -> QIcon:
    """ReceiptDesk's icon: the SVG where Qt can draw it, else the 256 px PNG."""
    icon = QIcon(str(resource_path("receiptdesk.svg")))
    if icon.pixmap(QSize(64, 64)).isNull():
        icon = QIcon(str(resource_path("receiptdesk.png")))
    return icon


STYLE_SHEET = style_sheet()
