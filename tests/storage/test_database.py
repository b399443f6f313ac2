from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.storage import audit, schema
from app.storage.database import Database
from app.storage.models import Base, CustomerRow, SaleRow, outside_models


def _customer(name: str) -> CustomerRow:
    now = datetime.now(UTC)
    return CustomerRow(name=name, created_at=now, updated_at=now)


async def test_migrations_bring_a_new_file_to_head(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert schema.upgrade(database.write_engine) == schema.head_revision() == schema.head_on_disk()
        mode = database.read_sync(lambda s: s.execute(text("PRAGMA journal_mode")).scalar())
        assert mode == "wal"
    finally:
        database.close()


def test_the_migrations_build_exactly_the_schema_the_models_describe(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'drift.db'}")
    try:
        schema.upgrade(database.write_engine)
        with database.write_engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_name": outside_models})
            drift = compare_metadata(context, Base.metadata)
        assert drift == []
    finally:
        database.close()


async def test_a_failing_job_rolls_back_alone_in_a_group_commit(db: Database) -> None:
    def ok(name: str):  # type: ignore[no-untyped-def]
        def job(session: Session) -> int:
            row = _customer(name)
            session.add(row)
            session.flush()
            return row.id

        return job

    def bad(session: Session) -> None:
        session.add(_customer("half-done"))
        session.flush()
        raise ValueError("boom")

    results = await asyncio.gather(db.write(ok("a")), db.write(bad), db.write(ok("b")), return_exceptions=True)
    assert isinstance(results[1], ValueError)
    names = await db.read(lambda s: sorted(s.scalars(select(CustomerRow.name)).all()))
    assert names == ["a", "b"]


async def test_money_is_stored_as_exact_cents_and_times_come_back_aware(db: Database, tmp_path: Path) -> None:
    when = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)

    def job(session: Session) -> None:
        session.add(
            SaleRow(
                store_id="s",
                sale_id="1",
                lane="1",
                occurred_at=when,
                currency="USD",
                total=Decimal("1234.57"),
                payload="{}",
                payload_hash="x",
                source="t",
                created_at=when,
            )
        )

    await db.write(job)
    row = await db.read(lambda s: s.scalars(select(SaleRow)).one())
    assert row.total == Decimal("1234.57") and row.occurred_at == when and row.occurred_at.tzinfo is not None
    raw = sqlite3.connect(tmp_path / "receiptdesk.db").execute("select total from sales").fetchone()[0]
    assert raw == 123457


async def test_audit_chain_detects_edits_and_deletions(db: Database, tmp_path: Path) -> None:
    for i in range(5):
        await db.write(
            lambda s, i=i: audit.append(
                s, at=datetime.now(UTC), actor="test", action="thing", subject=str(i), detail={"n": i}
            )
        )
    report = await db.read(audit.verify)
    assert report.ok and report.entries == 5

    raw = sqlite3.connect(tmp_path / "receiptdesk.db")
    raw.execute("update audit_log set detail='{\"n\":99}' where seq=3")
    raw.commit()
    report = await db.read(audit.verify)
    assert not report.ok and report.first_bad_seq == 3 and "altered" in (report.problem or "")

    raw.execute("update audit_log set detail='{\"n\":2}' where seq=3")
    raw.execute("delete from audit_log where seq=5")
    raw.commit()
    report = await db.read(audit.verify)
    assert not report.ok and "deleted" in (report.problem or "")

    raw.execute("delete from audit_log where seq=2")
    raw.commit()
    report = await db.read(audit.verify)
    assert not report.ok and report.first_bad_seq == 2
    raw.close()


async def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'c.db'}")
    database.close()
    with pytest.raises(RuntimeError):
        await database.write(lambda s: None)
