"""`receipts show`, `health` and the held queue as real processes, over a data folder whose attempts met
every fate (written with the storage layer; the views are what is tested here)."""

from __future__ import annotations

import asyncio
import getpass
import json
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
    with processes.commands(data_dir=data) as cli:
        shown = cli.run("receipts", "show", fates.receipt_id)
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

        dropped = cli.run("receipts", "show", fates.dropped_receipt_id)
        assert f"in doubt \u2192 dropped by {MANAGER}" in dropped.stdout


def test_held_messages_are_listed_then_sent_or_dropped_in_the_os_users_name(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fates = folder_with_fates(data)
    me = f"os:{getpass.getuser()}"
    with processes.commands(data_dir=data) as cli:
        health = cli.run("health")
        assert health.returncode == 0, health.stdout + health.stderr  # a held message warns; it is no outage
        assert "Warning: 1 message is held because its customer may already have it" in health.stdout
        assert "Held for a manager: 1." in health.stdout
        assert json.loads(cli.run("health", "--json").stdout)["held"] == 1

        listed = cli.run("queue", "held")
        assert listed.returncode == 0, listed.stderr
        [row] = [line for line in listed.stdout.splitlines() if fates.held_id in line]
        assert "sms" in row and "***-0142" in row and "+12175550142" not in listed.stdout and row.endswith("Twilio")
        [entry] = json.loads(cli.run("queue", "held", "--json").stdout)
        assert entry["delivery_id"] == fates.held_id and entry["receipt_id"] == fates.held_receipt_id

        not_held = cli.run("queue", "send-held", fates.dropped_id)
        assert not_held.returncode != 0 and len(not_held.stderr.strip().splitlines()) == 1
        assert "not held" in not_held.stderr
        missing = cli.run("queue", "drop-held", "nope", "--reason", "gone")
        assert missing.returncode != 0 and missing.stderr.strip() == "receiptdesk: There is no delivery nope."

        sent = cli.run("queue", "send-held", fates.held_id)
        assert sent.returncode == 0, sent.stderr
        assert "queued again" in sent.stdout
        assert cli.run("queue", "held").stdout.strip() == "No delivery is held."
        shown = cli.run("receipts", "show", fates.held_receipt_id)
        assert f"in doubt \u2192 sent again by {me}" in shown.stdout and "queued" in shown.stdout
        audit = json.loads(cli.run("audit", "show", "--json").stdout)
        assert [(e["actor"], e["detail"]["how"]) for e in audit if e["subject"] == fates.held_id] == [
            (me, "sent_by_manager")
        ]


def test_dropping_a_held_message_needs_a_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fates = folder_with_fates(data)
    me = f"os:{getpass.getuser()}"
    with processes.commands(data_dir=data) as cli:
        blank = cli.run("queue", "drop-held", fates.held_id, "--reason", "  ")
        assert blank.returncode != 0 and len(blank.stderr.strip().splitlines()) == 1
        dropped = cli.run("queue", "drop-held", fates.held_id, "--reason", "showed it at the till")
        assert dropped.returncode == 0, dropped.stderr
        assert "will not be sent again" in dropped.stdout
        shown = cli.run("receipts", "show", fates.held_receipt_id)
        assert f"in doubt \u2192 dropped by {me}" in shown.stdout and "showed it at the till" in shown.stdout
        health = cli.run("health")
        assert "Warning" not in health.stdout and "Held for a manager: 0." in health.stdout
