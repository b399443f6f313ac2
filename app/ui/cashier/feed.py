"""The list of sales on the cashier's left: live as sales arrive, or the results of a search.

Sales are listed oldest at the top, newest at the bottom, as a till roll or a chat reads: a new
sale is added below the others, so no row ever moves down under the cashier's pointer (newest
first pushed every row down, and a cashier clicked the wrong sale twice in one shift).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.services.kiosk import KioskSale, ReceiptChoice
from app.ui import theme
from app.ui.formatting import channel_word, clock_time, money, state_word

COLUMNS = ("Time", "Sale", "Lane", "Total", "Customer", "Receipt")
MAX_ROWS = 200
_Index = QModelIndex | QPersistentModelIndex


@dataclass(slots=True)
class FeedRow:
    """One sale in the list, with its deliveries' latest states."""

    sale: KioskSale
    states: dict[str, tuple[Channel, DeliveryState]] = field(default_factory=dict)
    decision: ReceiptChoice | None = None

    @property
    def customer(self) -> str:
        c = self.sale.customer
        if c is None:
            return "\u2014"
        return c.name or c.masked_email or c.masked_phone or "Known customer"

    @property
    def status(self) -> str:
        if self.states:
            return ", ".join(f"{channel_word(ch)} {state_word(st).lower()}" for ch, st in self.states.values())
        if self.decision is ReceiptChoice.PRINT:
            return "Print"
        if self.decision is ReceiptChoice.NONE:
            return "No receipt"
        return "Waiting for a choice"

    @property
    def worst(self) -> DeliveryState | None:
        order = (DeliveryState.DEAD, DeliveryState.FAILED, DeliveryState.BOUNCED, DeliveryState.UNKNOWN)
        states = {st for _, st in self.states.values()}
        return next((s for s in order if s in states), None)


def row_for(sale: KioskSale) -> FeedRow:
    """A feed row from a freshly loaded sale."""
    return FeedRow(sale, {d.id: (d.channel, d.state) for d in sale.deliveries})


class SaleFeedModel(QAbstractTableModel):
    """Sales oldest first (the newest at the bottom), keyed by receipt id."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[FeedRow] = []
        self._by_id: dict[str, FeedRow] = {}

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            s = row.sale
            return (clock_time(s.created_at), s.sale_id, s.lane, money(s.total), row.customer, row.status)[
                index.column()
            ]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 5:
            worst = row.worst
            if worst is not None:
                return QColor(theme.BAD)
            if not row.states and row.decision is None:
                return QColor(theme.WARN)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def rows(self) -> list[FeedRow]:
        """The rows, top to bottom."""
        return list(self._rows)

    def receipt_at(self, row: int) -> str | None:
        """The receipt id shown in `row`."""
        return self._rows[row].sale.receipt_id if 0 <= row < len(self._rows) else None

    def find(self, receipt_id: str) -> int:
        """The row of `receipt_id`, or -1."""
        row = self._by_id.get(receipt_id)
        return self._rows.index(row) if row is not None else -1

    def replace_all(self, sales: list[KioskSale]) -> None:
        """Show exactly these sales."""
        self.beginResetModel()
        newest_first = sorted(sales, key=lambda s: s.created_at, reverse=True)[:MAX_ROWS]
        self._rows = [row_for(s) for s in reversed(newest_first)]
        self._by_id = {r.sale.receipt_id: r for r in self._rows}
        self.endResetModel()

    def put(self, sale: KioskSale, decision: ReceiptChoice | None = None) -> int:
        """Add `sale` in time order (a new one at the bottom), or refresh its row. Returns the number of
        rows dropped from the top to stay within `MAX_ROWS` (a caller keeping the view still scrolls up
        by that many)."""
        at = self.find(sale.receipt_id)
        if at >= 0:
            old = self._rows[at]
            self._rows[at] = self._by_id[sale.receipt_id] = row_for(sale)
            self._rows[at].decision = decision or old.decision
            self.dataChanged.emit(self.index(at, 0), self.index(at, len(COLUMNS) - 1))
            return 0
        end = len(self._rows)  # a new sale goes last; an older one (a scanned paper receipt) in its place
        while end > 0 and self._rows[end - 1].sale.created_at > sale.created_at:
            end -= 1
        self.beginInsertRows(QModelIndex(), end, end)
        row = row_for(sale)
        row.decision = decision
        self._rows.insert(end, row)
        self._by_id[sale.receipt_id] = row
        self.endInsertRows()
        extra = len(self._rows) - MAX_ROWS
        if extra > 0:
            self.beginRemoveRows(QModelIndex(), 0, extra - 1)
            for gone in self._rows[:extra]:
                self._by_id.pop(gone.sale.receipt_id, None)
            del self._rows[:extra]
            self.endRemoveRows()
        return max(extra, 0)

    def newest(self) -> str | None:
        """The receipt id of the newest sale listed (the bottom row)."""
        return self._rows[-1].sale.receipt_id if self._rows else None

    def sale(self, receipt_id: str) -> KioskSale | None:
        """The listed sale of `receipt_id`, if it is listed."""
        row = self._by_id.get(receipt_id)
        return row.sale if row is not None else None

    def update_delivery(self, receipt_id: str, delivery_id: str, channel: Channel, state: DeliveryState) -> None:
        """Move one delivery of a shown sale to `state` (cheap: called for every attempt)."""
        row = self._by_id.get(receipt_id)
        if row is None:
            return
        row.states[delivery_id] = (channel, state)
        at = self._rows.index(row)
        self.dataChanged.emit(self.index(at, 5), self.index(at, 5))
