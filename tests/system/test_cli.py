"""The command line as an installer or manager uses it: clear one-line errors, never a traceback."""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.sandbox.fire import PLATFORM_SECRETS, platform_settings
from app.sandbox.pos import make_sale
from tests.system import processes


@pytest.fixture(scope="module")
def cli() -> Iterator[processes.Commands]:
    """One process for this module's one-command checks; each names its own settings file and data folder."""
    with processes.commands() as session:
        yield session


def test_schema_sale_prints_the_json_schema(cli: processes.Commands) -> None:
    result = cli.run("schema", "sale")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Sale" and "items" in schema["properties"]


def test_a_broken_settings_file_is_one_clear_line(tmp_path: Path, cli: processes.Commands) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[store\nname = 1", encoding="utf-8")
    result = cli.run("--config", str(bad), "--data-dir", str(tmp_path), "queue", "status")
    assert result.returncode == 1
    assert result.stderr.startswith("receiptdesk: ") and "not valid TOML" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_secret_in_the_settings_file_is_refused(tmp_path: Path, cli: processes.Commands) -> None:
    config = tmp_path / "s.toml"
    config.write_text('[providers.sendgrid]\nfrom_email = "a@b.example"\napi_key = "SG.leaked"\n', encoding="utf-8")
    result = cli.run("--config", str(config), "--data-dir", str(tmp_path), "queue", "status")
    assert result.returncode == 1 and "receiptdesk secrets set sendgrid api_key" in result.stderr
    assert "SG.leaked" not in result.stderr


def test_a_channel_routed_to_a_provider_that_cannot_send_it_stops_serve_in_one_line(
    tmp_path: Path, cli: processes.Commands
) -> None:
    config = processes.settings_file(tmp_path / "rd.toml", "http://127.0.0.1:9")
    text = config.read_text(encoding="utf-8").replace('sms = "twilio"', 'sms = "twilio_whatsapp"')
    config.write_text(text, encoding="utf-8")
    result = cli.run("--config", str(config), "--data-dir", str(tmp_path / "data"), "serve")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    line = result.stderr.strip()
    assert "[routing] sms = 'twilio_whatsapp'" in line and "sends whatsapp, not sms" in line and "twilio" in line


def test_no_usable_keyring_is_explained(tmp_path: Path) -> None:
    fail = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    with processes.commands(extra_env=fail) as cli:
        check = cli.run("secrets", "check")
        assert check.returncode == 1 and "Secret Service" in check.stderr and "RECEIPTDESK_" in check.stderr
        stored = cli.run("secrets", "set", "twilio", "auth_token", stdin="s3cret\n")
        assert stored.returncode == 1 and "s3cret" not in stored.stderr + stored.stdout


def test_receipts_queue_and_audit_commands_over_a_served_store(tmp_path: Path) -> None:
    sandbox, sandbox_url = processes.start("sandbox", "--port", "0")
    config = processes.settings_file(tmp_path / "rd.toml", sandbox_url)
    data = tmp_path / "data"
    try:
        with processes.commands(config=config, data_dir=data) as cli:
            server, api = processes.start("--config", str(config), "--data-dir", str(data), "serve")
            try:
                auth = processes.api_headers(config=config, data_dir=data, cli=cli)
                sale = make_sale(random.Random(3), sale_id="C-77", with_customer=False)
                sale["tenders"] = [
                    dict(
                        sale["tenders"][0],
                        type="card",
                        card_brand="Visa",
                        last4="4242",
                        amount=sale["total"],
                        change_due="0.00",
                    )
                ]
                sale["customer"] = {"email": "ana@example.com", "channels": ["email"]}
                receipt_id = processes.post_sale_and_wait(api, auth, sale, what="the receipt was not sent")
            finally:
                server.terminate()
                server.wait(10)
            listing = cli.run("receipts", "list", "--query", "4242")
            assert listing.returncode == 0 and "C-77" in listing.stdout and "a***@example.com" in listing.stdout
            assert "ana@example.com" not in listing.stdout
            shown = cli.run("receipts", "show", receipt_id)
            assert "sent" in shown.stdout and "#1" in shown.stdout
            sms = cli.run("receipts", "show", receipt_id, "--as", "text")
            assert "4242" in sms.stdout
            resent = cli.run(
                "receipts",
                "resend",
                receipt_id,
                "--channel",
                "sms",
                "--to",
                "(217) 555-0199",
                "--reason",
                "customer asked",
                "--customer-agreed",
            )
            assert resent.returncode == 0, resent.stderr
            status = cli.run("queue", "status")
            assert "queued 1" in status.stdout and "sent 1" in status.stdout
            missing = cli.run("receipts", "show", "nope")
            assert missing.returncode == 1 and missing.stderr.strip() == "receiptdesk: There is no receipt nope."
            verify = cli.run("audit", "verify")
        with contextlib.closing(sqlite3.connect(data / "receiptdesk.db")) as db:
            actions = [action for (action,) in db.execute("SELECT action FROM audit_log ORDER BY seq")]
        assert {"token.created", "receipt.created", "receipt.resent"} <= set(actions)
        assert verify.returncode == 0 and f"{len(actions)} entries" in verify.stdout
    finally:
        sandbox.terminate()
        sandbox.wait(10)


def test_reading_tools_work_on_a_fresh_install_without_credentials(tmp_path: Path) -> None:
    bare = {
        "RECEIPTDESK_TWILIO_AUTH_TOKEN": "",
        "RECEIPTDESK_SENDGRID_API_KEY": "",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    with processes.commands(data_dir=tmp_path, extra_env=bare) as cli:
        listing = cli.run("receipts", "list")
        assert listing.returncode == 0, listing.stderr
        assert "No receipts match." in listing.stdout
        status = cli.run("queue", "status")
        assert status.returncode == 0 and "0 deliveries" in status.stdout


def test_sync_finds_a_missed_shopify_order_once(tmp_path: Path) -> None:
    sandbox, sandbox_url = processes.start("sandbox", "--port", "0")
    try:
        fired = processes.run(
            "sandbox", "fire", "shopify", "orders/paid", "--missed", "--sandbox", sandbox_url, "--seed", "9"
        )
        assert fired.returncode == 0, fired.stderr
        config = processes.settings_file(tmp_path / "rd.toml", sandbox_url)
        shop = platform_settings(sandbox_url)["shopify"]
        with config.open("a", encoding="utf-8") as extra:
            extra.write("\n[platforms.shopify]\n" + "".join(f'{k} = "{v}"\n' for k, v in shop.items()))
        secrets = {f"RECEIPTDESK_SHOPIFY_{k.upper()}": v for k, v in PLATFORM_SECRETS["shopify"].items()}
        data = tmp_path / "data"
        with processes.commands(config=config, data_dir=data, extra_env=secrets) as cli:
            first = cli.run("sync", "shopify")
            assert first.returncode == 0, first.stderr
            assert "shopify" in first.stdout and "1 new" in first.stdout, first.stdout
            again = cli.run("sync", "shopify")
            assert again.returncode == 0 and "0 new" in again.stdout, again.stdout
            listed = cli.run("receipts", "list")
        rows = listed.stdout.strip().splitlines()[1:]  # under the header
        assert listed.returncode == 0 and len(rows) == 1 and "shopify-5000000009" in rows[0], listed.stdout
    finally:
        sandbox.terminate()
        sandbox.wait(10)


def test_secrets_list_names_every_owner_and_set_refuses_a_typo_in_one_line() -> None:
    with processes.commands() as cli:
        listed = cli.run("secrets", "list")
        assert listed.returncode == 0
        lines = dict(line.split(": ", 1) for line in listed.stdout.strip().splitlines())
        assert "api_key" in lines["sendgrid"] and "signing_secret" in lines["stripe"]
        assert "session_token (optional)" in lines["ses"] and lines["kiosk"] == "manager_pin"
        for args, named in ((("strip", "signing_secret"), "secrets list"), (("stripe", "signing"), "signing_secret")):
            refused = cli.run("secrets", "set", *args, stdin="s3cret\n")
            assert refused.returncode == 1 and named in refused.stderr
            assert len(refused.stderr.strip().splitlines()) == 1 and "s3cret" not in refused.stderr + refused.stdout
