"""Fonts, colours and the style sheet: calm, high contrast, sized from the system font.

Font sizes are always the application font's point size times a factor, never pixels, so the
whole kiosk follows the system's text size.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QWidget

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


STYLE_SHEET = f"""
QWidget {{ color: {INK}; }}
QMainWindow, QDialog, QStackedWidget#customerPages, QWidget#page {{ background: {PAPER}; }}
QGroupBox {{ background: {CARD}; border: 1px solid {LINE}; border-radius: 6px; margin-top: 1.4em; padding: 0.6em; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 0.8em; padding: 0 0.3em; color: {MUTED}; }}
QPushButton {{ background: {CARD}; border: 1px solid {LINE}; border-radius: 6px; padding: 0.35em 1em; }}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton:focus {{ border: 2px solid {ACCENT}; }}
QPushButton:disabled {{ color: #9aa4ae; background: #eef0f3; }}
QPushButton[primary="true"] {{ background: {ACCENT}; color: white; border-color: {ACCENT_DARK}; }}
QPushButton[primary="true"]:disabled {{ background: #8fb5a2; color: #eef5f1; }}
QPushButton[choice="true"] {{ background: {CARD}; border: 2px solid {LINE}; border-radius: 10px; }}
QPushButton[choice="true"]:pressed, QPushButton[key="true"]:pressed {{ background: #e3efe8; }}
QPushButton[key="true"] {{ background: {CARD}; border-radius: 8px; }}
QLineEdit, QPlainTextEdit, QTextBrowser, QComboBox, QDateEdit, QSpinBox {{
    background: {CARD}; border: 1px solid {LINE}; border-radius: 4px; padding: 0.25em; }}
QLineEdit:focus, QComboBox:focus, QDateEdit:focus {{ border: 2px solid {ACCENT}; }}
QComboBox QLineEdit, QComboBox QLineEdit:focus {{ border: none; padding: 0; background: transparent; }}
QTableView, QTreeWidget, QListView {{ background: {CARD}; border: 1px solid {LINE}; alternate-background-color: #f2f4f7;
    selection-background-color: #cfe3d8; selection-color: {INK}; }}
QHeaderView::section {{ background: #eef0f3; border: none; border-bottom: 1px solid {LINE}; padding: 0.3em; }}
QLabel[muted="true"] {{ color: {MUTED}; }}
QLabel[hint="bad"] {{ color: {BAD}; }}
QLabel[hint="good"] {{ color: {GOOD}; }}
QFrame#errorBanner {{ background: #fdecea; border: 1px solid #f1b8b3; border-radius: 6px; }}
QFrame#errorBanner QLabel {{ color: #7f1d1d; }}
QProgressBar {{ border: 1px solid {LINE}; border-radius: 4px; text-align: center; background: {CARD}; }}
QProgressBar::chunk {{ background: {ACCENT}; }}
QStatusBar {{ background: #eef0f3; border-top: 1px solid {LINE}; }}
"""
