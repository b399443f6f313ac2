"""Serial and network printers against stand-ins that answer status queries like a real printer."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from app.devices.escpos import STATUS_OK, status_query
from app.devices.printer import NetworkPrinter, PrinterNotReady, PrinterUnreachable, SerialPrinter

PAPER_OUT = {1: STATUS_OK | 0x08, 2: STATUS_OK | 0x20, 4: STATUS_OK | 0x60}
READY = {1: STATUS_OK, 2: STATUS_OK, 4: STATUS_OK}


@dataclass
class FakePrinterEnd:
    """The printer's side of a line: answers DLE EOT n from `replies`, keeps every other byte."""

    replies: dict[int, int] = field(default_factory=lambda: dict(READY))
    received: bytearray = field(default_factory=bytearray)
    queries: list[int] = field(default_factory=list)
    answering: bool = True

    def feed(self, chunk: bytes) -> bytes:
        """Take bytes from the host; return what the printer answers."""
        self.received.extend(chunk)
        answer = bytearray()
        query = status_query(0)[:2]
        while (at := self.received.find(query)) != -1 and len(self.received) >= at + 3:
            n = self.received[at + 2]
            del self.received[at : at + 3]
            self.queries.append(n)
            if self.answering:
                answer.append(self.replies[n])
        return bytes(answer)


@pytest.fixture
def pty_printer() -> Iterator[tuple[str, FakePrinterEnd]]:
    master, slave = os.openpty()
    end = FakePrinterEnd()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            answer = end.feed(chunk)
            if answer:
                os.write(master, answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield os.ttyname(slave), end
    stop.set()
    os.close(slave)
    os.close(master)
    thread.join(timeout=2)


def test_a_serial_printer_checks_status_then_prints(pty_printer: tuple[str, FakePrinterEnd]) -> None:
    port, end = pty_printer
    printer = SerialPrinter(port, 19200, timeout=1.0)
    status = printer.print_job(b"\x1b@Hola\n")
    assert status is not None and status.problem is None
    assert end.queries == [1, 2, 4]
    _wait(lambda: bytes(end.received) == b"\x1b@Hola\n")


def test_a_serial_printer_out_of_paper_is_not_ready(pty_printer: tuple[str, FakePrinterEnd]) -> None:
    port, end = pty_printer
    end.replies = dict(PAPER_OUT)
    printer = SerialPrinter(port, 19200, timeout=1.0)
    with pytest.raises(PrinterNotReady, match="out of paper") as raised:
        printer.print_job(b"never printed")
    assert raised.value.status.paper_out
    assert bytes(end.received) == b""


def test_a_serial_printer_that_does_not_answer_is_unreachable(pty_printer: tuple[str, FakePrinterEnd]) -> None:
    port, end = pty_printer
    end.answering = False
    printer = SerialPrinter(port, 19200, timeout=0.2)
    with pytest.raises(PrinterUnreachable, match="does not answer"):
        printer.print_job(b"never printed")


def test_loop_url_without_status_checks_writes_through() -> None:
    printer = SerialPrinter("loop://", check_status=False)
    printer.open()
    try:
        printer.write(b"abc")
        assert printer.read(3) == b"abc"
    finally:
        printer.close()
    # with status checks on, an echo is not a printer's answer
    with pytest.raises(PrinterUnreachable, match="unexpected answer"):
        SerialPrinter("loop://", timeout=0.2).print_job(b"x")


def test_a_missing_serial_port_is_unreachable() -> None:
    with pytest.raises(PrinterUnreachable, match="cannot be opened"):
        SerialPrinter("/dev/does-not-exist-printer").print_job(b"x")


def test_a_network_printer_on_port_9100_style_socket() -> None:
    end = FakePrinterEnd()
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    done = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(4096):
                answer = end.feed(chunk)
                if answer:
                    conn.sendall(answer)
        done.set()

    threading.Thread(target=serve, daemon=True).start()
    try:
        NetworkPrinter("127.0.0.1", port, timeout=1.0).print_job(b"receipt")
        assert done.wait(2)
        assert end.queries == [1, 2, 4] and bytes(end.received) == b"receipt"
    finally:
        server.close()
    with pytest.raises(PrinterUnreachable, match="cannot be reached"):
        NetworkPrinter("127.0.0.1", port, timeout=0.5).print_job(b"x")


def _wait(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")
