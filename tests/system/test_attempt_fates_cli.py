"""`receipts show`, `health` and the held queue as real processes, over a data folder whose attempts met
every fate (written with the storage layer; the views are what is tested here)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from app.config.settings import Settings
from app.main import build_runtime
from app.sandbox.pos import make_sale
from tests.attempt_fates import MANAGER, Fates, write_fates
from tests.system import processes


def sale(sale_id: str, *, seed: int) -> dict[str, Any]:
    return make_sale(random.Random(seed), sale_id=sale_id)


def folder_with_fates(data: Path) -> Fates:
    async def body() -> Fates:
        runtime = build_runtime(Settings(), data=data, sending=False)
        try:
            return await write_fates(runtime, sale)
        finally:
            await runtime.close()

    return asyncio.run(body())


def test_receipts_show_says_each_attempts_fate_in_words(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fates = folder_with_fates(data)
    shown = processes.run("receipts", "show", fates.receipt_id, data_dir=data)
    assert shown.returncode == 0, shown.stderr
    lines = [line.strip() for line in shown.stdout.splitlines()]
    attempts = [line for line in lines if line.startswith("#")]
    assert len(attempts) == 4
    assert attempts[0].startswith("#1 ") and "via SendGrid: failed for now 503, answered" in attempts[0]
    assert attempts[0].endswith("(SendGrid answered 503)")
    assert (
        "via SendGrid: in doubt \u2192 SendGrid cannot be asked, sent again as a possible duplicate, settled"
        in (attempts[1])
    )
    assert "answered" not in attempts[1]  # the answer never came
    assert "via SendGrid: sent \u2014 possible duplicate, answered" in attempts[2]
    assert "via Twilio: in doubt \u2192 found at Twilio, not sent again, settled" in attempts[3]

    dropped = processes.run("receipts", "show", fates.dropped_receipt_id, data_dir=data)
    assert f"in doubt \u2192 dropped by {MANAGER}" in dropped.stdout
