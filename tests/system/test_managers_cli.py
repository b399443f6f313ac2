"""`receiptdesk managers` and `receiptdesk audit show` as real processes: PINs never stored or echoed as
typed, command-line actions named after the operating-system user, every delivery attempt in the log."""

from __future__ import annotations

import getpass
import json
import os
import pty
import random
import select
import sys
import time
from pathlib import Path

from app.sandbox.pos import make_sale
from tests.system import processes

PIN = "739154"
CARD = "4111 1111 1111 1111"


def files_under(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def audit_json(cli: processes.Commands, *args: str) -> list[dict[str, object]]:
    shown = cli.run("audit", "show", "--json", *args)
    assert shown.returncode == 0, shown.stderr
    entries: list[dict[str, object]] = json.loads(shown.stdout)
    return entries


def test_managers_are_added_with_a_hash_only_listed_and_removed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    me = f"os:{getpass.getuser()}"
    with processes.commands(data_dir=data) as cli:
        added = cli.run("managers", "add", "Ana Lee", stdin=f"{PIN}\n")
        assert added.returncode == 0, added.stderr
        assert "Ana Lee" in added.stdout and PIN not in added.stdout + added.stderr
        stored = files_under(data)
        assert any(path.name == "receiptdesk.db" for path in stored)
        assert not [path for path, content in stored.items() if PIN.encode() in content]  # database, journal, log
        assert any(b"scrypt$n=16384,r=8,p=1$" in content for content in stored.values())

        weak = cli.run("managers", "add", "Ben", stdin="1234\n")
        assert weak.returncode == 1 and weak.stderr.strip().splitlines() == [
            "receiptdesk: That PIN is too easy to guess (like 0000 or 1234); choose another."
        ]
        none = cli.run("managers", "add", "Ben", stdin="")
        assert none.returncode == 1 and "No PIN was given" in none.stderr

        listing = cli.run("managers", "list", "--json")
        assert [m["name"] for m in json.loads(listing.stdout)] == ["Ana Lee"]
        assert cli.run("managers", "reset", "Ana Lee", stdin="482913\n").returncode == 0
        assert cli.run("managers", "remove", "Ana Lee").returncode == 0
        gone = cli.run("managers", "remove", "Ana Lee")
        assert gone.returncode == 1 and "no manager called Ana Lee" in gone.stderr
        assert "No managers yet" in cli.run("managers", "list").stdout

        trail = audit_json(cli, "--action", "manager.*")
        assert [(e["actor"], e["action"], e["subject"]) for e in reversed(trail)] == [
            (me, "manager.added", "manager:Ana Lee"),
            (me, "manager.pin_reset", "manager:Ana Lee"),
            (me, "manager.removed", "manager:Ana Lee"),
        ]
        verify = cli.run("audit", "verify")
        assert verify.returncode == 0 and "3 entries" in verify.stdout


def test_on_a_terminal_the_pin_is_asked_twice_and_never_echoed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pid, terminal = pty.fork()  # the child's controlling terminal, as a person at a console has
    if pid == 0:
        os.chdir(processes.ROOT)
        args = [sys.executable, "-m", "app", "--data-dir", str(data), "managers", "add", "Ana Lee"]
        os.execve(sys.executable, args, processes.env())  # noqa: S606  # the interpreter itself, no shell
    screen = b""

    def read_until(marker: bytes) -> None:
        nonlocal screen
        deadline = time.monotonic() + 60
        while marker not in screen:
            assert time.monotonic() < deadline, f"no {marker!r} on the terminal: {screen!r}"
            ready, _, _ = select.select([terminal], [], [], 1)
            if ready:
                try:
                    chunk = os.read(terminal, 1024)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk or marker in screen, f"the command ended without {marker!r}: {screen!r}"
                screen += chunk

    try:
        read_until(b"PIN for Ana Lee")
        os.write(terminal, f"{PIN}\n".encode())
        read_until(b"same PIN again")
        os.write(terminal, f"{PIN}\n".encode())
        read_until(b"added")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0
    assert PIN.encode() not in screen


def test_command_line_actions_name_the_os_user_and_every_attempt_is_audited(tmp_path: Path) -> None:
    sandbox, sandbox_url = processes.start("sandbox", "--port", "0")
    config = processes.settings_file(tmp_path / "rd.toml", sandbox_url)
    data = tmp_path / "data"
    me = f"os:{getpass.getuser()}"
    try:
        with processes.commands(config=config, data_dir=data) as cli:
            refuse = {"error_rate": 1.0, "error_status": 400, "providers": ["sendgrid"]}
            assert processes.HTTP.put(f"{sandbox_url}/_sandbox/faults", json=refuse).status_code == 200
            server, api = processes.start("--config", str(config), "--data-dir", str(data), "serve")
            try:
                auth = processes.api_headers(config=config, data_dir=data, cli=cli)
                sale = make_sale(random.Random(5), sale_id="M-1", with_customer=False)
                sale["customer"] = {"email": "ana@example.com", "channels": ["email"]}
                receipt_id = processes.post_sale_and_wait(api, auth, sale, what="the delivery was not attempted")
            finally:
                server.terminate()
                server.wait(10)

            [attempt] = audit_json(cli, "--action", "delivery.attempt")
            detail = attempt["detail"]
            assert isinstance(detail, dict) and attempt["actor"] == "dispatcher"
            assert (detail["number"], detail["outcome"], detail["status_code"], detail["state"]) == (
                1,
                "permanent",
                400,
                "failed",
            )
            assert detail["to"] == "a***@example.com" and detail["receipt_id"] == receipt_id
            delivery_id = str(attempt["subject"])

            retried = cli.run("queue", "retry", delivery_id)
            assert retried.returncode == 0 and "1 deliveries queued again" in retried.stdout, retried.stderr
            resend = ("receipts", "resend", receipt_id, "--channel", "email", "--to", "ana.lee@example.com")
            resent = cli.run(*resend, "--reason", "customer asked")
            assert resent.returncode == 0, resent.stderr
            carded = cli.run(*resend, "--reason", f"paid with {CARD}")
            assert carded.returncode == 1
            assert carded.stderr.strip().splitlines() == [
                "receiptdesk: --reason looks like it holds a card number; say why without it."
            ]
            assert not [p for p, content in files_under(data).items() if CARD.replace(" ", "")[:12].encode() in content]
            assert not [p for p, content in files_under(data).items() if CARD.encode() in content]

            [retry_entry] = audit_json(cli, "--action", "queue.retried")
            [resend_entry] = audit_json(cli, "--action", "receipt.resent")
            assert (retry_entry["actor"], resend_entry["actor"]) == (me, me)
            receipts = audit_json(cli, "--action", "receipt.*", "--since", "1h")
            assert [e["action"] for e in receipts] == ["receipt.resent", "receipt.created"]  # newest first
            assert audit_json(cli, "--action", "receipt.*", "--since", "2099-01-01") == []
            [newest] = audit_json(cli, "--limit", "1")
            assert newest["seq"] == resend_entry["seq"]

            table = cli.run("audit", "show", "--action", "delivery.attempt")
            assert table.returncode == 0 and "ana@example.com" not in table.stdout
            [row] = [line for line in table.stdout.splitlines() if "delivery.attempt" in line]
            assert "dispatcher" in row and "outcome=permanent" in row and delivery_id[:20] in row
            verify = cli.run("audit", "verify")
            assert verify.returncode == 0 and "chain verified" in verify.stdout
    finally:
        sandbox.terminate()
        sandbox.wait(10)
