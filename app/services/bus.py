"""A small Qt-free event bus: services publish, faces subscribe (the UI bridges to Qt signals).

A subscriber is called on the thread it subscribed from: in the kiosk the dispatcher runs on a loop
of its own (`app.support.loop_thread`), so its events reach the windows' loop, and the windows'
events reach it, in order, through the subscriber's loop (`call_soon_threadsafe`). On the
subscriber's own thread (and for a subscriber that subscribed outside any loop) publishing calls it
at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
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
    """Publish/subscribe by event type, each subscriber called on its own thread; a failing subscriber
    is logged, never fatal."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Any], list[_Subscriber]] = defaultdict(list)

    def subscribe(self, event_type: type[E], callback: Callable[[E], None]) -> Callable[[], None]:
        """Call `callback` for every event of `event_type`, on this thread (through the loop running now,
        when published from another thread); returns a function that unsubscribes."""
        subscriber = _Subscriber(callback, threading.get_ident(), _running_loop())
        self._subscribers[event_type].append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers[event_type]:
                self._subscribers[event_type].remove(subscriber)

        return unsubscribe

    def publish(self, event: object) -> None:
        here = threading.get_ident()
        for subscriber in list(self._subscribers.get(type(event), ())):
            loop = subscriber.loop
            if loop is None or subscriber.thread == here:
                _call(subscriber.callback, event)
                continue
            try:
                loop.call_soon_threadsafe(_call, subscriber.callback, event)
            except RuntimeError:  # that loop has closed: its subscriber is gone with it
                log.debug("%s not delivered: its subscriber's loop is closed", type(event).__name__)


@dataclass(frozen=True, slots=True, eq=False)
class _Subscriber:
    callback: Callable[[Any], None]
    thread: int
    loop: asyncio.AbstractEventLoop | None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _call(callback: Callable[[Any], None], event: object) -> None:
    try:
        callback(event)
    except Exception:
        log.exception("event subscriber failed for %s", type(event).__name__)
