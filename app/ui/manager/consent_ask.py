"""The consent page a manager's resend by text puts on the customer screen: the number in full, the
kiosk's own consent wording in the customer's language, and "I agree, send it" or "No, thanks".

It shows over the customer screen without taking the focus (the manager keeps typing), and it is
answered by the customer's tap only.
"""

from __future__ import annotations

import asyncio

import shiboken6
from PySide6.QtCore import QEvent, QRect, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.domain.channels import Channel, Language
from app.ui import theme
from app.ui.formatting import phone
from app.ui.i18n import tr

CUSTOMER_SCREEN = "Customer screen"
"""The accessible name of the customer's window, whose place the page takes."""


def consent_wording(channel: Channel, language: Language, store: str) -> str:
    """The kiosk's consent text for `channel` (SMS or WhatsApp), as the customer reads it."""
    return tr("whatsapp_consent" if channel is Channel.WHATSAPP else "sms_consent", language, store=store)


class ConsentAsk(QWidget):
    """A window on the customer's screen asking them to agree to a receipt by text; never focused."""

    sig_answered = Signal(bool)
    """Fires with the customer's answer: True when they tapped "I agree, send it"."""

    def __init__(self, store: str, parent: QWidget | None = None) -> None:
        super().__init__(
            parent, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowDoesNotAcceptFocus
        )
        self._store = store
        self._focused: QWidget | None = None  # the window that had the focus when the page was shown
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setObjectName("page")
        self.setAccessibleName("Text message consent")
        self.title = QLabel()
        self.title.setWordWrap(True)
        theme.set_font(self.title, theme.TYPE_SCALE.get("heading", 1.8), bold=True)
        self.number = QLabel()
        self.number.setTextFormat(Qt.TextFormat.PlainText)
        theme.set_font(self.number, theme.TYPE_SCALE.get("title", 1.5), bold=True)
        self.heading = QLabel()
        theme.set_font(self.heading, 1.4, bold=True)
        self.wording = QLabel()
        self.wording.setTextFormat(Qt.TextFormat.PlainText)
        self.wording.setWordWrap(True)
        theme.set_font(self.wording, 1.4)
        box = QFrame()
        box.setFrameShape(QFrame.Shape.StyledPanel)
        box_layout = QVBoxLayout(box)
        box_layout.addWidget(self.heading)
        box_layout.addWidget(self.wording)
        self.agree = QPushButton()
        self.agree.setProperty("primary", True)
        self.agree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.agree.clicked.connect(lambda: self._answer(True))
        self.decline = QPushButton()
        self.decline.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.decline.clicked.connect(lambda: self._answer(False))
        for button in (self.agree, self.decline):
            theme.set_font(button, 1.4, bold=True)
            theme.touch_target(button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.decline)
        buttons.addWidget(self.agree, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 32, 40, 32)
        layout.addWidget(self.title)
        layout.addWidget(self.number)
        layout.addWidget(box)
        layout.addStretch(1)
        layout.addLayout(buttons)

    def show_question(self, channel: Channel, number: str, language: Language) -> str:
        """Show the page for a text on `channel` to `number`; returns the consent text shown."""
        wording = consent_wording(channel, language, self._store)
        whatsapp = channel is Channel.WHATSAPP
        self.title.setText(tr("resend_consent_title", language))
        self.number.setText(tr("send_to_whatsapp" if whatsapp else "send_to_sms", language, contact=phone(number)))
        self.heading.setText(tr("whatsapp_consent_heading" if whatsapp else "consent_heading", language))
        self.wording.setText(wording)
        self.agree.setText(tr("agree_send", language))
        self.decline.setText(tr("resend_decline", language))
        self.setGeometry(self._place())
        focused = QApplication.activeWindow()
        self._focused = focused if focused is not self else None
        self.show()
        return wording

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.WindowActivate
            and self._focused is not None
            and shiboken6.isValid(self._focused)
        ):
            self._focused.activateWindow()  # a window system that activated the page anyway: the focus goes back
        return super().event(event)

    async def ask(self, channel: Channel, number: str, language: Language) -> tuple[bool, str]:
        """Show the page and wait for the customer's tap: (agreed, the consent text shown)."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def answered(agreed: bool) -> None:
            if not answer.done():
                answer.set_result(agreed)

        self.sig_answered.connect(answered)
        try:
            wording = self.show_question(channel, number, language)
            return await answer, wording
        finally:
            self.sig_answered.disconnect(answered)
            self.hide()

    def withdraw(self) -> None:
        """Take the question back (the manager locked or left): it counts as no answer, nothing is sent."""
        if self.isVisible():
            self._answer(False)

    def _answer(self, agreed: bool) -> None:
        self.sig_answered.emit(agreed)

    def _place(self) -> QRect:
        """Where the customer looks: over the customer screen when it shows, else its screen's middle."""
        customer = next((w for w in QApplication.topLevelWidgets() if w.accessibleName() == CUSTOMER_SCREEN), None)
        if customer is not None and customer.isVisible():
            return customer.geometry()
        screen = customer.screen() if customer is not None else QGuiApplication.primaryScreen()
        room = screen.availableGeometry()
        width, height = min(room.width(), 760), min(room.height(), 600)
        return QRect(room.center().x() - width // 2, room.center().y() - height // 2, width, height)
