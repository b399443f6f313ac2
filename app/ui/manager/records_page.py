"""Records: how long each kind is kept, the last purge, and legal holds placed and released with a reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import ValidationFailed
from app.domain.retention import count_words
from app.services.retention import HoldView, RetentionService
from app.ui.formatting import date_time, store_today
from app.ui.tasks import TaskOwner, action, busy

HOLD_COLUMNS = ("Hold", "Covers", "Reason", "Placed by", "Placed")
SCOPES = (
    ("customer", "A customer (their phone or email)"),
    ("sale", "One sale (its id)"),
    ("dates", "The sales of a range of dates"),
)


class RecordsPage(QWidget):
    """The retention periods, the last purge, the active holds; place or release a hold."""

    def __init__(
        self, retention: RetentionService, tasks: TaskOwner, *, actor: Callable[[], str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._retention = retention
        self._actor = actor  # the manager signed in, named in the audit log
        self.tasks = tasks
        self.holds: list[HoldView] = []
        intro = QLabel(
            "Each kind of record is kept as long as the table says; every night the purge removes what is "
            "older. A legal hold keeps what it covers until it is released. `receiptdesk retention show` "
            "says what the next purge would remove."
        )
        intro.setWordWrap(True)
        self.periods = QTableWidget(0, 2)
        self.periods.setHorizontalHeaderLabels(("What", "Kept for"))
        self.periods.setAccessibleName("Retention periods")
        self.periods.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.periods.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.periods.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # read only: nothing to choose in it
        self.periods.verticalHeader().setVisible(False)
        self.periods.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.purge = QLabel("")
        self.purge.setAccessibleName("Purges")
        self.purge.setWordWrap(True)

        self.table = QTableWidget(0, len(HOLD_COLUMNS))
        self.table.setHorizontalHeaderLabels(HOLD_COLUMNS)
        self.table.setAccessibleName("Legal holds")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._chosen)

        self.scope = QComboBox()
        self.scope.setAccessibleName("The hold covers")
        for value, text in SCOPES:
            self.scope.addItem(text, value)
        self.scope.currentIndexChanged.connect(lambda _index: self._scope_changed())
        self.subject = QLineEdit()
        self.subject.setAccessibleName("Customer or sale")
        today = store_today()
        self.from_day = _date_edit("From", today - timedelta(days=30))
        self.to_day = _date_edit("To, included", today)
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason")
        self.reason.setPlaceholderText("Why: kept with the hold and in the audit log")
        self.place_button = QPushButton("&Place hold")
        self.place_button.clicked.connect(self.place)
        self.release_button = QPushButton("Re&lease chosen hold")
        self.release_button.clicked.connect(self.release)
        self.status = QLabel("")
        self.status.setAccessibleName("Records status")
        self.status.setWordWrap(True)

        days = QHBoxLayout()
        days.addWidget(self.from_day)
        days.addWidget(QLabel("to"))
        days.addWidget(self.to_day)
        days.addStretch(1)
        self.days = QWidget()
        self.days.setLayout(days)
        days.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.addRow("Covers", self.scope)
        form.addRow("Phone, email or sale id", self.subject)
        form.addRow("Dates", self.days)
        form.addRow("Reason", self.reason)
        self._form = form
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.release_button)
        buttons.addWidget(self.place_button)
        holds = QGroupBox("Legal holds")
        holds_layout = QVBoxLayout(holds)
        holds_layout.addWidget(self.table, 1)
        holds_layout.addLayout(form)
        holds_layout.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.periods)
        layout.addWidget(self.purge)
        layout.addWidget(holds, 1)
        self._scope_changed()
        self._chosen()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    @action
    async def refresh(self) -> None:
        """Load the periods, the purges and the holds."""
        await self.load()

    async def load(self) -> None:
        overview = await self._retention.overview()
        self.periods.setRowCount(len(overview.periods))
        for row, period in enumerate(overview.periods):
            years = f" ({period.days / 365:.4g} years)" if period.days >= 365 else ""
            self.periods.setItem(row, 0, QTableWidgetItem(period.what))
            self.periods.setItem(row, 1, QTableWidgetItem(f"{period.days:,} days{years}"))
        self.periods.resizeColumnToContents(1)
        self.periods.setFixedHeight(
            self.periods.horizontalHeader().height()
            + sum(self.periods.rowHeight(r) for r in range(len(overview.periods)))
            + 4
        )
        last = overview.last
        said = (
            f"Last purge: {date_time(last.finished_at)}, removed {count_words(last.counts)}."
            if last is not None and last.finished_at is not None
            else "Last purge: none yet."
        )
        said += f" Next: {date_time(overview.next_at)}." if overview.next_at else " The daily purge is off."
        self.purge.setText(said)
        self.holds = overview.holds
        self.table.setRowCount(len(self.holds))
        for row, view in enumerate(self.holds):
            h = view.hold
            cells = (str(h.id), view.covers, h.reason, h.placed_by, date_time(h.placed_at))
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self._chosen()

    def selected(self) -> HoldView | None:
        index = self.table.currentRow()
        return self.holds[index] if 0 <= index < len(self.holds) and self.table.selectedItems() else None

    def _chosen(self) -> None:
        self.release_button.setEnabled(self.selected() is not None)

    def _scope_changed(self) -> None:
        scope = self.scope.currentData()
        self._form.setRowVisible(1, scope != "dates")
        self._form.setRowVisible(2, scope == "dates")
        self.subject.setPlaceholderText("(217) 555-0100 or ana@example.com" if scope == "customer" else "S-1001")

    @action
    async def place(self) -> None:
        """Place the hold the form describes."""
        scope, subject = self.scope.currentData(), self.subject.text().strip()
        if scope != "dates" and not subject:
            raise ValidationFailed("Type the customer's phone or email, or the sale's id.")
        with busy(self.place_button, self.release_button):
            view = await self._retention.place_hold(
                reason=self.reason.text(),
                actor=self._actor(),
                customer=subject if scope == "customer" else None,
                sale_id=subject if scope == "sale" else None,
                from_day=_day(self.from_day) if scope == "dates" else None,
                to_day=_day(self.to_day) if scope == "dates" else None,
            )
        self.subject.clear()
        self.reason.clear()
        self.status.setText(f"Hold {view.hold.id} placed on {view.covers}.")
        await self.load()

    @action
    async def release(self) -> None:
        """Release the chosen hold, with the reason typed."""
        view = self.selected()
        if view is None:
            return
        if not self.reason.text().strip():
            raise ValidationFailed("Type the reason for releasing the hold: it is kept in the audit log.")
        with busy(self.place_button, self.release_button):
            await self._retention.release_hold(view.hold.id, actor=self._actor(), reason=self.reason.text())
        self.reason.clear()
        self.status.setText(f"Hold {view.hold.id} released: the next purge removes what it kept, where due.")
        await self.load()


def _date_edit(name: str, day: date) -> QDateEdit:
    edit = QDateEdit(QDate(day.year, day.month, day.day))
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setAccessibleName(name)
    return edit


def _day(edit: QDateEdit) -> date:
    chosen = edit.date()
    return date(chosen.year(), chosen.month(), chosen.day())
