"""How long can the kiosk's event loop stall while a big backlog drains? Prints the worst gap.

    .venv/bin/python packaging/bench_ui_stall.py [--deliveries 10000] [--sandbox process|inprocess]

Builds the real kiosk (all windows shown, offscreen by default) over a temporary SQLite database,
queues a backlog of deliveries with the dispatcher stopped, then starts dispatching to the provider
sandbox (a child process by default, like a remote provider; or in this loop) while a 10 ms QTimer
records the gap between its ticks. The worst gap is the longest the UI could not respond.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import asyncio
import contextlib
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import qasync
from keyring.backends import fail
from PySide6.QtCore import QTimer
from sqlalchemy.orm import Session

from app.config.secrets import SecretStore
from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel
from app.domain.clock import utcnow
from app.domain.delivery import ACTIVE
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime, settle_heap
from app.sandbox.pos import make_sale
from app.sandbox.server import start_sandbox
from app.storage import outbox
from app.triggers.pos import pos_event
from app.ui.shell import KioskShell
from app.ui_launch import DEMO_PIN, build_context, prepare_app, provision_demo_manager

TICK_MS = 10


class StallMeter:
    """A 10 ms QTimer; every tick records how long it really took since the last one."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.gaps) or [0.0]
        q = statistics.quantiles(ordered, n=1000, method="inclusive") if len(ordered) > 1 else ordered * 999
        return {
            "ticks": len(self.gaps),
            "p50_ms": round(q[499], 1),
            "p99_ms": round(q[989], 1),
            "p999_ms": round(q[998], 1),
            "max_ms": round(ordered[-1], 1),
        }


@contextlib.asynccontextmanager
async def provider_sandbox(kind: str) -> AsyncIterator[str]:
    if kind == "inprocess":
        running = await start_sandbox()
        try:
            yield running.url
        finally:
            await running.stop()
        return
    command = [sys.executable, "-m", "app", "sandbox", "--port", "0"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220 (one launch, before measuring)
    try:
        assert child.stdout is not None
        line = await asyncio.to_thread(child.stdout.readline)
        if "http://" not in line:
            raise RuntimeError("the sandbox process did not start")
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        child.terminate()
        await asyncio.to_thread(child.wait, 10)


async def backlog(runtime: Runtime, deliveries: int, sales: int) -> None:
    """`sales` receipts through checkout (what the cashier list shows), then deliveries up to `deliveries`."""
    rng = random.Random(5)
    ids = []
    for n in range(sales):
        payload = make_sale(rng, sale_id=f"B{n:06d}", lane="1")
        payload["customer"] = {
            "email": f"bench{n}@example.com",
            "phone": f"+1217555{n % 10000:04d}",
            "channels": ["email", "sms"],
        }
        result = await runtime.checkout.accept(
            pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow())
        )
        ids.append(result.receipt_id)
    remaining = deliveries - 2 * sales
    routing = runtime.settings.routing

    def job(count: int, start: int) -> object:
        def add(session: Session) -> None:
            now = utcnow()
            for i in range(start, start + count):
                channel = Channel.EMAIL if i % 2 else Channel.SMS
                recipient = f"bulk{i}@example.com" if channel is Channel.EMAIL else f"+1312555{i % 10000:04d}"
                outbox.new_delivery(
                    session,
                    receipt_id=ids[i % len(ids)],
                    channel=channel,
                    provider=routing[channel],
                    recipient=recipient,
                    now=now,
                )

        return add

    done = 0
    while done < remaining:
        count = min(1000, remaining - done)
        await runtime.db.write(job(count, done))  # type: ignore[arg-type]
        done += count


async def active(runtime: Runtime) -> int:
    status = await runtime.receipts.queue_status()
    return sum(n for state, n in status.by_state.items() if state in {s.value for s in ACTIVE})


async def main(deliveries: int, sandbox: str, ui: bool) -> None:
    meter = StallMeter()
    with tempfile.TemporaryDirectory(prefix="receiptdesk-stall-") as tmp:
        async with provider_sandbox(sandbox) as url:
            runtime = build_runtime(sandbox_settings(Settings(), url), data=Path(tmp), secrets=sandbox_secrets(url))
            shell: KioskShell | None = None
            try:
                await backlog(runtime, deliveries, sales=200)
                queued = await active(runtime)
                ctx = build_context(
                    runtime,
                    file_settings=Settings(),
                    config_path=Path(tmp) / "receiptdesk.toml",
                    export_dir=Path(tmp),
                    demo=True,
                    secrets=SecretStore(env={}, backend=fail.Keyring()),
                )
                await provision_demo_manager(ctx)
                if ui:
                    shell = KioskShell(ctx)
                    shell.show()
                    shell.manager.open()
                    await shell.manager.pin.load_names()
                    shell.manager.pin.field.setText(DEMO_PIN)
                    shell.manager.pin.unlock()
                    for _ in range(200):  # the PIN is checked off the loop: a slow hash, then the database
                        if shell.manager.unlocked:
                            break
                        await asyncio.sleep(0.05)
                    shell.manager.tabs.setCurrentWidget(shell.manager.health)
                settle_heap()  # as the kiosk and `serve` do once started
                await asyncio.sleep(1.0)
                meter.start()
                await asyncio.sleep(1.0)
                idle = meter.summary()
                meter.start()
                started = time.perf_counter()
                runtime.start_dispatching()
                while await active(runtime):  # noqa: ASYNC110 (the outbox is polled, as the headless demo does)
                    await asyncio.sleep(0.25)
                seconds = time.perf_counter() - started
                meter.stop()
                busy = meter.summary()
                status = await runtime.receipts.queue_status()
            finally:
                meter.stop()
                if shell is not None:
                    await shell.aclose()
                await runtime.close()
    windows = "kiosk windows shown" if ui else "no windows"
    print(
        f"Backlog: {queued} deliveries, drained in {seconds:.1f} s ({queued / seconds:.0f}/s), "
        f"sandbox {sandbox}, {windows}"
    )
    print(f"Final states: {dict(sorted(status.by_state.items()))}")
    print(f"Idle loop (1 s):   {idle}")
    print(f"While draining:    {busy}")
    print(f"WORST EVENT-LOOP STALL: {busy['max_ms']} ms (10 ms QTimer; p99 {busy['p99_ms']} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--sandbox", choices=("process", "inprocess"), default="process")
    parser.add_argument("--no-ui", action="store_true", help="same loop and timer, no kiosk windows (baseline)")
    args = parser.parse_args()
    sys.setswitchinterval(0.001)  # as the `receiptdesk` command does
    app = prepare_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main(args.deliveries, args.sandbox, not args.no_ui))
    finally:
        loop.close()
