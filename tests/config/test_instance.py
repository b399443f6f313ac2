"""One ReceiptDesk per data folder: the OS lock, its holder named, a stale file ignored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.config.instance import LOCK_FILE, InstanceLock, read_holder
from app.domain.errors import InstanceBusy
from app.domain.exit_codes import SUMMARY, ExitCode, exit_code_for


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    with InstanceLock(tmp_path, "receiptdesk serve --port 0"):
        assert read_holder(tmp_path / LOCK_FILE) == f"{os.getpid()}, `receiptdesk serve --port 0`"
        with pytest.raises(InstanceBusy) as refused:
            InstanceLock(tmp_path, "receiptdesk demo").acquire()
        assert refused.value.message == (
            f"Another ReceiptDesk (pid {os.getpid()}, `receiptdesk serve --port 0`) is using the data folder "
            f"{tmp_path}. Stop it first, or give this one its own --data-dir."
        )
        assert exit_code_for(refused.value) is ExitCode.BUSY
    with InstanceLock(tmp_path, "receiptdesk demo"):  # released: the next one gets it
        assert read_holder(tmp_path / LOCK_FILE) == f"{os.getpid()}, `receiptdesk demo`"
    assert read_holder(tmp_path / LOCK_FILE) is None


def test_a_file_left_by_a_killed_process_blocks_nobody(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text("999999\nreceiptdesk serve\n", encoding="utf-8")
    with InstanceLock(tmp_path, "receiptdesk serve"):
        assert read_holder(tmp_path / LOCK_FILE) == f"{os.getpid()}, `receiptdesk serve`"


def test_a_data_folder_that_cannot_hold_the_lock_is_a_settings_problem(tmp_path: Path) -> None:
    from app.domain.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="Cannot write in the data folder"):
        InstanceLock(tmp_path / "missing").acquire()


def test_the_exit_codes_are_the_documented_numbers() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "FAILED": 1,
        "USAGE": 2,
        "AUDIT_BROKEN": 3,
        "UNAVAILABLE": 69,
        "INTERNAL": 70,
        "BUSY": 75,
        "INTERRUPTED": 130,
    }
    assert set(SUMMARY) == set(ExitCode)  # each is explained in `receiptdesk --help`
