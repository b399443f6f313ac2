"""A small Qt-free event bus: services publish, faces subscribe (the UI bridges to Qt signals)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from app.domain.barcodes import Scan
from app.domain.channels import Channel
from app.domain.delivery import DeliveryState

log = logging.getLogger(__name__)
E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class ReceiptCreated:
    """A sale was recorded and its receipt rendered; `delivery_ids` were queued."""

    receipt_id: str
    sale_id: str
    store_id: str
    lane: str
    delivery_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeliveriesQueued:
    """New work is in the outbox (a new receipt, a resend, a retry)."""

    count: int


@dataclass(frozen=True, slots=True)
class DeliveryChanged:
    """A delivery moved to `state`: after an attempt (`attempt`, its number), a provider's report or a cancellation."""

    delivery_id: str
    receipt_id: str
    channel: Channel
    provider: str
    state: DeliveryState
    error: str | None
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class ScanReceived:
    """A barcode was scanned (serial scanner or keyboard wedge; `source` says which) and classified."""

    scan: Scan
    source: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DeviceStateChanged:
    """A store device changed state: `connected`, `reconnecting` or `off`; `detail` says why, if known."""

    device: str
    state: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PrinterStatusChanged:
    """The receipt printer `printer` (provider `provider`) stopped printing (`problem` says why) or printed again."""

    provider: str
    printer: str
    ok: bool
    problem: str | None


class EventBus:
    """Synchronous publish/subscribe by event type; a failing subscriber is logged, never fatal."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Any], list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, event_type: type[E], callback: Callable[[E], None]) -> Callable[[], None]:
        """Call `callback` for every event of `event_type`; returns a function that unsubscribes."""
        self._subscribers[event_type].append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers[event_type]:
                self._subscribers[event_type].remove(callback)

        return unsubscribe

    def publish(self, event: object) -> None:
        for callback in list(self._subscribers.get(type(event), ())):
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed for %s", type(event).__name__)
