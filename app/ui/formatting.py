"""How staff windows write money, times, ages, channels and delivery states."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState

STATE_WORDS: dict[DeliveryState, str] = {
    DeliveryState.QUEUED: "Queued",
    DeliveryState.SENDING: "Sending",
    DeliveryState.SENT: "Sent",
    DeliveryState.DELIVERED: "Delivered",
    DeliveryState.BOUNCED: "Bounced",
    DeliveryState.FAILED: "Failed",
    DeliveryState.DEAD: "Gave up",
    DeliveryState.UNKNOWN: "Unconfirmed",
    DeliveryState.HELD: "Held for a manager",
}

CHANNEL_WORDS: dict[Channel, str] = {
    Channel.EMAIL: "Email",
    Channel.SMS: "Text",
    Channel.WHATSAPP: "WhatsApp",
    Channel.PUSH: "Push",
    Channel.PRINT: "Print",
    Channel.CHAT: "Chat",
    Channel.CRM: "CRM",
}

RETRYABLE = frozenset({DeliveryState.FAILED, DeliveryState.DEAD, DeliveryState.BOUNCED})
"""States a cashier or manager can send again."""


def money(amount: Decimal) -> str:
    """`$1,234.50`."""
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def clock_time(when: datetime) -> str:
    """Local wall-clock time, `14:05`."""
    return f"{when.astimezone():%H:%M}"


def date_time(when: datetime) -> str:
    """Local date and time, `2025-11-28 14:05:09`."""
    return f"{when.astimezone():%Y-%m-%d %H:%M:%S}"


def age_text(seconds: float | None) -> str:
    """`45 s`, `3 min`, `2 h 5 min`, or `none`."""
    if seconds is None:
        return "none"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"


def state_word(state: DeliveryState) -> str:
    """A delivery state as staff read it."""
    return STATE_WORDS.get(state, state.value)


def channel_word(channel: Channel) -> str:
    """A channel as staff read it."""
    return CHANNEL_WORDS.get(channel, channel.value)
