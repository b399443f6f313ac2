from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel
from app.domain.errors import SaleConflict
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.rendering.receipts import ReceiptRenderer
from app.services.bus import EventBus, ReceiptCreated
from app.services.checkout import CheckoutResult, CheckoutService
from app.storage.database import Database
from app.storage.models import AuditRow, ConsentRow, ContactRow, CustomerRow, DeliveryRow, ReceiptRow

Payload = Callable[..., dict[str, Any]]
ROUTING = {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio"}


@pytest.fixture
def checkout(db: Database) -> CheckoutService:
    return CheckoutService(db, ReceiptRenderer(), DEMO_PROFILE, ROUTING, EventBus())


def event(payload: dict[str, Any], event_id: str = "evt-1", source: str = "pos-api") -> TriggerEvent:
    return TriggerEvent(source, event_id, parse_sale(payload), datetime.now(UTC))


async def count(db: Database, model: Any) -> int:
    return int(await db.read(lambda s: s.scalar(select(func.count()).select_from(model))))


async def test_a_sale_becomes_one_receipt_and_one_delivery_per_channel(
    checkout: CheckoutService, db: Database, sale_payload: Payload
) -> None:
    payload = sale_payload(with_customer=True)
    payload["customer"].update(email="ana@example.com", phone="(217) 555-0142", channels=["email", "sms"])
    result = await checkout.accept(event(payload))
    assert not result.duplicate and result.receipt_id
    assert {d.channel for d in result.deliveries} == {Channel.EMAIL, Channel.SMS}
    assert {d.masked_recipient for d in result.deliveries} == {"a***@example.com", "(***) ***-0142"}
    recipients = await db.read(lambda s: sorted(s.scalars(select(DeliveryRow.recipient)).all()))
    assert recipients == ["+12175550142", "ana@example.com"]
    grants = await db.read(lambda s: list(s.scalars(select(ConsentRow).order_by(ConsentRow.id))))
    assert [(g.channel, g.contact, g.purpose, g.source, g.granted) for g in grants] == [
        ("email", "ana@example.com", "receipts", "register", True),
        ("sms", "+12175550142", "receipts", "register", True),
    ]
    assert all(g.text_shown and g.text_version and g.language == "en" and g.lane == payload["lane"] for g in grants)


async def test_the_same_event_twice_gives_one_receipt(
    checkout: CheckoutService, db: Database, sale_payload: Payload
) -> None:
    first = await checkout.accept(event(sale_payload()))
    again = await checkout.accept(event(sale_payload()))
    other_source = await checkout.accept(event(sale_payload(), event_id="evt-2", source="shopify"))
    assert again.duplicate and other_source.duplicate
    assert first.receipt_id == again.receipt_id == other_source.receipt_id
    assert await count(db, ReceiptRow) == 1


async def test_the_same_sale_id_with_other_content_is_a_conflict(
    checkout: CheckoutService, db: Database, sale_payload: Payload
) -> None:
    await checkout.accept(event(sale_payload()))
    with pytest.raises(SaleConflict):
        await checkout.accept(event(sale_payload(seed=99), event_id="evt-2"))
    assert await count(db, ReceiptRow) == 1


async def test_concurrent_duplicates_are_not_doubled(
    checkout: CheckoutService, db: Database, sale_payload: Payload
) -> None:
    import asyncio

    results = await asyncio.gather(*(checkout.accept(event(sale_payload(), event_id=f"e{i}")) for i in range(5)))
    assert len({r.receipt_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1


async def test_a_returning_customer_with_auto_send_needs_no_choice(db: Database, sale_payload: Payload) -> None:
    from app.storage import customers

    checkout = CheckoutService(db, ReceiptRenderer(), DEMO_PROFILE, ROUTING, EventBus())
    first = sale_payload("S-1", with_customer=True)
    first["customer"] = {"loyalty_id": "LM12345678", "email": "ana@example.com", "channels": ["email"]}
    await checkout.accept(event(first))
    customer_id = await db.read(lambda s: s.scalars(select(CustomerRow.id)).one())
    await db.write(
        lambda s: customers.set_preferences(s, customer_id, (Channel.EMAIL,), auto_send=True, now=datetime.now(UTC))
    )
    second = sale_payload("S-2", seed=5)
    second["customer"] = {"loyalty_id": "LM12345678"}
    result = await checkout.accept(event(second, event_id="evt-2"))
    assert [(d.channel, d.masked_recipient) for d in result.deliveries] == [(Channel.EMAIL, "a***@example.com")]
    assert await count(db, CustomerRow) == 1 and await count(db, ContactRow) == 1


async def test_without_a_choice_or_preference_nothing_is_queued(
    checkout: CheckoutService, db: Database, sale_payload: Payload
) -> None:
    payload = sale_payload(with_customer=False)
    bus_events: list[ReceiptCreated] = []
    checkout._bus.subscribe(ReceiptCreated, bus_events.append)
    result = await checkout.accept(event(payload))
    assert result.deliveries == () and await count(db, DeliveryRow) == 0
    assert [e.receipt_id for e in bus_events] == [result.receipt_id]


async def test_a_bad_contact_is_dropped_with_a_warning_and_the_sale_kept(
    checkout: CheckoutService, db: Database, sale_payload: Payload
) -> None:
    payload = sale_payload(with_customer=True)
    payload["customer"] = {"email": "not-an-email", "channels": ["email"]}
    result = await checkout.accept(event(payload))
    assert result.deliveries == ()
    assert any("customer.email" in w for w in result.warnings)
    assert await count(db, ReceiptRow) == 1


async def test_the_same_order_from_two_sources_gives_one_receipt(
    checkout: CheckoutService, db: Database, sale_payload: Payload
) -> None:
    pos, web = sale_payload("POS-1"), sale_payload("shopify-ORD-1001", seed=3)
    pos["order_id"] = web["order_id"] = "ORD-1001"
    first = await checkout.accept(event(pos, event_id="pos-1"))
    second = await checkout.accept(event(web, event_id="sh-1", source="shopify"))
    assert second.duplicate and second.receipt_id == first.receipt_id
    assert await count(db, ReceiptRow) == 1


async def test_accept_with_commits_the_callers_record_in_the_same_transaction(
    db: Database, sale_payload: Payload
) -> None:
    bus = EventBus()
    announced: list[ReceiptCreated] = []
    bus.subscribe(ReceiptCreated, announced.append)
    checkout = CheckoutService(db, ReceiptRenderer(), DEMO_PROFILE, ROUTING, bus)
    payload = sale_payload(with_customer=True)
    payload["customer"].update(email="ana@example.com", channels=["email"])

    def fails_after_checkout(session: Session, result: CheckoutResult) -> None:
        assert session.get(ReceiptRow, result.receipt_id) is not None  # written, not yet committed
        raise RuntimeError("the caller's record could not be written")

    with pytest.raises(RuntimeError):
        await checkout.accept_with(event(payload), fails_after_checkout)
    assert (await count(db, ReceiptRow), await count(db, DeliveryRow), await count(db, AuditRow)) == (0, 0, 0)
    assert announced == []  # nothing is announced that was not committed

    def receipt_seen(session: Session, result: CheckoutResult) -> str | None:
        return session.scalar(select(ReceiptRow.id).where(ReceiptRow.id == result.receipt_id))

    result, seen = await checkout.accept_with(event(payload), receipt_seen)
    assert seen == result.receipt_id and not result.duplicate
    assert [e.receipt_id for e in announced] == [result.receipt_id]
    again, seen_again = await checkout.accept_with(event(payload), receipt_seen)
    assert again.duplicate and seen_again == result.receipt_id
