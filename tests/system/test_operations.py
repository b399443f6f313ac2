"""Running ReceiptDesk as an operator does: one line and a documented exit code for every failure, a
log file with the details, one instance per data folder, global options before or after the command."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.exit_codes import ExitCode
from app.sandbox.pos import make_sale
from tests.system import processes


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command wrote on standard error (and nothing else there)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("receiptdesk: "), lines[0]
    return lines[0]


def details(line: str) -> str:
    """The log file the line points at, which holds the traceback: its text."""
    found = re.search(r"\(details in (.+)\)$", line)
    assert found, line
    text = Path(found.group(1)).read_text(encoding="utf-8")
    assert "Traceback" in text
    return text


@pytest.fixture(scope="module")
def cli() -> Iterator[processes.Commands]:
    """One process for this module's one-command failures; each names its own data folder."""
    with processes.commands() as session:
        yield session


def isolated(tmp_path: Path) -> dict[str, str]:
    """The platform log folder of these runs (used when no data folder can hold the log) in tmp_path."""
    return {"XDG_STATE_HOME": str(tmp_path / "state")}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("receipts", "list", "--state", "bogus"), "invalid choice: 'bogus'"),
        (("sandbox", "--port", "99999"), "99999 is not a port number"),
        (("serve", "--port", "http"), "'http' is not a port number"),
        (("receipts", "list", "-q", os.fsdecode(b"\xff\xfeana")), "--query/-q"),
        (("recipts", "list"), "invalid choice: 'recipts'"),
    ],
)
def test_a_command_line_that_cannot_be_read_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], named: str, cli: processes.Commands
) -> None:
    result = cli.run("--data-dir", str(tmp_path), *args)
    assert result.returncode == ExitCode.USAGE
    line = one_line(result)
    assert named in line and "--help" in line


def test_a_data_folder_that_is_a_file_or_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a folder", encoding="utf-8")
    unwritable = [afile, afile / "below"]
    if sys.platform.startswith("linux"):
        unwritable.append(Path("/proc/receiptdesk-data"))  # nobody can make a folder there, not even root
    with processes.commands(extra_env=isolated(tmp_path)) as own:
        for folder in unwritable:
            result = own.run("--data-dir", str(folder), "receipts", "list")
            assert result.returncode == ExitCode.FAILED, result.stderr
            line = one_line(result)
            assert f"Cannot use {folder} as the data folder" in line
            assert str(tmp_path / "state") in line  # the log went to the platform log folder instead
            details(line)


def test_a_settings_file_that_is_not_utf8_is_one_line(tmp_path: Path, cli: processes.Commands) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes('[store]\nname = "Caf\u00e9 Market"\n'.encode("latin-1"))
    result = cli.run("--config", str(config), "--data-dir", str(tmp_path / "data"), "queue", "status")
    assert result.returncode == ExitCode.FAILED
    line = one_line(result)
    assert f"{config} is not UTF-8 text" in line
    assert str(tmp_path / "data" / "logs" / "receiptdesk.log") in line
    details(line)


def test_a_database_url_receiptdesk_cannot_use_is_one_line(tmp_path: Path, cli: processes.Commands) -> None:
    config = tmp_path / "rd.toml"
    config.write_text('[database]\nurl = "garbage://x"\n', encoding="utf-8")
    result = cli.run("--config", str(config), "--data-dir", str(tmp_path / "data"), "receipts", "list")
    assert result.returncode == ExitCode.FAILED
    line = one_line(result)
    assert "The database URL garbage://x is not one ReceiptDesk can use" in line
    assert "NoSuchModuleError" in details(line)


def test_an_unreachable_postgresql_is_one_line_and_exit_69(tmp_path: Path, cli: processes.Commands) -> None:
    pytest.importorskip("psycopg")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "rd.toml"
    config.write_text(f'[database]\nurl = "postgresql+psycopg://rd:pw@127.0.0.1:{port}/rd"\n', encoding="utf-8")
    result = cli.run("--config", str(config), "--data-dir", str(tmp_path / "data"), "queue", "status")
    assert result.returncode == ExitCode.UNAVAILABLE
    line = one_line(result)
    assert f"Cannot reach the database postgresql+psycopg://***@127.0.0.1:{port}/rd" in line
    assert "pw" not in line.replace("psycopg", "")
    details(line)


def test_an_unexpected_error_is_one_line_exit_70_and_the_log_has_the_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    broken = (
        "import sys\n"
        "import app.commands\n"
        "def run(args):\n"
        "    raise KeyError('the bug')\n"
        "app.commands.run = run\n"
        "from app.cli import main\n"
        f"sys.exit(main(['queue', 'status', '--data-dir', {str(data)!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", broken], capture_output=True, text=True, cwd=processes.ROOT, env=processes.env()
    )
    assert result.returncode == ExitCode.INTERNAL
    line = one_line(result)
    assert line.startswith("receiptdesk: Unexpected error: KeyError: 'the bug' (details in ")
    text = details(line)
    assert 'File "<string>", line 4, in run' in text and "Unexpected error" in text


def test_retrying_an_unknown_delivery_fails_naming_it(tmp_path: Path, cli: processes.Commands) -> None:
    result = cli.run("--data-dir", str(tmp_path), "queue", "retry", "UNKNOWN-ID")
    assert result.returncode == ExitCode.FAILED
    assert one_line(result) == "receiptdesk: There is no delivery UNKNOWN-ID."
    assert "queued again" not in result.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is for Linux")
