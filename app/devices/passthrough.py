"""Sitting between a legacy POS and its receipt printer: every byte forwarded, a copy tapped.

Bytes from the POS go to the printer first, unchanged and in order, and only then to the tap (the
print-stream reader). A tap that fails is logged and never stops or delays the printing. Status
replies from the printer (to DLE EOT and the like) flow back to the POS the same way.

Two forms: `SerialPassthrough` between two serial ports (one thread per direction, so blocking
serial I/O never runs on the event loop) and `TcpPassthrough`, a raw TCP port 9100 listener that
forwards to the network printer. Devices follow python-escpos: open/close/read/write, with
`DummyDevice` recording bytes for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol

import serial

from app.support.listening import listening_socket

log = logging.getLogger(__name__)

Tap = Callable[[bytes], None]
"""Receives a copy of each chunk the POS sent, after the printer got it."""

READ_SIZE = 4096
RETRY_SECONDS = 1.0


class Device(Protocol):
    """A byte pipe to a POS or a printer."""

    def open(self) -> None: ...
    def close(self) -> None: ...
    def read(self, size: int) -> bytes:
        """Up to `size` bytes; b"" when nothing arrived within the device's timeout."""
        ...

    def write(self, data: bytes) -> None: ...


class SerialDevice:
    """A serial port through pyserial; `url` is a port name or a pyserial URL (`loop://`, `rfc2217://`)."""

    def __init__(self, url: str, *, baudrate: int = 9600, timeout: float = 0.05, rtscts: bool = False) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self.rtscts = rtscts
        self._port: serial.Serial | None = None

    def open(self) -> None:
        if self._port is None:
            self._port = serial.serial_for_url(
                self.url, baudrate=self.baudrate, timeout=self.timeout, rtscts=self.rtscts, write_timeout=10
            )

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            port.close()

    def read(self, size: int) -> bytes:
        if self._port is None:
            raise serial.SerialException(f"{self.url} is not open")
        first = self._port.read(1)  # waits up to the timeout
        if not first:
            return b""
        waiting = self._port.in_waiting
        return first + (self._port.read(min(waiting, size - 1)) if waiting else b"")

    def write(self, data: bytes) -> None:
        if self._port is None:
            raise serial.SerialException(f"{self.url} is not open")
        self._port.write(data)
        self._port.flush()


class DummyDevice:
    """A device for tests: `feed()` scripts what it reads, `output` records what was written."""

    def __init__(self, *, timeout: float = 0.05) -> None:
        self.timeout = timeout
        self.output = bytearray()
        self.opened = False
        self._incoming: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._lock = threading.Lock()

    def open(self) -> None:
        self.opened = True

    def close(self) -> None:
        self.opened = False

    def feed(self, data: bytes) -> None:
        self._incoming.put(data)

    def read(self, size: int) -> bytes:
        try:
            return self._incoming.get(timeout=self.timeout)
        except queue.Empty:
            return b""

    def write(self, data: bytes) -> None:
        with self._lock:
            self.output += data


def _safe_tap(tap: Tap | None, data: bytes) -> None:
    if tap is None:
        return
    try:
        tap(data)
    except Exception:
        log.exception("the print-stream tap failed; printing goes on")


class SerialPassthrough:
    """POS serial port ⇄ printer serial port, one thread per direction."""

    def __init__(self, pos: Device, printer: Device, tap: Tap | None = None, *, name: str = "capture") -> None:
        self.pos = pos
        self.printer = printer
        self.tap = tap
        self.name = name
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.forwarded = 0
        self.returned = 0

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    async def start(self) -> None:
        """Open both ports (off the loop) and start forwarding."""
        await asyncio.to_thread(self._open)
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._pump_to_printer, name=f"{self.name}-pos-to-printer", daemon=True),
            threading.Thread(target=self._pump_to_pos, name=f"{self.name}-printer-to-pos", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    async def stop(self) -> None:
        """Stop forwarding and close both ports (off the loop)."""
        self._stop.set()
        await asyncio.to_thread(self._join_and_close)

    def _open(self) -> None:
        self.pos.open()
        try:
            self.printer.open()
        except Exception:
            self.pos.close()
            raise

    def _join_and_close(self) -> None:
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        for device in (self.pos, self.printer):
            with contextlib.suppress(Exception):
                device.close()

    def _pump_to_printer(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.pos.read(READ_SIZE)
                if not data:
                    continue
                self.printer.write(data)  # the printer first, before anything looks at the bytes
                self.forwarded += len(data)
            except Exception:
                log.exception("%s: POS to printer forwarding failed; retrying", self.name)
                self._stop.wait(RETRY_SECONDS)
                continue
            _safe_tap(self.tap, data)

    def _pump_to_pos(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.printer.read(READ_SIZE)
                if data:
                    self.pos.write(data)
                    self.returned += len(data)
            except Exception:
                log.exception("%s: printer to POS forwarding failed; retrying", self.name)
                self._stop.wait(RETRY_SECONDS)


class TcpPassthrough:
    """A raw TCP (port 9100) listener that forwards each POS connection to the network printer.

    One connection is forwarded at a time (a printer prints one job at a time), so the tapped
    stream never interleaves two jobs.
    """

    def __init__(
        self,
        listen_host: str,
        listen_port: int,
        printer_host: str,
        printer_port: int = 9100,
        tap: Tap | None = None,
        *,
        connect_timeout: float = 5.0,
    ) -> None:
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.printer_host = printer_host
        self.printer_port = printer_port
        self.tap = tap
        self.connect_timeout = connect_timeout
        self.forwarded = 0
        self._server: asyncio.Server | None = None
        self._job = asyncio.Lock()
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port actually listened on (useful with port 0)."""
        if self._server is None or not self._server.sockets:
            return self.listen_port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        # One listener per port, on Windows too (see app.support.listening).
        sock = listening_socket(self.listen_host, self.listen_port)
        self._server = await asyncio.start_server(self._accept, sock=sock)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            async with self._job:
                await self._forward(reader, writer)
        except asyncio.CancelledError:
            # `stop()` ends open jobs. The handler returns instead of re-raising: asyncio 3.11's server
            # callback calls `task.exception()` on it and would log a cancelled handler as an error.
            log.info("print connection closed: the pass-through is stopping")
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _forward(self, pos_reader: asyncio.StreamReader, pos_writer: asyncio.StreamWriter) -> None:
        try:
            printer_reader, printer_writer = await asyncio.wait_for(
                asyncio.open_connection(self.printer_host, self.printer_port), self.connect_timeout
            )
        except (OSError, TimeoutError) as exc:
            log.error("cannot reach the printer at %s:%s: %s", self.printer_host, self.printer_port, exc)
            return
        back = asyncio.create_task(self._pump(printer_reader, pos_writer, None), name="capture-printer-to-pos")
        try:
            await self._pump(pos_reader, printer_writer, self.tap)
            if printer_writer.can_write_eof():
                printer_writer.write_eof()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(back), 2.0)
        finally:
            back.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await back
            printer_writer.close()
            with contextlib.suppress(Exception):
                await printer_writer.wait_closed()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tap: Tap | None) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)  # forwarded first, before anything looks at the bytes
                await writer.drain()
                if tap is not None:
                    self.forwarded += len(data)
                    _safe_tap(tap, data)
        except (ConnectionError, OSError) as exc:
            log.info("print connection closed: %s", exc)
