"""The log: where it goes, one line per record on standard error, the traceback and JSON in the file."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import logging_setup
from app.config.logging_setup import CONSOLE, LOG_FILE, configure, log_dirs


@pytest.fixture(autouse=True)
def _keep_root_logging() -> Iterator[None]:
    """`configure` replaces the root logger's handlers (pytest's among them): put them back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _boom() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        logging.getLogger("app.test").exception("it failed")


def test_the_log_goes_beside_the_data_or_where_asked_else_to_the_platform_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECEIPTDESK_LOG_DIR", raising=False)
    monkeypatch.delenv("RECEIPTDESK_DATA_DIR", raising=False)
    platform = log_dirs()[-1]
    assert log_dirs() == [platform] and platform.parts[-2:] in (("receiptdesk", "log"), ("receiptdesk", "Logs"))
    assert log_dirs(data_dir=tmp_path) == [tmp_path / "logs", platform]
    assert log_dirs(log_dir=tmp_path / "here", data_dir=tmp_path) == [tmp_path / "here", platform]
    monkeypatch.setenv("RECEIPTDESK_DATA_DIR", str(tmp_path / "env-data"))
    assert log_dirs()[0] == tmp_path / "env-data" / "logs"
    monkeypatch.setenv("RECEIPTDESK_LOG_DIR", str(tmp_path / "env-logs"))
    assert log_dirs(data_dir=tmp_path)[0] == tmp_path / "env-logs"


def test_standard_error_gets_one_line_and_the_file_the_traceback(tmp_path: Path) -> None:
    stream = io.StringIO()
    file = configure(data_dir=tmp_path, stream=stream)
    assert file == tmp_path / "logs" / LOG_FILE and not file.exists()  # nothing logged yet: no file
    logging.getLogger("app.test").info("not at the default level")
    _boom()
    logging.getLogger("app.test").error("for the file only", extra={CONSOLE: False})
    assert stream.getvalue() == "ERROR app.test: it failed (ValueError: bad thing)\n"
    text = file.read_text(encoding="utf-8")
    assert "Traceback" in text and 'raise ValueError("bad\\nthing")' in text and "for the file only" in text
    assert "not at the default level" not in text


def test_json_lines_carry_the_records_fields(tmp_path: Path) -> None:
    stream = io.StringIO()
    file = configure(verbosity=1, json_lines=True, log_dir=tmp_path, stream=stream)
    assert file is not None
    logging.getLogger("app.test").info("sale received", extra={"sale_id": "S1", "receipt_id": "R1"})
    _boom()
    console = [json.loads(line) for line in stream.getvalue().splitlines()]
    stored = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]
    assert [r["message"] for r in console] == [r["message"] for r in stored] == ["sale received", "it failed"]
    assert console[0]["sale_id"] == "S1" and console[0]["level"] == "INFO" and console[0]["pid"] == os.getpid()
    assert console[1]["error"] == "ValueError: bad\nthing" and "traceback" not in console[1]
    assert "Traceback" in stored[1]["traceback"]


def test_an_unwritable_place_is_skipped_and_only_the_holder_rotates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("", encoding="utf-8")
    monkeypatch.setattr(logging_setup, "user_log_dir", lambda *_a, **_k: str(tmp_path / "platform"))
    file = configure(data_dir=afile, stream=io.StringIO())
    assert file == tmp_path / "platform" / LOG_FILE
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging_setup.LogFile))
    assert handler.maxBytes == 0  # a tool appends
    configure(log_dir=tmp_path, rotate=True, stream=io.StringIO())
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging_setup.LogFile))
    assert handler.maxBytes == logging_setup.MAX_BYTES and handler.backupCount == logging_setup.BACKUPS


def test_verbose_logging_leaves_the_http_libraries_quiet_until_vv(tmp_path: Path) -> None:
    configure(verbosity=1, log_dir=tmp_path, stream=io.StringIO())
    assert logging.getLogger().level == logging.INFO
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    configure(verbosity=2, log_dir=tmp_path, stream=io.StringIO())
    assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)
