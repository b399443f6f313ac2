"""The scanning service: reads off the event loop, publishes scans, reconnects after an unplug."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import serial

from app.devices.scanner import DummyScanner, SerialScanner
from app.domain.barcodes import BarcodeRules, ScanKind
from app.services.bus import DeviceStateChanged, EventBus, ScanReceived
from app.services.scanning import ScannerState, ScanningService, backoff_delays
from tests.conftest import wait_until


class Recorder:
    def __init__(self, bus: EventBus) -> None:
        self.scans: list[ScanReceived] = []
        self.states: list[DeviceStateChanged] = []
        self.threads: set[str] = set()
        bus.subscribe(ScanReceived, self._scan)
        bus.subscribe(DeviceStateChanged, self._state)

    def _scan(self, event: ScanReceived) -> None:
        self.threads.add(threading.current_thread().name)
        self.scans.append(event)

    def _state(self, event: DeviceStateChanged) -> None:
        self.threads.add(threading.current_thread().name)
        self.states.append(event)

    def state_path(self) -> list[str]:
        """The states in order, repeats (a new reconnect delay) folded."""
        path: list[str] = []
        for event in self.states:
            if not path or path[-1] != event.state:
                path.append(event.state)
        return path


class FlakyLoop:
    """A pyserial factory over `loop://` whose port can be unplugged: reads raise, opening fails."""

    def __init__(self) -> None:
        self.plugged = True
        self.port: Any = None
        self.read_threads: set[str] = set()
        self.failed_opens = 0

    def __call__(self, url: str, **options: Any) -> Any:
        if not self.plugged:
            self.failed_opens += 1
            raise serial.SerialException(f"could not open port {url}: [Errno 2] No such file or directory")
        port = serial.serial_for_url(url, **options)
        original_read = port.read

        def read(size: int = 1) -> bytes:
            self.read_threads.add(threading.current_thread().name)
            if not self.plugged:
                raise serial.SerialException("read failed: [Errno 5] Input/output error")
            data: bytes = original_read(size)
            return data

        port.read = read
        self.port = port
        return port


def test_backoff_doubles_from_half_a_second_to_thirty() -> None:
    assert backoff_delays() == [0.5, 1, 2, 4, 8, 16, 30]
    assert backoff_delays(0.05, 0.2) == [0.05, 0.1, 0.2]


async def test_without_a_serial_scanner_it_is_off_and_still_classifies_wedge_scans() -> None:
    bus = EventBus()
    seen = Recorder(bus)
    service = ScanningService(bus, BarcodeRules())
    await service.start()
    assert service.state is ScannerState.OFF
    assert service.detail == "No serial scanner is set up."
    scan = service.submit("LM12345678", "wedge")
    assert scan.kind is ScanKind.LOYALTY
    (event,) = seen.scans
    assert (event.source, event.scan) == ("wedge", scan)
    assert event.at.tzinfo is not None
    await service.stop()
    assert seen.states == []


async def test_loop_port_reads_in_a_thread_and_reconnects_after_serial_exception() -> None:
    bus = EventBus()
    seen = Recorder(bus)
    flaky = FlakyLoop()
    device = SerialScanner("loop://", terminator=b"\r\n", timeout=0.02, factory=flaky)
    service = ScanningService(bus, BarcodeRules(), device=device, backoff_initial=0.02, backoff_max=0.1)
    await service.start()
    try:
        await wait_until(lambda: service.state is ScannerState.CONNECTED, timeout=5)
        flaky.port.write(b"LM1234")
        await wait_until(lambda: flaky.port.in_waiting == 0, timeout=30)  # read as half a code
        flaky.port.write(b"5678\r\nK1A2B3C4D\r\n")
        await wait_until(lambda: len(seen.scans) == 2, timeout=5)
        assert [e.scan.kind for e in seen.scans] == [ScanKind.LOYALTY, ScanKind.RECEIPT]
        assert seen.scans[0].source == "serial:loop://"

        flaky.plugged = False
        await wait_until(lambda: service.state is ScannerState.RECONNECTING, timeout=5)
        # several failed attempts, up to the longest back-off, each reported before the next is made
        await wait_until(lambda: flaky.failed_opens >= 4, timeout=30)
        await wait_until(lambda: "cannot be opened" in (service.detail or ""), timeout=30)
        assert service.detail is not None and "cannot be opened" in service.detail
        flaky.plugged = True
        await wait_until(lambda: service.state is ScannerState.CONNECTED, timeout=5)
        flaky.port.write(b"036000291452\r\n")
        await wait_until(lambda: len(seen.scans) == 3, timeout=5)
        assert seen.scans[2].scan.kind is ScanKind.UNKNOWN
    finally:
        await service.stop()
    assert seen.state_path() == ["connected", "reconnecting", "connected", "off"]
    main = threading.current_thread().name
    assert main not in flaky.read_threads  # blocking reads never ran on the event loop
    assert seen.threads == {main}  # bus events are published on the loop's thread
    assert not device.is_open


async def test_pty_unplug_and_replug_under_the_same_name(tmp_path: Path) -> None:
    """The port is a symlink, like /dev/serial/by-id: the scanner comes back on a new pty."""
    link = tmp_path / "ttyScanner"

    def plug_in() -> int:
        master, slave = os.openpty()
        link.symlink_to(os.ttyname(slave))
        os.close(slave)
        return master

    bus = EventBus()
    seen = Recorder(bus)
    master = plug_in()
    service = ScanningService(
        bus,
        BarcodeRules(),
        device=SerialScanner(str(link), terminator=b"\r", timeout=0.02),
        backoff_initial=0.02,
        backoff_max=0.1,
    )
    await service.start()
    try:
        await wait_until(lambda: service.state is ScannerState.CONNECTED, timeout=5)
        os.write(master, b"LM11112222\r")
        await wait_until(lambda: len(seen.scans) == 1, timeout=5)
        assert seen.scans[0].scan.value == "LM11112222"

        os.close(master)  # unplugged: the reader gets an I/O error
        link.unlink()
        await wait_until(lambda: service.state is ScannerState.RECONNECTING, timeout=5)
        master = plug_in()
        await wait_until(lambda: service.state is ScannerState.CONNECTED, timeout=5)
        os.write(master, b"K00000042\r")
        await wait_until(lambda: len(seen.scans) == 2, timeout=5)
        assert (seen.scans[1].scan.kind, seen.scans[1].scan.value) == (ScanKind.RECEIPT, "K00000042")
    finally:
        await service.stop()
        with contextlib.suppress(OSError):
            os.close(master)
    assert seen.state_path() == ["connected", "reconnecting", "connected", "off"]


async def test_a_scanner_absent_at_start_is_retried_until_it_appears() -> None:
    bus = EventBus()
    seen = Recorder(bus)
    dummy = DummyScanner(timeout=0.02)
    dummy.unplug()
    service = ScanningService(bus, BarcodeRules(), device=dummy, backoff_initial=0.02, backoff_max=0.05)
    await service.start()
    try:
        await wait_until(lambda: service.state is ScannerState.RECONNECTING, timeout=5)
        # three failed opens reported (each with its own back-off): still nothing opened
        await wait_until(lambda: len(seen.states) >= 3, timeout=30)
        assert dummy.opened == 0
        dummy.replug()
        await wait_until(lambda: service.state is ScannerState.CONNECTED, timeout=5)
        dummy.feed(b"\x00\x01garbage\rLM99990000\r")
        await wait_until(lambda: len(seen.scans) == 1, timeout=5)
        assert seen.scans[0].scan.value == "LM99990000"  # the junk line was dropped
    finally:
        await service.stop()
    assert seen.state_path() == ["reconnecting", "connected", "off"]
    assert service.state is ScannerState.OFF


def test_scanner_settings_build_the_service(tmp_path: Path) -> None:
    from app.config.settings import load_settings
    from app.domain.errors import ConfigurationError
    from app.main import build_scanning

    defaults = build_scanning(load_settings(None), EventBus())
    assert defaults.state is ScannerState.OFF  # the demo default: no serial scanner, the wedge only
    assert defaults.detail == "No serial scanner is set up."
    assert load_settings(None).scanner.wedge_enabled

    path = tmp_path / "receiptdesk.toml"
    path.write_text(
        "[scanner]\n"
        'enabled = true\nport = "loop://"\nbaud = 115200\nterminator = "CRLF"\n'
        'loyalty_prefixes = []\nloyalty_patterns = ["CARD(?P<id>\\\\d{8})"]\n'
        'receipt_pattern = "RCPT:(?P<sale_id>\\\\w+)"\n',
        encoding="utf-8",
    )
    service = build_scanning(load_settings(path), EventBus())
    assert service.rules.loyalty_patterns == (r"CARD(?P<id>\d{8})",)
    assert service.submit("CARD12345678", "wedge").value == "12345678"
    assert service.submit("RCPT:K42", "wedge").value == "K42"

    path.write_text('[scanner]\nloyalty_patterns = ["LM("]\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"\[scanner\].*LM\("):
        build_scanning(load_settings(path), EventBus())
