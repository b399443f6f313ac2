"""The serial scanner: pyserial `loop://` and pseudo-terminal pairs stand in for the hardware."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator

import pytest

from app.devices.scanner import DummyScanner, LineBuffer, ScannerError, SerialScanner, parse_terminator


def read_until(scanner: SerialScanner | DummyScanner, count: int, timeout: float = 3.0) -> list[str]:
    codes: list[str] = []
    deadline = time.monotonic() + timeout
    while len(codes) < count and time.monotonic() < deadline:
        codes += scanner.read()
    return codes


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    """A pseudo-terminal: the master end plays the scanner, the slave is the port the kiosk opens."""
    master, slave = os.openpty()
    name = os.ttyname(slave)
    os.close(slave)
    yield master, name
    with contextlib.suppress(OSError):
        os.close(master)


@pytest.mark.parametrize(
    ("name", "value"), [("CR", b"\r"), ("lf", b"\n"), ("CRLF", b"\r\n"), ("\\x03", b"\x03"), ("\\t", b"\t")]
)
def test_terminators_by_name_or_escape(name: str, value: bytes) -> None:
    assert parse_terminator(name) == value


def test_an_empty_terminator_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_terminator("")


def test_partial_lines_wait_for_the_rest() -> None:
    buffer = LineBuffer(b"\r\n")
    assert buffer.feed(b"LM1234") == []
    assert buffer.feed(b"5678\r") == []
    assert buffer.pending == b"LM12345678\r"
    assert buffer.feed(b"\nK1A2") == ["LM12345678"]
    assert buffer.feed(b"B3C4D\r\n036000291452\r\n") == ["K1A2B3C4D", "036000291452"]


def test_crlf_from_a_scanner_set_up_for_cr_still_reads() -> None:
    buffer = LineBuffer(b"\r")
    assert buffer.feed(b"LM1\r\nLM2\r\n") == ["LM1", "LM2"]


def test_junk_is_rejected_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    buffer = LineBuffer(b"\r", port="/dev/ttyS9")
    with caplog.at_level(logging.WARNING):
        assert buffer.feed(b"\xfe\x00LM12\r\r\rLM34\r") == ["LM34"]
    assert "non-printable" in caplog.text
    assert "fe 00" in caplog.text
    assert "/dev/ttyS9" in caplog.text


def test_a_runaway_line_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    buffer = LineBuffer(b"\r", max_line=16)
    with caplog.at_level(logging.WARNING):
        assert buffer.feed(b"X" * 40) == []
    assert buffer.pending == b""
    assert "without a line terminator" in caplog.text
    assert buffer.feed(b"LM99\r") == ["LM99"]


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n", b"\x03"])
def test_loop_url_reads_codes_split_across_writes(terminator: bytes) -> None:
    scanner = SerialScanner("loop://", baudrate=115200, terminator=terminator, timeout=0.05)
    scanner.open()
    try:
        assert scanner.is_open
        scanner.write(b"LM123")
        assert scanner.read() == []
        scanner.write(b"45678" + terminator + b"K1A2B3C4D" + terminator)
        assert read_until(scanner, 2) == ["LM12345678", "K1A2B3C4D"]
    finally:
        scanner.close()
    assert not scanner.is_open


def test_pty_reads_lines_split_across_reads(pty_pair: tuple[int, str]) -> None:
    master, port = pty_pair
    scanner = SerialScanner(port, baudrate=9600, terminator=b"\r\n", timeout=0.05)
    scanner.open()
    try:
        os.write(master, b"LM5555")
        assert read_until(scanner, 1, timeout=0.3) == []
        os.write(master, b"1234\r")
        os.write(master, b"\n")
        assert read_until(scanner, 1) == ["LM55551234"]
    finally:
        scanner.close()


def test_pty_unplugged_raises_scanner_error(pty_pair: tuple[int, str]) -> None:
    master, port = pty_pair
    scanner = SerialScanner(port, timeout=0.05)
    scanner.open()
    try:
        os.close(master)  # the USB cable is pulled
        with pytest.raises(ScannerError, match="stopped answering"):
            read_until(scanner, 1)
    finally:
        scanner.close()


def test_a_missing_port_is_a_scanner_error() -> None:
    scanner = SerialScanner("/dev/receiptdesk-no-such-scanner")
    with pytest.raises(ScannerError, match="cannot be opened"):
        scanner.open()
    assert not scanner.is_open
    with pytest.raises(ScannerError, match="not open"):
        scanner.read()


def test_dummy_twin_feeds_records_and_unplugs() -> None:
    dummy = DummyScanner(terminator=b"\n")
    dummy.open()
    dummy.feed(b"LM1")
    dummy.feed(b"2\nK9")
    assert read_until(dummy, 1) == ["LM12"]
    dummy.write(b"\x16beep")
    assert bytes(dummy.output) == b"\x16beep"
    dummy.unplug()
    with pytest.raises(ScannerError):
        dummy.read()
    dummy.close()
    with pytest.raises(ScannerError):
        dummy.open()
    dummy.replug()
    dummy.open()
    assert dummy.opened == 2
