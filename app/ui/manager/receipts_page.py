"""Today's receipts (or any range): filter, search, open one, retry what failed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.contacts import mask_contact
from app.domain.delivery import DeliveryState
from app.domain.records import ReceiptSummary
from app.services.bus import DeliveryChanged
from app.services.kiosk import search_text
from app.ui.context import KioskContext
from app.ui.formatting import channel_word, money, state_word
from app.ui.manager.detail import DetailPanel
from app.ui.manager.when import list_times
from app.ui.tasks import TaskOwner, action, busy
from app.ui.widgets.dates import DayRange

COLUMNS = ("Time", "Lane", "Sale", "Total", "Channel", "Contact", "State")


class ReceiptsPage(QWidget):
    """Filters on top, the list in the middle, the chosen receipt below."""

    def __init__(self, ctx: KioskContext, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tasks = tasks
        self.rows: list[ReceiptSummary] = []
        self.query = QLineEdit()
        self.query.setPlaceholderText("Sale id, phone, email or last four")
        self.query.setAccessibleName("Search receipts")
        self.query.returnPressed.connect(self.search)
        self.days = DayRange()
        self.first, self.last = self.days.first, self.days.last
        self.state = QComboBox()
        self.state.setAccessibleName("Delivery state")
        self.state.addItem("Any state", None)
        for s in DeliveryState:
            self.state.addItem(state_word(s), s)
        self.search_button = QPushButton("&Search")
        self.search_button.clicked.connect(self.search)
        self.retry_all = QPushButton("Retry &all failed")
        self.retry_all.setToolTip("Queue every failed or given-up delivery again")
        self.retry_all.clicked.connect(self.retry_failed)
        filters = QHBoxLayout()
        filters.addWidget(self.query, 2)
        self.days.add_to(filters)
        filters.addWidget(self.state)
        filters.addWidget(self.search_button)
        filters.addWidget(self.retry_all)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Receipts")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.currentCellChanged.connect(lambda row, *_: self._open(row))
        self.table.resizeColumnsToContents()  # the headers fit before the first search too
        self.count = QLabel()
        self.count.setProperty("muted", True)
        self.notice = QLabel()
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("What was just done")
        self.notice.setProperty("hint", "good")  # the palette's GOOD colour, high contrast included
        self.detail = DetailPanel(ctx, tasks)
        self.detail.sig_changed.connect(lambda _receipt_id: self.search())
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(filters)
        top_layout.addWidget(self.table, 1)
        counts = QHBoxLayout()
        counts.addWidget(self.count)
        counts.addWidget(self.notice, 1)
        top_layout.addLayout(counts)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.detail)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.detail.open(self.rows[row].receipt_id)

    @action
    async def search(self) -> None:
        """List the receipts matching the filters (newest first, up to 500)."""
        await self.reload()

    async def reload(self) -> None:
        """Read the receipts matching the filters again and show them."""
        since, until = self.days.moments()
        state = self.state.currentData()
        with busy(self.search_button):
            rows = await self._ctx.receipts.list(
                since=since, until=until, query=search_text(self.query.text()), state=state, limit=500
            )
        self.show_rows(rows)

    def show_rows(self, rows: list[ReceiptSummary]) -> None:
        """Fill the table, keeping the receipt chosen chosen (without opening it again)."""
        chosen = self.chosen()
        self.rows = rows
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        times = list_times(r.created_at for r in rows)
        for row, r in enumerate(rows):
            self._fill(row, r, times[row])
        again = next((n for n, r in enumerate(rows) if r.receipt_id == chosen), None)
        if again is not None:
            self.table.setCurrentCell(again, 0)
        else:
            self.table.clearSelection()
            self.table.setCurrentCell(-1, -1)
        self.table.blockSignals(False)
        self.table.viewport().update()
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)  # sized to contents, the last column fills the rest again
        header.setStretchLastSection(True)
        more = " (first 500)" if len(rows) == 500 else ""
        self.count.setText(f"{len(rows)} receipt{'s' if len(rows) != 1 else ''}{more}")

    def _fill(self, row: int, r: ReceiptSummary, when: str) -> None:
        values = (
            when,
            r.lane,
            r.sale_id,
            money(r.total),
            ", ".join(channel_word(c) for c in r.channels) or "\u2014",
            ", ".join(mask_contact(x) for x in r.recipients) or "\u2014",
            ", ".join(state_word(s) for s in r.states) or "No delivery",
        )
        for column, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            if column in (1, 3):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)

    def chosen(self) -> str | None:
        """The receipt id of the row chosen, if any."""
        row = self.table.currentRow()
        return self.rows[row].receipt_id if 0 <= row < len(self.rows) else None

    @action
    async def retry_failed(self) -> None:
        """Queue every failed or given-up delivery again, then show the list as it is now."""
        with busy(self.retry_all):
            moved = await self._ctx.receipts.retry(None, actor=self._ctx.actor)
        self.notice.setText(
            f"{moved} failed deliver{'ies are' if moved != 1 else 'y is'} queued again."
            if moved
            else "Nothing had failed: there is nothing to retry."
        )
        await self.reload()
        shown = self.chosen()
        if shown is not None:
            self.detail.open(shown)

    def update_delivery(self, event: DeliveryChanged) -> None:
        """Reload the receipt shown below, and its row in the list, when one of its deliveries moved on."""
        shown = self.detail.detail
        if shown is not None and shown.summary.receipt_id == event.receipt_id:
            self.detail.open(event.receipt_id)
        if any(r.receipt_id == event.receipt_id for r in self.rows):
            self.tasks.start(self._refresh_row(event.receipt_id), "row")

    async def _refresh_row(self, receipt_id: str) -> None:
        """Show the listed receipt's deliveries as they are now, in its row (the rest stays as it is)."""
        summary = (await self._ctx.receipts.get(receipt_id)).summary
        row = next((n for n, r in enumerate(self.rows) if r.receipt_id == receipt_id), None)
        if row is None:
            return  # the list changed meanwhile
        self.rows[row] = summary
        when = self.table.item(row, 0)
        self.table.blockSignals(True)
        self._fill(row, summary, when.text() if when is not None else "")
        self.table.blockSignals(False)
