"""The Store tab (a lane with `[hub] url` only): the whole store's day from this lane's hub. The lanes and
their sync state on top, every lane's receipts of the chosen days below them (searched by sale id, phone,
email or last four), and the chosen receipt with a resend carried out by the lane that owns it
(`StoreDetail`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
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

from app.config.secrets import SecretStore
from app.domain.hub_token import HUB_OWNER, HUB_TOKEN
from app.services.hub import SKEWED_MS
from app.services.hub_client import HubClient, LaneState, StoreReceipt
from app.ui import theme
from app.ui.formatting import moment, money
from app.ui.manager.store_detail import StoreDetail
from app.ui.manager.when import list_times
from app.ui.tasks import TaskOwner, action, busy
from app.ui.widgets.dates import DayRange

LANE_COLUMNS = ("Lane", "Last seen", "Backlog", "Parked", "Version", "Clock skew")
RECEIPT_COLUMNS = ("Time", "Lane", "Sale", "Total", "Card", "State")
LANES_SHOWN = 5
"""Lanes the table shows without scrolling."""
LISTED = 500
"""Receipts in the list, at most (the hub's most)."""


def hub_client(url: str) -> HubClient:
    """This lane's hub, read with the token the lane pushes with (`receiptdesk secrets set hub token`)."""
    return HubClient(url, lambda: SecretStore().get(HUB_OWNER, HUB_TOKEN.name))


def lane_needs_a_look(lane: LaneState) -> str | None:
    """Why a lane's row is shown as a warning (quiet, parked records, a clock off), or None."""
    if lane.quiet:
        return "has not reached the hub for 15 minutes"
    if lane.parked:
        return f"has {lane.parked:,} record(s) the hub parked"
    if lane.skew_ms is not None and abs(lane.skew_ms) > SKEWED_MS:
        return "has a clock more than a minute off"
    return None


def skew_text(skew_ms: int | None) -> str:
    """`40 ms ahead`, `2.5 s behind`, `unknown`."""
    if skew_ms is None:
        return "unknown"
    seconds = abs(skew_ms) / 1000
    size = f"{abs(skew_ms):,} ms" if seconds < 1 else f"{seconds:.1f} s" if seconds < 10 else f"{seconds:,.0f} s"
    return "in step" if skew_ms == 0 else f"{size} {'ahead' if skew_ms > 0 else 'behind'}"


def _table(columns: tuple[str, ...], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setAccessibleName(name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.setTabKeyNavigation(False)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    table.resizeColumnsToContents()
    return table


def _fill(
    table: QTableWidget, row: int, values: tuple[str, ...], *, right: tuple[int, ...], colour: str | None
) -> None:
    for column, value in enumerate(values):
        item = QTableWidgetItem(value)
        item.setToolTip(value)
        if column in right:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if colour is not None:
            theme.colour_item(item, colour)
        table.setItem(row, column, item)


class StorePage(QWidget):
    """Lanes on top, the store's receipts in the middle, the chosen one below."""

    def __init__(
        self, hub: HubClient, tasks: TaskOwner, actor: Callable[[], str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._hub = hub
        self.tasks = tasks
        self.rows: list[StoreReceipt] = []
        self.lanes: list[LaneState] = []
        self.query = QLineEdit()
        self.query.setPlaceholderText("Sale id, phone, email or last four, at any lane")
        self.query.setAccessibleName("Search the store's receipts")
        self.query.returnPressed.connect(self.refresh)
        self.days = DayRange()
        self.first, self.last = self.days.first, self.days.last
        self.search_button = QPushButton("&Search")
        self.search_button.clicked.connect(self.refresh)
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.setToolTip("Read the lanes and the receipts from the hub again")
        self.refresh_button.clicked.connect(self.refresh)
        filters = QHBoxLayout()
        filters.addWidget(self.query, 2)
        self.days.add_to(filters)
        filters.addWidget(self.search_button)
        filters.addWidget(self.refresh_button)
        self.lane_table = _table(LANE_COLUMNS, "Lanes")
        self.lane_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.lane_note = QLabel()
        self.lane_note.setWordWrap(True)
        self.lane_note.setTextFormat(Qt.TextFormat.PlainText)
        self.lane_note.setAccessibleName("Lanes that need a look")
        lanes_box = QGroupBox("Lanes and their sync with the hub")
        lanes_layout = QVBoxLayout(lanes_box)
        lanes_layout.setContentsMargins(6, 6, 6, 6)
        lanes_layout.addWidget(self.lane_table)
        lanes_layout.addWidget(self.lane_note)
        self.table = _table(RECEIPT_COLUMNS, "The store's receipts")
        self.table.currentCellChanged.connect(lambda row, *_: self._open(row))
        self.count = QLabel()
        self.count.setProperty("muted", True)
        self.detail = StoreDetail(hub, tasks, actor)
        self.detail.sig_requested.connect(self._requested)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(filters)
        top_layout.addWidget(lanes_box)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.count)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.detail)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 1)  # the receipts take what the filters, lanes and detail leave
        splitter.setStretchFactor(1, 0)
        self._splitter, self._split = splitter, False
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._split:  # at first sight the detail takes no more than it needs; the divider moves it
            self._split = True
            self._splitter.setSizes([10_000, 1])

    @action
    async def refresh(self) -> None:
        """Read the lanes and the receipts matching the search from the hub, and show them."""
        await self.reload()

    async def reload(self) -> None:
        """The lanes' state and the receipts of the chosen days (and search) as the hub has them now."""
        since, until = self.days.moments()
        with busy(self.search_button, self.refresh_button):
            lanes = await self._hub.lanes()
            rows = await self._hub.receipts(self.query.text().strip() or None, since, until, limit=LISTED)
        self.show_lanes(lanes)
        self.show_rows(rows)

    def show_lanes(self, lanes: list[LaneState], now: datetime | None = None) -> None:
        """Fill the lanes' table: a lane that needs a look in the warning colour, and said why below it."""
        self.lanes = lanes
        at = now or datetime.now(UTC)
        self.lane_table.setRowCount(len(lanes))
        notes = []
        for row, lane in enumerate(lanes):
            why = lane_needs_a_look(lane)
            if why is not None:
                notes.append(f"Lane {lane.lane_id} {why}.")
            values = (
                lane.lane_id,
                moment(lane.last_seen_at, at),
                f"{lane.backlog:,}",
                f"{lane.parked:,}",
                lane.version or "unknown",
                skew_text(lane.skew_ms),
            )
            _fill(self.lane_table, row, values, right=(2, 3), colour="WARN" if why else None)
        self.lane_table.resizeColumnsToContents()
        header = self.lane_table.horizontalHeader()
        header.setStretchLastSection(False)  # sized to contents, the last column fills the rest again
        header.setStretchLastSection(True)
        shown = range(min(len(lanes), LANES_SHOWN))  # more lanes scroll: the receipts keep their room
        rows_height = sum(self.lane_table.rowHeight(r) for r in shown) or self.lane_table.fontMetrics().height()
        self.lane_table.setFixedHeight(header.sizeHint().height() + rows_height + 2 * self.lane_table.frameWidth())
        self.lane_note.setText(" ".join(notes) or ("No lane has reached the hub yet." if not lanes else ""))
        self.lane_note.setVisible(bool(self.lane_note.text()))
        theme.hint(self.lane_note, "warn" if notes else None, bold=bool(notes))

    def show_rows(self, rows: list[StoreReceipt]) -> None:
        """Fill the receipts' table, keeping the receipt chosen chosen."""
        chosen = self.chosen()
        self.rows = rows
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        times = list_times(r.occurred_at for r in rows)
        for row, r in enumerate(rows):
            values = (
                times[row],
                r.lane or r.lane_id,
                r.sale_id,
                money(r.total),
                f"\u2022\u2022\u2022\u2022 {r.card_last4}" if r.card_last4 else "\u2014",
                (r.state or "no delivery").capitalize(),
            )
            _fill(self.table, row, values, right=(1, 3), colour=None)
        again = next((n for n, r in enumerate(rows) if (r.lane_id, r.receipt_id) == chosen), None)
        if again is not None:
            self.table.setCurrentCell(again, 0)
        else:
            self.table.clearSelection()
            self.table.setCurrentCell(-1, -1)
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setStretchLastSection(True)
        more = f" (first {LISTED})" if len(rows) == LISTED else ""
        lanes = len({r.lane_id for r in rows})
        self.count.setText(
            f"{len(rows)} receipt{'s' if len(rows) != 1 else ''}{more} from {lanes} lane{'s' if lanes != 1 else ''}"
        )

    def chosen(self) -> tuple[str, str] | None:
        """The lane and receipt id of the row chosen, if any."""
        row = self.table.currentRow()
        return (self.rows[row].lane_id, self.rows[row].receipt_id) if 0 <= row < len(self.rows) else None

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.detail.open(self.rows[row])

    def _requested(self) -> None:
        """A resend was asked for: the lanes and the list follow when the lane has carried it out."""
        self.refresh()
