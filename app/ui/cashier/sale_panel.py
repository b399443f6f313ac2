"""The sale at hand: who the customer is, how the receipt goes, the exact preview, live deliveries."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.channels import Channel
from app.domain.consent import ChannelGroup
from app.domain.errors import ValidationFailed
from app.services.bus import DeliveryChanged
from app.services.checkout import SMS_CONSENT_AT_TILL
from app.services.kiosk import CustomerView, DeliveryView, KioskSale, ReceiptChoice, SendRequest
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.formatting import RETRYABLE, channel_word, clock_time, money
from app.ui.tasks import TaskOwner, action, busy
from app.ui.widgets.deliveries import DeliveryTable
from app.ui.widgets.preview import ReceiptPreviewView
from app.ui.widgets.touch import MIN_BUTTON_PX, RoomyRadioButton, at_least

REPRINT_REASON = "Reprinted at the till"
"""What the audit log says of a cashier's reprint: the cashier is not asked for a reason."""
NO_SALE = "No sale yet. Sales appear here as the register finishes them."
CHOICES: tuple[tuple[str, ReceiptChoice], ...] = (
    ("&Email", ReceiptChoice.EMAIL),
    ("&Text", ReceiptChoice.SMS),
    ("&Both", ReceiptChoice.BOTH),
    ("&Print", ReceiptChoice.PRINT),
    ("&No receipt", ReceiptChoice.NONE),
)


def describe_customer(customer: CustomerView | None) -> str:
    """One paragraph about the customer for the cashier (contacts masked)."""
    if customer is None:
        return "Customer not identified. Look them up, or type their email or phone below."
    parts = [customer.name or "Known customer"]
    if customer.loyalty_id:
        parts.append(f"loyalty \u2026{customer.loyalty_id[-4:]}")
    if customer.masked_email:
        parts.append(f"email {customer.masked_email}")
    if customer.masked_phone:
        parts.append(f"phone {customer.masked_phone}")
    text = " \u00b7 ".join(parts)
    if customer.preferred:
        how = " and ".join(channel_word(c) for c in customer.preferred)
        text += f"\nPrefers {how}" + (" (sent automatically)" if customer.auto_send else "")
    else:
        text += "\nNo preference on file"
    return text


def customer_name(customer: CustomerView | None) -> str:
    """Who the receipt is for, in a few words: the name, else a masked contact, else a walk-in."""
    if customer is None:
        return "walk-in customer"
    return customer.name or customer.masked_email or customer.masked_phone or "known customer"


def other_channel(delivery: DeliveryView) -> ReceiptChoice:
    """The choice that sends a receipt the other way than `delivery` went."""
    return ReceiptChoice.SMS if delivery.channel is Channel.EMAIL else ReceiptChoice.EMAIL


