"""Typing an email address (keyboard, typo help) or a mobile number (keypad), checked before going on."""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QWidget

from app.domain.channels import Language
from app.domain.contacts import normalise_email, normalise_phone
from app.domain.errors import ValidationFailed
from app.ui import theme
from app.ui.customer.page import Page, big_button
from app.ui.customer.typos import still_typing, suggest_email
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


def national(e164: str) -> str:
    """`+12175550123` -> `2175550123`: the digits a customer typed for a US number."""
    digits = "".join(c for c in e164 if c.isdigit())
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


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
        self.suggestion = big_button(1.3, primary=True)
        self.suggestion.clicked.connect(self._use_suggestion)
        self.keep = big_button(1.3)
        self.keep.clicked.connect(self._keep)
        self._suggested: str | None = None
        self._asked: str | None = None
        self.hint_area = self._hint_area()
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
        self.body.addWidget(self.hint_area)
        self.body.addWidget(self.keys, 1)
        self.body.addLayout(buttons)

    def _hint_area(self) -> QWidget:
        """The problem / 'Did you mean' line and its two answers, in a strip of fixed height: the
        keyboard below never moves when a hint comes or goes."""
        area = QWidget()
        row = QHBoxLayout(area)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.problem, 1)
        for button in (self.suggestion, self.keep):
            button.hide()
            row.addWidget(button)
        lines = self.problem.fontMetrics().lineSpacing() * 2 + 4
        area.setFixedHeight(max(self.suggestion.minimumHeight(), lines))
        return area

    def start(self, text: str = "") -> None:
        """The field holding `text` (empty: a fresh start), no messages, cursor in the field."""
        self.field.setText(text)
        self._asked = None
        self._show_hint(None)
        self.field.setFocus()

    def submit(self) -> None:
        """Check what was typed; go on with it, ask once about a likely typo, or say what is wrong."""
        text = self.field.text().strip()
        try:
            value = normalise_email(text) if self.kind == "email" else normalise_phone(text)
        except ValidationFailed:
            self._show_hint(None)
            self.problem.setText(tr("invalid_email" if self.kind == "email" else "invalid_phone", self.language))
            return
        suggested = suggest_email(text) if self.kind == "email" else None
        if suggested and self._asked != text:
            self._asked = text
            self._show_hint(suggested)
            return
        self._show_hint(None)
        self.sig_entered.emit(value)

    def _check_typo(self, text: str) -> None:
        suggested = suggest_email(text)
        self._show_hint(suggested if suggested and not still_typing(text, suggested) else None)

    def _show_hint(self, suggested: str | None) -> None:
        self._suggested = suggested
        self.suggestion.setVisible(suggested is not None)
        self.keep.setVisible(suggested is not None)
        self._label_hint()

    def _label_hint(self) -> None:
        language, suggested = self.language, self._suggested
        if suggested is None:
            self.problem.clear()
            return
        domain = suggested.rpartition("@")[2]
        self.problem.setText(tr("did_you_mean", language, address=domain))
        self.suggestion.setText(tr("use_suggestion", language, address=domain))
        self.suggestion.setAccessibleName(tr("use_suggestion", language, address=suggested))
        typed = self.field.text().strip().rpartition("@")[2]
        self.keep.setText(tr("keep_typed", language, address=typed))
        self.keep.setAccessibleName(tr("keep_typed", language, address=typed))

    def _use_suggestion(self) -> None:
        if self._suggested:
            self.field.setText(self._suggested)
            self.field.setFocus()

    def _keep(self) -> None:
        """The customer says the unusual address is right: take it as typed."""
        self._asked = self.field.text().strip()
        self.submit()

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
        self._label_hint()
