"""The purge: what retention says is due goes, everything younger or held stays, the audit chain still verifies.

Real SQLite files, the real checkout for sales and receipts (at times in the past, through its clock), rows
of the other kinds written as their storage writes them, one clock per test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select, update

from app.config.settings import RetentionSettings
from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel
from app.domain.errors import NotFound, ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.retention import next_purge, purged_digest, receipt_line
from app.rendering.receipts import ReceiptRenderer
from app.services.bus import EventBus
from app.services.checkout import CheckoutService
from app.services.retention import RetentionService
from app.storage import audit
from app.storage.database import Database
from app.storage.models import (
    AttemptRow,
    AuditRow,
    Base,
    CaptureRow,
    ContactRow,
    CustomerRow,
    DeliveryEventRow,
    DeliveryRow,
    InboundMessageRow,
    OrderUpdateRow,
    PurgeRunRow,
    ReceiptRow,
    SaleRow,
    TextInCodeRow,
)

Payload = Callable[..., dict[str, Any]]
ROUTING = {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio"}
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
ZONE = ZoneInfo("America/Chicago")
YEAR = timedelta(days=365)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Store:
    """Checkout and retention over one database file; sales made at any time through the clock."""

    def __init__(self, db: Database, sale_payload: Payload, *, batch: int = 500) -> None:
        self.db = db
        self.clock = Clock()
        self.checkout = CheckoutService(db, ReceiptRenderer(), DEMO_PROFILE, ROUTING, EventBus(), clock=self.clock)
        self.retention = RetentionService(
            db, RetentionSettings(), zone=ZONE, store_id="store-0042", clock=self.clock, batch=batch
        )
        self._payload = sale_payload
        self._sales = 0

    async def sell(self, when: datetime, email: str) -> tuple[str, str]:
        """A sale at `when` (its receipt created then too); returns (receipt id, sale id)."""
        self._sales += 1
        sale_id = f"S-{self._sales}"
        payload = self._payload(sale_id, seed=self._sales, when=when)
        payload["customer"] = {"name": "Ana Garcia", "email": email, "channels": ["email"]}
        self.clock.now = when.astimezone(UTC)  # the services' clock is UTC
        try:
            result = await self.checkout.accept(
                TriggerEvent("pos-api", f"evt-{self._sales}", parse_sale(payload), when)
            )
        finally:
            self.clock.now = NOW
        return result.receipt_id, sale_id

    async def add(self, model: type[Base], **values: Any) -> None:
        await self.db.write(lambda s: s.execute(insert(model), [values]))

    async def with_traces(self, receipt_id: str, when: datetime) -> None:
        """An attempt with a provider error, a provider event with its raw payload, an order update, a text-in code."""
        delivery = await self.db.read(
            lambda s: s.scalars(select(DeliveryRow.id).where(DeliveryRow.receipt_id == receipt_id)).one()
        )
        await self.db.write(
            lambda s: s.execute(
                update(DeliveryRow).where(DeliveryRow.id == delivery).values(last_error="550 rejected", updated_at=when)
            )
        )
        await self.add(
            AttemptRow, delivery_id=delivery, number=1, provider="sendgrid", started_at=when, outcome="failed",
            error="550 no such user ana@example.com",
        )  # fmt: skip
        await self.add(
            DeliveryEventRow, delivery_id=delivery, provider="sendgrid", event_id=f"ev-{delivery}", kind="bounced",
            raw_status="bounce", occurred_at=when, received_at=when, raw='{"email": "ana@example.com"}',
        )  # fmt: skip
        await self.add(
            OrderUpdateRow, id=str(uuid.uuid4()), store_id="store-0042", order_id=f"o-{receipt_id}", update_key="k",
            receipt_id=receipt_id, source="shopify", event_id=f"e-{receipt_id}", status="shipped", occurred_at=when,
            detail="{}", created_at=when,
        )  # fmt: skip
        await self.add(
            TextInCodeRow, code=receipt_id[:8], receipt_id=receipt_id, created_at=when,
            expires_at=when + timedelta(minutes=15),
        )  # fmt: skip

    async def count(self, model: type[Base], *where: Any) -> int:
        return await self.db.read(lambda s: int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0))

    async def ids(self, column: Any) -> set[Any]:
        return set(await self.db.read(lambda s: list(s.scalars(select(column)))))

    async def tables(self) -> dict[str, list[Any]]:
        """Every row of every table the purge touches (to see that nothing changed)."""
        models = (SaleRow, ReceiptRow, DeliveryRow, AttemptRow, DeliveryEventRow, OrderUpdateRow, TextInCodeRow,
                  CaptureRow, InboundMessageRow, ContactRow, CustomerRow, AuditRow, PurgeRunRow)  # fmt: skip
        return await self.db.read(
            lambda s: {m.__tablename__: [tuple(r) for r in s.execute(select(m.__table__))] for m in models}
        )

    async def audit_entries(self, action: str) -> list[tuple[str, dict[str, Any]]]:
        rows = await self.db.read(
            lambda s: list(s.execute(select(AuditRow.subject, AuditRow.detail).where(AuditRow.action == action)))
        )
        return [(r.subject, json.loads(r.detail)) for r in rows]


@pytest.fixture
def store(db: Database, sale_payload: Payload) -> Store:
    return Store(db, sale_payload)


def _capture(capture_id: str, when: datetime, receipt_id: str | None = None) -> dict[str, Any]:
    return {"id": capture_id, "source": "serial", "state": "held", "text": "TOTAL 1.00", "receipt_id": receipt_id,
            "captured_at": when, "updated_at": when}  # fmt: skip


async def test_a_purge_removes_what_is_due_keeps_the_young_and_the_held_and_the_chain_verifies(store: Store) -> None:
    old = NOW - 8 * YEAR
    gone, gone_sale = await store.sell(old, "gone@example.com")
    by_sale, held_sale = await store.sell(old + timedelta(days=1), "sale@example.com")
    by_customer, _ = await store.sell(old + timedelta(days=2), "kept@example.com")
    in_range, _ = await store.sell(datetime(2018, 6, 15, 17, 0, tzinfo=ZONE), "range@example.com")
    young, _ = await store.sell(NOW - YEAR, "young@example.com")
    for receipt in (gone, by_sale, by_customer, in_range):
        await store.with_traces(receipt, old)
    await store.with_traces(young, NOW - timedelta(days=100))  # payloads past 90 days: blanked, the rest stays
    await store.add(CaptureRow, **_capture("c-old", NOW - timedelta(days=40)))
    await store.add(CaptureRow, **_capture("c-new", NOW - timedelta(days=10)))
    await store.add(CaptureRow, **_capture("c-gone", NOW - timedelta(days=10), gone))  # goes with its receipt
    texts = [("+12175550100", 100), ("+12175550101", 10), ("kept", 100)]
    for n, (sender, days) in enumerate(texts):
        await store.add(
            InboundMessageRow, provider="twilio", message_sid=f"SM{n}", sender=sender, body="HELLO",
            received_at=NOW - timedelta(days=days),
        )  # fmt: skip
    kept_customer = await store.db.read(
        lambda s: s.scalar(select(ContactRow.customer_id).where(ContactRow.value == "kept@example.com"))
    )
    await store.db.write(  # the held customer texted from a number of theirs
        lambda s: s.execute(
            update(InboundMessageRow).where(InboundMessageRow.sender == "kept").values(sender="kept@example.com")
        )
    )

    r = store.retention
    await r.place_hold(reason="dispute 12", actor="manager:ana", sale_id=held_sale)
    await r.place_hold(reason="subpoena for kept@example.com", actor="manager:ana", customer="kept@example.com")
    await r.place_hold(reason="audit 2018", actor="manager:ana", from_day=date(2018, 6, 1), to_day=date(2018, 6, 30))
    released = await r.place_hold(reason="mistake", actor="manager:ana", sale_id=gone_sale)
    await r.release_hold(released.hold.id, actor="manager:ana", reason="wrong sale")

    before = await store.tables()
    preview = (await r.purge(actor="tests", dry_run=True))[0]
    assert await store.tables() == before  # a dry run changes nothing
    assert preview.dry_run and preview.counts["receipts"] == 1 and preview.counts["captures"] == 2

    progress: list[tuple[str, int, int]] = []
    [report] = await r.purge(actor="tests", progress=lambda *p: progress.append(p))

    receipts = await store.ids(ReceiptRow.id)
    assert gone not in receipts and {by_sale, by_customer, in_range, young} <= receipts
    assert await store.count(SaleRow) == 4
    assert await store.count(TextInCodeRow, TextInCodeRow.receipt_id == gone) == 0
    assert await store.count(OrderUpdateRow) == 4 and await store.count(TextInCodeRow) == 4
    assert await store.ids(CaptureRow.id) == {"c-new"}
    assert await store.ids(InboundMessageRow.sender) == {"+12175550101", "kept@example.com"}
    # Payloads: blanked past 90 days except the held ones; the events themselves stay.
    raws = await store.db.read(lambda s: list(s.execute(select(DeliveryEventRow.raw, DeliveryEventRow.delivery_id))))
    assert len(raws) == 4 and sum(1 for raw, _ in raws if raw == "") == 1
    assert await store.count(AttemptRow, AttemptRow.error.is_(None)) == 1
    # Contacts: the idle customer of the purged sale is forgotten; held customers keep theirs.
    forgotten = await store.ids(CustomerRow.forgotten_at)
    assert len(forgotten - {None}) == 1
    assert await store.count(ContactRow, ContactRow.value == "kept@example.com") == 1
    assert await store.count(ContactRow, ContactRow.value.in_(["sale@example.com", "range@example.com"])) == 2
    assert await store.count(ContactRow, ContactRow.value == "gone@example.com") == 0
    assert kept_customer is not None

    assert report.counts["receipts"] == 1 and report.counts["sales"] == 1 and report.counts["captures"] == 2
    assert report.counts["payloads"] == 3 and report.counts["inbound_messages"] == 1
    assert report.counts["contacts"] == 1
    assert ("receipts", 1, 1) in progress

    assert (await store.db.read(audit.verify)).ok
    [(subject, detail)] = await store.audit_entries("retention.purged")
    assert subject == f"purge:{report.run_id}" and detail["counts"] == report.counts
    created = {s: d["content_hash"] for s, d in await store.audit_entries("receipt.created")}
    assert detail["digests"]["receipts"] == purged_digest([receipt_line(gone, created[gone])])
    assert detail["digests"]["captures"] == purged_digest(["c-gone", "c-old"][1:])  # c-gone went with its receipt

    again = await r.purge(actor="tests")
    assert [x.counts for x in again] == [{}]
    assert len(await store.audit_entries("retention.purged")) == 2
    assert "kept@example.com" not in json.dumps(await store.audit_entries("hold.placed"))  # the contact masked
    placed = [h["scope"] for _, h in await store.audit_entries("hold.placed")]
    assert placed == ["sale", "customer", "dates", "sale"]
    assert len(await store.audit_entries("hold.released")) == 1


async def test_a_purge_cut_short_is_carried_on_by_the_next_with_the_same_digest(
    db: Database, sale_payload: Payload
) -> None:
    store = Store(db, sale_payload, batch=1)
    old = NOW - 8 * YEAR
    made = [await store.sell(old + timedelta(hours=n), f"c{n}@example.com") for n in range(3)]

    def crash(kind: str, done: int, total: int) -> None:
        if kind == "receipts" and done == 2:
            raise KeyboardInterrupt  # the process stops between two batches

    with pytest.raises(KeyboardInterrupt):
        await store.retention.purge(actor="tests", progress=crash)
    assert await store.count(ReceiptRow) == 1
    assert await store.count(PurgeRunRow, PurgeRunRow.finished_at.is_(None)) == 1

    store.clock.now = NOW + timedelta(days=1)
    carried, fresh = await store.retention.purge(actor="tests")
    assert carried.carried_on and carried.counts["receipts"] == 3 and not fresh.counts.get("receipts")
    created = {s: d["content_hash"] for s, d in await store.audit_entries("receipt.created")}
    lines = sorted(receipt_line(receipt, created[receipt]) for receipt, _ in made)
    assert carried.digests["receipts"] == purged_digest(lines)
    assert (await db.read(audit.verify)).ok


async def test_holds_refuse_what_they_cannot_place_in_one_sentence(store: Store) -> None:
    r = store.retention
    with pytest.raises(ValidationFailed, match="a customer, a sale, or a range of dates"):
        await r.place_hold(reason="why", actor="m")
    with pytest.raises(ValidationFailed, match="not several"):
        await r.place_hold(reason="why", actor="m", sale_id="S-1", from_day=date(2025, 1, 1))
    with pytest.raises(NotFound, match="No customer"):
        await r.place_hold(reason="why", actor="m", customer="nobody@example.com")
    with pytest.raises(NotFound, match="no sale S-9"):
        await r.place_hold(reason="why", actor="m", sale_id="S-9")
    with pytest.raises(ValidationFailed, match="ends before it starts"):
        await r.place_hold(reason="why", actor="m", from_day=date(2025, 2, 1), to_day=date(2025, 1, 1))
    with pytest.raises(ValidationFailed, match="reason"):
        await r.place_hold(reason="  ", actor="m", from_day=date(2025, 2, 1))
    with pytest.raises(NotFound, match="no active hold 7"):
        await r.release_hold(7, actor="m")
    view = await r.place_hold(reason="tax audit", actor="m", to_day=date(2025, 1, 31))
    assert view.covers == "sales up to 2025-01-31"
    assert view.hold.to_at == datetime(2025, 2, 1, tzinfo=ZONE)
    assert [v.hold.id for v in (await r.overview()).holds] == [view.hold.id]


def test_the_daily_purge_runs_at_the_stores_time_across_a_clock_change() -> None:
    at = RetentionSettings().purge_at  # 03:30
    assert next_purge(datetime(2026, 3, 7, 12, 0, tzinfo=UTC), at, ZONE) == datetime(2026, 3, 8, 3, 30, tzinfo=ZONE)
    before = datetime(2026, 11, 28, 9, 29, tzinfo=ZONE)
    assert next_purge(before, at, ZONE) == datetime(2026, 11, 29, 3, 30, tzinfo=ZONE)
    assert next_purge(datetime(2026, 11, 28, 3, 29, tzinfo=ZONE), at, ZONE) == datetime(
        2026, 11, 28, 3, 30, tzinfo=ZONE
    )


async def test_the_daily_purge_is_owned_by_the_service_and_off_when_disabled(db: Database) -> None:
    on = RetentionService(db, RetentionSettings(), zone=ZONE, clock=Clock())
    off = RetentionService(db, RetentionSettings(enabled=False), zone=ZONE, clock=Clock())
    on.start()
    off.start()
    assert on.running and not off.running and off.next_at() is None
    assert on.next_at() == datetime(2026, 11, 29, 3, 30, tzinfo=ZONE)
    await on.stop()
    assert not on.running
