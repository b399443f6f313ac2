"""The doctor's checks, each on real things: the registries, a SQLite file, a socket, a printer, the sandbox."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.devices.printer import DummyPrinter
from app.domain.errors import ConfigurationError
from app.main import Runtime
from app.providers.base import HttpAdapter
from app.providers.registry import ADAPTERS
from app.sandbox import credentials
from app.sandbox.server import RunningSandbox
from app.services.doctor import (
    SKEW_FAIL_S,
    SKEW_WARN_S,
    Check,
    ClockReading,
    Report,
    Status,
    clock_check,
    credential_checks,
    database_check,
    needed_secrets,
    port_check,
    printer_check,
    secret_checks,
)
from app.storage import schema
from app.storage.database import Database
from app.support.asgi_server import start_asgi_server
from app.support.listening import listening_socket
from app.triggers.registry import TRIGGERS
from tests.self_signed import self_signed

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


# -- the report ------------------------------------------------------------------------------------


def test_the_report_fails_only_on_a_failed_check_and_prints_one_line_each() -> None:
    checks = (Check("settings", Status.OK, "Fine."), Check("clock", Status.WARN, "Off."), Check("x", Status.SKIP, "-"))
    assert Report(checks).ok
    failed = Report((*checks, Check("database", Status.FAIL, "Broken.")))
    assert not failed.ok
    assert failed.lines() == [
        "ok    settings  Fine.",
        "warn  clock     Off.",
        "skip  x         -",
        "fail  database  Broken.",
    ]
    assert json.loads(json.dumps(failed.as_json()))[3] == {"name": "database", "status": "fail", "message": "Broken."}


# -- secrets ---------------------------------------------------------------------------------------


def test_the_needed_secrets_come_from_the_declared_fields() -> None:
    needed = needed_secrets(providers=["twilio", "sendgrid", "ses"], platforms=["stripe"], callbacks=["twilio"])

    declared = [(p, f) for p in ("twilio", "sendgrid", "ses") for f in ADAPTERS[p].secret_fields]
    declared += [("stripe", f) for f in TRIGGERS["stripe"].secret_fields]
    # Each required field once, as a failure when missing; the Twilio callbacks read the same token.
    assert [(n.owner, n.name, n.missing) for n in needed] == [
        (o, f.name, Status.FAIL) for o, f in declared if f.required
    ]
    assert "session_token" not in {n.name for n in needed}  # SES's optional field is never "needed"


def test_a_callbacks_or_polling_secret_is_a_warning_a_platforms_own_a_failure() -> None:
    needed = {
        (n.owner, n.name): n.missing
        for n in needed_secrets(providers=[], platforms=["shopify"], callbacks=["mailgun"], polled=["shopify"])
    }
    assert needed[("mailgun", "webhook_signing_key")] is Status.WARN
    assert needed[("shopify", "access_token")] is Status.WARN
    webhook = next(f.name for f in TRIGGERS["shopify"].secret_fields if f.required)
    assert needed[("shopify", webhook)] is Status.FAIL


def test_a_missing_secret_says_how_to_store_it() -> None:
    needed = needed_secrets(providers=["sendgrid", "twilio"])
    checks = secret_checks(needed, lambda owner, name: "the keyring" if owner == "twilio" else None)
    by_name = {c.name: c for c in checks}
    assert by_name["secret twilio auth_token"] == Check(
        "secret twilio auth_token", Status.OK, "twilio auth_token is set in the keyring."
    )
    missing = by_name["secret sendgrid api_key"]
    assert missing.status is Status.FAIL
    assert missing.message == (
        "sendgrid api_key is not set (SendGrid sends with it): "
        "store it with `receiptdesk secrets set sendgrid api_key`."
    )


# -- the database ----------------------------------------------------------------------------------


async def test_a_migrated_database_is_ok_and_a_new_one_a_warning(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rd.db'}"
    missing = await database_check(url, "rd.db")
    assert missing.status is Status.WARN and "first start creates" in missing.message
    assert not (tmp_path / "rd.db").exists()  # looked at, not created

    db = Database(url)
    schema.upgrade(db.write_engine)
    db.close()
    migrated = await database_check(url, "rd.db")
    assert migrated.status is Status.OK and str(schema.head_revision()) in migrated.message


async def test_an_empty_or_foreign_database_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    check = await database_check(f"sqlite:///{empty}", "empty.db")
    assert check.status is Status.WARN and "receiptdesk db upgrade" in check.message

    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('ffffffffffff')")
    conn.close()
    check = await database_check(f"sqlite:///{newer}", "newer.db")
    assert check.status is Status.FAIL and "ffffffffffff" in check.message and "newer ReceiptDesk" in check.message


async def test_a_database_that_cannot_be_opened_fails_in_one_line(tmp_path: Path) -> None:
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("this is not a database\n" * 100, encoding="utf-8")
    for url in (f"sqlite:///{not_a_db}", "garbage://x"):
        check = await database_check(url, "there")
        assert check.status is Status.FAIL and check.message.startswith("Cannot open the database (there): ")
        assert "\n" not in check.message


# -- provider credentials and the clock, against the sandbox over loopback ---------------------------


def _adapters(http: httpx.AsyncClient, sandbox_url: str, **api_key: str) -> dict[str, HttpAdapter]:
    twilio = {"account_sid": credentials.TWILIO_ACCOUNT_SID, "from_number": credentials.TWILIO_FROM}
    return {
        "twilio": ADAPTERS["twilio"].create(
            http, twilio | {"base_url": sandbox_url}, {"auth_token": credentials.TWILIO_AUTH_TOKEN}
        ),
        "sendgrid": ADAPTERS["sendgrid"].create(
            http,
            {"from_email": credentials.SENDGRID_FROM, "base_url": sandbox_url},
            {"api_key": api_key.get("api_key", credentials.SENDGRID_API_KEY)},
        ),
        "slack": ADAPTERS["slack"].create(http, {}, {"webhook_url": sandbox_url + "/_hooks/slack/T0/B0/tok"}),
    }


async def test_credentials_accepted_refused_and_not_checkable(sandbox: RunningSandbox) -> None:
    async with httpx.AsyncClient() as http:
        good, readings = await credential_checks(_adapters(http, sandbox.url))
        wrong, _ = await credential_checks(_adapters(http, sandbox.url, api_key="SG.wrong"))

    by_name = {c.name: c for c in good}
    assert by_name["credentials twilio"].status is Status.OK
    assert by_name["credentials twilio"].message.startswith("GET /2010-04-01/Accounts/")
    assert by_name["credentials sendgrid"] == Check(
        "credentials sendgrid", Status.OK, "GET /v3/scopes: SendGrid accepted the credentials."
    )
    assert by_name["credentials slack"].status is Status.SKIP
    assert "not checkable without sending" in by_name["credentials slack"].message
    refused = {c.name: c for c in wrong}["credentials sendgrid"]
    assert refused.status is Status.FAIL and "refused the credentials (401" in refused.message
    assert "SG.wrong" not in refused.message
    # The sandbox answers over real HTTP with a Date header: the clock is compared with it.
    assert [r.provider for r in readings] == ["Twilio", "SendGrid"]
    assert clock_check(readings).status is Status.OK


async def test_an_unreachable_provider_or_one_not_built_fails(tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        unreachable = ADAPTERS["sendgrid"].create(
            http, {"from_email": "a@b.example", "base_url": "http://127.0.0.1:9"}, {"api_key": "k"}
        )
        checks, readings = await credential_checks(
            {
                "sendgrid": unreachable,
                "mailgun": ConfigurationError("Mailgun: missing domain. Set it in [providers.mailgun]."),
                "twilio": "a secret it needs is not set.",
            }
        )
    assert [(c.status, c.message) for c in checks] == [
        (Status.FAIL, "SendGrid could not be reached: no connection could be made."),
        (Status.FAIL, "Not checked: Mailgun: missing domain. Set it in [providers.mailgun]."),
        (Status.SKIP, "Not checked: a secret it needs is not set."),
    ]
    assert readings == []


@pytest.mark.parametrize(
    ("skew_s", "status", "words"),
    [
        (0, Status.OK, "agrees with SendGrid's to the second"),
        (-20, Status.OK, "20 s behind SendGrid's (within 60 s)"),
        (SKEW_WARN_S + 30, Status.WARN, "90 s ahead of SendGrid's (more than 60 s)"),
        (-(SKEW_FAIL_S + 1), Status.FAIL, "301 s behind SendGrid's: signed requests and webhooks are refused"),
    ],
)
def test_clock_skew_is_reported_in_seconds(skew_s: int, status: Status, words: str) -> None:
    check = clock_check([ClockReading("SendGrid", NOW, NOW + timedelta(seconds=skew_s, milliseconds=300))])
    assert check.status is status and words in check.message


def test_without_a_date_the_clock_is_not_compared() -> None:
    assert clock_check([]).status is Status.SKIP


# -- the printer -----------------------------------------------------------------------------------


async def test_the_printer_says_how_it_is(tmp_path: Path) -> None:
    printer = DummyPrinter(spool=tmp_path / "spool.escpos")
    assert (await printer_check(printer)) == Check("printer", Status.OK, "The receipt printer (dummy) is ready.")
    printer.paper_out()
    assert (await printer_check(printer)) == Check(
        "printer", Status.FAIL, "The receipt printer is out of paper: load a new roll."
    )
    printer.unplug()
    check = await printer_check(printer)
    assert check.status is Status.FAIL and "does not answer" in check.message
    assert not (tmp_path / "spool.escpos").exists()  # asking prints nothing
    assert (await printer_check(None)).status is Status.SKIP
    refused = await printer_check(ConfigurationError('[printer] kind = "network" needs host = the printer\'s address.'))
    assert refused.status is Status.FAIL and "needs host" in refused.message


# -- the local API's port --------------------------------------------------------------------------


async def test_the_port_is_free_taken_by_another_program_or_by_receiptdesk(runtime: Runtime) -> None:
    held = listening_socket("127.0.0.1", 0)
    port = held.getsockname()[1]
    try:
        taken = await port_check("127.0.0.1", port)
    finally:
        held.close()
    assert taken.status is Status.FAIL and f"Another program holds 127.0.0.1:{port}" in taken.message
    assert (await port_check("127.0.0.1", port)).status is Status.OK
    assert (await port_check("127.0.0.1", 0)).status is Status.SKIP

    server = await start_asgi_server(runtime.local_api(), name="api")
    try:
        ours = await port_check("127.0.0.1", server.port)
    finally:
        await server.stop()
    assert ours == Check("api port", Status.OK, f"A running ReceiptDesk is listening on 127.0.0.1:{server.port}.")


async def test_a_receiptdesk_speaking_tls_is_recognised_on_its_port(runtime: Runtime, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = await start_asgi_server(runtime.local_api(), name="api", ssl_certfile=str(cert), ssl_keyfile=str(key))
    try:
        over_tls = await port_check("127.0.0.1", server.port, tls=True)
        over_http = await port_check("127.0.0.1", server.port)  # the settings say no TLS: not ours
    finally:
        await server.stop()
    assert over_tls.status is Status.OK and "A running ReceiptDesk" in over_tls.message
    assert over_http.status is Status.FAIL
