"""The pass-through: every POS byte reaches the printer unchanged and in order, whatever the tap does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time
from pathlib import Path

import pytest

from app.devices.escpos_stream import EscPosStream, ReceiptComplete
from app.devices.passthrough import DummyDevice, SerialDevice, SerialPassthrough, TcpPassthrough

FIXTURES = Path(__file__).parents[1] / "fixtures" / "escpos"
DATA = b"".join((FIXTURES / n).read_bytes() for n in ("classic.bin", "compact.bin", "compact_full_card.bin"))


def chunks(data: bytes, seed: int, largest: int = 97) -> list[bytes]:
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(data):
        size = rng.randint(1, largest)
        out.append(data[at : at + size])
        at += size
    return out


def failing_tap(data: bytes) -> None:
    raise RuntimeError("parser exploded")


class Recorder:
    """A tap that runs the real reader; `fail=True` makes it raise after reading."""

    def __init__(self, fail: bool = False) -> None:
        self.stream = EscPosStream()
        self.data = bytearray()
        self.receipts: list[tuple[str, ...]] = []
        self.fail = fail

    def __call__(self, data: bytes) -> None:
        self.data += data
        self.receipts += [e.lines for e in self.stream.feed(data) if isinstance(e, ReceiptComplete)]
        if self.fail:
            raise ValueError("tap failed")


async def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# -- serial --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tap", [None, Recorder(), Recorder(fail=True), failing_tap], ids=["none", "ok", "fails", "raises"]
)
async def test_serial_forwards_every_byte_in_order_with_any_tap(tap: object) -> None:
    pos, printer = DummyDevice(), DummyDevice()
    seen_before_tap: list[bool] = []

    def checking_tap(data: bytes) -> None:
        seen_before_tap.append(printer.output.endswith(data))  # the printer had it first
        if tap is not None:
            tap(data)  # type: ignore[operator]

    bridge = SerialPassthrough(pos, printer, checking_tap)
    await bridge.start()
    try:
        for piece in chunks(DATA, 1):
            pos.feed(piece)
        printer.feed(b"\x12")  # a status reply to DLE EOT
        await wait_for(lambda: len(printer.output) == len(DATA) and pos.output == b"\x12")
    finally:
        await bridge.stop()
    assert bytes(printer.output) == DATA
    assert seen_before_tap and all(seen_before_tap)
    assert not pos.opened and not printer.opened
    if isinstance(tap, Recorder):
        assert bytes(tap.data) == DATA and len(tap.receipts) == 3


async def test_serial_through_pyserial_loop_url() -> None:
    """The printer side is pyserial's `loop://`: what the POS sends reaches it and its echo comes back."""
    pos = DummyDevice()
    printer = SerialDevice("loop://", baudrate=115200, timeout=0.02)
    recorder = Recorder(fail=True)
    bridge = SerialPassthrough(pos, printer, recorder)
    await bridge.start()
    try:
        for piece in chunks(DATA, 2, largest=300):
            pos.feed(piece)
        await wait_for(lambda: len(pos.output) >= len(DATA))
    finally:
        await bridge.stop()
    assert bytes(pos.output) == DATA  # forwarded to the printer port, and looped back to the POS
    assert bytes(recorder.data) == DATA and len(recorder.receipts) == 3


def _raw(fd: int) -> None:
    import tty

    tty.setraw(fd)