@pytest.mark.parametrize("args", [(), ("demo",)], ids=["kiosk", "demo"])
def test_the_kiosk_without_a_display_says_so_in_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    environ = processes.env(**isolated(tmp_path))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        environ.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True,
        text=True,
        cwd=processes.ROOT,
        env=environ,
        timeout=120,
    )
    assert result.returncode == ExitCode.UNAVAILABLE  # not 134, Qt's abort
    line = one_line(result)
    assert "No display" in line and "DISPLAY and WAYLAND_DISPLAY are not set" in line
    for way_out in ("--headless", "receiptdesk serve", "QT_QPA_PLATFORM=offscreen", "Xvfb"):
        assert way_out in line
    assert "libxcb" not in result.stderr


def test_global_options_are_taken_before_or_after_the_command(tmp_path: Path) -> None:
    config = tmp_path / "rd.toml"
    config.write_text('[database]\nurl = "garbage://x"\n', encoding="utf-8")
    with processes.commands() as cli:
        for n, args in enumerate(
            [
                ("--data-dir", "{d}", "--config", "{c}", "receipts", "list"),
                ("receipts", "list", "--data-dir", "{d}", "--config", "{c}"),
                ("--config", "{c}", "receipts", "--data-dir", "{d}", "list"),
            ]
        ):
            data = tmp_path / f"data{n}"
            result = cli.run(*(a.format(d=data, c=config) for a in args))
            assert result.returncode == ExitCode.FAILED and "garbage://x" in one_line(result)  # --config was read
            assert (data / "logs" / "receiptdesk.log").is_file()  # and --data-dir too
        data = tmp_path / "demo"
        demo = processes.run("demo", "--headless", "--sales", "3", "--json", "--data-dir", str(data), "-v")
        assert demo.returncode == 0, demo.stderr
        figures = json.loads(demo.stdout)
        assert not figures["pos_errors"]
        assert (data / "receiptdesk.db").is_file()
        assert "sale received" in demo.stderr  # -v after the command
        listed = cli.run("-v", "receipts", "list", "--data-dir", str(data), "--log-format", "json")
    assert listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == 1 + figures["receipts_created"]
    assert all(json.loads(line)["level"] for line in listed.stderr.strip().splitlines())  # -v before, json after


def _post_sale(api: str, sale_id: str, auth: dict[str, str]) -> str:
    sale = make_sale(random.Random(5), sale_id=sale_id, with_customer=False)
    sale["customer"] = {"email": "ana@example.com", "channels": ["email"]}
    response = processes.HTTP.post(f"{api}/v1/sales", json=sale, timeout=10, headers=auth)
    assert response.status_code == 202, response.text
    receipt_id: str = response.json()["receipt_id"]
    return receipt_id


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_one_instance_per_data_folder_with_a_json_log_of_each_sale_and_delivery(tmp_path: Path) -> None:
    sandbox, sandbox_url = processes.start("sandbox", "--port", "0")
    config = processes.settings_file(tmp_path / "rd.toml", sandbox_url)
    data = tmp_path / "data"
    server, api = processes.start(
        "serve", "--config", str(config), "--data-dir", str(data), "-v", "--log-format", "json"
    )
    cli = processes.Commands(config=config, data_dir=data, extra_env=None)
    auth = processes.api_headers(config=config, data_dir=data, cli=cli)
    try:
        receipt_id = _post_sale(api, "OPS-1", auth)
        processes.wait_for(
            "the receipt was not sent",
            lambda: processes.HTTP.get(f"{api}/v1/health", headers=auth).json()["queue_depth"] == 0,
        )

        # A second start on the same data folder is refused, naming the holder.
        for args in (("serve",), ("demo", "--headless", "--sales", "1")):
            second = cli.run(*args)
            assert second.returncode == ExitCode.BUSY, second.stderr
            line = one_line(second)
            assert f"Another ReceiptDesk (pid {server.pid}, `receiptdesk serve --config" in line
            assert f"is using the data folder {data}" in line
        # Tools that read or queue run beside it.
        for tool in (("receipts", "list"), ("queue", "status"), ("audit", "verify")):
            assert cli.run(*tool).returncode == 0, tool

        # -v: one line per sale received and per delivery settled, as JSON, with no contact in them.
        log_file = data / "logs" / "receiptdesk.log"
        lines = log_file.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]  # the refused runs wrote text
        received = [r for r in records if r.get("event") == "sale.received"]
        settled = [r for r in records if r.get("event") == "delivery.settled"]
        assert [(r["sale_id"], r["receipt_id"], r["level"]) for r in received] == [("OPS-1", receipt_id, "INFO")]
        assert [(r["receipt_id"], r["channel"], r["provider"], r["state"]) for r in settled] == [
            (receipt_id, "email", "sendgrid", "sent")
        ]
        assert "ana@example.com" not in log_file.read_text(encoding="utf-8")

        # A lock left by a killed process blocks nobody.
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        assert (data / "receiptdesk.lock").read_text(encoding="utf-8").startswith(f"{server.pid}\n")
        server, api = processes.start("--config", str(config), "--data-dir", str(data), "serve")
        assert processes.HTTP.get(f"{api}/v1/receipts/{receipt_id}", headers=auth).status_code == 200
    finally:
        cli.close()
        for process in (server, sandbox):
            process.terminate()
            process.wait(10)
    assert server.stderr is not None
    assert "Traceback" not in server.stderr.read()
