"""`receiptdesk tokens` and `serve` as real processes: a token is printed once and kept only as its
digest, revoking it shuts its client out at once, and the API listens beyond this machine only over
TLS or when the operator says `--insecure-lan`."""

from __future__ import annotations

import hashlib
import random
import re
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.sandbox.pos import make_sale
from tests.self_signed import self_signed
from tests.system import processes

NOWHERE = "http://127.0.0.1:9"  # providers no test here reaches


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command wrote on standard error (and nothing else there)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("receiptdesk: "), lines[0]
    return lines[0]


def start_serve(*args: str, timeout: float = 60.0) -> tuple[subprocess.Popen[str], str]:
    """Start `receiptdesk ... serve ...`; the process and the URL (http or https) it says it serves on."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=processes.ROOT,
        env=processes.env(),
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "serving on " in line:
            return proc, line.split("serving on ", 1)[1].split()[0]
        if not line and proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stderr.read() if proc.stderr else ''}")
    proc.kill()
    raise AssertionError("serve did not start in time")


def stop(proc: subprocess.Popen[str]) -> str:
    """Stop a server as its service manager would; its standard error."""
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err


def loopback(url: str) -> str:
    """The URL of a server listening on every address, reached over loopback."""
    port = url.rsplit(":", 1)[1]
    return f"{url.split('://', 1)[0]}://127.0.0.1:{port}"


def test_a_token_is_shown_once_kept_as_a_digest_and_revoked_at_once(tmp_path: Path) -> None:
    config = processes.settings_file(tmp_path / "rd.toml", NOWHERE)
    data = tmp_path / "data"
    with processes.commands(config=config, data_dir=data) as cli:
        created = cli.run("tokens", "create", "till-1")
        assert created.returncode == 0, created.stderr
        *explanation, till = created.stdout.strip().splitlines()
        assert till.startswith("rd_") and len(till) > 40 and created.stdout.count(till) == 1
        assert "till-1" in explanation[0] and "sales:write" in explanation[0]
        assert any("only this once" in line for line in explanation)
        assert any("Authorization: Bearer" in line for line in explanation)

        again = cli.run("tokens", "create", "till-1", "--scope", "admin")
        assert again.returncode == 1
        assert one_line(again) == (
            "receiptdesk: An API client named till-1 already exists: choose another name "
            "(a revoked client keeps its name)."
        )
        monitor = cli.run("tokens", "create", "monitor", "--scope", "receipts:read").stdout.strip().splitlines()[-1]

        server, url = start_serve("--config", str(config), "--data-dir", str(data), "-vv", "serve")
        try:
            sale = make_sale(random.Random(4), sale_id="T-1", with_customer=False)
            posted = processes.HTTP.post(f"{url}/v1/sales", json=sale, headers={"Authorization": f"Bearer {till}"})
            assert posted.status_code == 202, posted.text
            health = processes.HTTP.get(f"{url}/v1/health", headers={"Authorization": f"Bearer {monitor}"})
            assert "queue_depth" in health.json()
            guessed = processes.HTTP.get(f"{url}/v1/health", headers={"Authorization": "Bearer rd_guess"})
            assert guessed.status_code == 401

            revoked = cli.run("tokens", "revoke", "till-1")
            assert revoked.returncode == 0 and "Revoked the API token of till-1" in revoked.stdout
            second = make_sale(random.Random(5), sale_id="T-2", with_customer=False)
            refused = processes.HTTP.post(f"{url}/v1/sales", json=second, headers={"Authorization": f"Bearer {till}"})
            assert refused.status_code == 401  # the serving process sees the revocation at once
        finally:
            stop(server)

        unknown = cli.run("tokens", "revoke", "till-9")
        assert unknown.returncode == 1
        assert one_line(unknown) == (
            "receiptdesk: There is no API client named till-9: `receiptdesk tokens list` shows them."
        )
        twice = cli.run("tokens", "revoke", "till-1")
        assert twice.returncode == 0 and "already revoked" in twice.stdout

        listed = cli.run("tokens", "list")
        assert listed.returncode == 0, listed.stderr
        header, *rows = (re.split(r"\s{2,}", line.strip()) for line in listed.stdout.strip().splitlines())
        assert header == ["name", "scopes", "created", "by", "last used", "revoked"]
        by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
        assert set(by_name) == {"till-1", "monitor"}
        when = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
        till_row, monitor_row = by_name["till-1"], by_name["monitor"]
        assert till_row["scopes"] == "sales:write" and monitor_row["scopes"] == "receipts:read"
        assert when.fullmatch(till_row["last used"]) and when.fullmatch(till_row["revoked"])
        assert when.fullmatch(monitor_row["last used"]) and monitor_row["revoked"] == "-"
        assert till not in listed.stdout and monitor not in listed.stdout

    # Whatever ReceiptDesk wrote, the database (with its journal) and the log, holds no token: only digests.
    written = b"".join(path.read_bytes() for path in sorted(data.rglob("*")) if path.is_file())
    assert (data / "logs" / "receiptdesk.log").stat().st_size > 0
    for token in (till, monitor):
        assert token.encode() not in written
        assert token.removeprefix("rd_").encode() not in written
    assert hashlib.sha256(till.encode()).hexdigest().encode() in (data / "receiptdesk.db").read_bytes()


def test_serve_refuses_plain_http_beyond_this_machine_unless_told(tmp_path: Path) -> None:
    config = processes.settings_file(tmp_path / "rd.toml", NOWHERE)
    data = tmp_path / "data"

    with processes.commands(config=config, data_dir=data) as cli:
        refused = cli.run("serve", "--host", "0.0.0.0")  # noqa: S104
        assert refused.returncode == 1
        assert one_line(refused).startswith(
            "receiptdesk: The API would listen on 0.0.0.0, beyond this machine, without TLS: set [api] tls_cert and "
            "tls_key (a PEM certificate and its key), or start with --insecure-lan to accept plain HTTP on the "
            "store's network, or listen on 127.0.0.1 only. (details in "
        )
        assert not (data / "receiptdesk.db").exists()  # refused before anything was opened

        token = processes.api_headers(config=config, data_dir=data, scope="receipts:read", cli=cli)
    for _start in range(2):  # the warning comes at every start
        server, url = start_serve(
            "--config",
            str(config),
            "--data-dir",
            str(data),
            "serve",
            "--host",
            "0.0.0.0",  # noqa: S104
            "--insecure-lan",
        )
        try:
            assert url.startswith("http://0.0.0.0:")
            assert "queue_depth" in processes.HTTP.get(f"{loopback(url)}/v1/health", headers=token).json()
        finally:
            err = stop(server)
        [warning] = [line for line in err.splitlines() if "--insecure-lan" in line]
        assert warning.startswith("WARNING") and "plain HTTP" in warning and "tls_cert" in warning
    logged = (data / "logs" / "receiptdesk.log").read_text(encoding="utf-8")
    assert logged.count("over plain HTTP (--insecure-lan)") == 2


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])  # noqa: S104
def test_with_a_certificate_serve_speaks_https(tmp_path: Path, host: str) -> None:
    cert, key = self_signed(tmp_path)
    config = processes.settings_file(tmp_path / "rd.toml", NOWHERE)
    text = config.read_text(encoding="utf-8").replace(
        "[api]\nport = 0\n", f'[api]\nport = 0\nhost = "{host}"\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
    )
    config.write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    token = processes.api_headers(config=config, data_dir=data, scope="receipts:read")

    server, url = start_serve("--config", str(config), "--data-dir", str(data), "serve")
    try:
        assert url.startswith(f"https://{host}:")
        trusted = ssl.create_default_context(cafile=str(cert))
        health = httpx.get(f"{loopback(url)}/v1/health", headers=token, verify=trusted)
        assert health.status_code in (200, 503) and "queue_depth" in health.json()
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{url.rsplit(':', 1)[1]}/v1/health", timeout=5)
    finally:
        err = stop(server)
    assert "--insecure-lan" not in err
