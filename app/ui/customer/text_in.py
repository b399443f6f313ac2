"""'Scan to get your receipt by text': the QR code that opens the phone's messaging app addressed to the
store with the sale's code, the same in words for a phone that cannot scan, and the consent the text
gives, in the very words the consent ledger records (`app.domain.text_in.consent_wording`)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.domain.channels import Language
from app.domain.text_in import consent_wording
from app.services.text_in import TextInOffer
from app.ui import theme
from app.ui.formatting import nowrap, phone
from app.ui.i18n import tr
from app.ui.widgets.qr import QrCode


class _Words(QLabel):
    """A wrapping label that asks for its text on one line, and wraps only when the room is narrower."""

    def __init__(self, factor: float, *, bold: bool = False) -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        theme.set_font(self, factor, bold=bold)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        margins = self.contentsMargins()
        one_line = self.fontMetrics().horizontalAdvance(self.text()) + margins.left() + margins.right() + 2
        return QSize(one_line, hint.height())


class TextInPanel(QWidget):
    """The code and its words side by side; its room is kept while hidden, so the choices above it
    stay where they are when an offer arrives (or none does)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("textIn")
        self.offer: TextInOffer | None = None
        self.language = Language.EN
        self._store = ""
        self.code = QrCode()
        self.heading = _Words(1.5, bold=True)
        self.manual = _Words(1.3)
        self.consent = QLabel()
        self.consent.setTextFormat(Qt.TextFormat.PlainText)
        self.consent.setWordWrap(True)
        self.consent.setProperty("muted", True)
        theme.set_font(self.consent, 1.1)
        words = QVBoxLayout()
        words.setSpacing(8)
        words.addStretch(1)
        words.addWidget(self.heading)
        words.addWidget(self.manual)
        words.addWidget(self.consent)
        words.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(24)
        row.addStretch(1)
        row.addWidget(self.code)
        row.addLayout(words)
        row.addStretch(1)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        policy.setVerticalPolicy(QSizePolicy.Policy.Maximum)
        self.setSizePolicy(policy)
        self.hide()

    def show_offer(self, offer: TextInOffer | None, *, store: str = "") -> None:
        """Show `offer`'s code and words for `store` (None: hide them, keeping the room)."""
        self.offer = offer
        self._store = store
        self.code.set_text(offer.sms_uri if offer else None)
        self.retranslate(self.language)
        self.setVisible(offer is not None)

    def retranslate(self, language: Language) -> None:
        """Words in `language`."""
        self.language = language
        offer = self.offer
        if offer is None:
            for label in (self.heading, self.manual, self.consent):
                label.clear()
            return
        values = {"body": nowrap(offer.body), "number": phone(offer.number)}
        self.heading.setText(tr("text_in_scan", language))
        self.manual.setText(tr("text_in_manual", language, **values))
        self.code.setAccessibleName(tr("text_in_code_name", language, **values))
        # as recorded when the text arrives: the body and the number exactly as the customer sends them
        self.consent.setText(consent_wording(language, store=self._store, body=offer.body, number=offer.number))

    @property
    def consent_shown(self) -> str | None:
        """The consent words beside the code, exactly as on screen, when shown."""
        return self.consent.text() if self.offer is not None and not self.isHidden() else None
