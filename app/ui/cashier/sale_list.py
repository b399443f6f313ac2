"""The cashier's sale list with its search box: today's sales live, or what a search found."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QModelIndex, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services.bus import DeliveryChanged
from app.services.kiosk import KioskSale, KioskService, ReceiptChoice
from app.ui import theme
from app.ui.cashier.feed import SaleFeedModel
from app.ui.cashier.search import parse_search
from app.ui.manager.receipts_page import qdate
from app.ui.tasks import TaskOwner, action, busy

COLUMN_SAMPLES = ("88:88", "K0000000000", "Lane", "$1,888.88", "s***@example.com")
"""The widest usual text of each column but the last (which stretches)."""


class SaleList(QWidget):
    """Sales newest first. Typing a search and pressing Enter searches; Today goes back to the live list."""

    sig_open = Signal(str)
    """Fires with a receipt id when the cashier moves to a sale in the list."""

    def __init__(self, kiosk: KioskService, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._kiosk = kiosk
        self.tasks = tasks
        title = QLabel("Sales")
        theme.set_font(title, 1.3, bold=True)
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Sale id, time (14:05), last four, phone or email")
        self.search_box.setAccessibleName("Find a receipt")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self.search)
        self.day = QDateEdit(QDate.currentDate())
        self.day.setCalendarPopup(True)
        self.day.setAccessibleName("Day to search")
        self.find_button = QPushButton("&Find")
        self.find_button.setAccessibleName("Find receipts")
        self.find_button.clicked.connect(self.search)
        self.today_button = QPushButton("Toda&y")
        self.today_button.setAccessibleName("Back to today's live list")
        self.today_button.clicked.connect(self.show_today)
        self.model = SaleFeedModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Sales")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # sized once, not per update
        header.setStretchLastSection(True)
        metrics = self.table.fontMetrics()
        for column, sample in enumerate(COLUMN_SAMPLES):
            self.table.setColumnWidth(column, metrics.horizontalAdvance(sample) + metrics.height())
        self.table.selectionModel().currentRowChanged.connect(self._moved)
        self.summary = QLabel("")
        self.summary.setProperty("muted", True)
        row = QHBoxLayout()
        row.addWidget(self.day, 1)
        row.addWidget(self.find_button)
        row.addWidget(self.today_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.search_box)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        self.live = True

    def _moved(self, current: QModelIndex, _previous: QModelIndex) -> None:
        receipt_id = self.model.receipt_at(current.row())
        if receipt_id is not None:
            self.sig_open.emit(receipt_id)

    def select(self, receipt_id: str) -> None:
        """Highlight the row of `receipt_id` (without opening it again)."""
        row = self.model.find(receipt_id)
        if row >= 0 and self.table.currentIndex().row() != row:
            self.table.selectionModel().blockSignals(True)
            self.table.selectRow(row)
            self.table.selectionModel().blockSignals(False)

    def put(self, sale: KioskSale, decision: ReceiptChoice | None = None) -> None:
        """Show a new or changed sale (new ones only while the list is live)."""
        if self.live or self.model.find(sale.receipt_id) >= 0:
            self.model.put(sale, decision)
            self._count()

    def update_delivery(self, event: DeliveryChanged) -> None:
        """A delivery moved on: update its sale's row."""
        self.model.update_delivery(event.receipt_id, event.delivery_id, event.channel, event.state)

    @action
    async def search(self) -> None:
        """Search the chosen day for the text in the search box."""
        wanted = parse_search(self.search_box.text(), qdate(self.day.date()))
        with busy(self.find_button):
            found = await self._kiosk.search(query=wanted.query, since=wanted.since, until=wanted.until)
        self.live = wanted.query is None and self._is_today() and not self.search_box.text().strip()
        self.model.replace_all(found)
        self._count(searched=True)

    @action
    async def show_today(self) -> None:
        """Back to today's live list."""
        self.search_box.clear()
        self.day.setDate(QDate.currentDate())
        wanted = parse_search("", date.today())
        with busy(self.today_button):
            found = await self._kiosk.search(since=wanted.since, until=wanted.until, limit=100)
        self.live = True
        self.model.replace_all(found)
        self._count()

    def _is_today(self) -> bool:
        return self.day.date() == QDate.currentDate()

    def _count(self, *, searched: bool = False) -> None:
        n = self.model.rowCount()
        if searched and not self.live:
            self.summary.setText(f"{n} receipt{'s' if n != 1 else ''} found" if n else "No receipts match.")
        else:
            self.summary.setText(f"{n} sale{'s' if n != 1 else ''} today")
