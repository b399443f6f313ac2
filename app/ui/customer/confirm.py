"""'We'll send it to j***@gmail.com': the masked contacts, Change / Not me, SMS or WhatsApp consent, remember."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.domain.channels import Channel, Language
from app.ui import theme
from app.ui.customer.entry import format_us_phone, national
from app.ui.customer.flow import CustomerSession
from app.ui.customer.page import Page, big_button
from app.ui.i18n import tr
from app.ui.widgets.touch_size import at_least_touch


class RoomyCheckBox(QCheckBox):
    """A check box whose whole rectangle (at least 48 px tall) takes the tap, not only the box and its words."""

    def hitButton(self, pos: QPoint) -> bool:
        return self.rect().contains(pos)


class ConfirmPage(Page):
    """Shows where the receipt goes, the SMS or WhatsApp consent in full when texting, and sends.

    The phone row (`Channel.SMS`) stands for the number either kind of text goes to.
    """

    sig_send = Signal()
    """Fires when the customer confirmed (and, for a text, agreed to the consent shown)."""

    sig_change = Signal(object)
    """Fires with the `Channel` whose contact the customer wants to type again."""

    sig_not_me = Signal()
    """Fires when the customer says the customer on file is not them."""

    sig_back = Signal()
    """Fires when the customer pressed Back."""

    def __init__(self, store: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._session: CustomerSession | None = None
        self.lines: dict[Channel, QLabel] = {}
        self.changes: dict[Channel, QPushButton] = {}
        grid = QGridLayout()
        for row, channel in enumerate((Channel.EMAIL, Channel.SMS)):
            line = QLabel()
            line.setTextFormat(Qt.TextFormat.PlainText)
            line.setWordWrap(True)
            theme.set_font(line, 1.7)
            change = big_button(1.3)
            change.clicked.connect(lambda _=False, c=channel: self.sig_change.emit(c))
            grid.addWidget(line, row, 0)
            grid.addWidget(change, row, 1)
            grid.setColumnStretch(0, 1)
            self.lines[channel], self.changes[channel] = line, change
        self.not_me = big_button(1.3)
        self.not_me.clicked.connect(self.sig_not_me)
        self.consent_box = QFrame()
        self.consent_box.setObjectName("consent")  # its card look is the style sheet's, so a switch shows at once
        self.consent_heading = QLabel()
        theme.set_font(self.consent_heading, 1.4, bold=True)
        self.consent_text = QLabel()
        self.consent_text.setTextFormat(Qt.TextFormat.PlainText)
        self.consent_text.setWordWrap(True)
        theme.set_font(self.consent_text, 1.4)
        consent_layout = QVBoxLayout(self.consent_box)
        consent_layout.setContentsMargins(18, 14, 18, 14)
        consent_layout.addWidget(self.consent_heading)
        consent_layout.addWidget(self.consent_text)
        self.remember = RoomyCheckBox()
        theme.set_font(self.remember, 1.4)
        self.remember.setStyleSheet("QCheckBox::indicator { width: 32px; height: 32px; }")
        at_least_touch(self.remember)
        self.back = big_button(1.4)
        self.back.clicked.connect(self.sig_back)
        self.send = big_button(1.5, primary=True)
        self.send.clicked.connect(self.sig_send)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back, 1)
        buttons.addStretch(1)
        buttons.addWidget(self.send, 2)
        self.body.addLayout(grid)
        self.body.addWidget(self.not_me, 0, Qt.AlignmentFlag.AlignLeft)
        self.body.addWidget(self.consent_box)
        self.body.addStretch(1)
        self.body.addWidget(self.remember)
        self.body.addLayout(buttons)

    @property
    def consent_shown(self) -> str | None:
        """The consent text exactly as on screen, when it is shown."""
        return self.consent_text.text() if not self.consent_box.isHidden() else None

    def show_session(self, session: CustomerSession) -> None:
        """Fill the page for `session` and reset the remember box."""
        self._session = session
        self.remember.setChecked(False)
        self.retranslate(session.language)

    def retranslate(self, language: Language) -> None:
        super().retranslate(language)
        session = self._session
        self.not_me.setText(tr("not_me", language))
        self.back.setText(tr("back", language))
        self.remember.setText(tr("remember", language))
        whatsapp = session is not None and Channel.WHATSAPP in session.channels
        self.consent_heading.setText(tr("whatsapp_consent_heading" if whatsapp else "consent_heading", language))
        self.consent_text.setText(tr("whatsapp_consent" if whatsapp else "sms_consent", language, store=self._store))
        if session is None:
            return
        customer = session.sale.customer
        if session.known and customer is not None:
            first = (customer.name or "").split(" ")[0]
            key = "welcome_back" if first else "welcome_back_anonymous"
            self.title.setText(tr(key, language, name=first))
        else:
            self.title.setText(tr("confirm_title", language))
        texting = session.texting
        for channel in (Channel.EMAIL, Channel.SMS):
            wanted = channel in session.channels or (channel is Channel.SMS and texting)
            masked = self._masked(session, channel)
            key = "send_to_email" if channel is Channel.EMAIL else "send_to_whatsapp" if whatsapp else "send_to_sms"
            self.lines[channel].setText(tr(key, language, contact=masked) if masked else "")
            self.lines[channel].setVisible(wanted)
            self.changes[channel].setVisible(wanted)
            self.changes[channel].setText(tr("change", language))
            self.changes[channel].setAccessibleName(f"{tr('change', language)}: {masked}")
        from_file = (Channel.EMAIL in session.channels and session.email is None) or (texting and session.phone is None)
        self.not_me.setVisible(session.known and from_file)
        self.consent_box.setVisible(texting)
        self.send.setText(tr("agree_send" if texting else "send", language))

    @staticmethod
    def _masked(session: CustomerSession, channel: Channel) -> str | None:
        """What the customer just typed in full (they must be able to check it); a contact on file masked."""
        if channel is Channel.EMAIL:
            return session.email or session.email_on_file
        return format_us_phone(national(session.phone)) if session.phone else session.phone_on_file
