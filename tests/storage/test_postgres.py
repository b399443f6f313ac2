"""The same schema, checkout and outbox on a real PostgreSQL server, shared by two dispatchers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.rendering.receipts import ReceiptRenderer
from app.services.bus import EventBus
from app.services.checkout import CheckoutService
from app.storage import audit, outbox, schema
from app.storage.database import Database
from app.storage.models import DeliveryRow
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with private_cluster() as url:
        yield url


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    with database.write_engine.begin() as conn:
        for table in (
            "delivery_attempts",
            "deliveries",
            "inbound_events",
            "receipts",
            "sales",
            "consents",
            "channel_preferences",
            "contacts",
            "customers",
            "audit_log",
            "audit_head",
            "alembic_version",
        ):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
    assert schema.upgrade(database.write_engine) == schema.head_revision()
    yield database
    database.close()


async def test_checkout_outbox_and_audit_on_postgresql(
    pg: Database, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    checkout = CheckoutService(pg, ReceiptRenderer(), DEMO_PROFILE, {Channel.EMAIL: "sendgrid"}, EventBus())
    for i in range(30):
        payload = sale_payload(f"P{i}", seed=i)
        payload["customer"] = {"email": f"c{i}@example.com", "channels": ["email"]}
        await checkout.accept(TriggerEvent("pos-api", f"e{i}", parse_sale(payload), datetime.now(UTC)))
    again = await checkout.accept(TriggerEvent("pos-api", "e0", parse_sale(_first(sale_payload)), datetime.now(UTC)))
    assert again.duplicate

    # two terminals claim from the same outbox at once: SKIP LOCKED hands each row to one of them
    now = datetime.now(UTC)
    second = Database(pg.url)
    try:
        claims = await asyncio.gather(
            *(
                db.write(
                    lambda s, owner=f"t{n}": outbox.claim_due(
                        s, owner=owner, now=now, lease=timedelta(seconds=30), limit=20, skip_locked=True
                    )
                )
                for n, db in enumerate((pg, second, pg, second))
            )
        )
    finally:
        second.close()
    ids = [c.id for batch in claims for c in batch]
    assert len(ids) == 30 and len(set(ids)) == 30
    sending = await pg.read(lambda s: s.scalar(select(func.count()).where(DeliveryRow.state == "sending")))
    assert sending == 30
    report = await pg.read(audit.verify)
    assert report.ok and report.entries == 30
    row = await pg.read(lambda s: s.scalars(select(DeliveryRow)).first())
    assert row is not None and row.created_at.tzinfo is not None


def _first(sale_payload: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    payload = sale_payload("P0", seed=0)
    payload["customer"] = {"email": "c0@example.com", "channels": ["email"]}
    return payload
