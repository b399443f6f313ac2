"""One receipt for the manager: its order's lifecycle, every delivery and attempt, resend with a reason, retry."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
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
from app.domain.channels import Channel, Language
from app.domain.contacts import normalise_phone
from app.domain.delivery import DeliveryState
from app.domain.doubt import AttemptOutcome, SettledBy
from app.domain.errors import ValidationFailed
from app.domain.receipt_design import receipt_design
from app.domain.records import AttemptRecord, ReceiptDetail, UpdateRecord
from app.rendering.sms import encode_info
from app.services.kiosk import ReceiptPreview
from app.services.receipts import ConsentSource, ResendConsent
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.formatting import RETRYABLE, channel_word, money, phone, state_word
from app.ui.formatting import moment as shortest
from app.ui.manager.consent_ask import ConsentAsk, consent_wording
from app.ui.manager.when import moment
from app.ui.tasks import TaskOwner, action, busy
from app.ui.widgets.preview import ReceiptPreviewView

UPDATE_WORDS = {
    "fulfilled": "Shipped",
    "partially_shipped": "Partly shipped",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
}


AGREED_AT_DESK = "The customer agreed to texts at the desk"
"""The manager's confirmation that the customer agreed, out loud, to a receipt by text."""

TEXT_CHANNELS = (Channel.SMS, Channel.WHATSAPP)


def date_time(when: datetime) -> str:
    """A timeline moment: `3:10 PM` today, `Dec 4, 3:10 PM` on another day (a receipt's life may span days)."""
    return shortest(when, datetime.now(UTC))


