"""Messages held for a manager on the health page: each may already have reached its customer, so a
person decides: Send (again, maybe a second copy) or Drop (with a reason, kept in the audit log)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
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
from app.domain.records import HeldDelivery
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.formatting import channel_word, date_time
from app.ui.tasks import TaskOwner, busy

HELD_COLUMNS = ("Held since", "Message", "To", "Via", "Decide")
EXPLAIN = (
    "These may already have reached the customer: the provider could not say. "
    "Send sends it again (they may get two); Drop does not send it."
)


class HeldBox(QGroupBox):
    """The held deliveries, longest waiting first, each with Send and Drop; Drop asks why first."""

    sig_changed = Signal()
    """Fires when the list of held deliveries changed."""

    sig_decided = Signal()
    """Fires after a manager sent or dropped a held delivery: the health around it changed too."""

    def __init__(self, ctx: KioskContext, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__("Held for a manager", parent)
        self._ctx = ctx
        self.tasks = tasks
        self.held: tuple[HeldDelivery, ...] = ()
        self.send_buttons: dict[str, QPushButton] = {}
        self.drop_buttons: dict[str, QPushButton] = {}
        self.dropping: str | None = None  # the delivery whose reason is being asked for
        self.explain = QLabel(EXPLAIN)
        self.explain.setWordWrap(True)
        self.empty = QLabel("Nothing is held.")
        self.notice = QLabel()
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("What was just done")
        self.notice.setProperty("hint", "good")  # the palette's GOOD colour, high contrast included
        self.table = QTableWidget(0, len(HELD_COLUMNS))
        self.table.setHorizontalHeaderLabels(HELD_COLUMNS)
        self.table.setAccessibleName("Held messages")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setTabKeyNavigation(False)
        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason for dropping")
        self.reason.setPlaceholderText("Why (kept in the audit log), e.g. the customer showed the text at the till")
        self.reason.returnPressed.connect(self._confirm_drop)
        self.confirm = QPushButton("&Drop it")
        self.confirm.clicked.connect(self._confirm_drop)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_drop)
        self.drop_form = QWidget()
        form = QVBoxLayout(self.drop_form)
        form.setContentsMargins(0, 0, 0, 0)
        form.addWidget(self.reason_label)
        row = QHBoxLayout()
        row.addWidget(self.reason, 1)
        row.addWidget(self.confirm)
        row.addWidget(self.cancel)
        form.addLayout(row)
        self.drop_form.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.explain)
        layout.addWidget(self.notice)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.drop_form)
        self.table.hide()
        self.explain.hide()

    def show_held(self, held: Sequence[HeldDelivery]) -> None:
        """Show these held deliveries; the rows (and a reason being typed) stay as they are when nothing changed."""
        held = tuple(held)
        if [h.id for h in held] == [h.id for h in self.held] and self.table.rowCount() == len(held):
            return
        self.held = held
        self.empty.setVisible(not held)
        self.table.setVisible(bool(held))
        self.explain.setVisible(bool(held))
        self.send_buttons.clear()
        self.drop_buttons.clear()
        self.table.setRowCount(len(held))
        for row, h in enumerate(held):
            values = (date_time(h.since), channel_word(h.channel), h.recipient, self._provider_name(h.provider))
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
            self.table.setCellWidget(row, len(values), self._buttons(h))
        self.table.resizeColumnsToContents()
        if self.dropping is not None and self.dropping not in self.drop_buttons:
            self.cancel_drop()  # decided elsewhere (another till, the command line)
        self.sig_changed.emit()

    def _buttons(self, h: HeldDelivery) -> QWidget:
        send = QPushButton("Send")
        send.setAccessibleName(f"Send the {channel_word(h.channel).lower()} to {h.recipient} again")
        send.clicked.connect(lambda: self.tasks.start(self.send(h.id), "send-held"))
        drop = QPushButton("Drop\u2026")
        drop.setAccessibleName(f"Drop the {channel_word(h.channel).lower()} to {h.recipient}")
        drop.clicked.connect(lambda: self.ask_reason(h.id))
        self.send_buttons[h.id], self.drop_buttons[h.id] = send, drop
        cell = QWidget()
        row = QHBoxLayout(cell)
        row.setContentsMargins(2, 0, 2, 0)
        row.addWidget(send)
        row.addWidget(drop)
        row.addStretch(1)
        return cell

    def _provider_name(self, provider: str) -> str:
        names = {p.id: p.display_name for p in self._ctx.catalogue.providers()}
        return names.get(provider, provider)

    def ask_reason(self, delivery_id: str) -> None:
        """Open the reason form for dropping `delivery_id`."""
        found = next((h for h in self.held if h.id == delivery_id), None)
        if found is None:
            return
        self.dropping = delivery_id
        self.reason_label.setText(
            f"Why drop the {channel_word(found.channel).lower()} to {found.recipient}? It will not be sent again."
        )
        theme.hint(self.reason_label, "warn", bold=True)
        self.reason.clear()
        self.drop_form.show()
        self.reason.setFocus(Qt.FocusReason.OtherFocusReason)

    def cancel_drop(self) -> None:
        self.dropping = None
        self.reason.clear()
        self.drop_form.hide()

    def _confirm_drop(self) -> None:
        if self.dropping is not None:
            self.tasks.start(self.drop(self.dropping, self.reason.text()), "drop-held")

    async def send(self, delivery_id: str) -> None:
        """Send the held delivery again, in the signed-in manager's name."""
        buttons = [b for b in (self.send_buttons.get(delivery_id), self.drop_buttons.get(delivery_id)) if b]
        what = self._what(delivery_id)
        with busy(*buttons):
            await self._ctx.receipts.send_held(delivery_id, actor=self._ctx.actor)
        await self.refresh()
        self.notice.setText(f"The {what} is on its way again.")
        self.sig_decided.emit()

    async def drop(self, delivery_id: str, reason: str) -> None:
        """Drop the held delivery for `reason`, in the signed-in manager's name."""
        if not reason.strip():
            self.reason.setFocus(Qt.FocusReason.OtherFocusReason)
            raise ValidationFailed("Say why the message is dropped.", field="reason")
        what = self._what(delivery_id)
        with busy(self.confirm, self.cancel, self.reason):
            await self._ctx.receipts.drop_held(delivery_id, actor=self._ctx.actor, reason=reason)
        self.cancel_drop()
        await self.refresh()
        self.notice.setText(f"The {what} is dropped: it will not be sent again.")
        self.sig_decided.emit()

    def _what(self, delivery_id: str) -> str:
        """`text to +12175550100`: the held delivery in words."""
        found = next((h for h in self.held if h.id == delivery_id), None)
        return f"{channel_word(found.channel).lower()} to {found.recipient}" if found else "message"

    async def refresh(self) -> None:
        """Read the held deliveries again."""
        self.show_held(await self._ctx.receipts.held())
