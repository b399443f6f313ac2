"""`receiptdesk retention` and `receiptdesk holds` over a real data folder: what they print, and one line for
each mistake a person can make."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.storage import schema
from app.storage.database import Database
from tests.services.test_retention import YEAR, Store

Payload = Callable[..., dict[str, Any]]


@pytest.fixture
def folder(tmp_path: Path, sale_payload: Payload) -> list[str]:
    """A data folder with two sales eight years old; the command line's options over it."""
    data = tmp_path / "data"
    data.mkdir()
    db = Database(f"sqlite:///{data / 'receiptdesk.db'}")
    schema.upgrade(db.write_engine)

    async def seed() -> None:
        store = Store(db, sale_payload)
        old = datetime.now(UTC) - 8 * YEAR
        await store.sell(old, "held@example.com")  # S-1
        await store.sell(old + timedelta(hours=1), "gone@example.com")  # S-2

    asyncio.run(seed())
    db.close()
    config = tmp_path / "receiptdesk.toml"
    config.write_text('[store]\ntimezone = "America/Chicago"\n')
    return ["--config", str(config), "--data-dir", str(data), "--log-dir", str(tmp_path / "logs")]


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("receiptdesk: "), lines
    return lines[0]


def test_holds_and_a_purge_from_the_command_line(folder: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["holds", "place", "--reason", "dispute", *folder]) != 0
    assert "Say what the hold covers: a customer, a sale, or a range of dates." in one_error(capsys)
    assert main(["holds", "place", "--from", "2025-13-01", "--reason", "x", *folder]) != 0
    assert "--from: '2025-13-01' is not a date; write it as YYYY-MM-DD." in one_error(capsys)

    assert main(["holds", "place", "--sale", "S-1", "--reason", "chargeback 4471", *folder]) == 0
    assert "Hold 1 placed on sale S-1" in capsys.readouterr().out
    assert main(["holds", "list", *folder]) == 0
    listed = capsys.readouterr().out
    assert "sale S-1" in listed and "chargeback 4471" in listed

    assert main(["retention", "show", *folder]) == 0
    shown = capsys.readouterr().out
    assert "2,555 days (7 years)" in shown and "Last purge: never." in shown
    assert "Legal holds: 1 active" in shown and "would remove: 1 receipt, 1 sale," in shown

    assert main(["retention", "purge", "--dry-run", *folder]) == 0
    assert "Nothing was changed." in capsys.readouterr().out
    assert main(["retention", "purge", *folder]) == 0
    out = capsys.readouterr().out
    assert "  receipts: 1 of 1" in out and "finished: removed 1 receipt, 1 sale," in out

    assert main(["holds", "release", "1", "--reason", "settled", *folder]) == 0
    assert main(["holds", "release", "1", *folder]) != 0
    assert "There is no active hold 1" in one_error(capsys)
    assert main(["audit", "verify", *folder]) == 0
