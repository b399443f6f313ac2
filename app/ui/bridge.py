"""Service events, re-emitted as Qt signals: the only link from `EventBus` to the windows."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.services.bus import (
    DeliveriesQueued,
    DeliveryChanged,
    DeviceStateChanged,
    EventBus,
    ReceiptCreated,
    ScanReceived,
)


class EventBridge(QObject):
    """Subscribes to the bus on construction; `close()` unsubscribes.

    The bus publishes on the event loop thread (the Qt thread under qasync), so signals are
    delivered directly, in order.
    """

    sig_receipt_created = Signal(object)
    """Fires with a `ReceiptCreated` when checkout recorded a sale and rendered its receipt."""

    sig_deliveries_queued = Signal(int)
    """Fires with a count when new work entered the outbox (new receipt, send, resend, retry)."""

    sig_delivery_changed = Signal(object)
    """Fires with a `DeliveryChanged` after each attempt moved a delivery to a new state."""

    sig_scan = Signal(object)
    """Fires with a `ScanReceived` when a barcode was scanned (serial scanner or keyboard wedge)."""

    sig_device_state = Signal(object)
    """Fires with a `DeviceStateChanged` when a store device connects, reconnects or stops."""

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(ReceiptCreated, self.sig_receipt_created.emit),
            bus.subscribe(DeliveriesQueued, lambda e: self.sig_deliveries_queued.emit(e.count)),
            bus.subscribe(DeliveryChanged, self.sig_delivery_changed.emit),
            bus.subscribe(ScanReceived, self.sig_scan.emit),
            bus.subscribe(DeviceStateChanged, self.sig_device_state.emit),
        ]

    def close(self) -> None:
        """Stop listening to the bus."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
