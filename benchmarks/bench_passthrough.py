"""What the print-stream pass-through adds to a print job: `python benchmarks/bench_passthrough.py [--jobs 200]`.

A stand-in network printer listens on loopback. Each job sends a recorded ESC/POS receipt
(`tests/fixtures/escpos/classic.bin`, logo, barcode and QR included) and times how long until the
printer has every byte, first straight to the printer, then through `TcpPassthrough` with the
capture parser tapping the stream. It reports p50 / p95 / max per job for both and checks the bytes
arrived unchanged. Captured receipts are parsed but not stored: the database is not on this path.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from app.devices.escpos_stream import EscPosStream, ReceiptComplete
from app.devices.passthrough import TcpPassthrough

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "escpos" / "classic.bin"


class Printer:
    """Counts the bytes of each job and says when a job of `expected` bytes is complete."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.received = bytearray()
        self.done = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            self.received.extend(data)
            if len(self.received) >= self.expected:
                self.done.set()
        writer.close()


async def job(port: int, data: bytes, printer: Printer) -> float:
    printer.received.clear()
    printer.done.clear()
    started = time.perf_counter()
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    await printer.done.wait()
    elapsed = time.perf_counter() - started
    writer.close()
    await writer.wait_closed()
    if bytes(printer.received) != data:
        raise SystemExit("the printer did not get the job byte for byte")
    return elapsed * 1000


def report(name: str, times: list[float]) -> None:
    times = sorted(times)
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"{name:<28} p50 {statistics.median(times):6.2f} ms  p95 {p95:6.2f} ms  max {times[-1]:6.2f} ms")


async def main(jobs: int) -> None:
    data = FIXTURE.read_bytes()
    printer = Printer(len(data))
    server = await asyncio.start_server(printer.serve, "127.0.0.1", 0)
    printer_port = server.sockets[0].getsockname()[1]
    parser = EscPosStream()
    receipts = 0

    def tap(chunk: bytes) -> None:
        nonlocal receipts
        receipts += sum(1 for event in parser.feed(chunk) if isinstance(event, ReceiptComplete))

    proxy = TcpPassthrough("127.0.0.1", 0, "127.0.0.1", printer_port, tap)
    await proxy.start()
    try:
        for _ in range(10):  # warm-up
            await job(printer_port, data, printer)
            await job(proxy.port, data, printer)
        direct = [await job(printer_port, data, printer) for _ in range(jobs)]
        through = [await job(proxy.port, data, printer) for _ in range(jobs)]
    finally:
        await proxy.stop()
        server.close()
        await server.wait_closed()
    print(f"{jobs} jobs of {len(data):,} bytes each (a recorded receipt with logo, barcode and QR)")
    report("straight to the printer", direct)
    report("through the pass-through", through)
    print(f"receipts the tap read: {receipts} (of {jobs + 10} forwarded)")


if __name__ == "__main__":
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--jobs", type=int, default=200)
    asyncio.run(main(options.parse_args().jobs))
