"""One receipt for the manager: its order's lifecycle, every delivery and attempt, resend with a reason, retry."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.config.settings import routing_of
from app.domain.attempt_words import attempt_fate
from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.domain.doubt import AttemptOutcome, SettledBy
from app.domain.receipt_design import receipt_design
from app.domain.records import AttemptRecord, ReceiptDetail, UpdateRecord
from app.rendering.sms import encode_info
from app.services.kiosk import ReceiptPreview
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.formatting import RETRYABLE, channel_word, date_time, money, state_word
from app.ui.tasks import TaskOwner, action, busy
from app.ui.widgets.preview import ReceiptPreviewView

UPDATE_WORDS = {
    "fulfilled": "Shipped",
    "partially_shipped": "Partly shipped",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
}


class DetailPanel(QWidget):
    """Timeline, preview and the resend form of one receipt."""

    sig_changed = Signal(str)
    """Fires with the receipt id after a resend or retry queued new work for it."""

    def __init__(self, ctx: KioskContext, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tasks = tasks
        self.detail: ReceiptDetail | None = None
        self._reprinted: str | None = None  # the receipt whose reprint result is shown
        self.header = QLabel("Choose a receipt to see its deliveries.")
        self.header.setWordWrap(True)
        theme.set_font(self.header, 1.2, bold=True)
        self.timeline = QTreeWidget()
        self.timeline.setHeaderLabels(("When", "Delivery / attempt", "State / outcome", "Detail"))
        self.timeline.setAccessibleName("Delivery timeline")
        self.timeline.setAlternatingRowColors(True)
        self.timeline.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.retry_button = QPushButton("Re&try this delivery")
        self.retry_button.clicked.connect(self.retry)
        self.preview = ReceiptPreviewView()
        self.design = QLabel()
        self.design.setTextFormat(Qt.TextFormat.PlainText)  # a template id is the store's text, not markup
        self.design.setAccessibleName("Receipt design")
        self.design.setProperty("muted", True)
        receipt_tab = QWidget()
        receipt_layout = QVBoxLayout(receipt_tab)
        receipt_layout.addWidget(self.design)
        receipt_layout.addWidget(self.preview, 1)
        tabs = QTabWidget()
        timeline_tab = QWidget()
        timeline_layout = QVBoxLayout(timeline_tab)
        timeline_layout.addWidget(self.timeline, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.retry_button)
        timeline_layout.addLayout(row)
        tabs.addTab(timeline_tab, "Timeline")
        tabs.addTab(receipt_tab, "Receipt")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(tabs, 1)
        layout.addWidget(self._resend_box())
        self.show_detail(None)

    def _resend_box(self) -> QGroupBox:
        box = QGroupBox("Resend to a corrected contact, or reprint")
        self.resend_channel = QComboBox()
        self.resend_channel.addItem("Email", Channel.EMAIL)
        self.resend_channel.addItem("Text message", Channel.SMS)
        self.resend_channel.setAccessibleName("Resend channel")
        self.resend_to = QLineEdit()
        self.resend_to.setAccessibleName("Resend to")
        self.resend_to.setPlaceholderText("Email address or mobile number")
        self.resend_reason = QLineEdit()
        self.resend_reason.setAccessibleName("Reason for resending")
        self.resend_reason.setPlaceholderText("Why (kept in the audit log), e.g. customer spelled the address wrong")
        self.resend_button = QPushButton("Re&send")
        self.resend_button.setProperty("primary", True)
        self.resend_button.clicked.connect(self.resend)
        self.resend_reason.returnPressed.connect(self.resend)
        self.reprint_button = QPushButton("Repr&int")
        self.reprint_button.setAccessibleName("Reprint on the lane's printer, with the reason typed")
        self.reprint_button.setToolTip("Print this receipt again on the lane's printer; only the reason is needed")
        self.reprint_button.clicked.connect(self.reprint)
        self.reprint_result = QLabel()
        self.reprint_result.setTextFormat(Qt.TextFormat.PlainText)
        self.reprint_result.setWordWrap(True)
        self.reprint_result.setAccessibleName("Reprint result")
        form = QFormLayout(box)
        form.addRow("&Channel", self.resend_channel)
        form.addRow("T&o", self.resend_to)
        form.addRow("Rea&son", self.resend_reason)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reprint_result, 1)
        buttons.addWidget(self.reprint_button)
        buttons.addWidget(self.resend_button)
        form.addRow(buttons)
        return box

    def open(self, receipt_id: str) -> None:
        """Load and show one receipt."""
        self.tasks.start(self._load(receipt_id), "detail")

    async def _load(self, receipt_id: str) -> None:
        self.show_detail(await self._ctx.receipts.get(receipt_id))

    def show_detail(self, detail: ReceiptDetail | None) -> None:
        """Show `detail` (None: nothing chosen)."""
        self.detail = detail
        self.timeline.clear()
        for widget in (self.resend_button, self.resend_to, self.resend_reason, self.resend_channel):
            widget.setEnabled(detail is not None)
        self.reprint_button.setEnabled(detail is not None and self._ctx.settings.printer.enabled)
        if detail is None or detail.summary.receipt_id != self._reprinted:
            self.reprint_result.clear()
        if detail is None:
            self.preview.show_preview(None)
            self.design.clear()
            self._update_buttons()
            return
        s = detail.summary
        self.header.setText(
            f"Sale {s.sale_id} \u00b7 Lane {s.lane} \u00b7 {money(s.total)} \u00b7 "
            f"{date_time(s.created_at)}\nReceipt {s.receipt_id} \u00b7 content {detail.content_hash[:12]}"
        )
        carried = {delivery_id: u for u in detail.updates for delivery_id in u.delivery_ids}
        rows: list[tuple[datetime, QTreeWidgetItem]] = [(u.recorded_at, _update_item(u)) for u in detail.updates]
        for d in detail.deliveries:
            update = carried.get(d.id)
            what = f"{channel_word(d.channel)} to {d.recipient}"
            item = QTreeWidgetItem(
                (
                    date_time(d.created_at),
                    f"{UPDATE_WORDS.get(update.status, 'Update')} notice: {what}" if update else what,
                    "Held for a manager" if d.state is DeliveryState.HELD else state_word(d.state),
                    d.reason or d.last_error or "",
                )
            )
            item.setData(0, Qt.ItemDataRole.UserRole, d.id)
            item.setData(1, Qt.ItemDataRole.UserRole, d.state.value)
            item.setForeground(2, theme.state_colour(d.state.value))
            for a in detail.attempts.get(d.id, ()):
                item.addChild(self._attempt_item(a))
            for e in detail.events.get(d.id, ()):
                item.addChild(
                    QTreeWidgetItem(
                        (date_time(e.occurred_at), f"{e.provider} reported", e.kind, e.detail or e.raw_status)
                    )
                )
            rows.append((d.created_at, item))
        for _, item in sorted(rows, key=lambda row: row[0]):
            self.timeline.addTopLevelItem(item)
            item.setExpanded(True)
        for column in range(3):
            self.timeline.resizeColumnToContents(column)
        encoding, _ = encode_info(detail.sms_body)
        email = routing_of(self._ctx.settings).chains.get(Channel.EMAIL, ())
        self.design.setText(
            receipt_design(
                detail,
                primary=email[0] if email else None,
                providers=self._ctx.settings.providers,
                name=self._provider_name,
            )
        )
        self.preview.show_preview(
            ReceiptPreview(
                detail.language,
                detail.subject,
                detail.html,
                detail.text,
                detail.sms_body,
                detail.sms_segments,
                encoding,
            )
        )
        self._update_buttons()

    def _provider_name(self, provider: str) -> str:
        names = {p.id: p.display_name for p in self._ctx.catalogue.providers()}
        return names.get(provider, provider)

    def _attempt_item(self, a: AttemptRecord) -> QTreeWidgetItem:
        """`#2 via Twilio` · `in doubt → found at Twilio, not sent again`, coloured by what a manager makes of it."""
        settled = f"settled {date_time(a.settled_at)}" if a.settled_at else ""
        child = QTreeWidgetItem(
            (
                date_time(a.started_at),
                f"#{a.number} via {self._provider_name(a.provider)}",
                attempt_fate(a, self._provider_name),
                " \u00b7 ".join(x for x in (a.error or a.provider_message_id or "", settled) if x),
            )
        )
        child.setToolTip(2, child.text(2))
        cleared = a.settled_by in (SettledBy.LOOKUP_FOUND, SettledBy.LOOKUP_NOT_FOUND)  # the provider told us
        doubtful = a.possible_duplicate or (a.outcome == AttemptOutcome.IN_DOUBT and not cleared)
        if a.settled_by == SettledBy.DROPPED or a.outcome == AttemptOutcome.PERMANENT:
            child.setForeground(2, QColor(theme.BAD))
        elif doubtful or a.settled_by == SettledBy.HELD:
            child.setForeground(2, QColor(theme.WARN))
        return child

    def _selected_delivery(self) -> tuple[str, DeliveryState] | None:
        item = self.timeline.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        if item is None or item.data(0, Qt.ItemDataRole.UserRole) is None:
            return None  # nothing chosen, or an order-update row (it is not a delivery)
        return str(item.data(0, Qt.ItemDataRole.UserRole)), DeliveryState(str(item.data(1, Qt.ItemDataRole.UserRole)))

    def _update_buttons(self) -> None:
        chosen = self._selected_delivery()
        self.retry_button.setEnabled(chosen is not None and chosen[1] in RETRYABLE)

    @action
    async def resend(self) -> None:
        """Queue this receipt again to the contact typed, with the reason typed."""
        if self.detail is None:
            return
        receipt_id = self.detail.summary.receipt_id
        channel = Channel(self.resend_channel.currentData())
        with busy(self.resend_button):
            await self._ctx.receipts.resend(
                receipt_id, channel, self.resend_to.text(), reason=self.resend_reason.text(), actor=self._ctx.actor
            )
            detail = await self._ctx.receipts.get(receipt_id)
        self.resend_to.clear()
        self.resend_reason.clear()
        self.show_detail(detail)
        self.sig_changed.emit(receipt_id)

    @action
    async def reprint(self) -> None:
        """Print this receipt again on the lane's printer, with the reason typed (no contact)."""
        if self.detail is None:
            return
        s = self.detail.summary
        with busy(self.reprint_button, self.resend_button):
            await self._ctx.receipts.reprint(s.receipt_id, reason=self.resend_reason.text(), actor=self._ctx.actor)
            detail = await self._ctx.receipts.get(s.receipt_id)
        self.resend_reason.clear()
        self._reprinted = s.receipt_id
        self.show_detail(detail)
        self.reprint_result.setText(f"Sale {s.sale_id}'s receipt is on its way to the lane's printer.")
        self.sig_changed.emit(s.receipt_id)

    @action
    async def retry(self) -> None:
        """Queue the selected failed or dead delivery again."""
        chosen = self._selected_delivery()
        if chosen is None or self.detail is None:
            return
        receipt_id = self.detail.summary.receipt_id
        with busy(self.retry_button):
            await self._ctx.receipts.retry([chosen[0]], actor=self._ctx.actor)
            detail = await self._ctx.receipts.get(receipt_id)
        self.show_detail(detail)
        self.sig_changed.emit(receipt_id)


def _update_item(update: UpdateRecord) -> QTreeWidgetItem:
    """A row of the order's lifecycle: what the platform said, and what of the order it concerns."""
    detail = update.detail
    facts = [f"{line['name']} \u00d7 {line['quantity']}" for line in detail.get("lines", [])]
    if detail.get("refund_amount"):
        facts.insert(0, f"{money(Decimal(detail['refund_amount']))} refunded")
    facts += [t.get("number") or t.get("url") or "" for t in detail.get("tracking", [])]
    if detail.get("reason"):
        facts.append(f"reason: {detail['reason']}")
    item = QTreeWidgetItem(
        (
            date_time(update.recorded_at),
            f"Order {UPDATE_WORDS.get(update.status, update.status).lower()} ({update.source})",
            UPDATE_WORDS.get(update.status, update.status),
            ", ".join(f for f in facts if f),
        )
    )
    item.setToolTip(1, update.subject)
    return item
