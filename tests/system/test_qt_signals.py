"""Regression: PySide6 6.12.0 on CPython 3.11 corrupts refcounts on Python-side Signal.emit().

With qasync every callback emits, so a process aborted ("Fatal Python error: bool_dealloc") after a
few thousand. The pin in pyproject.toml keeps 6.11.x; this runs 20,000 emits through a qasync loop
in a child process, so an abort fails this test instead of killing the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = r"""
import asyncio, os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication
import qasync

class Source(QObject):
    sig_flag = Signal(bool)
    sig_value = Signal(object)

app = QApplication([])
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
source = Source()
seen = []
source.sig_flag.connect(lambda v: seen.append(v))
source.sig_value.connect(lambda v: seen.append(v))

async def main():
    for i in range(10_000):
        source.sig_flag.emit(i % 2 == 0)
        source.sig_value.emit(None)
        if i % 500 == 0:
            await asyncio.sleep(0)

with loop:
    loop.run_until_complete(main())
print(len(seen))
"""


def test_twenty_thousand_signal_emits_through_qasync_do_not_abort() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "20000"
