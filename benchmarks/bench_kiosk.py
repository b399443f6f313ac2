"""The kiosk's start and its event loop: `python benchmarks/bench_kiosk.py [--quick] [--json]`.

Each figure comes from a fresh process running the real kiosk demo (`receiptdesk demo`: the sandbox,
the local API, the dispatcher and the windows, in one process), as a cashier would start it:

- **start**: seconds from launching the process to the first window painted (the cashier's), and
  the process's resident memory once the kiosk has started (first window, then a second of loop in
  which the work deferred past the first window runs). An everyday start: the demo's database
  exists (an unmeasured first run creates it) and the disk cache is warm. Under
  `QT_QPA_PLATFORM=offscreen`, then under a real X display (`xvfb-run`, platform `xcb`) when
  `xvfb-run` is installed; each entry of `"start"` names its `"display"`. `kiosk_cpu_to_window_s`
  is the CPU the process used until then (less swayed by a busy machine than the wall clock).
- **drain**: the worst event-loop stall while a backlog of deliveries (10,000; with
  `--quick`: 600), queued through checkout before the kiosk starts, drains to the sandbox with the
  windows shown. From the kiosk's "started" log line, a coroutine asks to wake every 5 ms for
  15 s (3 s with `--quick`); a stall is how late it woke. `sent_in_window` says how much drained.

References measured in the same run, so a busy machine slows both sides alike:
- a bare Qt window (`QApplication`, one `QWidget` shown and painted): launch-to-paint and RSS,
  in runs alternating with the kiosk's.

Ratios (higher is better), for the CI gate:
- `start_vs_bare_qt`: the bare window's launch-to-first-paint seconds / the kiosk's (offscreen, medians).
- `memory_bare_over_kiosk`: the bare window's RSS / the kiosk's RSS after start (offscreen, medians).
- `stall_tick_over_worst`: a 16 ms frame (60 Hz) / the worst stall while the backlog drains
  (0.53 or more means no stall reached 30 ms).

`--tree DIR` loads the kiosk from another checkout (e.g. an exported earlier revision) to compare.
`--drain-only` measures only the stalls; `--py-spy FILE` records the draining kiosk's every thread
with py-spy (raw format).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FRAME_S = 0.016
"""The period the stall is compared with: one frame at 60 Hz."""
TICK_S = 0.005
"""How often the stall probe asks to wake."""
SETTLE_S = 1.0
"""Idle loop after everything started (`app.ui_launch.STARTED`) before memory is read."""
MARK = "BENCH-KIOSK "

BARE = """
import sys, time, json
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv[:1])
class Painted(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and obj is w:
            print("BENCH-KIOSK " + json.dumps({"window_at": time.time()}), flush=True)
            QTimer.singleShot(int(%(settle)f * 1000), done)
            app.removeEventFilter(self)
        return False
def done():
    rss = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:")][0]
    print("BENCH-KIOSK " + json.dumps({"rss_mb": rss / 1024}), flush=True)
    app.quit()
painted = Painted()
app.installEventFilter(painted)
w = QWidget()
w.resize(400, 300)
w.show()
app.exec()
"""


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def say(**figures: Any) -> None:
    print(MARK + json.dumps(figures), flush=True)


def child(mode: str, backlog: int, window_s: float, data: Path | None) -> int:
    """Run the kiosk demo in this process, reporting through stdout lines starting with `MARK`."""
    import asyncio
    import logging

    import app.ui_launch as launch  # first, as `receiptdesk` imports it: it orders its imports before Qt's
    from app.config.settings import Settings

    # isort: split
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    data_dir: Path | None = data
    if mode == "drain" and data_dir is not None:
        queued = asyncio.run(queue_backlog(data_dir, backlog))
        say(queued=queued)

    contexts: list[Any] = []
    real_build_context = launch.build_context

    def capture_context(*args: Any, **kwargs: Any) -> Any:
        ctx = real_build_context(*args, **kwargs)
        contexts.append(ctx)
        return ctx

    launch.build_context = capture_context  # type: ignore[assignment]

    def close_kiosk() -> None:
        for widget in QApplication.topLevelWidgets():
            if type(widget).__name__ == "CashierWindow":
                widget.close()

    async def probe_stalls() -> None:
        try:
            await watch_drain()
        except Exception as exc:  # reported, and the process still ends
            say(error=repr(exc))
        # Ends here: a kiosk closed while its backlog drains can take long to stop (the dispatcher
        # finishing its attempts), which is not what this measures. The parent removes the data.
        os._exit(0)

    async def watch_drain() -> None:
        """Wake every TICK_S for `window_s` while the backlog drains; report the worst lateness."""
        ctx = contexts[0]
        waiting_before = (await ctx.receipts.queue_status()).by_state.get("queued", 0)
        worst, started = 0.0, time.perf_counter()
        lates: list[float] = []
        while time.perf_counter() - started < window_s:
            before = time.perf_counter()
            await asyncio.sleep(TICK_S)
            late = time.perf_counter() - before - TICK_S
            lates.append(late)
            worst = max(worst, late)
        seconds = time.perf_counter() - started
        waiting_after = (await ctx.receipts.queue_status()).by_state.get("queued", 0)
        lates.sort()
        say(
            worst_stall_ms=round(worst * 1000, 1),
            p99_stall_ms=round(lates[int(len(lates) * 0.99)] * 1000, 1),
            window_s=round(seconds, 2),
            sent_in_window=waiting_before - waiting_after,
            still_queued=waiting_after,
            ticks=len(lates),
        )

    class Started(logging.Handler):
        """The kiosk's own word that everything is running (`app.ui_launch.STARTED`)."""

        def emit(self, record: logging.LogRecord) -> None:
            if record.msg != getattr(launch, "STARTED", None):
                return
            if mode == "drain":
                asyncio.get_event_loop().create_task(probe_stalls())
            else:  # memory once everything runs, and has run for a moment
                QTimer.singleShot(int(SETTLE_S * 1000), read_memory)

    def read_memory() -> None:
        say(rss_mb=rss_mb())
        close_kiosk()

    launch_log = logging.getLogger(launch.__name__)
    launch_log.setLevel(logging.INFO)
    launch_log.addHandler(Started())

    def after_window() -> None:
        if mode == "drain":
            if not hasattr(launch, "STARTED"):  # an earlier kiosk: everything started before its first window
                asyncio.get_event_loop().create_task(probe_stalls())
        elif not hasattr(launch, "STARTED"):  # an earlier kiosk: everything started before its first window
            QTimer.singleShot(int(SETTLE_S * 1000), read_memory)

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and isinstance(watched, QWidget) and watched.isWindow():
                say(window_at=time.time(), window=type(watched).__name__, cpu_s=time.process_time())
                QApplication.instance().removeEventFilter(self)  # type: ignore[union-attr]
                QTimer.singleShot(0, after_window)
            return False

    app = launch.prepare_app()
    first = FirstPaint()
    app.installEventFilter(first)
    status = launch.run_kiosk(Settings(), data_dir, True, sale_every=0)
    return status


async def queue_backlog(data_dir: Path, deliveries: int) -> int:
    """Sales recorded through checkout (nothing sent) until `deliveries` wait in the outbox."""
    import asyncio
    import random

    from app.demo.wiring import demo_texts, sandbox_secrets, sandbox_settings
    from app.domain.clock import utcnow
    from app.domain.intake import parse_sale
    from app.main import build_runtime
    from app.sandbox.pos import make_sale
    from app.triggers.pos import pos_event

    url = "http://127.0.0.1:9"  # never reached: the kiosk sends through its own sandbox
    from app.config.settings import Settings

    runtime = build_runtime(demo_texts(sandbox_settings(Settings(), url)), data=data_dir, secrets=sandbox_secrets(url))
    rng = random.Random(7)
    queued, n = 0, 0

    async def one(number: int) -> int:
        sale = parse_sale(make_sale(rng, sale_id=f"B{number:07d}", with_customer=True))
        receipt = await runtime.checkout.accept(pos_event(sale, idempotency_key=None, received_at=utcnow()))
        return len(receipt.deliveries)

    try:
        while queued < deliveries and n < deliveries * 2:  # 20 at a time: the database commits them in groups
            batch = range(n + 1, n + 21)
            n += 20
            queued += sum(await asyncio.gather(*(one(number) for number in batch)))
        status = await runtime.receipts.queue_status()
        queued = status.by_state.get("queued", 0)
    finally:
        await runtime.close()
    return queued


def run_child(argv: list[str], env: dict[str, str], timeout: float) -> tuple[float, dict[str, Any]]:
    """Launch a process; seconds from launch to its first window, and every figure it reported."""
    started = time.time()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    figures: dict[str, Any] = {}
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            figures.update(json.loads(line[len(MARK) :]))
    if proc.returncode != 0 or "window_at" not in figures:
        raise SystemExit(f"{argv[-2:]} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return figures["window_at"] - started, figures


TREE = ROOT
"""Where the kiosk's `app` package is loaded from (`--tree`: another checkout, to compare with)."""


def environment(display: str) -> dict[str, str]:
    # An installed kiosk starts from compiled bytecode: the first, unmeasured run writes it here too.
    dropped = ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PYTHONPATH"] = str(TREE)
    if display == "offscreen":
        env["QT_QPA_PLATFORM"] = "offscreen"
    else:
        env["QT_QPA_PLATFORM"] = "xcb"
    return env


def command(display: str, *args: str) -> list[str]:
    base = [sys.executable, *args]
    if display == "xvfb":
        return ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", *base]
    return base


def measure_start(display: str, repeats: int, data: Path) -> dict[str, Any]:
    """`repeats` alternating runs of a bare Qt window and the kiosk (on the database in `data`)."""
    env = environment(display)
    bare_s, bare_rss, kiosk_s, kiosk_rss, kiosk_cpu = [], [], [], [], []
    kiosk = command(display, __file__, "--child", "start", "--data", str(data))
    for _ in range(repeats):  # alternating, so a busy moment slows both alike
        seconds, figures = run_child(command(display, "-c", BARE % {"settle": SETTLE_S}), env, 60)
        bare_s.append(seconds)
        bare_rss.append(figures["rss_mb"])
        seconds, figures = run_child(kiosk, env, 120)
        kiosk_s.append(seconds)
        kiosk_rss.append(figures["rss_mb"])
        kiosk_cpu.append(figures["cpu_s"])
    return {
        "display": display,
        "kiosk_start_s": [round(s, 3) for s in kiosk_s],
        "bare_qt_start_s": [round(s, 3) for s in bare_s],
        "kiosk_cpu_to_window_s": [round(s, 3) for s in kiosk_cpu],
        "kiosk_rss_mb": [round(m, 1) for m in kiosk_rss],
        "bare_qt_rss_mb": [round(m, 1) for m in bare_rss],
        "kiosk_start_median_s": round(statistics.median(kiosk_s), 3),
        "bare_qt_start_median_s": round(statistics.median(bare_s), 3),
        "kiosk_rss_median_mb": round(statistics.median(kiosk_rss), 1),
        "bare_qt_rss_median_mb": round(statistics.median(bare_rss), 1),
    }


def measure_drain(backlog: int, window_s: float, profile: Path | None = None) -> dict[str, Any]:
    env = environment("offscreen")
    with tempfile.TemporaryDirectory(prefix="bench-kiosk-drain-") as data:
        argv = [sys.executable, __file__, "--child", "drain", "--backlog", str(backlog), "--window", str(window_s)]
        if profile is not None:  # every thread of the kiosk, sampled while it starts and drains
            spy = Path(sys.executable).with_name("py-spy")
            argv = [str(spy), "record", "--threads", "--format", "raw", "-r", "200", "-o", str(profile), "--", *argv]
        _, figures = run_child([*argv, "--data", data], env, 300)
    keys = ("queued", "worst_stall_ms", "p99_stall_ms", "window_s", "sent_in_window", "still_queued", "ticks")
    return {k: figures[k] for k in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a 600-delivery backlog watched for 3 s")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--backlog", type=int, default=None, help="deliveries queued before the drain")
    parser.add_argument("--window", type=float, default=None, help="seconds of draining watched for stalls")
    parser.add_argument("--tree", type=Path, default=None, help="load the kiosk from this checkout instead")
    parser.add_argument("--no-xvfb", action="store_true", help="offscreen only, even when xvfb-run exists")
    parser.add_argument("--drain-only", action="store_true", help="only the drain's stalls (no start figures)")
    parser.add_argument("--py-spy", type=Path, default=None, help="record the drain's process with py-spy (raw)")
    parser.add_argument("--child", choices=("start", "drain"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    backlog = args.backlog or (600 if args.quick else 10_000)
    window_s = args.window or (3.0 if args.quick else 15.0)
    global TREE
    TREE = (args.tree or ROOT).resolve()
    if args.child:
        return child(args.child, backlog, window_s, args.data)
    if args.drain_only:
        drain = measure_drain(backlog, window_s, args.py_spy)
        stall = {"stall_tick_over_worst": round(FRAME_S * 1000 / max(drain["worst_stall_ms"], 0.1), 3)}
        print(json.dumps({"drain": drain, "ratios": stall}) if args.json else f"{drain} {stall}")
        return 0
    repeats = 2 if args.quick else 5
    with tempfile.TemporaryDirectory(prefix="bench-kiosk-start-") as data:
        # An everyday start: the kiosk's database exists (a first, unmeasured run creates it) and the
        # disk cache is warm.
        run_child(command("offscreen", __file__, "--child", "start", "--data", data), environment("offscreen"), 120)
        starts = [measure_start("offscreen", repeats, Path(data))]
        if not args.no_xvfb and shutil.which("xvfb-run"):
            starts.append(measure_start("xvfb", 1 if args.quick else repeats, Path(data)))
    drain = measure_drain(backlog, window_s, args.py_spy)
    offscreen = starts[0]
    figures: dict[str, Any] = {
        "start": starts,
        "drain": drain,
        "ratios": {
            "start_vs_bare_qt": round(offscreen["bare_qt_start_median_s"] / offscreen["kiosk_start_median_s"], 3),
            "memory_bare_over_kiosk": round(offscreen["bare_qt_rss_median_mb"] / offscreen["kiosk_rss_median_mb"], 3),
            "stall_tick_over_worst": round(FRAME_S * 1000 / max(drain["worst_stall_ms"], 0.1), 3),
        },
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for start in starts:
            print(
                f"{start['display']}: kiosk first window {start['kiosk_start_median_s']:.2f} s "
                f"(bare Qt {start['bare_qt_start_median_s']:.2f} s), RSS {start['kiosk_rss_median_mb']:.0f} MB "
                f"(bare Qt {start['bare_qt_rss_median_mb']:.0f} MB); runs {start['kiosk_start_s']}"
            )
        print(
            f"drain of a {drain['queued']}-delivery backlog with the windows shown, {drain['window_s']} s watched "
            f"({drain['sent_in_window']} sent): worst stall {drain['worst_stall_ms']} ms, "
            f"p99 {drain['p99_stall_ms']} ms"
        )
        print("ratios:", json.dumps(figures["ratios"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
