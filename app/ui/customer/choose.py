"""'How would you like your receipt?': five choices (six with WhatsApp) of the same size and look, and
above them, for a customer on file, their masked contacts: one tap sends there. Below them, where the
store takes receipts by text-in, the QR code that texts the store for the receipt."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from app.domain.channels import Language
from app.services.kiosk import ReceiptChoice
from app.services.text_in import TextInOffer
from app.ui import theme
from app.ui.customer.page import Page, big_button
from app.ui.customer.text_in import TextInPanel
from app.ui.formatting import money
from app.ui.i18n import tr

ORDER: tuple[ReceiptChoice, ...] = (
    ReceiptChoice.EMAIL,
    ReceiptChoice.SMS,
    ReceiptChoice.BOTH,
    ReceiptChoice.WHATSAPP,
    ReceiptChoice.PRINT,
    ReceiptChoice.NONE,
)
KEYS = {
    ReceiptChoice.EMAIL: "choice_email",
    ReceiptChoice.SMS: "choice_sms",
    ReceiptChoice.BOTH: "choice_both",
    ReceiptChoice.WHATSAPP: "choice_whatsapp",
    ReceiptChoice.PRINT: "choice_print",
    ReceiptChoice.NONE: "choice_none",
}


class ChoosePage(Page):
    """Email, Text, Both, (WhatsApp,) Print, No receipt, on equal terms.

    WhatsApp is offered only with `whatsapp=True`: when routing has a WhatsApp provider. With
    `text_in=True` the room for the text-in code is kept below the choices (`show_text_in` fills it).
    """

    sig_chosen = Signal(object)
    """Fires with the `ReceiptChoice` the customer tapped."""

    sig_quick = Signal(object)
    """Fires with `ReceiptChoice.EMAIL` or `.SMS` when the customer tapped their contact on file."""

    sig_text_in = Signal(object)
    """Fires with the `TextInOffer` whose code came on screen, or None when the code went away."""

    def __init__(self, parent: QWidget | None = None, *, whatsapp: bool = False, text_in: bool = False) -> None:
        super().__init__(parent)
        self.total = QLabel()
        self.total.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_font(self.total, 1.5)
        self.total.setProperty("muted", True)
        self._amount: Decimal | None = None
        self._store = ""
        self._known: dict[ReceiptChoice, str] = {}
        self.quick: dict[ReceiptChoice, QPushButton] = {}
        quick_row = QHBoxLayout()
        quick_row.setSpacing(18)
        for choice in (ReceiptChoice.EMAIL, ReceiptChoice.SMS):
            button = big_button(1.6, primary=True)
            theme.touch_target(button, 2.6)
            button.clicked.connect(lambda _=False, c=choice: self.sig_quick.emit(c))
            button.hide()
            quick_row.addWidget(button, 1)
            self.quick[choice] = button
        self.quick_consent = QLabel()
        self.quick_consent.setTextFormat(Qt.TextFormat.PlainText)
        self.quick_consent.setWordWrap(True)
        self.quick_consent.setProperty("muted", True)
        theme.set_font(self.quick_consent, 1.15)
        self.quick_consent.hide()
        self.buttons: dict[ReceiptChoice, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(18)
        offered = [c for c in ORDER if whatsapp or c is not ReceiptChoice.WHATSAPP]
        for index, choice in enumerate(offered):
            button = big_button(1.7)
            button.setProperty("choice", True)
            theme.touch_target(button, 3.2)
            button.clicked.connect(lambda _=False, c=choice: self.sig_chosen.emit(c))
            grid.addWidget(button, index // 3, index % 3)
            self.buttons[choice] = button
        for column in range(3):
            grid.setColumnStretch(column, 1)
        self.body.addWidget(self.total)
        self.body.addStretch(1)
        self.body.addLayout(quick_row)
        self.body.addWidget(self.quick_consent)
        self.body.addSpacing(12)
        self.body.addLayout(grid)
        self.text_in: TextInPanel | None = None
        if text_in:
            self.text_in = TextInPanel()
            self.body.addStretch(1)
            self.body.addWidget(self.text_in)
            self.body.addStretch(1)
        else:
            self.body.addStretch(2)

    def set_total(self, amount: Decimal) -> None:
        """Show the sale's total under the question."""
        self._amount = amount
        self.total.setText(tr("total", self.language, total=money(amount)))

    def set_known(self, store: str, *, email: str | None, phone: str | None) -> None:
        """Offer the masked contacts on file (None: not on file) as one-tap choices."""
        self._store = store
        self._known = {c: v for c, v in ((ReceiptChoice.EMAIL, email), (ReceiptChoice.SMS, phone)) if v}
        for choice, button in self.quick.items():
            button.setVisible(choice in self._known)
        self.quick_consent.setVisible(ReceiptChoice.SMS in self._known)
        self.retranslate(self.language)

    def show_text_in(self, offer: TextInOffer | None, *, store: str = "") -> None:
        """Show the text-in code of `offer` for `store` under the choices (None: hide it; its room stays)."""
        if self.text_in is not None and (offer is not None or self.text_in.offer is not None):
            self.text_in.show_offer(offer, store=store)
            self.sig_text_in.emit(offer)

    @property
    def text_in_shown(self) -> TextInOffer | None:
        """The text-in offer whose code is on screen, if any."""
        return self.text_in.offer if self.text_in is not None and not self.text_in.isHidden() else None

    @property
    def quick_consent_shown(self) -> str | None:
        """The text-message consent under the one-tap text button, exactly as on screen, when shown."""
        return self.quick_consent.text() if not self.quick_consent.isHidden() else None

    def retranslate(self, language: Language) -> None:
        super().retranslate(language)
        self.title.setText(tr("how", language))
        for choice, button in self.buttons.items():
            button.setText(tr(KEYS[choice], language))
            button.setAccessibleName(tr(KEYS[choice], language))
        for choice, contact in self._known.items():
            key = "quick_email" if choice is ReceiptChoice.EMAIL else "quick_sms"
            self.quick[choice].setText(tr(key, language, contact=contact))
            self.quick[choice].setAccessibleName(tr(key, language, contact=contact))
        if ReceiptChoice.SMS in self._known:
            contact = self._known[ReceiptChoice.SMS]
            self.quick_consent.setText(tr("quick_sms_consent", language, store=self._store, contact=contact))
        if self._amount is not None:
            self.total.setText(tr("total", language, total=money(self._amount)))
        if self.text_in is not None:
            self.text_in.retranslate(language)
