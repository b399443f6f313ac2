"""Health polling and the status bar every staff window shows: online, queue depth, last error."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from app.domain.barcodes import Scan, ScanKind
from app.domain.errors import ReceiptDeskError
from app.services.bus import DeviceStateChanged
from app.services.health import Health, HealthService
from app.services.printing import PRINTER_PROVIDER
from app.ui import theme
from app.ui.bridge import EventBridge
from app.ui.errors import describe_error, error_feed
from app.ui.formatting import age_text
from app.ui.tasks import TaskOwner

POLL_MS = 3000
SHOWN_ERROR_S = 60.0
"""How long an error shown to someone stays in the status bars when nobody dismisses it."""
SETTLE_MS = 400
UNREACHABLE = ("could not be reached", "did not answer", "dropped before it answered", "request failed")
"""How `app.providers.base.translate_http_errors` words a provider that cannot be reached."""


class HealthMonitor(QObject):
    """Polls `HealthService.check()` every few seconds, and soon after the outbox changes."""

    sig_health = Signal(object)
    """Fires with a fresh `Health` after each successful check."""

    sig_failed = Signal(str)
    """Fires with a message when a health check itself failed (the database is unreachable)."""

    def __init__(self, health: HealthService, bridge: EventBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._health = health
        self.tasks = TaskOwner(None, "health")
        self.latest: Health | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.refresh)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self.refresh)
        bridge.sig_deliveries_queued.connect(self._soon)
        bridge.sig_delivery_changed.connect(self._soon)

    def start(self) -> None:
        """Check now and every few seconds."""
        self._poll.start()
        self.refresh()

    async def stop(self) -> None:
        """Stop polling and wait for a check in flight."""
        self._poll.stop()
        self._settle.stop()
        await self.tasks.close()

    def _soon(self, *_args: object) -> None:
        if not self._settle.isActive():
            self._settle.start()

    def refresh(self) -> None:
        """Check health now, unless a check is already running."""
        if self.tasks.pending == 0:
            self.tasks.start(self._check(), "check")

    async def _check(self) -> None:
        try:
            health = await self._health.check()
        except (ReceiptDeskError, OSError) as exc:
            self.sig_failed.emit(describe_error(exc))
            return
        self.latest = health
        self.sig_health.emit(health)


def online_text(health: Health) -> tuple[str, bool]:
    """The status words and whether all is well."""
    if (health.capture or "").startswith("failed"):  # the legacy POS cannot print through this terminal
        return f"Receipt capture {health.capture}. The POS's receipts may not be printing.", False
    if not health.dispatcher_running:
        return "Offline: sending is stopped", False
    failing = [p for p in health.providers if p.state == "failing" and p.provider != PRINTER_PROVIDER]
    printer = next((p for p in health.providers if p.provider == PRINTER_PROVIDER and p.state == "failing"), None)
    if printer is not None and not failing:  # the cashier can fix this one: say what the printer said
        return f"Printer: {printer.last_error or 'not printing'} Paper receipts wait in the queue.", False
    unreachable = [p.provider for p in failing if p.last_error and any(w in p.last_error for w in UNREACHABLE)]
    if unreachable:
        return f"Offline: {', '.join(unreachable)} cannot be reached; receipts wait in the queue", False
    if failing:
        return f"Online, but {', '.join(p.provider for p in failing)} refused the last receipt (see last error)", False
    return "Online", True


SCANNER_WORDS = {"connected": "connected", "reconnecting": "reconnecting\u2026", "off": "off"}


class ScannerStatus(QLabel):
    """The serial scanner's state (connected / reconnecting / off) and what the last scan was."""

    def __init__(self, state: str = "off", detail: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Scanner status")
        self._state = state
        self._scan = ""
        self._ok = True
        self._show(detail)

    def show_state(self, event: DeviceStateChanged) -> None:
        """A device changed state; shown when it is the scanner."""
        if event.device == "scanner":
            self._state = event.state
            self._show(event.detail)

    def show_scan(self, scan: Scan) -> None:
        """Say what was just scanned (unknown codes in the warning colour)."""
        self._scan = scan.message
        self._ok = scan.kind is not ScanKind.UNKNOWN
        self._show(self.toolTip() or None)

    def _show(self, detail: str | None) -> None:
        words = f"Scanner: {SCANNER_WORDS.get(self._state, self._state)}"
        self.setText(words + (f" \u00b7 {self._scan}" if self._scan else ""))
        self.setToolTip(detail or "")
        bad = self._state == "reconnecting" or not self._ok
        theme.hint(self, "bad" if bad else None)


def current_problem(health: Health) -> str | None:
    """The newest error of a provider that is failing now; None once every provider sent since its
    last error (an old error is history, for the manager's Health page, not a status)."""
    failing = [p for p in health.providers if p.state == "failing" and p.last_error and p.last_error_at]
    if not failing:
        return None
    newest = max(failing, key=lambda p: p.last_error_at or datetime.min.replace(tzinfo=UTC))
    return f"{newest.provider}: {newest.last_error}"


class StatusPanel(QWidget):
    """Online/offline, queue depth and the error that still stands, for a window's status bar.

    Two kinds of error show as "Last error": a provider failing now (from each health check, gone
    as soon as that provider sends again) and a message `show_error` just showed (gone when the
    window's banner is dismissed, or at the first health check a minute later). The newer shows.
    """

    def __init__(self, monitor: HealthMonitor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._online = QLabel("Checking\u2026")
        self._online.setAccessibleName("Connection status")
        self._queue = QLabel("")
        self._queue.setAccessibleName("Queue depth")
        self._error = QLabel("")
        self._error.setAccessibleName("Last error")
        self._error.setProperty("hint", "bad")
        self._problem: str | None = None
        self._shown: str | None = None
        self._shown_at = 0.0
        self.clock: Callable[[], float] = time.monotonic
        self._newest: str | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label in (self._online, self._queue):
            layout.addWidget(label)
        layout.addWidget(self._error, 1)
        monitor.sig_health.connect(self.show_health)
        monitor.sig_failed.connect(self._show_failed)
        error_feed().sig_error.connect(self.show_last_error)
        error_feed().sig_resolved.connect(self._resolved)
        if monitor.latest is not None:
            self.show_health(monitor.latest)

    @property
    def texts(self) -> tuple[str, str, str]:
        """What the panel says (status, queue, last error)."""
        return self._online.text(), self._queue.text(), self._error.text()

    def show_health(self, health: Health) -> None:
        """Show a fresh health snapshot."""
        words, ok = online_text(health)
        self._online.setText(("\u25cf " if ok else "\u25b2 ") + words)
        theme.hint(self._online, "good" if ok else "bad")
        age = health.oldest_pending_age_s
        oldest = f", oldest waiting {age_text(age)}" if age is not None and age >= 1 else ""
        self._queue.setText(f"Queue: {health.queue_depth}{oldest}")
        problem = current_problem(health)
        if problem is not None and problem != self._problem:
            self._newest = problem
        self._problem = problem
        if self._shown is not None and self.clock() - self._shown_at >= SHOWN_ERROR_S:
            self._shown = None
        self._show_error()

    def _show_failed(self, message: str) -> None:
        self._online.setText("\u25b2 Offline: " + message)
        theme.hint(self._online, "bad")

    def show_last_error(self, message: str) -> None:
        """Show an error just shown to someone, until `clear_shown_error`."""
        self._shown = self._newest = message
        self._shown_at = self.clock()
        self._show_error()

    def _resolved(self, message: str) -> None:
        if self._shown == message:
            self.clear_shown_error()

    def clear_shown_error(self) -> None:
        """The person dismissed the error they were shown: it is no longer a status."""
        self._shown = None
        self._show_error()

    def _show_error(self) -> None:
        standing = [m for m in (self._problem, self._shown) if m]
        message = self._newest if self._newest in standing else (standing[0] if standing else None)
        if message is None:
            self._error.clear()
            self._error.setToolTip("")
            return
        short = message if len(message) <= 90 else message[:89] + "\u2026"
        self._error.setText(f"Last error: {short}")
        self._error.setToolTip(message)
