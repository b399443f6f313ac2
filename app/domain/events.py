"""Trigger events: something outside says a receipt (or an update) is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.channels import Channel
from app.domain.lifecycle import OrderUpdate
from app.domain.sale import Sale


@dataclass(frozen=True, slots=True)
class TriggerEvent:
    """A sale arriving from one source.

    `event_id` is the source's own id for this event (dedupe key, unique per `source`);
    `order_id` correlates the same purchase across sources.
    """

    source: str
    event_id: str
    sale: Sale
    received_at: datetime
    order_id: str | None = None
    channels: tuple[Channel, ...] | None = None


PlatformEvent = TriggerEvent | OrderUpdate
"""What a platform can tell us: a sale (a receipt is due) or a change to an order (an update is due)."""
