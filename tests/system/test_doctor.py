"""`receiptdesk doctor`, `health` and the `--json` listings as real processes, against the sandbox over loopback."""

from __future__ import annotations

import json
import random
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.sandbox import credentials
from app.sandbox.pos import make_sale
from app.support.listening import listening_socket
from tests.system import processes

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    proc, url = processes.start("sandbox", "--port", "0")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _free_port() -> int:
    with listening_socket("127.0.0.1", 0) as sock:
        port: int = sock.getsockname()[1]
    return port


def _config(path: Path, sandbox_url: str, *, port: int = 0, slack: bool = True) -> Path:
    followups = '[followups]\nafter_delivery = ["slack"]' if slack else ""
    path.write_text(
        f"""
[store]
name = "Test Market"
address = "100 Main Street, Springfield, IL 62701"
phone = "(217) 555-0100"

[api]
port = {port}

[routing]
email = "sendgrid"
sms = "twilio"

{followups}

[providers.twilio]
account_sid = "{credentials.TWILIO_ACCOUNT_SID}"
from_number = "{credentials.TWILIO_FROM}"
base_url = "{sandbox_url}"

[providers.sendgrid]
from_email = "{credentials.SENDGRID_FROM}"
base_url = "{sandbox_url}"
""",
        encoding="utf-8",
    )
    return path


def _doctor(config: Path, data: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, str]]]:
    slack = {"RECEIPTDESK_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/sandbox"}
    result = processes.run("doctor", "--json", config=config, data_dir=data, extra_env=NO_KEYRING | slack | env)
    assert result.stderr == "", result.stderr
    return result, {check["name"]: check for check in json.loads(result.stdout)}


def test_a_ready_installation_passes_and_says_what_it_checked(tmp_path: Path, sandbox_url: str) -> None:
    port = _free_port()
    config = _config(tmp_path / "rd.toml", sandbox_url, port=port)

    result, checks = _doctor(config, tmp_path / "data")

    assert result.returncode == 0, result.stdout
    statuses = {name: check["status"] for name, check in checks.items()}
    assert statuses == {
        "settings": "ok",
        "store": "ok",
        "keyring": "warn",  # no keyring here: the secrets come from the environment
        "secret sendgrid api_key": "ok",
        "secret twilio auth_token": "ok",
        "secret slack webhook_url": "ok",
        "database": "warn",  # not created yet: the first start creates it
        "credentials sendgrid": "ok",
        "credentials twilio": "ok",
        "credentials slack": "skip",
        "clock": "ok",
        "printer": "skip",
        "api port": "ok",
    }
    assert checks["credentials sendgrid"]["message"] == "GET /v3/scopes: SendGrid accepted the credentials."
    assert "not checkable without sending" in checks["credentials slack"]["message"]
    assert re.search(r"agrees with \w+'s to the second|\d+ s (ahead of|behind)", checks["clock"]["message"])
    assert "RECEIPTDESK_TWILIO_AUTH_TOKEN" in checks["secret twilio auth_token"]["message"]
    assert credentials.TWILIO_AUTH_TOKEN not in result.stdout and credentials.SENDGRID_API_KEY not in result.stdout

    human = processes.run("doctor", config=config, data_dir=tmp_path / "data", extra_env=NO_KEYRING)
    lines = human.stdout.strip().splitlines()
    assert len(lines) == len(checks)  # the same checks, one line each
    assert any(line.split()[:4] == ["fail", "secret", "slack", "webhook_url"] for line in lines)  # not given here
    assert human.returncode == 1
    assert lines[0].split()[:2] == ["ok", "settings"]


