"""The cashier's sale list with its search box: today's sales live, or what a search found."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
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
from app.ui.formatting import qdate, store_qdate, store_today
from app.ui.tasks import TaskOwner, action, busy

COLUMN_SAMPLES = ("88:88 PM", "K00000000", "Lane", "$1,888.88", "Ana Garcia-Lo")
"""The widest usual text of each column but the last (which stretches); longer text is elided."""
LANE = 2


class SaleList(QWidget):
    """Sales newest first. Typing a search and pressing Enter searches; Today goes back to the live list."""

    sig_open = Signal(str)
    """Fires with a receipt id when the cashier moves to a sale in the list."""

    sig_newest = Signal()
    """Fires when the cashier asks for the newest sale (the "N new" button)."""

    def __init__(self, kiosk: KioskService, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._kiosk = kiosk
        self.tasks = tasks
        title = QLabel("Sales")
        theme.set_font(title, 1.3, bold=True)
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Sale id, time (2:05 PM), last four, phone or email")
        self.search_box.setAccessibleName("Find a receipt")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self.search)
        self.day = QDateEdit(store_qdate())
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
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.viewport().installEventFilter(self)
        self.pointer_over = False
        """Whether the pointer is over the rows (the list then never scrolls by itself)."""
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # sized once, not per update
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(1)
        metrics = self.table.fontMetrics()
        for column, sample in enumerate(COLUMN_SAMPLES):
            self.table.setColumnWidth(column, metrics.horizontalAdvance(sample) + metrics.height())
        self.table.setColumnHidden(LANE, True)  # one till per window: the lane is on the sale panel
        self.table.selectionModel().currentRowChanged.connect(self._moved)
        self.summary = QLabel("")
        self.summary.setProperty("muted", True)
        self.new_button = QPushButton()
        self.new_button.setProperty("primary", True)
        self.new_button.setAccessibleName("Go to the newest sale")
        self.new_button.clicked.connect(self.sig_newest)
        self.new_button.hide()
        foot = QHBoxLayout()
        foot.addWidget(self.summary, 1)
        foot.addWidget(self.new_button)
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
        layout.addLayout(foot)
        self.live = True

    def _moved(self, current: QModelIndex, _previous: QModelIndex) -> None:
        receipt_id = self.model.receipt_at(current.row())
        if receipt_id is not None:
            self.sig_open.emit(receipt_id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport():
            if event.type() == QEvent.Type.Enter:
                self.pointer_over = True
            elif event.type() == QEvent.Type.Leave:
                self.pointer_over = False
        return super().eventFilter(watched, event)

    def select(self, receipt_id: str | None) -> None:
        """Highlight the row of `receipt_id` (None or unlisted: no row), without opening it again."""
        row = self.model.find(receipt_id) if receipt_id is not None else -1
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        try:
            if row < 0:
                self.table.clearSelection()
                self.table.setCurrentIndex(QModelIndex())
            elif self.table.currentIndex().row() != row or not selection.isRowSelected(row, QModelIndex()):
                self.table.selectRow(row)
        finally:
            selection.blockSignals(False)
        self.table.viewport().update()
        if row >= 0 and not self.pointer_over:
            self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.EnsureVisible)

    def highlighted(self) -> str | None:
        """The receipt id of the highlighted row, if one is."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.receipt_at(rows[0].row()) if rows else None

    def show_waiting(self, count: int) -> None:
        """Show how many new sales wait while the cashier works on another one."""
        self.new_button.setText(f"{count} new \u2193")
        self.new_button.setToolTip(f"{count} sale{'s' if count != 1 else ''} arrived: go to the newest")
        self.new_button.setVisible(count > 0)

    def put(self, sale: KioskSale, decision: ReceiptChoice | None = None) -> None:
        """Show a new or changed sale (new ones only while the list is live) at the bottom. The rows on
        screen stay where they are: a row dropped from the top is made up by scrolling up one."""
        if self.live or self.model.find(sale.receipt_id) >= 0:
            bar = self.table.verticalScrollBar()
            dropped = self.model.put(sale, decision)
            if dropped and bar.value() >= dropped:
                bar.setValue(bar.value() - dropped)
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
        await self.reload_today()

    async def reload_today(self) -> None:
        """Today's live list again, the search cleared."""
        self.search_box.clear()
        self.day.setDate(store_qdate())
        wanted = parse_search("", store_today())
        with busy(self.today_button):
            found = await self._kiosk.search(since=wanted.since, until=wanted.until, limit=100)
        self.live = True
        self.model.replace_all(found)
        self._count()

    def _is_today(self) -> bool:
        return self.day.date() == store_qdate()

    def _count(self, *, searched: bool = False) -> None:
        n = self.model.rowCount()
        if searched and not self.live:
            self.summary.setText(f"{n} receipt{'s' if n != 1 else ''} found" if n else "No receipts match.")
        else:
            self.summary.setText(f"{n} sale{'s' if n != 1 else ''} today")
