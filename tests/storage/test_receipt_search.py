"""Searching stored receipts through the search indexes of migration 0014 finds what reading every row did."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, text, update
from sqlalchemy.orm import Session

from app.storage import receipts
from app.storage.database import Database
from app.storage.models import DeliveryRow, ReceiptRow, SaleRow

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _ring(session: Session, n: int, cards: str | None, recipients: tuple[str, ...]) -> str:
    at = T0 + timedelta(minutes=n)
    sale = SaleRow(
        store_id="s1", sale_id=f"LANE-{n:04d}", lane="1", occurred_at=at, currency="USD", total=Decimal("9.99"),
        card_last4=cards, payload="{}", payload_hash="h", source="api", created_at=at,
    )  # fmt: skip
    session.add(sale)
    session.flush()
    receipt_id = str(uuid.uuid4())
    session.add(
        ReceiptRow(
            id=receipt_id, sale_pk=sale.id, language="en", subject="s", html="h", text="t", sms_body="b",
            sms_encoding="GSM-7", sms_segments=1, content_hash="c", template_version="v", created_at=at,
        )
    )  # fmt: skip
    session.flush()
    for to in recipients:
        delivery_id = str(uuid.uuid4())
        session.add(
            DeliveryRow(
                id=delivery_id, receipt_id=receipt_id, channel="sms", provider="twilio", recipient=to,
                state="delivered", next_attempt_at=at, idempotency_key=delivery_id, created_at=at, updated_at=at,
            )
        )  # fmt: skip
    return receipt_id


async def test_a_search_finds_any_part_of_a_recipient_a_sale_id_and_every_card_of_a_split_tender(db: Database) -> None:
    def ring(s: Session) -> list[str]:
        return [
            _ring(s, 1, "4242", ("+12175550186", "Ana.Silva@example.com")),
            _ring(s, 2, "1111,4242", ()),
            _ring(s, 3, "0186", ("+13125550000",)),
            _ring(s, 4, None, ("+12175550186",)),
        ]

    a, b, c, d = await db.write(ring)

    def found(q: str) -> list[str]:
        return [r.receipt_id for r in db.read_sync(lambda s: receipts.list_receipts(s, query=q))]

    assert found("4242") == [b, a]  # the second card of a split tender too
    assert found("0186") == [d, c, a]  # a last four, and the same digits inside a number
    assert found("silva@EXAMPLE") == [a]  # any part, in any case, as LIKE has it
    assert found("+12175550186") == [d, a]
    assert found("LANE-0003") == [c]
    assert found(b) == [b]
    assert found("55") == [d, c, a]  # shorter than a trigram: read from every recipient
    assert found("nobody@example.com") == []


async def test_a_recipient_masked_or_deleted_leaves_the_search_index(db: Database) -> None:
    def ring(s: Session) -> list[str]:
        return [_ring(s, 1, None, ("+12175550186",)), _ring(s, 2, None, ("+12175550186", "+13125550000"))]

    first, second = await db.write(ring)

    def listed(s: Session) -> list[str]:
        return list(s.scalars(text("SELECT recipient FROM recipient_search ORDER BY recipient")))

    assert db.read_sync(listed) == ["+12175550186", "+13125550000"]
    await db.write(
        lambda s: s.execute(
            update(DeliveryRow).where(DeliveryRow.recipient == "+12175550186").values(recipient="+1217•••0186")
        )
    )
    assert db.read_sync(listed) == ["+1217•••0186", "+13125550000"]
    assert db.read_sync(lambda s: receipts.list_receipts(s, query="2175550186")) == []
    assert [r.receipt_id for r in db.read_sync(lambda s: receipts.list_receipts(s, query="•••"))] == [second, first]
    await db.write(lambda s: s.execute(delete(DeliveryRow).where(DeliveryRow.receipt_id == second)))
    assert db.read_sync(listed) == ["+1217•••0186"]  # the first receipt's delivery still has it
