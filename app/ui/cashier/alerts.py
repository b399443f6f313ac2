"""Failed deliveries the cashier cannot miss: a banner per failure, a sound, and a count.

A failure used to be red text in a column that was off-screen at 1366 px while the customer had
already been told "Your receipt is on its way". Now each failed delivery stands above the sale
panel in one plain sentence (which sale, which channel, why) with Retry and "Send another way"
on it, so nothing has to be selected first. It stays until the delivery goes out again, the
cashier sends the receipt another way, or the cashier dismisses it.

Failures can come by the hundred (a provider down while a backlog drains): the banners are redrawn
once for each burst (`REDRAW_MS`), only when the ones shown change, and the sound plays once for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.ui.formatting import RETRYABLE

SHOWN = 2
"""At most this many failures are shown at once (the newest), so the window still fits a 768 px
screen; the status bar counts them all, and the next shows as one is dealt with."""

REDRAW_MS = 100
"""The banners follow the failures at most this late; what changes meanwhile is drawn once."""

CHANNEL_NOUNS: dict[Channel, str] = {
    Channel.EMAIL: "email",
    Channel.SMS: "text message",
    Channel.WHATSAPP: "WhatsApp message",
    Channel.PUSH: "app notification",
    Channel.PRINT: "printed receipt",
}


@dataclass(frozen=True, slots=True)
class FailureAlert:
    """One failed delivery of one sale."""

    delivery_id: str
    receipt_id: str
    sale_id: str
    channel: Channel
    recipient: str  # masked
    state: DeliveryState
    error: str | None


def plain_reason(error: str | None) -> str:
    """The provider's reason as one sentence (first letter up, a full stop at the end)."""
    reason = " ".join((error or "").split())
    if not reason:
        return "The provider gave no reason."
    reason = reason[0].upper() + reason[1:]
    return reason if reason.endswith((".", "!", "?")) else reason + "."


def failure_sentence(alert: FailureAlert) -> str:
    """`Sale K1234: the text message to (***) ***-0142 was not sent. Twilio answered 400: ….`"""
    noun = CHANNEL_NOUNS.get(alert.channel, alert.channel.value)
    to = f" to {alert.recipient}" if alert.recipient else ""
    verb = "bounced" if alert.state is DeliveryState.BOUNCED else "was not sent"
    return f"Sale {alert.sale_id}: the {noun}{to} {verb}. {plain_reason(alert.error)}"


class AlertRow(QFrame):
    """One failure: its sentence, Retry, Send another way, Dismiss."""

    def __init__(self, alert: FailureAlert, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")  # the banner look of the style sheet
        self.setAccessibleName("Failed receipt")
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # an error is text from outside, never HTML
        self.label.setWordWrap(True)
        self.retry_button = QPushButton("Retry")
        self.switch_button = QPushButton("Send another way\u2026")
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setAccessibleName("Dismiss this alert")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.addWidget(self.label, 1)
        for button in (self.retry_button, self.switch_button, self.dismiss_button):
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.show_alert(alert)

    def show_alert(self, alert: FailureAlert) -> None:
        """Say `alert` (a banner is kept and given the next failure rather than built again)."""
        self.alert = alert
        self.label.setText("\u26a0 " + failure_sentence(alert))
        self.retry_button.setAccessibleName(f"Retry the receipt of sale {alert.sale_id}")
        self.switch_button.setAccessibleName(f"Send the receipt of sale {alert.sale_id} another way")


class FailureAlerts(QWidget):
    """The banners of failed deliveries, newest first; hidden when there is none."""

    sig_retry = Signal(object)
    """Fires with a `FailureAlert` when the cashier presses its Retry."""

    sig_switch = Signal(object)
    """Fires with a `FailureAlert` when the cashier presses its "Send another way"."""

    sig_count = Signal(int)
    """Fires with the number of failures waiting whenever it changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Failed receipts")
        self.sound: Callable[[], None] = QApplication.beep
        """What plays when a failure arrives (a test may swap it)."""
        self._alerts: list[FailureAlert] = []
        self._rows: list[AlertRow] = []
        self._count = 0
        self._new_failure = False
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw)
        self.hide()

    @property
    def alerts(self) -> tuple[FailureAlert, ...]:
        """The failures waiting, newest first."""
        return tuple(self._alerts)

    @property
    def rows(self) -> tuple[AlertRow, ...]:
        """The banners shown, newest first (drawn now if a redraw was waiting)."""
        if self._redraw_timer.isActive():
            self._redraw_timer.stop()
            self._redraw()
        return tuple(self._rows)

    def raise_alert(self, alert: FailureAlert) -> None:
        """A delivery failed: show it on top and sound (once per delivery and state; once per burst)."""
        old = next((a for a in self._alerts if a.delivery_id == alert.delivery_id), None)
        if old is not None and old.state is alert.state:
            return
        self._alerts = [alert, *(a for a in self._alerts if a.delivery_id != alert.delivery_id)]
        self._new_failure = True
        self._redraw_soon()

    def delivery_moved(self, delivery_id: str, state: DeliveryState) -> None:
        """A delivery moved on: a failure that is being sent again is no longer one."""
        if state not in RETRYABLE:
            self._drop(lambda a: a.delivery_id == delivery_id, at_once=False)

    def clear_receipt(self, receipt_id: str) -> None:
        """The cashier sent this sale's receipt again: its failures are dealt with (at once)."""
        self._drop(lambda a: a.receipt_id == receipt_id, at_once=True)

    def dismiss(self, alert: FailureAlert) -> None:
        """The cashier read the failure and dealt with it another way (gone at once)."""
        self._drop(lambda a: a.delivery_id == alert.delivery_id, at_once=True)

    def _drop(self, gone: Callable[[FailureAlert], bool], *, at_once: bool) -> None:
        kept = [a for a in self._alerts if not gone(a)]
        if len(kept) != len(self._alerts):
            self._alerts = kept
            if at_once:  # what the cashier did shows as they do it
                self._redraw_timer.stop()
                self._redraw()
            else:
                self._redraw_soon()

    def _redraw_soon(self) -> None:
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _redraw(self) -> None:
        shown = self._alerts[:SHOWN]
        while len(self._rows) > len(shown):
            row = self._rows.pop()
            row.hide()
            row.deleteLater()
        for row, alert in zip(self._rows, shown, strict=False):
            if row.alert != alert:
                row.show_alert(alert)
        for alert in shown[len(self._rows) :]:
            row = AlertRow(alert, self)
            row.retry_button.clicked.connect(lambda _=False, r=row: self.sig_retry.emit(r.alert))
            row.switch_button.clicked.connect(lambda _=False, r=row: self.sig_switch.emit(r.alert))
            row.dismiss_button.clicked.connect(lambda _=False, r=row: self.dismiss(r.alert))
            self._layout.addWidget(row)
            self._rows.append(row)
        self.setVisible(bool(self._alerts))
        if len(self._alerts) != self._count:
            self._count = len(self._alerts)
            self.sig_count.emit(self._count)
        if self._new_failure:
            self._new_failure = False
            self.sound()


def count_text(count: int) -> str:
    """The status bar's words for the failures waiting (empty when none)."""
    if not count:
        return ""
    return f"\u26a0 {count} failed receipt{'s' if count != 1 else ''}"
