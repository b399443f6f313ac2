"""The one way a failure reaches a person: `show_error`.

It turns any exception into a sentence someone at the till can act on (never a traceback; the
trace goes to the log), shows it once in the window's error banner, and tells the status bars
through `error_feed().sig_error`.
"""

from __future__ import annotations

import logging

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from app.domain.errors import ReceiptDeskError

log = logging.getLogger(__name__)

UNEXPECTED = (
    "Something went wrong inside ReceiptDesk. Try again; if it keeps happening, restart the kiosk "
    "and call support (the details are in the log)."
)


def describe_error(error: BaseException) -> str:
    """The words a cashier or manager sees for `error`."""
    if isinstance(error, ReceiptDeskError):
        return error.message
    if isinstance(error, PermissionError):
        return (
            f"ReceiptDesk is not allowed to use {error.filename or 'a file it needs'}. Choose another place or ask IT."
        )
    if isinstance(error, OSError):
        what = error.strerror or type(error).__name__
        return f"ReceiptDesk could not reach a file or the network ({what}). Check the connection and try again."
    return UNEXPECTED


class ErrorFeed(QObject):
    """Where every shown error is announced (status bars listen)."""

    sig_error = Signal(str)
    """Fires with the message each time `show_error` shows one."""
    sig_resolved = Signal(str)
    """Fires with a message shown earlier once what it said no longer holds (a lockout ended in a sign-in)."""


_feed: ErrorFeed | None = None


def error_feed() -> ErrorFeed:
    """The application's error feed (created on first use, owned by the QApplication)."""
    global _feed
    if _feed is None or not shiboken6.isValid(_feed):
        _feed = ErrorFeed(QApplication.instance())
    return _feed


class ErrorBanner(QFrame):
    """A dismissable line at the top of a window showing the latest error, once."""

    sig_dismissed = Signal()
    """Fires when the person closes the banner."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setAccessibleName("Error message")
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("Dismiss")
        close.setAccessibleName("Dismiss the error message")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.addWidget(self._label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @property
    def message(self) -> str:
        """The message shown (empty when hidden)."""
        return self._label.text() if not self.isHidden() else ""

    def show_message(self, message: str, error: BaseException) -> None:
        """Show `message`; the same message twice in a row is shown once."""
        self._label.setText(message)
        self._label.setAccessibleName(message)
        self.show()

    def dismiss(self) -> None:
        """Hide the banner."""
        self.hide()
        self._label.clear()
        self.sig_dismissed.emit()


def show_error(error: BaseException, parent: QWidget | None = None) -> QMessageBox | None:
    """Show `error` to the person at `parent`'s window: in its banner, or in a message box (returned)."""
    message = describe_error(error)
    if isinstance(error, ReceiptDeskError):
        log.info("shown to the user: %s", message)
    else:
        log.error("unexpected error shown to the user as %r", message, exc_info=error)
    window = parent.window() if parent is not None and shiboken6.isValid(parent) else None
    banner = window.findChild(ErrorBanner) if window is not None else None
    if banner is not None:
        if banner.message == message:
            return None
        banner.show_message(message, error)
        error_feed().sig_error.emit(message)
        return None
    box = QMessageBox(QMessageBox.Icon.Warning, "ReceiptDesk", message, QMessageBox.StandardButton.Ok, window)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    error_feed().sig_error.emit(message)
    return box
