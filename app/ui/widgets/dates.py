"""Date pickers as an American reads them: `Dec 4, 2026`, weeks from Sunday, a calendar that shows all its rows.

A plain `QDateEdit` follows the machine's locale: under `C` it shows `3 12 2026` (read in the US
as March 12) and its calendar starts on Monday. `us_date_edit` builds one right;
`make_us_date_edit` fixes one already built; `polish_date_edits` fixes every one in a window.
`DayRange` is the From … to pair the manager's lists filter by, read as the store's days.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import QBoxLayout, QCalendarWidget, QDateEdit, QLabel, QWidget

from app.ui import theme
from app.ui.formatting import DATE_FORMAT, qdate, qt_locale, store_qdate, store_time


def us_calendar(calendar: QCalendarWidget) -> None:
    """US locale, weeks from Sunday, no week numbers, and room for all six week rows."""
    calendar.setLocale(qt_locale())
    calendar.setFirstDayOfWeek(Qt.DayOfWeek.Sunday)
    calendar.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
    calendar.setGridVisible(False)
    weekend = QTextCharFormat()
    weekend.setForeground(QColor(theme.INK))  # Qt's pure red weekends are 4.0:1 on white, below AA
    for day in (Qt.DayOfWeek.Saturday, Qt.DayOfWeek.Sunday):
        calendar.setWeekdayTextFormat(day, weekend)
    # The popup takes the calendar's size hint, which Qt computes before the style sheet's fonts and
    # padding apply; a minimum from the real row height keeps the sixth row inside the popup.
    metrics = calendar.fontMetrics()
    rows = 7  # the weekday header and six weeks
    calendar.setMinimumHeight(int(metrics.height() * 2.0 * rows + metrics.height() * 2.6))
    calendar.setMinimumWidth(int(metrics.horizontalAdvance("Wed") * 1.6 * 7))


def make_us_date_edit(edit: QDateEdit) -> QDateEdit:
    """Give `edit` the US date format and a US calendar popup; returns it."""
    edit.setLocale(qt_locale())
    edit.setDisplayFormat(DATE_FORMAT)
    edit.setCalendarPopup(True)
    calendar = edit.calendarWidget()
    if calendar is not None:
        us_calendar(calendar)
    return edit


def us_date_edit(day: QDate | None = None, parent: QWidget | None = None) -> QDateEdit:
    """A date picker showing `day` (today when None) as `Dec 4, 2026`."""
    return make_us_date_edit(QDateEdit(day if day is not None else store_qdate(), parent))


def polish_date_edits(root: QWidget) -> int:
    """Make every date picker inside `root` a US one; returns how many there were."""
    edits = root.findChildren(QDateEdit)
    for edit in edits:
        make_us_date_edit(edit)
    return len(edits)


def day_range(first: QDate, last: QDate) -> tuple[datetime, datetime]:
    """The store's midnight starting `first` to the one ending `last`."""
    return store_time(qdate(first), time()), store_time(qdate(last) + timedelta(days=1), time())


class DayRange:
    """Two day pickers, From and to (today in each at first), and the moments they span on the store's clocks."""

    def __init__(self, *, what: str = "") -> None:
        self.first = us_date_edit()
        self.first.setAccessibleName(f"{what} from date".strip().capitalize())
        self.last = us_date_edit()
        self.last.setAccessibleName(f"{what} to date".strip().capitalize())

    def add_to(self, row: QBoxLayout) -> None:
        """ "From [first] to [last]" at the end of `row`."""
        for widget in (QLabel("From"), self.first, QLabel("to"), self.last):
            row.addWidget(widget)

    def moments(self) -> tuple[datetime, datetime]:
        """From the store's midnight starting the first day to the one ending the last."""
        return day_range(self.first.date(), self.last.date())
