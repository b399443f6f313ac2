"""Erasing a customer leaves no form of their name or contacts in any table; retention finds who to erase."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel
from app.domain.consent import ConsentSource
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.rendering.receipts import ReceiptRenderer
from app.services.bus import EventBus
from app.services.checkout import CheckoutService
from app.storage import consents, legal_holds
from app.storage.database import Database
from app.storage.erasure import customers_past_retention, erase_customer
from app.storage.models import (
    AppDeviceRow,
    CustomerRow,
    DeliveryEventRow,
    DeliveryRow,
    InboundMessageRow,
    ReceiptRow,
    SaleRow,
    UnsubscribeLinkRow,
    WhatsAppWindowRow,
)

NAME, EMAIL, PHONE, LOYALTY = "Marisol Quintero", "Marisol.Quintero@Example.com", "(217) 555-0186", "LM55501860"
FORMS = (
    "Marisol Quintero",
    "marisol",
    "quintero",
    "marisol.quintero@example.com",
    "+12175550186",
    "2175550186",
    "217-555-0186",
    "(217) 555-0186",
    "lm55501860",
)


def found_anywhere(path: Path, forms: tuple[str, ...] = FORMS) -> list[str]:
    """Every `table.column` of the SQLite file holding one of `forms` (any case), with the form found."""
    hits: list[str] = []
    with sqlite3.connect(path) as connection:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = [r[1] for r in connection.execute(f'PRAGMA table_info("{table}")')]
            for row in connection.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 (names from the schema)
                for column, value in zip(columns, row, strict=True):
                    text = str(value).lower() if value is not None else ""
                    hits += [f"{table}.{column}: {form}" for form in forms if form.lower() in text]
    return hits


async def a_known_customer(db: Database, sale_payload: Callable[..., dict[str, Any]], **customer: Any) -> int:
    checkout = CheckoutService(
        db, ReceiptRenderer(), DEMO_PROFILE, {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio"}, EventBus()
    )
    for n in (1, 2):
        payload = sale_payload(f"S-{n}", seed=n, with_customer=True)
        payload["customer"] = {
            "name": NAME,
            "email": EMAIL,
            "phone": PHONE,
            "loyalty_id": LOYALTY,
            "channels": ["email", "sms"],
            **customer,
        }
        payload["loyalty"] = {"member_id": LOYALTY, "points_earned": 3}
        await checkout.accept(TriggerEvent("pos-api", f"e-{n}", parse_sale(payload), datetime.now(UTC)))
    return int(await db.read(lambda s: s.scalars(select(CustomerRow.id)).one()))


def leave_traces(s: Session, customer_id: int, now: datetime) -> None:
    """What the rest of the system may hold of a customer besides their sales: every table that can name them."""
    consents.opt_out(s, consents.ChannelGroup.TEXT, "+12175550186", via=ConsentSource.STOP_REPLY, now=now)
    grant = consents.Grant(customer_id, Channel.SMS, "+12175550186", "Text my receipts to +12175550186", "staff")
    consents.record(s, grant, granted=True, now=now)
    s.execute(update(DeliveryRow).values(last_error="The 'To' number +12175550186 is not valid"))
    s.execute(
        update(ReceiptRow).values(html=ReceiptRow.html + "<p>Thanks, Marisol!</p>", template_data='{"to": "Marisol"}')
    )
    delivery_id = s.scalars(select(DeliveryRow.id)).first()
    hold = legal_holds.place(s, reason="Claim by Marisol Quintero", placed_by="ops", now=now, customer_id=customer_id)
    legal_holds.release(s, hold, released_by="ops", now=now)
    s.add_all(
        [
            InboundMessageRow(provider="twilio", sender="+12175550186", body="HELP", received_at=now),
            WhatsAppWindowRow(phone="+12175550186", last_inbound_at=now),
            UnsubscribeLinkRow(token="t1", address="marisol.quintero@example.com", created_at=now),
            DeliveryEventRow(
                delivery_id=delivery_id,
                provider="sendgrid",
                event_id="ev1",
                kind="delivered",
                raw_status="delivered",
                occurred_at=now,
                received_at=now,
                raw='{"email": "marisol.quintero@example.com"}',
            ),
            AppDeviceRow(
                customer_id=customer_id,
                platform="ios",
                token="tok-" + "x" * 40,
                registered_by="app",
                created_at=now,
                last_seen_at=now,
            ),
        ]
    )
    s.flush()


async def test_erasure_leaves_no_form_of_the_customer_in_any_table(
    db: Database, tmp_path: Path, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    customer_id = await a_known_customer(db, sale_payload)
    now = datetime(2027, 1, 5, tzinfo=UTC)

    await db.write(lambda s: leave_traces(s, customer_id, now))
    assert found_anywhere(tmp_path / "receiptdesk.db")  # the scan sees them before
    counts = await db.write(lambda s: erase_customer(s, customer_id, now=now))
    assert counts["contacts"] == 2 and counts["sales"] == 2 and counts["receipts"] == 2 and counts["customers"] == 1
    assert counts["inbound_messages"] == counts["whatsapp_windows"] == counts["unsubscribe_links"] == 1
    assert found_anywhere(tmp_path / "receiptdesk.db") == []
    customer = await db.read(lambda s: s.get(CustomerRow, customer_id))
    assert customer is not None and customer.forgotten_at is not None and customer.name is None
    totals = await db.read(lambda s: [str(t) for t in s.scalars(select(SaleRow.total))])
    assert len(totals) == 2 and all(t != "0" for t in totals)  # the financial record stays
    assert await db.read(lambda s: consents.opted_out(s, consents.ChannelGroup.TEXT, "+12175550186"))
    recipients = await db.read(lambda s: sorted(s.scalars(select(DeliveryRow.recipient))))
    assert set(recipients) == {"(***) ***-0186", "M***@example.com"}


async def test_retention_lists_the_idle_and_the_revoked_but_not_the_held(
    db: Database, sale_payload: Callable[..., dict[str, Any]]
) -> None:
    customer_id = await a_known_customer(db, sale_payload)
    future = datetime(2030, 1, 1, tzinfo=UTC)
    past = datetime(2020, 1, 1, tzinfo=UTC)
    assert await db.read(lambda s: customers_past_retention(s, revoked_before=future, idle_before=past)) == []
    assert await db.read(lambda s: customers_past_retention(s, revoked_before=past, idle_before=future)) == [
        customer_id
    ]

    def revoke(s: Any, *, only_one: bool) -> None:
        granted = sorted({(r.channel, r.purpose) for r in consents.history(s, customer_id) if r.granted})
        assert granted
        for channel, purpose in granted[:1] if only_one else granted:
            grant = consents.Grant(customer_id, channel, "x", "STOP", ConsentSource.STOP_REPLY, purpose=purpose)
            consents.record(s, grant, granted=False, now=future - timedelta(days=1))

    await db.write(
        lambda s: consents.record(
            s, consents.Grant(customer_id, Channel.EMAIL, "x", "Yes", "staff"), granted=True, now=past
        )
    )
    await db.write(lambda s: revoke(s, only_one=True))
    assert await db.read(lambda s: customers_past_retention(s, revoked_before=future, idle_before=past)) == []
    await db.write(lambda s: revoke(s, only_one=False))
    assert await db.read(lambda s: customers_past_retention(s, revoked_before=future, idle_before=past)) == [
        customer_id
    ]
    await db.write(lambda s: legal_holds.place(s, reason="dispute", placed_by="ops", now=past, customer_id=customer_id))
    assert await db.read(lambda s: customers_past_retention(s, revoked_before=future, idle_before=future)) == []
