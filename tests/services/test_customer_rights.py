"""A customer's rights (find, export, forget) and the auditors' archive, over a real SQLite file.

The command line runs in this process (`app.cli.main`) on a data folder seeded by a real checkout; after
`forget`, the database file, the log files the run wrote and a fresh archive are searched for the
customer's name, email and phone in every form.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.cli import main
from app.domain.errors import NotFound
from app.sandbox.pos import STORE_TZ, make_sale
from app.services.archive import MANIFEST, verify_archive
from app.services.customer_rights import CustomerRightsService, LegalHoldApplies
from app.storage import legal_holds, schema
from app.storage.database import Database
from app.storage.models import AuditRow
from tests.storage.test_erasure import FORMS, a_known_customer, found_anywhere, leave_traces

Payload = Callable[..., dict[str, Any]]
EMAIL, PHONE = "marisol.quintero@example.com", "217 555 0186"


@pytest.fixture
def rights(db: Database) -> CustomerRightsService:
    return CustomerRightsService(db, store_name="Corner Grocery")


def table_rows(path: Path, *, without: tuple[str, ...] = ("audit_log", "audit_head")) -> dict[str, list[Any]]:
    with sqlite3.connect(path) as connection:
        names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            n: sorted(map(repr, connection.execute(f'SELECT * FROM "{n}"')))  # noqa: S608 (names from the schema)
            for n in names
            if n not in without
        }


async def test_find_and_export_give_the_customer_everything_held(
    db: Database, rights: CustomerRightsService, sale_payload: Payload, tmp_path: Path
) -> None:
    customer_id = await a_known_customer(db, sale_payload)
    found = await rights.find(PHONE, actor="Dana")
    assert [(c.customer_id, c.name, c.sales) for c in found] == [(customer_id, "Marisol Quintero", 2)]
    assert {c.masked for c in found[0].contacts} == {"M***@example.com", "(***) ***-0186"}

    done = await rights.export("Marisol.Quintero@EXAMPLE.com", tmp_path / "marisol", actor="Dana")
    assert (done.json_path.name, done.html_path.name, done.receipts) == ("marisol.json", "marisol.html", 2)
    document = json.loads(done.json_path.read_text())
    (customer,) = document["customers"]
    assert {c["value"] for c in customer["contacts"]} == {"Marisol.Quintero@example.com", "+12175550186"}
    assert len(customer["receipts"]) == 2 and all(r["text"] and r["html"] for r in customer["receipts"])
    assert {d["channel"] for r in customer["receipts"] for d in r["deliveries"]} == {"email", "sms"}
    assert customer["consents"] and customer["consents"][0]["text_shown"]
    page = done.html_path.read_text()
    assert "Marisol Quintero" in page and "+12175550186" in page and "Your consents" in page
    assert "<script" not in page

    actions = await db.read(
        lambda s: [(a.action, a.detail) for a in s.scalars(select(AuditRow).order_by(AuditRow.seq))]
    )
    exported = [json.loads(d) for a, d in actions if a == "customer.exported"]
    assert exported == [
        {"contact": "M***@example.com", "customers": [customer_id], "file": "marisol.json", "receipts": 2}
    ]
    assert any(a == "customer.found" for a, _ in actions)


async def test_a_customer_under_legal_hold_is_refused_and_nothing_changes(
    db: Database, rights: CustomerRightsService, sale_payload: Payload, tmp_path: Path
) -> None:
    customer_id = await a_known_customer(db, sale_payload)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    hold = await db.write(
        lambda s: legal_holds.place(s, reason="refund dispute 4411", placed_by="ops", now=now, customer_id=customer_id)
    )
    before = table_rows(tmp_path / "receiptdesk.db")
    with pytest.raises(LegalHoldApplies) as refused:
        await rights.forget(EMAIL, reason="asked at the desk", actor="Dana")
    assert str(hold) in refused.value.message and "refund dispute 4411" in refused.value.message
    assert table_rows(tmp_path / "receiptdesk.db") == before
    with pytest.raises(NotFound):
        await rights.forget("+1 217 555 0199", reason="asked", actor="Dana")


def seed_folder(data: Path, sale_payload: Payload) -> None:
    """A data folder with the customer's two sales and the traces the rest of the system may keep."""
    data.mkdir(parents=True)
    database = Database(f"sqlite:///{data / 'receiptdesk.db'}")
    schema.upgrade(database.write_engine)

    async def seed() -> None:
        customer_id = await a_known_customer(database, sale_payload)
        await database.write(lambda s: leave_traces(s, customer_id, datetime(2026, 11, 28, 12, tzinfo=UTC)))

    asyncio.run(seed())
    database.close()


def options(root: Path) -> list[str]:
    config = root / "receiptdesk.toml"
    config.write_text("")
    return ["--config", str(config), "--data-dir", str(root / "data"), "--log-dir", str(root / "logs")]


@pytest.fixture
def seeded(tmp_path: Path, sale_payload: Payload) -> list[str]:
    """The command line's common options over a seeded data folder."""
    seed_folder(tmp_path / "data", sale_payload)
    return options(tmp_path)


