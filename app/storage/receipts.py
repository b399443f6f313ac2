"""Reading receipts back: lists with filters, and one receipt with its whole timeline."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.domain.records import EventRecord, ReceiptDetail, ReceiptSummary
from app.storage import order_updates
from app.storage.models import DeliveryRow, ReceiptRow, SaleRow
from app.storage.outbox import attempts_for, to_record
from app.storage.tracking import events_for


def list_receipts(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    query: str | None = None,
    state: DeliveryState | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[ReceiptSummary]:
    """Newest first. `query` matches a sale id, the last four of a card, or a contact (exact or partial)."""
    stmt = select(ReceiptRow, SaleRow).join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
    if since is not None:
        stmt = stmt.where(ReceiptRow.created_at >= since)
    if until is not None:
        stmt = stmt.where(ReceiptRow.created_at < until)
    if query:
        q = query.strip()
        contact_match = select(DeliveryRow.receipt_id).where(DeliveryRow.recipient.contains(q))
        conditions = [SaleRow.sale_id == q, SaleRow.order_id == q, ReceiptRow.id == q, ReceiptRow.id.in_(contact_match)]
        if q.isdigit() and len(q) == 4:
            conditions.append(SaleRow.card_last4.contains(q))
        stmt = stmt.where(or_(*conditions))
    if state is not None:
        stmt = stmt.where(ReceiptRow.id.in_(select(DeliveryRow.receipt_id).where(DeliveryRow.state == state.value)))
    rows = session.execute(stmt.order_by(ReceiptRow.created_at.desc(), ReceiptRow.id).limit(limit).offset(offset)).all()
    deliveries: dict[str, list[DeliveryRow]] = defaultdict(list)
    if rows:
        ids = [r.id for r, _ in rows]
        for d in session.scalars(
            select(DeliveryRow).where(DeliveryRow.receipt_id.in_(ids)).order_by(DeliveryRow.created_at)
        ):
            deliveries[d.receipt_id or ""].append(d)
    return [_summary(r, s, deliveries[r.id]) for r, s in rows]


def _summary(receipt: ReceiptRow, sale: SaleRow, deliveries: list[DeliveryRow]) -> ReceiptSummary:
    return ReceiptSummary(
        receipt_id=receipt.id,
        sale_id=sale.sale_id,
        store_id=sale.store_id,
        lane=sale.lane,
        occurred_at=sale.occurred_at,
        total=sale.total,
        created_at=receipt.created_at,
        channels=tuple(Channel(d.channel) for d in deliveries),
        recipients=tuple(d.recipient for d in deliveries),
        states=tuple(DeliveryState(d.state) for d in deliveries),
    )


def get_detail(session: Session, receipt_id: str) -> ReceiptDetail | None:
    found = session.execute(
        select(ReceiptRow, SaleRow).join(SaleRow, SaleRow.id == ReceiptRow.sale_pk).where(ReceiptRow.id == receipt_id)
    ).first()
    if found is None:
        return None
    receipt, sale = found
    rows = list(
        session.scalars(
            select(DeliveryRow).where(DeliveryRow.receipt_id == receipt_id).order_by(DeliveryRow.created_at)
        )
    )
    return ReceiptDetail(
        summary=_summary(receipt, sale, rows),
        language=receipt.language,
        subject=receipt.subject,
        html=receipt.html,
        text=receipt.text,
        sms_body=receipt.sms_body,
        sms_segments=receipt.sms_segments,
        content_hash=receipt.content_hash,
        deliveries=tuple(to_record(d) for d in rows),
        attempts=attempts_for(session, [d.id for d in rows]),
        events={
            delivery_id: tuple(EventRecord(e.kind, e.raw_status, e.provider, e.occurred_at, e.detail) for e in found)
            for delivery_id, found in events_for(session, [d.id for d in rows]).items()
        },
        updates=order_updates.for_receipt(session, receipt_id),
    )


def count_receipts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ReceiptRow)) or 0)
