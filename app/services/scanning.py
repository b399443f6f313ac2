"""The barcode scanner as a service: reads in a worker thread, reconnects, publishes scans on the bus.

The serial scanner's blocking reads run in one named thread; everything it reports is handed to
the event loop (`call_soon_threadsafe`) and published there, like every other bus event. A
keyboard-wedge scanner is read by the UI, which hands its codes to `submit()`: both kinds end as
the same `ScanReceived`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from enum import StrEnum

from app.devices.scanner import ScannerDevice, ScannerError
from app.domain.barcodes import BarcodeRules, Scan, classify
from app.domain.clock import Clock, utcnow
from app.services.bus import DeviceStateChanged, EventBus, ScanReceived

log = logging.getLogger(__name__)

DEVICE = "scanner"


class ScannerState(StrEnum):
    """What the status bar says about the serial scanner."""

    OFF = "off"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"


def backoff_delays(initial: float = 0.5, maximum: float = 30.0) -> list[float]:
    """The waits between reconnect attempts: `initial` doubling up to `maximum`, which then repeats."""
    delays = [initial]
    while delays[-1] < maximum:
        delays.append(min(maximum, delays[-1] * 2))
    return delays


class ScanningService:
    """Owns the serial scanner (None: none configured) and classifies every scan by the store's rules."""

    def __init__(
        self,
        bus: EventBus,
        rules: BarcodeRules,
        *,
        device: ScannerDevice | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        clock: Clock = utcnow,
    ) -> None:
        self._bus = bus
        self._rules = rules
        self._device = device
        self._delays = backoff_delays(backoff_initial, backoff_max)
        self._clock = clock
        self._state = ScannerState.OFF
        self._detail: str | None = "No serial scanner is set up." if device is None else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def state(self) -> ScannerState:
        """The serial scanner's state as last published."""
        return self._state

    @property
    def detail(self) -> str | None:
        """Why the scanner is in its state (the last error while reconnecting)."""
        return self._detail

    @property
    def rules(self) -> BarcodeRules:
        return self._rules

    @property
    def running(self) -> bool:
        return self._thread is not None

    def submit(self, code: str, source: str) -> Scan:
        """Classify a scanned code and publish it as `ScanReceived` (call on the event loop)."""
        scan = classify(code, self._rules)
        log.info("scan from %s: %s", source, scan.kind.value)
        self._bus.publish(ScanReceived(scan, source, self._clock()))
        return scan

    async def start(self) -> None:
        """Start reading the serial scanner in its thread (nothing to do without one)."""
        if self._device is None or self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"scanner-reader:{self._device.name}", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Stop the reader thread (it finishes its current read, at most the read timeout), close the port."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        await asyncio.to_thread(thread.join)
        self._set_state(ScannerState.OFF, "The scanner was stopped.")

    # -- the reader thread ---------------------------------------------------------------------

    def _run(self) -> None:
        device = self._device
        assert device is not None
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    device.open()
                except ScannerError as exc:
                    failures = self._wait_after(exc, failures)
                    continue
                failures = 0
                self._from_thread(self._set_state, ScannerState.CONNECTED, None)
                try:
                    while not self._stop.is_set():
                        for code in device.read():
                            self._from_thread(self.submit, code, f"serial:{device.name}")
                except ScannerError as exc:
                    log.warning("%s", exc.message)
                    device.close()
                    failures = self._wait_after(exc, failures)
        finally:
            device.close()

    def _wait_after(self, exc: ScannerError, failures: int) -> int:
        """Report reconnecting, wait the next back-off step (or until stopped); the new failure count."""
        delay = self._delays[min(failures, len(self._delays) - 1)]
        self._from_thread(self._set_state, ScannerState.RECONNECTING, f"{exc.message} Trying again in {delay:g} s.")
        self._stop.wait(delay)
        return failures + 1

    def _from_thread(self, fn: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed meanwhile: the kiosk is shutting down
            log.debug("scanner event dropped: the event loop is closed")

    def _set_state(self, state: ScannerState, detail: str | None) -> None:
        if state is self._state and detail == self._detail:
            return
        changed = state is not self._state
        self._state, self._detail = state, detail
        if changed:
            log.info("scanner %s%s", state.value, f": {detail}" if detail else "")
        self._bus.publish(DeviceStateChanged(DEVICE, state.value, detail))