def everything_in(archive: Path) -> str:
    with zipfile.ZipFile(archive) as z:
        return "\n".join(z.read(n).decode("utf-8") for n in z.namelist()).lower()


def test_the_command_line_exports_then_forgets_and_nothing_holds_the_customer_after(
    seeded: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, logs = tmp_path / "data", tmp_path / "logs"
    assert main(["customers", "find", EMAIL, "--json", *seeded]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "Marisol Quintero"
    assert main(["customers", "export", PHONE, "--out", str(tmp_path / "file.json"), *seeded]) == 0
    assert "marisol.quintero@example.com" in (tmp_path / "file.json").read_text().lower()

    reason = "Marisol asked at the desk, from +12175550186"
    assert main(["customers", "forget", PHONE, "--reason", reason, *seeded]) == 0
    assert "Forgot customer" in capsys.readouterr().out
    assert main(["customers", "forget", PHONE, "--reason", "again", *seeded]) == 1
    assert "No customer is recorded with that phone number ((***) ***-0186)." in capsys.readouterr().err

    archive = tmp_path / "after.zip"
    assert (
        main(["archive", "export", "--from", "2000-01-01", "--to", "2100-01-01", "--out", str(archive), *seeded]) == 0
    )
    assert main(["archive", "verify", str(archive), *seeded]) == 0

    assert found_anywhere(data / "receiptdesk.db") == []
    logged = "\n".join(p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file()).lower()
    assert logged  # the run wrote its log
    shipped = everything_in(archive)
    assert '"sale_id"' in shipped  # the receipts are in it, as financial records
    assert [f for f in FORMS if f.lower() in logged or f.lower() in shipped] == []


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One archive of the seeded folder, made by the command line, shared by the tests that only read it."""
    root = tmp_path_factory.mktemp("archive")

    def payload(sale_id: str, *, seed: int, **kwargs: Any) -> dict[str, Any]:
        return make_sale(
            random.Random(seed), sale_id=sale_id, when=datetime(2026, 11, 28, 10, tzinfo=STORE_TZ), **kwargs
        )

    seed_folder(root / "data", payload)
    path = root / "archive.zip"
    assert (
        main(["archive", "export", "--from", "2000-01-01", "--to", "2100-01-01", "--out", str(path), *options(root)])
        == 0
    )
    return path


def rezip(source: Path, target: Path, *, change: str | None = None, drop: str | None = None, add: bool = False) -> Path:
    """`source` copied to `target` with one member's middle byte altered, one dropped, or one added."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            body = old.read(name)
            if name == drop:
                continue
            if name == change:
                middle = len(body) // 2
                body = body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]
            new.writestr(name, body)
        if add:
            new.writestr("notes.txt", "added later")
        new.comment = old.comment
    return target


def test_a_fresh_archive_verifies_and_holds_receipts_consents_and_the_audit_segment(archive: Path) -> None:
    assert verify_archive(archive) == []
    with zipfile.ZipFile(archive) as z:
        manifest = json.loads(z.read(MANIFEST))
        assert sorted(z.namelist()) == ["audit.jsonl", "consents.jsonl", "manifest.json", "receipts.jsonl"]
        receipts = [json.loads(line) for line in z.read("receipts.jsonl").splitlines()]
        audit = [json.loads(line) for line in z.read("audit.jsonl").splitlines()]
    assert manifest["files"]["receipts.jsonl"]["records"] == len(receipts) == 2
    assert manifest["files"]["consents.jsonl"]["records"] >= 1
    assert audit and audit[0]["seq"] == 1 and manifest["audit"]["last_hash"] == audit[-1]["hash"]
    assert {d["recipient"] for r in receipts for d in r["deliveries"]} == {"(***) ***-0186", "M***@example.com"}


def test_an_archive_with_any_one_byte_changed_is_rejected(archive: Path, tmp_path: Path) -> None:
    for member in ("receipts.jsonl", "consents.jsonl", "audit.jsonl", "manifest.json"):
        changed = rezip(archive, tmp_path / f"changed-{member}.zip", change=member)
        problems = verify_archive(changed)
        assert any(p.startswith(f"{member} was changed") for p in problems), (member, problems)
    assert main(["archive", "verify", str(tmp_path / "changed-audit.jsonl.zip")]) == 1
    assert verify_archive(rezip(archive, tmp_path / "same.zip")) == []  # re-zipping alone changes nothing


def test_an_archive_with_a_file_missing_or_added_is_rejected(archive: Path, tmp_path: Path) -> None:
    assert verify_archive(rezip(archive, tmp_path / "missing.zip", drop="consents.jsonl")) == [
        "consents.jsonl is listed in the manifest but missing from the archive."
    ]
    assert verify_archive(rezip(archive, tmp_path / "added.zip", add=True)) == [
        "notes.txt is in the archive but not in the manifest (a file was added)."
    ]
    assert verify_archive(tmp_path / "nothing.zip") == [f"There is no file {tmp_path / 'nothing.zip'}."]
