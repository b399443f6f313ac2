"""A receipt of any lane, as the hub holds it, and a resend carried out by the lane that owns it.

The resend is asked of the hub (`POST /v1/hub/requests`); the owning lane takes it with its next pull,
queues it with its own providers and consent checks, and reports. This panel follows the request
(`GET /v1/hub/requests/{id}`) in a task of its own until the lane has said how it went.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.channels import Channel
from app.domain.errors import ValidationFailed
from app.services.hub_client import HubClient, HubRequestState, StoreReceipt, StoreReceiptDetail
from app.ui import theme
from app.ui.formatting import channel_word, date_time, money
from app.ui.tasks import TaskOwner, action, busy

DELIVERY_COLUMNS = ("Channel", "State", "Attempts", "To")
CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.PRINT)
FOLLOW_SECONDS = 120.0
"""How long the panel follows a request before saying the lane has not taken it yet."""


def lane_name(receipt: StoreReceipt) -> str:
    """`Lane 3` (the POS's lane number), or the lane's id at the hub when the sale named none."""
    return f"Lane {receipt.lane}" if receipt.lane else f"Lane {receipt.lane_id}"


def request_text(request: HubRequestState, lane: str) -> str:
    """What became of a request, as the owning lane reports it."""
    if request.state == "done":
        return f"{lane} queued it: its progress shows here as the lane reports it."
    if request.state == "failed":
        return request.detail or f"{lane} could not carry it out."
    return f"Waiting for {lane} to take it (it asks the hub with each pull)\u2026"


def _word(channel: str | None) -> str:
    try:
        return channel_word(Channel(channel or ""))
    except ValueError:
        return channel or "?"


class StoreDetail(QWidget):
    """The chosen receipt: what it is, its deliveries, and the resend form."""

    sig_requested = Signal()
    """Fires when the owning lane has said how a resend asked here went (done or failed)."""

    def __init__(
        self, hub: HubClient, tasks: TaskOwner, actor: Callable[[], str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._hub = hub
        self.tasks = tasks
        self._actor = actor
        self.receipt: StoreReceipt | None = None
        self.shown: StoreReceiptDetail | None = None
        self.poll_seconds = 1.0
        self._following = 0  # which request the follower follows: a newer one ends older followers
        self.title = QLabel("Choose a receipt above.")
        self.title.setWordWrap(True)
        self.title.setAccessibleName("Receipt chosen")
        theme.set_font(self.title, 1.1, bold=True)
        self.deliveries = QTableWidget(0, len(DELIVERY_COLUMNS))
        self.deliveries.setHorizontalHeaderLabels(DELIVERY_COLUMNS)
        self.deliveries.setMinimumHeight(96)  # a few deliveries in view; the list above keeps the room
        self.deliveries.setAccessibleName("Its deliveries")
        self.deliveries.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.deliveries.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.deliveries.setTabKeyNavigation(False)
        self.deliveries.verticalHeader().hide()
        self.deliveries.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.deliveries.horizontalHeader().setStretchLastSection(True)  # the masked recipient
        self.none_sent = QLabel("No delivery yet: the lane has sent this receipt nowhere, or not told the hub yet.")
        self.none_sent.setWordWrap(True)
        self.none_sent.setProperty("muted", True)
        self.none_sent.hide()
        self.history = QLabel()
        self.history.setWordWrap(True)
        self.history.setTextFormat(Qt.TextFormat.PlainText)
        self.history.setAccessibleName("Resends asked through the hub")
        self.channel = QComboBox()
        self.channel.setAccessibleName("Send by")
        for channel in CHANNELS:
            self.channel.addItem(channel_word(channel), channel.value)
        self.channel.currentIndexChanged.connect(self._channel_changed)
        self.to = QLineEdit()
        self.to.setAccessibleName("Send to")
        self.to.setPlaceholderText("Email address or phone number")
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason")
        self.reason.setPlaceholderText("Why (kept in the owning lane's audit log)")
        self.send = QPushButton("Ask the lane to &resend")
        self.send.clicked.connect(self.request_resend)
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.outcome.setTextFormat(Qt.TextFormat.PlainText)
        self.outcome.setAccessibleName("The resend asked")
        form = QFormLayout()
        form.addRow("Send by", self.channel)
        form.addRow("To", self.to)
        form.addRow("Reason", self.reason)
        form.addRow("", self.send)
        form.addRow("", self.outcome)
        self.form = QGroupBox("Resend, by the lane that owns it")
        self.form.setLayout(form)
        self.form.setEnabled(False)
        left = QVBoxLayout()
        left.addWidget(self.title)
        left.addWidget(self.deliveries, 1)
        left.addWidget(self.none_sent)
        left.addWidget(self.history)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left, 3)
        layout.addWidget(self.form, 2)

    def open(self, receipt: StoreReceipt) -> None:
        """Show `receipt` as the hub has it now (its deliveries and requests are read again)."""
        self.tasks.start(self.load(receipt), "store-receipt")

    async def load(self, receipt: StoreReceipt) -> None:
        """Read `receipt` from the hub and show it."""
        if self.receipt is None or (self.receipt.lane_id, self.receipt.receipt_id) != (
            receipt.lane_id,
            receipt.receipt_id,
        ):
            self._following += 1  # another receipt: its request is no longer followed here
            self.outcome.clear()
        self.receipt = receipt
        self.title.setText(f"{lane_name(receipt)}, sale {receipt.sale_id}: loading\u2026")
        self.form.setEnabled(False)
        shown = await self._hub.receipt(receipt.receipt_id, receipt.lane_id)
        if self.receipt is not receipt:
            return  # another was chosen meanwhile
        self.show_detail(shown)

    def show_detail(self, shown: StoreReceiptDetail) -> None:
        """Fill the panel from the hub's answer."""
        self.shown = shown
        r = shown.receipt
        card = f", card ending {r.card_last4}" if r.card_last4 else ""
        self.title.setText(f"{lane_name(r)}, sale {r.sale_id}, {date_time(r.occurred_at)}, {money(r.total)}{card}")
        self.deliveries.setRowCount(len(shown.deliveries))
        for row, d in enumerate(shown.deliveries):
            self._delivery_row(row, d)
        self.none_sent.setVisible(not shown.deliveries)
        self.history.setText(
            "\n".join(
                f"{_word(q.channel)}{' to ' + q.to if q.to else ''}, asked by {q.requested_by or 'someone'}: "
                f"{request_text(q, lane_name(r))}"
                for q in shown.requests
            )
        )
        self.history.setVisible(bool(shown.requests))
        self.send.setText(f"Ask {lane_name(r).lower()} to &resend")
        self.form.setEnabled(True)

    def _delivery_row(self, row: int, d: Mapping[str, Any]) -> None:
        values = (
            _word(d.get("channel")),
            str(d.get("state") or "").capitalize(),
            str(d.get("attempts", "")),
            str(d.get("recipient") or ""),
        )
        for column, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            if column == 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.deliveries.setItem(row, column, item)

    def _channel_changed(self) -> None:
        printing = self.channel.currentData() == Channel.PRINT.value
        self.to.setEnabled(not printing)
        self.to.setPlaceholderText("The owning lane's printer" if printing else "Email address or phone number")

    @action
    async def request_resend(self) -> None:
        """Ask the hub for a resend by the owning lane, then follow it until the lane says how it went."""
        receipt = self.receipt
        if receipt is None:
            return
        channel = str(self.channel.currentData())
        to = "" if channel == Channel.PRINT.value else self.to.text().strip()
        reason = self.reason.text().strip()
        if channel != Channel.PRINT.value and not to:
            raise ValidationFailed("Type the email address or phone number to send it to.", "to")
        if not reason:
            raise ValidationFailed("Say why it is sent again: the owning lane keeps it in its audit log.", "reason")
        with busy(self.send):
            request = await self._hub.request_resend(
                receipt.lane_id, receipt.receipt_id, channel=channel, to=to, reason=reason, requested_by=self._actor()
            )
        self.reason.clear()
        self._following += 1
        await self.follow(request, receipt, self._following)

    async def follow(self, request: HubRequestState, receipt: StoreReceipt, ticket: int) -> None:
        """Show the request's state, asking the hub again every `poll_seconds` while the lane has not said."""
        lane = lane_name(receipt)
        deadline = time.monotonic() + FOLLOW_SECONDS
        while ticket == self._following:
            self.outcome.setText(request_text(request, lane))
            theme.hint(self.outcome, {"done": "good", "failed": "bad"}.get(request.state))
            if request.state != "pending":
                self.sig_requested.emit()
                self.open(receipt)
                return
            if time.monotonic() > deadline:
                self.outcome.setText(
                    f"{lane} has not taken it yet: it takes requests with each pull. Look again in a few minutes."
                )
                return
            await asyncio.sleep(self.poll_seconds)
            if ticket == self._following:
                request = await self._hub.request(request.id)
