"""Fonts, colours and the style sheet: calm, legible (WCAG AA, a high-contrast palette), sized from the system font.

Font sizes are always the application font's point size times a factor, never pixels, so the
whole kiosk follows the system's text size.
"""

from __future__ import annotations

from string import Template

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QTreeWidgetItemIterator,
    QWidget,
)

from app.support.package_data import read_resource, resource_path
from app.ui.palette import HIGH_CONTRAST, HIGH_CONTRAST_STATES, STANDARD, STANDARD_STATES

# The colours of the palette in use; `use_palette` rebinds them, so read them as `theme.INK` at draw time.
INK = STANDARD["INK"]
MUTED = STANDARD["MUTED"]
PAPER = STANDARD["PAPER"]
CARD = STANDARD["CARD"]
LINE = STANDARD["LINE"]
ACCENT = STANDARD["ACCENT"]
ACCENT_DARK = STANDARD["ACCENT_DARK"]
WARN = STANDARD["WARN"]
BAD = STANDARD["BAD"]
GOOD = STANDARD["GOOD"]

PALETTE: dict[str, str] = dict(STANDARD)
"""The colours of the palette in use, by the names the style sheet writes as `$NAME`."""

STATE_COLOURS: dict[str, str] = dict(STANDARD_STATES)
"""One colour per delivery state, for chips, lists and the chart (the palette in use)."""

TYPE_SCALE: dict[str, float] = {
    "caption": 0.9,
    "body": 1.0,
    "label": 1.2,
    "subtitle": 1.35,
    "title": 1.5,
    "heading": 1.8,
    "display": 2.4,
}
"""The type scale: each role's size as a factor of the system font (a ratio of about 1.2 a step)."""

high_contrast = False
"""Whether the high-contrast palette is in use."""


def use_palette(*, high: bool) -> None:
    """Switch the module's colours to the high-contrast palette or back (the style sheet follows)."""
    global INK, MUTED, PAPER, CARD, LINE, ACCENT, ACCENT_DARK, WARN, BAD, GOOD, STYLE_SHEET, high_contrast
    colours, states = (HIGH_CONTRAST, HIGH_CONTRAST_STATES) if high else (STANDARD, STANDARD_STATES)
    PALETTE.clear()
    PALETTE.update(colours)
    STATE_COLOURS.clear()
    STATE_COLOURS.update(states)
    INK, MUTED, PAPER, CARD, LINE = colours["INK"], colours["MUTED"], colours["PAPER"], colours["CARD"], colours["LINE"]
    ACCENT, ACCENT_DARK, GOOD = colours["ACCENT"], colours["ACCENT_DARK"], colours["GOOD"]
    WARN, BAD = colours["WARN"], colours["BAD"]
    high_contrast = high
    STYLE_SHEET = style_sheet()


def apply(app: QApplication, *, high: bool) -> None:
    """Use the high-contrast palette (or the standard one) in every window of `app`, now.

    Widgets that paint themselves read the colours at paint time; widgets marked with `hint` (and
    frames named in the sheet) follow the application's style sheet; table and tree items coloured
    with `colour_item` are coloured again here. No widget keeps a colour of its own: a switch shows
    everywhere at once, without a restart.
    """
    use_palette(high=high)
    colours = app.palette()
    # Qt's placeholder grey is below AA on white; kiosk.qss sets `placeholder-text-color` for styled widgets.
    colours.setColor(QPalette.ColorRole.PlaceholderText, QColor(MUTED))
    app.setPalette(colours)
    app.setStyleSheet(STYLE_SHEET)
    for widget in app.allWidgets():
        if isinstance(widget, QTableWidget | QTreeWidget):
            _recolour_items(widget)
    for widget in app.topLevelWidgets():
        widget.update()


def hint(widget: QWidget, kind: str | None, *, bold: bool | None = None) -> None:
    """Colour `widget`'s text by the style sheet's `hint` rule (`"bad"`, `"warn"`, `"good"`; None for plain
    text), in whichever palette is in use and through any switch; `bold` makes it bold or not."""
    if widget.property("hint") != kind:
        widget.setProperty("hint", kind)
        widget.style().unpolish(widget)  # a dynamic property the sheet selects on: polish again
        widget.style().polish(widget)
    if bold is not None and widget.font().bold() != bold:
        bolder = QFont(widget.font())
        bolder.setBold(bold)
        widget.setFont(bolder)


COLOUR_ROLE = Qt.ItemDataRole.UserRole + 77
"""Where an item coloured by `colour_item` keeps the name of its colour, to be coloured again on a switch."""


def colour_of(name: str) -> QColor:
    """A colour of the palette in use by its name: a palette name (`"BAD"`) or a delivery state (`"failed"`)."""
    return QColor(PALETTE.get(name) or STATE_COLOURS.get(name) or INK)


def colour_item(item: QTableWidgetItem | QTreeWidgetItem, name: str, column: int = 0) -> None:
    """Give an item's text (a tree item's `column`) the colour `name` (see `colour_of`), kept through a switch."""
    if isinstance(item, QTreeWidgetItem):
        item.setData(column, COLOUR_ROLE, name)
        item.setForeground(column, colour_of(name))
    else:
        item.setData(COLOUR_ROLE, name)
        item.setForeground(colour_of(name))


def _recolour_items(widget: QTableWidget | QTreeWidget) -> None:
    if isinstance(widget, QTableWidget):
        for row in range(widget.rowCount()):
            for column in range(widget.columnCount()):
                item = widget.item(row, column)
                if item is not None and isinstance(name := item.data(COLOUR_ROLE), str):
                    item.setForeground(colour_of(name))
        return
    iterator = QTreeWidgetItemIterator(widget)
    while (tree_item := iterator.value()) is not None:
        for column in range(tree_item.columnCount()):
            if isinstance(name := tree_item.data(column, COLOUR_ROLE), str):
                tree_item.setForeground(column, colour_of(name))
        iterator += 1


def role_font(role: str, *, bold: bool = False) -> QFont:
    """The application font at a step of `TYPE_SCALE` (`"title"`, `"body"`...)."""
    return font(TYPE_SCALE[role], bold=bold)


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
    """The kiosk's style sheet: `kiosk.qss` among the resources, with the palette above put in
    (and `$ICONS`, the folder of its icons)."""
    icons = resource_path("chevron-down.svg").parent.as_posix()
    return Template(read_resource("kiosk.qss")).substitute(PALETTE, ICONS=icons)


def app_icon() -> QIcon:
    """ReceiptDesk's icon: the SVG where Qt can draw it, else the 256 px PNG."""
    icon = QIcon(str(resource_path("receiptdesk.svg")))
    if icon.pixmap(QSize(64, 64)).isNull():
        icon = QIcon(str(resource_path("receiptdesk.png")))
    return icon


STYLE_SHEET = style_sheet()