class DetailPanel(QWidget):
    """Timeline, preview and the resend form of one receipt."""

    sig_changed = Signal(str)
    """Fires with the receipt id after a resend or retry queued new work for it."""

    def __init__(self, ctx: KioskContext, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tasks = tasks
        self.detail: ReceiptDetail | None = None
        self._noticed: str | None = None  # the receipt whose confirmation is shown
        self.header = QLabel("Choose a receipt to see its deliveries.")
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        theme.set_font(self.header, 1.2, bold=True)
        self.ids_toggle = QPushButton("&Details")
        self.ids_toggle.setCheckable(True)
        self.ids_toggle.setToolTip("Show the receipt's id and content fingerprint, for support")
        self.ids_toggle.setAccessibleName("Show the receipt's ids")
        self.ids_toggle.toggled.connect(self._show_ids)
        self.ids = QLabel()
        self.ids.setTextFormat(Qt.TextFormat.PlainText)
        self.ids.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.ids.setAccessibleName("Receipt ids")
        self.ids.setProperty("muted", True)
        self.copy_ids = QPushButton("&Copy ids")
        self.copy_ids.setToolTip("Copy the receipt id and content fingerprint to the clipboard")
        self.copy_ids.clicked.connect(self._copy_ids)
        self.ids_row = QWidget()
        ids_layout = QHBoxLayout(self.ids_row)
        ids_layout.setContentsMargins(0, 0, 0, 0)
        ids_layout.addWidget(self.ids, 1)
        ids_layout.addWidget(self.copy_ids)
        self.ids_row.hide()
        self.notice = QLabel()
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("What was just done")
        self.notice.setProperty("hint", "good")  # the palette's GOOD colour, high contrast included
        self.timeline = QTreeWidget()
        self.timeline.setHeaderLabels(("When", "Delivery / attempt", "State / outcome", "Detail"))
        self.timeline.setAccessibleName("Delivery timeline")
        self.timeline.header().setStretchLastSection(True)
        self.timeline.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
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
        head = QHBoxLayout()
        head.addWidget(self.header, 1)
        head.addWidget(self.ids_toggle, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(head)
        layout.addWidget(self.ids_row)
        layout.addWidget(self.notice)
        # Side by side: on a laptop's 768 px the form under the timeline left the list three rows.
        body = QHBoxLayout()
        body.addWidget(tabs, 3)
        body.addWidget(self._resend_box(), 2, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(body, 1)
        self.show_detail(None)
        self._show_consent()

    def _resend_box(self) -> QGroupBox:
        box = QGroupBox("Resend to a corrected contact, or reprint")
        self.resend_channel = QComboBox()
        self.resend_channel.addItem("Email", Channel.EMAIL)
        self.resend_channel.addItem("Text message", Channel.SMS)
        if Channel.WHATSAPP in routing_of(self._ctx.settings).chains:
            self.resend_channel.addItem("WhatsApp", Channel.WHATSAPP)
        self.resend_channel.setAccessibleName("Resend channel")
        self.resend_channel.currentIndexChanged.connect(lambda _i: self._show_consent())
        self.agreed = QCheckBox(AGREED_AT_DESK)
        self.agreed.setAccessibleName("The customer agreed to texts at the desk")
        self.ask_button = QPushButton("As&k on the customer screen")
        self.ask_button.setToolTip(
            "Show the text-message consent on the customer screen; the receipt is sent when the customer agrees"
        )
        self.ask_button.clicked.connect(self.ask_customer)
        self.asker = ConsentAsk(self._ctx.settings.store.name, self)
        self.agreed.setToolTip(
            "Needed for a number that never agreed to texts; recorded in the customer's consent record"
        )
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
        self.reprint_result = self.notice  # every action's confirmation shows in one place
        form = QFormLayout(box)
        form.addRow("&Channel", self.resend_channel)
        form.addRow("T&o", self.resend_to)
        form.addRow("Rea&son", self.resend_reason)
        consent_row = QHBoxLayout()
        consent_row.addWidget(self.agreed, 1)
        consent_row.addWidget(self.ask_button)
        form.addRow("", consent_row)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
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
        editing = (self.resend_button, self.resend_to, self.resend_reason, self.resend_channel, self.agreed)
        for widget in (*editing, self.ask_button):
            widget.setEnabled(detail is not None)
        self.ids_toggle.setEnabled(detail is not None)
        self.reprint_button.setEnabled(detail is not None and self._ctx.settings.printer.enabled)
        if detail is None or detail.summary.receipt_id != self._noticed:
            self.notice.clear()
        if detail is None:
            self.header.setText("Choose a receipt to see its deliveries.")
            self.ids.clear()
            self.preview.show_preview(None)
            self.design.clear()
            self._update_buttons()
            return
        s = detail.summary
        self.header.setText(
            f"Sale {s.sale_id} \u00b7 Lane {s.lane} \u00b7 {money(s.total)} \u00b7 {moment(s.created_at)}"
        )
        self.ids.setText(f"Receipt id {s.receipt_id} \u00b7 content fingerprint {detail.content_hash}")
        carried = {delivery_id: u for u in detail.updates for delivery_id in u.delivery_ids}
        rows: list[tuple[datetime, QTreeWidgetItem]] = [(u.recorded_at, _update_item(u)) for u in detail.updates]
        for d in detail.deliveries:
            update = carried.get(d.id)
            to = phone(d.recipient) if d.channel in TEXT_CHANNELS else d.recipient
            what = f"{channel_word(d.channel)} to {to}"
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
            theme.colour_item(item, d.state.value, 2)
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
        for column in range(self.timeline.columnCount()):
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
            theme.colour_item(child, "BAD", 2)
        elif doubtful or a.settled_by == SettledBy.HELD:
            theme.colour_item(child, "WARN", 2)
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
        s = self.detail.summary
        receipt_id = s.receipt_id
        channel = Channel(self.resend_channel.currentData())
        to = self.resend_to.text().strip()
        with busy(self.resend_button):
            await self._ctx.receipts.resend(
                receipt_id,
                channel,
                to,
                reason=self.resend_reason.text(),
                actor=self._ctx.actor,
                consent=self.consent_given(channel),
            )
            detail = await self._ctx.receipts.get(receipt_id)
        self.resend_to.clear()
        self.resend_reason.clear()
        self.agreed.setChecked(False)
        self._noticed = receipt_id
        self.show_detail(detail)
        self.notice.setText(f"Sale {s.sale_id}'s receipt is on its way by {channel_word(channel).lower()} to {to}.")
        self.sig_changed.emit(receipt_id)

    def consent_given(self, channel: Channel) -> ResendConsent | None:
        """The customer's agreement the manager confirmed, in the kiosk's own consent wording."""
        if channel not in TEXT_CHANNELS or not self.agreed.isChecked():
            return None
        language = Language(self.detail.language) if self.detail is not None else Language.EN
        wording = consent_wording(channel, language, self._ctx.settings.store.name)
        return ResendConsent(wording, ConsentSource.MANAGER_DESK)

    @action
    async def ask_customer(self) -> None:
        """Ask the customer on their screen to agree to the text; send it when they do."""
        if self.detail is None:
            return
        s = self.detail.summary
        channel = Channel(self.resend_channel.currentData())
        reason = self.resend_reason.text()
        if not reason.strip():
            self.resend_reason.setFocus(Qt.FocusReason.OtherFocusReason)
            raise ValidationFailed("Say why the receipt is sent again.", field="reason")
        number = normalise_phone(self.resend_to.text())
        language = Language(self.detail.language)
        self.notice.setText("Waiting for the customer to agree on the customer screen\u2026")
        self._noticed = s.receipt_id
        with busy(self.ask_button, self.resend_button):
            agreed, wording = await self.asker.ask(channel, number, language)
            if not agreed:
                self.notice.setText("The customer did not agree to texts: nothing was sent.")
                return
            await self._ctx.receipts.resend(
                s.receipt_id,
                channel,
                number,
                reason=reason,
                actor=self._ctx.actor,
                consent=ResendConsent(wording, ConsentSource.CUSTOMER_SCREEN),
            )
            detail = await self._ctx.receipts.get(s.receipt_id)
        self.resend_to.clear()
        self.resend_reason.clear()
        self.show_detail(detail)
        self.notice.setText(
            f"The customer agreed: sale {s.sale_id}'s receipt is on its way by {channel_word(channel).lower()} "
            f"to {phone(number)}."
        )
        self.sig_changed.emit(s.receipt_id)

    def _show_consent(self) -> None:
        texting = self.resend_channel.currentData() in TEXT_CHANNELS
        self.agreed.setVisible(texting)
        self.ask_button.setVisible(texting)
        if not texting:
            self.agreed.setChecked(False)

    def _show_ids(self, shown: bool) -> None:
        self.ids_row.setVisible(shown)
        self.ids_toggle.setText("Hide &details" if shown else "&Details")

    def _copy_ids(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None and self.ids.text():
            clipboard.setText(self.ids.text())
            self.notice.setText("The receipt's ids are copied.")

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
        self._noticed = s.receipt_id
        self.show_detail(detail)
        self.notice.setText(f"Sale {s.sale_id}'s receipt is on its way to the lane's printer.")
        self.sig_changed.emit(s.receipt_id)

    @action
    async def retry(self) -> None:
        """Queue the selected failed or dead delivery again."""
        chosen = self._selected_delivery()
        if chosen is None or self.detail is None:
            return
        s = self.detail.summary
        receipt_id = s.receipt_id
        with busy(self.retry_button):
            moved = await self._ctx.receipts.retry([chosen[0]], actor=self._ctx.actor)
            detail = await self._ctx.receipts.get(receipt_id)
        self._noticed = receipt_id
        self.show_detail(detail)
        self.notice.setText(
            f"Sale {s.sale_id}'s delivery is queued again."
            if moved
            else "That delivery was not failed: nothing to retry."
        )
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
