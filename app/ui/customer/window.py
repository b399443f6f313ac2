"""The customer-facing screen: big targets, English/Spanish, and a fresh start after a quiet spell."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QHBoxLayout, QLabel, QLineEdit, QStackedWidget, QVBoxLayout, QWidget

from app.domain.channels import Channel, Language
from app.domain.delivery import DeliveryState
from app.domain.errors import ReceiptDeskError, ValidationFailed
from app.services.bus import DeliveryChanged
from app.services.kiosk import KioskSale, ReceiptChoice, SendOutcome
from app.services.text_in import TextInOffer
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.customer.choose import ChoosePage
from app.ui.customer.confirm import ConfirmPage
from app.ui.customer.done import DonePage
from app.ui.customer.entry import EntryPage
from app.ui.customer.flow import CustomerSession, Step
from app.ui.customer.page import big_button
from app.ui.customer.welcome import WelcomePage
from app.ui.errors import ErrorBanner
from app.ui.i18n import other, tr
from app.ui.tasks import TaskOwner, action, busy

log = logging.getLogger(__name__)

ON_ITS_WAY = frozenset(
    {DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.UNKNOWN}
)
"""Delivery states in which a texted-in receipt is on its way (a failure leaves the choices on screen)."""

TEXT_IN_IDLE_MS = 3 * 60 * 1000
"""With a text-in code on screen the customer may be texting it: their turn waits this long untouched
(the next sale replaces it at once)."""


class CustomerBanner(ErrorBanner):
    """The customer never reads a staff message: they get a kind sentence in their language."""

    def __init__(self, window: CustomerWindow) -> None:
        super().__init__(window)
        self._window = window

    def show_message(self, message: str, error: BaseException) -> None:
        language = self._window.language
        field = error.field if isinstance(error, ValidationFailed) else None
        key = {"email": "invalid_email", "phone": "invalid_phone"}.get(field or "", "send_failed")
        super().show_message(tr(key, language), error)


class CustomerWindow(QWidget):
    """Driven by the shell: `offer(sale)` starts a customer's turn; it ends on done, timeout or cancel."""

    sig_done = Signal(object)
    """Fires with the `SendOutcome` once the customer's choice was sent (or print / no receipt recorded)."""

    sig_idle = Signal()
    """Fires when the screen went back to welcome (finished, timed out, or handled by the cashier)."""

    sig_texted_in = Signal(str)
    """Fires with the receipt id when the customer's turn ended because they texted its code in."""

    def __init__(self, ctx: KioskContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tasks = TaskOwner(self, "customer")
        self.session: CustomerSession | None = None
        self._sending = False
        self.language = ctx.settings.store.default_language
        self.setWindowTitle(f"{ctx.store_name} \u2014 receipts")
        self.setAccessibleName("Customer screen")
        self.banner = CustomerBanner(self)
        store = QLabel(ctx.store_name)
        store.setTextFormat(Qt.TextFormat.PlainText)
        theme.set_font(store, 1.3, bold=True)
        self.language_button = big_button(1.2)
        self.language_button.clicked.connect(self.toggle_language)
        top = QHBoxLayout()
        top.addWidget(store, 1)
        top.addWidget(self.language_button)
        self.welcome = WelcomePage(ctx.store_name)
        self.choose = ChoosePage(whatsapp=ctx.kiosk.offers(Channel.WHATSAPP), text_in=self.text_in_on)
        self.email = EntryPage("email")
        self.phone = EntryPage("phone")
        self.confirm = ConfirmPage(ctx.store_name)
        self.done = DonePage()
        self.pages = QStackedWidget()
        self.pages.setObjectName("customerPages")
        self._steps = {
            Step.WELCOME: self.welcome,
            Step.CHOOSE: self.choose,
            Step.EMAIL: self.email,
            Step.PHONE: self.phone,
            Step.CONFIRM: self.confirm,
            Step.DONE: self.done,
        }
        for page in self._steps.values():
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        self._wire()
        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self._idle_ms = int(ctx.prefs.idle_timeout_s * 1000)
        self.idle.setInterval(self._idle_ms)
        self.idle.timeout.connect(self.reset)
        self.finish = QTimer(self)
        self.finish.setSingleShot(True)
        self.finish.setInterval(int(ctx.prefs.done_return_s * 1000))
        self.finish.timeout.connect(self.reset)
        for button in self.findChildren(QAbstractButton):
            button.pressed.connect(self._touched)
        for field in self.findChildren(QLineEdit):
            field.textEdited.connect(self._touched)
        self.set_language(self.language)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.reset)  # staff only: hand the screen back
        self.resize(1024, 768)

    def _wire(self) -> None:
        self.choose.sig_chosen.connect(self._chosen)
        self.choose.sig_quick.connect(self._quick)
        self.email.sig_entered.connect(lambda value: self._entered(Channel.EMAIL, value))
        self.phone.sig_entered.connect(lambda value: self._entered(Channel.SMS, value))
        for page in (self.email, self.phone, self.confirm):
            page.sig_back.connect(lambda: self.go(Step.CHOOSE))
        self.confirm.sig_change.connect(self._change)
        self.confirm.sig_not_me.connect(self._not_me)
        self.confirm.sig_send.connect(self.send)

    # -- state ---------------------------------------------------------------------------------

    @property
    def step(self) -> Step:
        """The page shown."""
        page = self.pages.currentWidget()
        return next(step for step, p in self._steps.items() if p is page)

    @property
    def text_in_on(self) -> bool:
        """Whether this kiosk offers text-in (`[texts] text_in` on, a number to text, a provider to answer)."""
        return self._ctx.text_in is not None and self._ctx.text_in.enabled

    @property
    def in_turn(self) -> bool:
        """Whether a customer is being served (anything but the welcome page)."""
        return self.step is not Step.WELCOME

    def go(self, step: Step) -> None:
        """Show `step`'s page."""
        self.banner.dismiss()
        if step in (Step.EMAIL, Step.PHONE):
            self._steps[step].start()  # type: ignore[attr-defined]
        if step is Step.CONFIRM and self.session is not None:
            self.confirm.show_session(self.session)
        self.pages.setCurrentWidget(self._steps[step])
        self.finish.stop()
        if step is Step.WELCOME:
            self.idle.stop()
        else:
            self.idle.start(self._idle_ms)
        if step is Step.DONE:
            self.finish.start()

    def _touched(self, *_args: object) -> None:
        if self.step is not Step.WELCOME and self.step is not Step.DONE:
            waiting_for_a_text = self.step is Step.CHOOSE and self.text_in_offer is not None
            self.idle.start(max(self._idle_ms, TEXT_IN_IDLE_MS) if waiting_for_a_text else self._idle_ms)

    def set_language(self, language: Language) -> None:
        """Show every page in `language`."""
        self.language = language
        if self.session is not None:
            self.session.language = language
        self.language_button.setText(tr("language_toggle", language))
        self.language_button.setAccessibleName(tr("language_toggle_name", language))
        for page in self._steps.values():
            page.retranslate(language)

    def toggle_language(self) -> None:
        """English <-> Spanish (a text-in code on screen is shown again, its words now in that language)."""
        self.set_language(other(self.language))
        if self.session is not None and self.text_in_offer is not None:
            self.tasks.start(self._text_in(self.session.sale), "text_in")

    # -- driven by the shell -------------------------------------------------------------------

    def offer(self, sale: KioskSale) -> None:
        """Start a customer's turn for `sale`: ask how they want the receipt."""
        customer = sale.customer
        default = self._ctx.settings.store.default_language
        language = (customer.language if customer and customer.language else None) or default
        self.session = CustomerSession(sale, language)
        self.set_language(language)
        self.choose.set_total(sale.total)
        self.choose.set_known(self._ctx.store_name, email=self.session.email_on_file, phone=self.session.phone_on_file)
        self.choose.show_text_in(None)
        self.go(Step.CHOOSE)
        if self.text_in_on:
            self.tasks.start(self._text_in(sale), "text_in")

    async def _text_in(self, sale: KioskSale) -> None:
        """Ask for the sale's text-in code off the event loop's way and show it, if the sale is still
        the one on screen. A code that cannot be made leaves the other choices, as without text-in."""
        service = self._ctx.text_in
        if service is None:
            return
        try:
            offer = await service.offer(sale.receipt_id, lane=sale.lane, language=self.language)
        except ReceiptDeskError as exc:
            log.warning("customer screen: no text-in code for this sale: %s", exc.message)
            return
        if self.session is not None and self.session.sale.receipt_id == sale.receipt_id:
            self.choose.show_text_in(offer, store=self._ctx.store_name)
            if offer is not None and self.step is Step.CHOOSE and self.idle.isActive():  # they may be texting it
                self.idle.start(max(self._idle_ms, TEXT_IN_IDLE_MS))

    @property
    def text_in_offer(self) -> TextInOffer | None:
        """The text-in offer on screen for the sale being served, if any."""
        return self.choose.text_in_shown if self.session is not None else None

    def delivery_changed(self, event: DeliveryChanged) -> None:
        """A delivery moved on: when it is the text the customer asked for by texting the code in,
        their receipt is on its way and their turn is over."""
        session, offer = self.session, self.text_in_offer
        if session is None or offer is None or self._sending or session.sale.receipt_id != event.receipt_id:
            return
        if event.channel is not Channel.SMS or event.state not in ON_ITS_WAY:
            return
        self.session = None
        self.choose.show_text_in(None)
        self.done.show_message("done_sent")
        self.go(Step.DONE)
        self.sig_texted_in.emit(event.receipt_id)

    def show_auto_sent(self, sale: KioskSale) -> None:
        """A returning customer's receipt went out by their saved choice: say where, ask nothing."""
        customer = sale.customer
        language = (customer.language if customer and customer.language else None) or self.language
        self.session = None
        self.set_language(language)
        contacts = tr("and", language).join(d.masked_recipient for d in sale.deliveries)
        first = ((customer.name if customer else None) or "").split(" ")[0]
        title = "welcome_back" if first else "welcome_back_anonymous"
        self.done.show_message(title, "auto_sent", name=first, contacts=contacts)
        self.go(Step.DONE)

    def handled_elsewhere(self, receipt_id: str) -> None:
        """The cashier sent this sale's receipt: finish the customer's turn."""
        if self.session is not None and self.session.sale.receipt_id == receipt_id:
            self.session = None
            self.choose.show_text_in(None)
            self.done.show_message("done_sent")
            self.go(Step.DONE)

    def reset(self) -> None:
        """Back to welcome, everything typed forgotten."""
        self.session = None
        self.choose.show_text_in(None)
        for page in (self.email, self.phone):
            page.start()
        self.go(Step.WELCOME)
        self.set_language(self._ctx.settings.store.default_language)
        self.sig_idle.emit()

    # -- the customer's answers ----------------------------------------------------------------

    def _chosen(self, choice: ReceiptChoice) -> None:
        if self.session is None:
            return
        step = self.session.choose(choice)
        if step is Step.DONE:
            self.send()
        else:
            self.go(step)

    def _entered(self, channel: Channel, value: str) -> None:
        if self.session is None:
            return
        if channel is Channel.EMAIL:
            self.session.email = value
        else:
            self.session.phone = value
        self.go(self.session.next_step())

    def _change(self, channel: Channel) -> None:
        if self.session is not None:
            step, typed = self.session.change(channel)
            self.go(step)
            if step in (Step.EMAIL, Step.PHONE) and typed:
                self._steps[step].start(typed)  # type: ignore[attr-defined]

    def _quick(self, choice: ReceiptChoice) -> None:
        """One tap on a contact on file: send there (a text with the consent shown beside the button)."""
        session = self.session
        if session is None:
            return
        session.quick(choice, self.choose.quick_consent_shown if choice is ReceiptChoice.SMS else None)
        self.send()

    def _not_me(self) -> None:
        if self.session is not None:
            self.go(self.session.disown())

    @action
    async def send(self) -> None:
        """Send the receipt as the customer chose, with the consent text shown."""
        session = self.session
        if session is None or session.choice is None:
            return
        quick = self.step is Step.CHOOSE
        consent = session.consent_text if quick else self.confirm.consent_shown
        remember = not quick and self.confirm.remember.isChecked()
        request = session.request(consent_text=consent, remember=remember)
        with busy(self.confirm.send, self.confirm.back, *self.choose.buttons.values(), *self.choose.quick.values()):
            self.confirm.send.setText(tr("sending", self.language))
            self._sending = True
            try:
                outcome = await self._ctx.kiosk.send(session.sale.receipt_id, request)
            finally:
                self._sending = False
                self.confirm.retranslate(self.language)
        self._finished(outcome)

    def _finished(self, outcome: SendOutcome) -> None:
        self.session = None
        self.choose.show_text_in(None)
        key = {ReceiptChoice.PRINT: "done_print", ReceiptChoice.NONE: "done_none"}.get(outcome.choice, "done_sent")
        self.done.show_message(key)
        self.go(Step.DONE)
        self.sig_done.emit(outcome)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.idle.stop()
        self.finish.stop()
        super().closeEvent(event)
