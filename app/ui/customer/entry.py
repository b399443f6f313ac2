"""Typing an email address (keyboard, typo help) or a mobile number (keypad), checked before going on."""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.domain.channels import Language
from app.domain.contacts import normalise_email, normalise_phone
from app.domain.errors import ValidationFailed
from app.ui import theme
from app.ui.customer.page import Page, big_button
from app.ui.customer.typos import suggest_email
from app.ui.i18n import tr
from app.ui.widgets.keyboard import OnScreenKeyboard
from app.ui.widgets.keypad import Keypad

Kind = Literal["email", "phone"]


def format_us_phone(digits: str) -> str:
    """`2175550123` -> `(217) 555-0123` as far as typed; other lengths are left as digits."""
    if digits.startswith("1") and len(digits) == 11:
        digits = digits[1:]
    if len(digits) > 10:
        return digits
    if len(digits) <= 3:
        return digits
    if len(digits) <= 6:
        return f"({digits[:3]}) {digits[3:]}"
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


class EntryPage(Page):
    """One field, big; an on-screen keyboard (email) or keypad (phone); Back and Next."""

    sig_entered = Signal(str)
    """Fires with the normalised address or E.164 number when the customer pressed Next on a valid one."""

    sig_back = Signal()
    """Fires when the customer pressed Back."""

    def __init__(self, kind: Kind, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.field = QLineEdit()
        theme.set_font(self.field, 2.0)
        self.field.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.field.setMinimumHeight(int(self.field.fontMetrics().height() * 1.8))
        self.field.returnPressed.connect(self.submit)
        self.problem = QLabel()
        self.problem.setProperty("hint", "bad")
        self.problem.setWordWrap(True)
        self.problem.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_font(self.problem, 1.3)
        self.suggestion = QPushButton()
        theme.set_font(self.suggestion, 1.4)
        theme.touch_target(self.suggestion, 2.2)
        self.suggestion.hide()
        self.suggestion.clicked.connect(self._use_suggestion)
        self._suggested: str | None = None
        self.back = big_button(1.4)
        self.back.clicked.connect(self.sig_back)
        self.next = big_button(1.4, primary=True)
        self.next.clicked.connect(self.submit)
        self.keys: OnScreenKeyboard | Keypad
        if kind == "email":
            self.keys = OnScreenKeyboard(self.field)
            self.field.setInputMethodHints(Qt.InputMethodHint.ImhEmailCharactersOnly)
            self.field.textChanged.connect(self._check_typo)
        else:
            self.keys = Keypad(self.field)
            self.field.setInputMethodHints(Qt.InputMethodHint.ImhDialableCharactersOnly)
            self.field.textChanged.connect(self._format_phone)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back, 1)
        buttons.addStretch(1)
        buttons.addWidget(self.next, 2)
        self.body.addWidget(self.field)
        self.body.addWidget(self.problem)
        self.body.addWidget(self.suggestion, 0, Qt.AlignmentFlag.AlignHCenter)
        self.body.addWidget(self.keys, 1)
        self.body.addLayout(buttons)

    def start(self) -> None:
        """Empty field, no messages, cursor in the field."""
        self.field.clear()
        self.problem.clear()
        self.suggestion.hide()
        self.field.setFocus()

    def submit(self) -> None:
        """Check what was typed; go on with it, or say what is wrong."""
        text = self.field.text().strip()
        try:
            value = normalise_email(text) if self.kind == "email" else normalise_phone(text)
        except ValidationFailed:
            self.problem.setText(tr("invalid_email" if self.kind == "email" else "invalid_phone", self.language))
            return
        self.problem.clear()
        self.sig_entered.emit(value)

    def _check_typo(self, text: str) -> None:
        self.problem.clear()
        self._suggested = suggest_email(text)
        if self._suggested:
            self.suggestion.setText(tr("use_suggestion", self.language, address=self._suggested))
            self.suggestion.setAccessibleName(tr("did_you_mean", self.language, address=self._suggested))
            self.problem.setText(tr("did_you_mean", self.language, address=self._suggested))
            self.suggestion.show()
        else:
            self.suggestion.hide()

    def _use_suggestion(self) -> None:
        if self._suggested:
            self.field.setText(self._suggested)
            self.field.setFocus()

    def _format_phone(self, text: str) -> None:
        self.problem.clear()
        digits = "".join(c for c in text if c.isdigit())
        formatted = format_us_phone(digits)
        if formatted != text:
            self.field.blockSignals(True)
            self.field.setText(formatted)
            self.field.blockSignals(False)

    def retranslate(self, language: Language) -> None:
        super().retranslate(language)
        email = self.kind == "email"
        self.title.setText(tr("email_title" if email else "phone_title", language))
        self.field.setPlaceholderText(tr("email_placeholder" if email else "phone_placeholder", language))
        self.field.setAccessibleName(tr("email_title" if email else "phone_title", language))
        self.back.setText(tr("back", language))
        self.next.setText(tr("next", language))
        self.keys.retranslate(language)
        if self._suggested and not self.suggestion.isHidden():
            self._check_typo(self.field.text())