def test_a_wrong_key_fails_and_exits_non_zero(tmp_path: Path, sandbox_url: str) -> None:
    config = _config(tmp_path / "rd.toml", sandbox_url)

    result, checks = _doctor(config, tmp_path / "data", RECEIPTDESK_SENDGRID_API_KEY="SG.not-the-key")

    assert result.returncode == 1
    assert checks["credentials sendgrid"]["status"] == "fail"
    assert checks["credentials sendgrid"]["message"] == (
        "GET /v3/scopes: SendGrid refused the credentials (401 Unauthorized)."
    )
    assert checks["credentials twilio"]["status"] == "ok"
    assert "SG.not-the-key" not in result.stdout


def test_a_missing_secret_fails_names_the_fix_and_its_provider_is_not_asked(tmp_path: Path, sandbox_url: str) -> None:
    config = _config(tmp_path / "rd.toml", sandbox_url)

    result, checks = _doctor(config, tmp_path / "data", RECEIPTDESK_TWILIO_AUTH_TOKEN="")

    assert result.returncode == 1
    assert checks["secret twilio auth_token"] == {
        "name": "secret twilio auth_token",
        "status": "fail",
        "message": "twilio auth_token is not set (Twilio sends with it): "
        "store it with `receiptdesk secrets set twilio auth_token`.",
    }
    assert checks["credentials twilio"]["status"] == "skip"
    assert checks["credentials sendgrid"]["status"] == "ok"


def test_a_settings_file_that_does_not_load_stops_the_rest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[store\n", encoding="utf-8")

    result, checks = _doctor(bad, tmp_path / "data")

    assert result.returncode == 1
    assert checks["settings"]["status"] == "fail" and "not valid TOML" in checks["settings"]["message"]
    assert checks["the rest"]["status"] == "skip"


def test_health_and_the_json_listings_over_a_served_store(tmp_path: Path, sandbox_url: str) -> None:
    config = _config(tmp_path / "rd.toml", sandbox_url, slack=False)
    data = tmp_path / "data"
    with processes.commands(config=config, data_dir=data) as cli:
        server, api = processes.start("--config", str(config), "--data-dir", str(data), "serve")
        try:
            auth = processes.api_headers(config=config, data_dir=data, cli=cli)
            sale = make_sale(random.Random(5), sale_id="J-5", with_customer=False)
            sale["customer"] = {"email": "ana@example.com", "channels": ["email"]}
            receipt_id = processes.post_sale_and_wait(api, auth, sale, what="the receipt was not sent")
            live = processes.HTTP.get(f"{api}/v1/health", headers=auth)
            assert live.status_code == 200 and live.json()["ok"] is True
            doctor = processes.run("doctor", "--json", config=config, data_dir=data, extra_env=NO_KEYRING)
            checks = {check["name"]: check for check in json.loads(doctor.stdout)}
            assert checks["database"]["status"] == "ok"  # serve migrated it
        finally:
            server.terminate()
            server.wait(10)

        health = cli.run("health", "--json")
        assert health.returncode == 0, health.stderr
        body = json.loads(health.stdout)
        assert set(body) == set(live.json())  # the same shape as /v1/health
        assert body["ok"] is True and body["queue_depth"] == 0 and body["by_state"] == {"sent": 1}
        text = cli.run("health")
        assert text.returncode == 0 and text.stdout.startswith("Ok: ")

        listing = cli.run("receipts", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        [row] = json.loads(listing.stdout)
        assert set(row) == {
            "receipt_id",
            "sale_id",
            "store_id",
            "lane",
            "occurred_at",
            "created_at",
            "total",
            "deliveries",
        }
        assert row["receipt_id"] == receipt_id and row["sale_id"] == "J-5" and row["total"] == sale["total"]
        assert row["created_at"].endswith("+00:00") and row["occurred_at"].endswith("+00:00")
        assert row["deliveries"] == [{"channel": "email", "recipient": "a***@example.com", "state": "sent"}]

        queue = cli.run("queue", "status", "--json")
        assert json.loads(queue.stdout) == {
            "total": 1,
            "by_state": {"sent": 1},
            "due_now": 0,
            "oldest_pending_at": None,
            "oldest_due_at": None,
        }