class SalePanel(QWidget):
    """Shows one `KioskSale` and sends its receipt."""

    sig_sent = Signal(object)
    """Fires with the `SendOutcome` after the cashier sent the receipt (or chose print / no receipt)."""

    sig_offer = Signal(str)
    """Fires with a receipt id when the cashier hands the choice to the customer screen."""

    sig_shown = Signal(object)
    """Fires with the receipt id of the sale now shown (None: no sale) whenever it changes."""

    def __init__(self, ctx: KioskContext, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tasks = tasks
        self.sale: KioskSale | None = None
        self._looked_up: CustomerView | None = None
        self._wanted: str | None = None
        self._preselected: ReceiptChoice | None = None
        self._switching = False
        self._acting = 0
        self._held = False  # a sale the cashier opened from its paper receipt: theirs until they move on
        self.header = QLabel(NO_SALE)
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setWordWrap(True)
        self.header.setAccessibleName("Sale")
        theme.set_font(self.header, 1.35, bold=True)
        self.subheader = QLabel()
        self.subheader.setTextFormat(Qt.TextFormat.PlainText)
        self.subheader.setProperty("muted", True)
        self.preview = ReceiptPreviewView()
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.header)
        column.addWidget(self.subheader)
        column.addWidget(self._customer_box())
        column.addWidget(self._receipt_box())
        column.addWidget(self._deliveries_box(), 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.preview)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        line = self.fontMetrics().height()
        splitter.setSizes([line * 27, line * 31])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.send)
        self.show_sale(None)

    # -- building ------------------------------------------------------------------------------

    def _customer_box(self) -> QGroupBox:
        box = QGroupBox("Customer")
        self.customer_label = QLabel()
        self.customer_label.setTextFormat(Qt.TextFormat.PlainText)  # a name is text as typed, never HTML
        self.customer_label.setWordWrap(True)
        self.customer_label.setAccessibleName("Customer")
        self.lookup_box = QLineEdit()
        self.lookup_box.setPlaceholderText("Loyalty number, phone or email")
        self.lookup_box.setAccessibleName("Look up a customer")
        self.lookup_box.returnPressed.connect(self.look_up)
        self.lookup_button = QPushButton("&Look up")
        self.lookup_button.clicked.connect(self.look_up)
        self.stop_button = QToolButton()
        self.stop_button.setText("Customer says sto&p")
        self.stop_button.setAccessibleName("The customer asked for no more texts or e-mails")
        self.stop_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        stop_menu = QMenu(self.stop_button)
        self.stop_texts = stop_menu.addAction("No more texts", self.stop_texting)
        self.stop_emails = stop_menu.addAction("No more e-mails", self.stop_emailing)
        self.stop_button.setMenu(stop_menu)
        who = QHBoxLayout()
        who.addWidget(self.customer_label, 1)
        who.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignTop)
        row = QHBoxLayout()
        row.addWidget(self.lookup_box, 1)
        row.addWidget(self.lookup_button)
        layout = QVBoxLayout(box)
        layout.addLayout(who)
        layout.addLayout(row)
        return box

    def _receipt_box(self) -> QGroupBox:
        box = QGroupBox("Receipt")
        self.choices = QButtonGroup(self)
        row = QHBoxLayout()
        for number, (label, _choice) in enumerate(CHOICES):
            radio = RoomyRadioButton(label)
            radio.setAccessibleName(label.replace("&", ""))
            self.choices.addButton(radio, number)
            row.addWidget(radio)
        row.addStretch(1)
        self.choices.idToggled.connect(self._toggled)
        self.email = QLineEdit()
        self.email.setAccessibleName("Customer email address")
        self.phone = QLineEdit()
        self.phone.setAccessibleName("Customer mobile number")
        self.consent = QCheckBox("The customer asked for this receipt by text message")
        self.consent.setAccessibleName("Customer agreed to a text message")
        self.consent.setToolTip(f"Recorded as: \u201c{SMS_CONSENT_AT_TILL}\u201d")
        self.remember = QCheckBox("Send this way automatically next time")
        self.remember.setToolTip("Remember this as the customer's choice and send their receipts this way from now on")
        self.send_button = QPushButton("&Send receipt")
        self.send_button.setProperty("primary", True)
        self.send_button.setToolTip("Ctrl+Enter")
        self.send_button.clicked.connect(self.send)
        theme.touch_target(self.send_button, 2.0)
        at_least(self.send_button, MIN_BUTTON_PX)
        self.sale_tag = QLabel()
        self.sale_tag.setTextFormat(Qt.TextFormat.PlainText)  # a customer's name is text, never HTML
        self.sale_tag.setAccessibleName("Sending the receipt of")
        self.sale_tag.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.sale_tag.setMinimumWidth(1)  # a long name is cut beside Send rather than widening the window
        theme.set_font(self.sale_tag, 1.1, bold=True)
        self.offer_button = QPushButton("Ask the &customer")
        self.offer_button.setToolTip("Show the receipt choice on the customer screen")
        self.offer_button.clicked.connect(self._offer)  # placed by the window, beside "Customer screen"
        form = QFormLayout()
        form.addRow("Email", self.email)
        form.addRow("Mobile", self.phone)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sale_tag, 1)
        buttons.addWidget(self.send_button)
        layout = QVBoxLayout(box)
        layout.addLayout(row)
        layout.addLayout(form)
        layout.addWidget(self.consent)
        layout.addWidget(self.remember)
        layout.addLayout(buttons)
        return box

    def _deliveries_box(self) -> QGroupBox:
        box = QGroupBox("Deliveries")
        self.deliveries = DeliveryTable()
        self.deliveries.sig_selection.connect(lambda _d: self._update_buttons())
        self.retry_button = QPushButton("&Retry")
        self.retry_button.setAccessibleName("Retry the failed delivery (the selected one, else the newest failed)")
        self.retry_button.clicked.connect(self.retry)
        self.switch_button = QPushButton("Send another &way")
        self.switch_button.setAccessibleName("Send the receipt on the other channel")
        self.switch_button.clicked.connect(lambda: self.switch_channel())
        self.reprint_button = QPushButton("Repr&int")
        self.reprint_button.setAccessibleName("Reprint the receipt on this lane's printer")
        self.reprint_button.setToolTip("Print this sale's receipt again (Ctrl+P)")
        self.reprint_button.clicked.connect(self.reprint)
        self.reprint_result = QLabel()
        self.reprint_result.setTextFormat(Qt.TextFormat.PlainText)
        self.reprint_result.setWordWrap(True)
        self.reprint_result.setAccessibleName("Reprint result")
        QShortcut(QKeySequence("Ctrl+P"), self, self.reprint)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reprint_button)
        buttons.addStretch(1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.switch_button)
        layout = QVBoxLayout(box)
        layout.addWidget(self.deliveries, 1)
        layout.addWidget(self.reprint_result)
        layout.addLayout(buttons)
        return box

    # -- showing -------------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Whether the cashier is doing nothing here, so a new sale may take the panel: nothing typed,
        no customer looked up, no choice changed or box ticked, no delivery selected, no "Send another
        way" under way, no sale being opened or action running, no sale opened from its paper receipt, and
        the cursor in none of the fields."""
        if self.sale is None:
            return self._wanted is None
        typed = any(f.text().strip() for f in (self.email, self.phone, self.lookup_box))
        ticked = self.consent.isChecked() or self.remember.isChecked()
        chose = self.choice() is not self._preselected
        focused = QApplication.focusWidget() in (self.email, self.phone, self.lookup_box)
        opening = self._wanted not in (None, self.sale.receipt_id)
        return not (
            typed
            or ticked
            or chose
            or focused
            or opening
            or self._looked_up is not None
            or self.deliveries.selected() is not None
            or self._switching
            or self._acting
            or self._held
        )

    @property
    def busy(self) -> bool:
        """Whether the cashier is in the middle of something here (the opposite of `idle`)."""
        return not self.idle

    def open(self, receipt_id: str) -> None:
        """Load and show the sale of `receipt_id`."""
        self._wanted = receipt_id
        self.tasks.start(self._load(receipt_id), "load")

    async def _load(self, receipt_id: str) -> None:
        try:
            sale = await self._ctx.kiosk.sale(receipt_id)
        except Exception:
            if self._wanted == receipt_id:  # still showing the sale before: the list highlights it again
                self._wanted = self.sale.receipt_id if self.sale is not None else None
                self.sig_shown.emit(self._wanted)
            raise
        if self._wanted == receipt_id:
            self.show_sale(sale)

    def show_sale(self, sale: KioskSale | None) -> None:
        """Show `sale` (None: nothing to do yet)."""
        changed = sale is None or self.sale is None or sale.receipt_id != self.sale.receipt_id
        self.sale = sale
        self._wanted = sale.receipt_id if sale is not None else None  # a slower load of another sale is dropped
        if changed:
            self._looked_up = None
            self._switching = False
            self._held = False
            self.deliveries.clearSelection()
            self.reprint_result.clear()
            self.email.clear()
            self.phone.clear()
            self.consent.setChecked(False)
            self.remember.setChecked(False)
            self.lookup_box.clear()
        for widget in (
            self.send_button,
            self.offer_button,
            self.lookup_button,
            self.lookup_box,
            self.email,
            self.phone,
        ):
            widget.setEnabled(sale is not None)
        printer = self._ctx.settings.printer.enabled
        self.reprint_button.setEnabled(sale is not None and printer)
        if not printer:
            self.reprint_button.setToolTip("No receipt printer is set up on this lane (Settings, Devices).")
        if sale is None:
            self.header.setText(NO_SALE)
            self.subheader.clear()
            self.customer_label.setText("")
            self.preview.show_preview(None)
            self.deliveries.set_deliveries(())
            self.sale_tag.clear()
            self._update_buttons()
            if changed:
                self.sig_shown.emit(None)
            return
        card = f" \u00b7 card \u2026{sale.card_last4.split(',')[0]}" if sale.card_last4 else ""
        self.header.setText(f"Sale {sale.sale_id} \u00b7 {money(sale.total)}")
        self.subheader.setText(f"Lane {sale.lane} \u00b7 {clock_time(sale.created_at)}{card}")
        self._show_customer(self._looked_up or sale.customer, preselect=changed)
        self.preview.show_preview(sale.preview)
        self.deliveries.set_deliveries(sale.deliveries)
        self._update_buttons()
        if changed:
            self.sig_shown.emit(sale.receipt_id)

    def _show_customer(self, customer: CustomerView | None, *, preselect: bool) -> None:
        self.customer_label.setText(describe_customer(customer))
        if self.sale is not None:
            sale = self.sale
            self.sale_tag.setText(f"Sale {sale.sale_id} \u00b7 {money(sale.total)}\n{customer_name(customer)}")
        self.email.setPlaceholderText(
            f"On file: {customer.masked_email}" if customer and customer.masked_email else "Type the customer's email"
        )
        self.phone.setPlaceholderText(
            f"On file: {customer.masked_phone}"
            if customer and customer.masked_phone
            else "Type the customer's mobile number"
        )
        if preselect:
            choice = ReceiptChoice.from_channels(customer.preferred) if customer else None
            self._preselected = choice or ReceiptChoice.EMAIL
            self.set_choice(self._preselected)

    def set_choice(self, choice: ReceiptChoice) -> None:
        """Select `choice` in the channel buttons."""
        number = next(i for i, (_, c) in enumerate(CHOICES) if c is choice)
        button = self.choices.button(number)
        button.setChecked(True)
        self._choice_changed()

    def choice(self) -> ReceiptChoice | None:
        """The channel choice selected, if any."""
        number = self.choices.checkedId()
        return CHOICES[number][1] if number >= 0 else None

    def _toggled(self, _number: int, on: bool) -> None:
        if on:
            self._choice_changed()

    def _choice_changed(self) -> None:
        channels = (self.choice() or ReceiptChoice.NONE).channels
        has_sale = self.sale is not None
        self.email.setEnabled(has_sale and Channel.EMAIL in channels)
        self.phone.setEnabled(has_sale and Channel.SMS in channels)
        self.consent.setVisible(Channel.SMS in channels)
        self.remember.setEnabled(bool(channels))

    def _offer(self) -> None:
        if self.sale is not None:
            self.sig_offer.emit(self.sale.receipt_id)

    def failed_delivery(self) -> DeliveryView | None:
        """The delivery Retry acts on: the selected one, else the newest that failed."""
        chosen = self.deliveries.selected()
        if chosen is not None:
            return chosen if chosen.state in RETRYABLE else None
        return next((d for d in reversed(self.deliveries.deliveries) if d.state in RETRYABLE), None)

    def _switch_target(self) -> DeliveryView | None:
        """The delivery "Send another way" replaces: the selected one, else the newest failed, else the newest."""
        chosen = self.deliveries.selected()
        if chosen is not None:
            return chosen
        rows = self.deliveries.deliveries
        return self.failed_delivery() or (rows[-1] if rows else None)

    def _update_buttons(self) -> None:
        self.retry_button.setEnabled(self.failed_delivery() is not None)
        self.switch_button.setEnabled(self._switch_target() is not None)
        customer = self.sale.customer if self.sale is not None else None
        self.stop_texts.setEnabled(customer is not None and customer.masked_phone is not None)
        self.stop_emails.setEnabled(customer is not None and customer.masked_email is not None)
        self.stop_button.setEnabled(self.stop_texts.isEnabled() or self.stop_emails.isEnabled())

    def update_delivery(self, event: DeliveryChanged) -> None:
        """A delivery moved on; update it when it belongs to the sale shown."""
        if self.sale is not None and event.receipt_id == self.sale.receipt_id:
            if not self.deliveries.update_state(event.delivery_id, event.state, event.error, event.attempt):
                self.deliveries.expect(event.delivery_id, event.state, event.error)  # sent before listed
            self._update_buttons()

    # -- actions -------------------------------------------------------------------------------

    def request(self) -> SendRequest:
        """What the form asks for; `ValidationFailed` when something is missing."""
        choice = self.choice()
        if choice is None:
            raise ValidationFailed("Choose how the customer wants the receipt.")
        channels = choice.channels
        texting = Channel.SMS in channels
        if texting and not self.consent.isChecked():
            raise ValidationFailed(
                "Tick \u201cThe customer asked for this receipt by text message\u201d before sending a text."
            )
        return SendRequest(
            choice,
            email=(self.email.text().strip() or None) if Channel.EMAIL in channels else None,
            phone=(self.phone.text().strip() or None) if texting else None,
            consent_text=SMS_CONSENT_AT_TILL if texting else None,
            remember=self.remember.isChecked() and bool(channels),
            customer_id=self._looked_up.id if self._looked_up else None,
            source="kiosk-cashier",
        )

    @action
    async def send(self) -> None:
        """Send the receipt as chosen."""
        if self.sale is None or not self.send_button.isEnabled():
            return
        request = self.request()
        receipt_id = self.sale.receipt_id
        self._acting += 1
        try:
            with busy(self.send_button):
                outcome = await self._ctx.kiosk.send(receipt_id, request)
                sale = await self._ctx.kiosk.sale(receipt_id)
        finally:
            self._acting -= 1
        if self.sale is not None and self.sale.receipt_id == receipt_id:
            self.email.clear()
            self.phone.clear()
            self.consent.setChecked(False)
            self.remember.setChecked(False)
            self._switching = False
            self._preselected = self.choice()
            self.deliveries.clearSelection()
            self.show_sale(sale)
        self.sig_sent.emit(outcome)

    @action
    async def look_up(self) -> None:
        """Find the customer by loyalty number, phone or email."""
        with busy(self.lookup_button):
            found = await self._ctx.kiosk.find_customer(self.lookup_box.text())
        if found is None:
            raise ValidationFailed("No customer has that loyalty number, phone or email. Type their contact instead.")
        self._looked_up = found
        self._show_customer(found, preselect=True)

    async def identify_loyalty(self, loyalty_id: str) -> None:
        """A scanned loyalty card: the customer of the sale at hand, their preferred channel chosen."""
        sale = self.sale
        if sale is None:
            raise ValidationFailed("Scan the loyalty card once the sale is on screen.")
        found = await self._ctx.kiosk.customer_by_loyalty(loyalty_id)
        if found is None:
            raise ValidationFailed(
                f"No customer has loyalty card \u2026{loyalty_id[-4:]}. Nothing was changed: look them up or type "
                "their email or phone."
            )
        if self.sale is None or self.sale.receipt_id != sale.receipt_id:
            raise ValidationFailed("The sale changed while the card was read. Scan the loyalty card again.")
        self._looked_up = found
        self._show_customer(found, preselect=True)

    def show_for_resend(self, sale: KioskSale) -> None:
        """Show `sale` (a scanned paper receipt) with its newest delivery selected and Send ready."""
        self._wanted = sale.receipt_id
        self.show_sale(sale)
        self._held = True  # a new sale coming in meanwhile waits ("N new"), as while the cashier types
        if sale.deliveries:
            self.deliveries.selectRow(len(sale.deliveries) - 1)
        self.send_button.setFocus()

    @action
    async def retry(self) -> None:
        """Queue the failed delivery again (the selected one, else the newest that failed)."""
        chosen = self.failed_delivery()
        if chosen is None or self.sale is None:
            return
        receipt_id = self.sale.receipt_id
        self._acting += 1
        try:
            with busy(self.retry_button):
                await self._ctx.receipts.retry([chosen.id], actor="kiosk-cashier")
                sale = await self._ctx.kiosk.sale(receipt_id)
        finally:
            self._acting -= 1
        if self.sale is not None and self.sale.receipt_id == receipt_id:
            self.show_sale(sale)

    @action
    async def stop_texting(self) -> None:
        """The customer asked for no more texts."""
        await self._stop(ChannelGroup.TEXT)

    @action
    async def stop_emailing(self) -> None:
        """The customer asked for no more e-mails."""
        await self._stop(ChannelGroup.EMAIL)

    async def _stop(self, group: ChannelGroup) -> None:
        """Record the customer's stop in the consent ledger as the cashier's, cancelling what is still queued
        to that contact, and say so under the deliveries."""
        customer = self.sale.customer if self.sale is not None else None
        if customer is None:
            return
        contact = customer.masked_phone if group is ChannelGroup.TEXT else customer.masked_email
        what = "texts" if group is ChannelGroup.TEXT else "e-mails"
        self.reprint_result.clear()
        with busy(self.stop_button):
            newly = await self._ctx.kiosk.stop_messages(customer.id, group, actor="kiosk-cashier")
        self.reprint_result.setText(
            f"No more {what} will go to {contact}." if newly else f"{contact} had already stopped {what}."
        )

    @action
    async def reprint(self) -> None:
        """Print the receipt of the sale shown again on this lane's printer (audited as a resend)."""
        if self.sale is None or not self.reprint_button.isEnabled():
            return
        receipt_id, sale_id = self.sale.receipt_id, self.sale.sale_id
        self.reprint_result.clear()
        with busy(self.reprint_button):
            await self._ctx.receipts.reprint(receipt_id, reason=REPRINT_REASON, actor="kiosk-cashier")
            sale = await self._ctx.kiosk.sale(receipt_id)
        if self.sale is not None and self.sale.receipt_id == receipt_id:
            self.show_sale(sale)
            self.reprint_result.setText(f"Sale {sale_id}'s receipt is on its way to the printer.")

    def switch_channel(self, delivery: DeliveryView | None = None) -> None:
        """Choose the other channel than `delivery`'s (default: the selected, else the newest failed
        delivery) and put the cursor in its field: the cashier types the contact and presses Send."""
        chosen = delivery or self._switch_target()
        if chosen is None:
            return
        self._switching = True
        other = other_channel(chosen)
        self.set_choice(other)
        (self.phone if other is ReceiptChoice.SMS else self.email).setFocus()
