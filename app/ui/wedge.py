"""Keyboard-wedge scanners: a scan arrives as a burst of keystrokes ending in Enter; tell it from typing.

`KeyboardWedge` is an event filter on the kiosk's windows. Every key press enters Qt through its
window (`QWindow`) before it reaches the focused widget, so the filter, installed there, holds
printable key presses back for a moment: when they keep coming faster than `max_gap_ms` apart and
end in Enter after at least `min_length` characters, they were a scanner, are swallowed whole
(nothing lands in the focused text field) and `sig_scan` fires with the code. Anything slower,
shorter, or interrupted by another key is handed on unchanged, in order, to where it was going.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QWindow
from PySide6.QtWidgets import QWidget

ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
SCANNER_MODIFIERS = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
"""Modifiers a scanner may send with a character (Shift for capitals, Keypad for digits)."""


def copy_key_event(event: QKeyEvent) -> QKeyEvent:
    """A copy of a key event that outlives its delivery (Qt reuses the original)."""
    return QKeyEvent(
        event.type(),
        event.key(),
        event.modifiers(),
        event.nativeScanCode(),
        event.nativeVirtualKey(),
        event.nativeModifiers(),
        event.text(),
        event.isAutoRepeat(),
        event.count(),
    )


class KeyboardWedge(QObject):
    """Spots scanner bursts in the keystrokes of the windows it `watch()`es.

    `clock` gives milliseconds; by default (None) the keystrokes' own timestamps are used, which keep the
    real spacing even when the event loop was busy and delivers them late. It may be set later (a test
    types a scanner's burst at a known pace, whatever the machine's load).
    """

    sig_scan = Signal(str)
    """Fires with the code when a burst of keys ending in Enter was a scanner."""

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        max_gap_ms: float = 40.0,
        min_length: int = 6,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(parent)
        self.max_gap_ms = max_gap_ms
        self.min_length = min_length
        self.clock = clock
        self._held: list[tuple[QWindow, QKeyEvent]] = []
        self._chars: list[str] = []
        self._last = 0.0
        self._replaying = False
        self._eat_release: int | None = None
        self._watched: list[QWindow] = []
        self._timer = QTimer(self)
        self._timer.setObjectName("wedge-typing")
        self._timer.setSingleShot(True)
        # Generous: the gaps are judged on timestamps; the timer only hands slow typing on.
        self._timer.setInterval(max(60, math.ceil(2 * max_gap_ms)))
        self._timer.timeout.connect(self.flush)

    @property
    def holding(self) -> str:
        """The characters held back so far."""
        return "".join(self._chars)

    def watch(self, *widgets: QWidget) -> None:
        """Watch the keys of these top-level windows (their native windows are created if need be)."""
        for widget in widgets:
            widget.winId()
            window = widget.windowHandle()
            if window is not None and window not in self._watched:
                window.installEventFilter(self)
                self._watched.append(window)

    def close(self) -> None:
        """Stop watching; hand on anything held back."""
        self.flush()
        for window in self._watched:
            if shiboken6.isValid(window):
                window.removeEventFilter(self)
        self._watched.clear()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._replaying or not isinstance(watched, QWindow):
            return False
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        if kind == QEvent.Type.KeyRelease:
            return self._release(watched, event)
        return self._press(watched, event)

    def _now(self, event: QKeyEvent) -> float:
        return self.clock() if self.clock is not None else float(event.timestamp())

    def _press(self, window: QWindow, event: QKeyEvent) -> bool:
        now = self._now(event)
        if self._held and now - self._last > self.max_gap_ms:
            self.flush()  # too slow for a scanner: a person typing
        key = event.key()
        if key in ENTER_KEYS and not event.isAutoRepeat():
            if self._chars and len(self._chars) >= self.min_length:
                code = self.holding
                self._drop()
                self._eat_release = key
                self.sig_scan.emit(code)
                return True
            self.flush()
            return False
        text = event.text()
        scanner_like = (
            len(text) == 1
            and text.isprintable()
            and not event.isAutoRepeat()
            and not (event.modifiers() & ~SCANNER_MODIFIERS)
        )
        if not scanner_like:
            self.flush()
            return False
        self._held.append((window, copy_key_event(event)))
        self._chars.append(text)
        self._last = now
        self._timer.start()
        return True

    def _release(self, window: QWindow, event: QKeyEvent) -> bool:
        if self._eat_release is not None and event.key() == self._eat_release:
            self._eat_release = None
            return True
        if self._held:
            self._held.append((window, copy_key_event(event)))
            return True
        return False

    def _drop(self) -> None:
        self._timer.stop()
        self._held.clear()
        self._chars.clear()

    def flush(self) -> None:
        """Hand every held key on to its window, in order (they were typing, not a scan)."""
        held = list(self._held)
        self._drop()
        if not held:
            return
        self._replaying = True
        try:
            for window, event in held:
                if shiboken6.isValid(window):
                    QCoreApplication.sendEvent(window, event)
        finally:
            self._replaying = False