async def test_serial_between_two_pseudo_terminals() -> None:
    """A POS and a printer on real tty devices (pty pairs), as on a till with two serial ports."""
    pos_master, pos_slave = os.openpty()
    printer_master, printer_slave = os.openpty()
    for fd in (pos_master, printer_master):
        _raw(fd)
    pos = SerialDevice(os.ttyname(pos_slave), baudrate=38400)
    printer = SerialDevice(os.ttyname(printer_slave), baudrate=38400)
    recorder = Recorder(fail=True)
    bridge = SerialPassthrough(pos, printer, recorder)
    received = bytearray()
    status = bytearray()
    done = threading.Event()

    def printer_side() -> None:  # the printer: reads the job, answers the status request
        while not done.is_set() and len(received) < len(DATA):
            with contextlib.suppress(BlockingIOError):
                received.extend(os.read(printer_master, 4096))
        os.write(printer_master, b"\x16")

    def pos_side() -> None:  # the POS: prints in odd chunks, then reads the status reply
        for piece in chunks(DATA, 3):
            os.write(pos_master, piece)
        while not done.is_set() and not status:
            status.extend(os.read(pos_master, 16))

    await bridge.start()
    try:
        threads = [threading.Thread(target=printer_side), threading.Thread(target=pos_side)]
        for t in threads:
            t.start()
        await asyncio.wait_for(asyncio.to_thread(lambda: [t.join() for t in threads]), 20)
    finally:
        done.set()
        await bridge.stop()
        for fd in (pos_master, pos_slave, printer_master, printer_slave):
            os.close(fd)
    assert bytes(received) == DATA
    assert bytes(status) == b"\x16"
    assert bytes(recorder.data) == DATA and len(recorder.receipts) == 3


# -- TCP 9100 ------------------------------------------------------------------------------------


class FakeNetworkPrinter:
    """A network printer on loopback: records the job, answers each DLE EOT with a status byte."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1000):
            self.received += data
            if b"\x10\x04" in data:
                writer.write(b"\x12")
                await writer.drain()
        writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def _listener(printer_port: int, tap: object) -> TcpPassthrough:
    for port in (9100, 0):  # the real printer port when this machine has it free
        bridge = TcpPassthrough("127.0.0.1", port, "127.0.0.1", printer_port, tap)  # type: ignore[arg-type]
        try:
            await bridge.start()
        except OSError:
            continue
        return bridge
    raise AssertionError("no port to listen on")


@pytest.mark.parametrize("fail", [False, True], ids=["tap-ok", "tap-fails"])
async def test_tcp_9100_forwards_every_byte_and_status_replies(fail: bool) -> None:
    printer = FakeNetworkPrinter()
    printer_port = await printer.start()
    recorder = Recorder(fail=fail)
    bridge = await _listener(printer_port, recorder)
    try:
        for job in range(2):  # two print jobs, two connections
            reader, writer = await asyncio.open_connection("127.0.0.1", bridge.port)
            for piece in chunks(DATA, 10 + job, largest=400):
                writer.write(piece)
                await writer.drain()
            writer.write(b"\x10\x04\x01")
            await writer.drain()
            reply = await asyncio.wait_for(reader.readexactly(1), 5)
            assert reply == b"\x12"
            writer.close()
            await writer.wait_closed()
        expected = (DATA + b"\x10\x04\x01") * 2
        await wait_for(lambda: len(printer.received) >= len(expected))
    finally:
        await bridge.stop()
        await printer.stop()
    assert bytes(printer.received) == expected
    assert bytes(recorder.data) == expected
    assert len(recorder.receipts) == 6


async def test_tcp_with_the_printer_unreachable_closes_the_pos_connection() -> None:
    printer = FakeNetworkPrinter()
    port = await printer.start()
    await printer.stop()  # nothing listens there any more
    bridge = TcpPassthrough("127.0.0.1", 0, "127.0.0.1", port, failing_tap, connect_timeout=1)
    await bridge.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", bridge.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    finally:
        await bridge.stop()


async def test_stopping_with_a_job_still_open_ends_it_quietly() -> None:
    printing = asyncio.Event()  # the printer has the first bytes of a job that is still open

    async def printer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await reader.read(1):
            printing.set()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(printer, "127.0.0.1", 0)
    proxy = TcpPassthrough("127.0.0.1", 0, "127.0.0.1", server.sockets[0].getsockname()[1])
    await proxy.start()
    errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"\x1b@half a receipt")  # the POS is still sending when the terminal shuts down
        await writer.drain()
        await asyncio.wait_for(printing.wait(), 30)
        await proxy.stop()
        await asyncio.sleep(0.05)
        writer.close()
    finally:
        asyncio.get_running_loop().set_exception_handler(None)
        server.close()
        await server.wait_closed()
    assert errors == []
