"""Migration 0008 on a database an older version left with one attempt number recorded twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from app.storage import schema
from app.storage.database import Database
from app.storage.models import DeliveryRow


def test_a_duplicated_attempt_number_keeps_its_row_with_the_number_negated(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        config = schema.alembic_config()
        with database.write_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0007")
        now = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)
        with database.write_engine.begin() as connection:
            connection.execute(
                insert(DeliveryRow.__table__),
                {
                    "id": "d1",
                    "receipt_id": None,
                    "channel": "email",
                    "provider": "sendgrid",
                    "recipient": "ana@example.com",
                    "state": "sent",
                    "attempts": 2,
                    "next_attempt_at": now,
                    "idempotency_key": "rd-d1",
                    "created_at": now,
                    "updated_at": now,
                },
            )
            # an expired lease claimed again by an older version: attempt 1 recorded twice, then 2
            for number, outcome in ((1, "unknown"), (1, "sent"), (2, "sent")):
                connection.execute(
                    text(
                        "INSERT INTO delivery_attempts"
                        " (delivery_id, number, provider, started_at, finished_at, outcome)"
                        " VALUES ('d1', :number, 'sendgrid', :at, :at, :outcome)"
                    ),
                    {"number": number, "at": "2026-11-28 10:15:00.000000", "outcome": outcome},
                )
        assert schema.upgrade(database.write_engine) == schema.head_revision()
        with database.write_engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, number, outcome, possible_duplicate FROM delivery_attempts ORDER BY id")
            ).all()
        (first, second, third) = rows
        assert (first.number, first.outcome) == (1, "unknown")
        assert (second.number, second.outcome) == (-second.id, "sent")
        assert (third.number, third.outcome) == (2, "sent")
        assert {r.possible_duplicate for r in rows} == {0}
        with pytest.raises(IntegrityError), database.write_engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO delivery_attempts (delivery_id, number, provider, started_at, outcome)"
                    " VALUES ('d1', 2, 'sendgrid', :at, 'sending')"
                ),
                {"at": "2026-11-28 10:15:00.000000"},
            )
    finally:
        database.close()
