"""What follow-ups (CRM records, audit posts, daily summaries) need from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.storage.models import AuditRow, DeliveryRow, ReceiptRow, SaleRow


@dataclass(frozen=True, slots=True)
class DeliveredReceipt:
    recipient: str
    channel: str
    sale_id: str
    total: Decimal


def delivered_receipt(session: Session, delivery_id: str) -> DeliveredReceipt | None:
    row = session.execute(
        select(DeliveryRow.recipient, DeliveryRow.channel, SaleRow.sale_id, SaleRow.total)
        .join(ReceiptRow, ReceiptRow.id == DeliveryRow.receipt_id)
        .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .where(DeliveryRow.id == delivery_id)
    ).first()
    return None if row is None else DeliveredReceipt(row.recipient, row.channel, row.sale_id, row.total)


def key_exists(session: Session, idempotency_key: str) -> bool:
    query = select(DeliveryRow.id).where(DeliveryRow.idempotency_key == idempotency_key)
    return session.execute(query).first() is not None


def day_counts(session: Session, since: datetime, until: datetime) -> dict[tuple[str, str], int]:
    """Receipt deliveries created in [since, until) by (channel, state)."""
    query = (
        select(DeliveryRow.channel, DeliveryRow.state, func.count())
        .where(DeliveryRow.receipt_id.is_not(None), DeliveryRow.created_at >= since, DeliveryRow.created_at < until)
        .group_by(DeliveryRow.channel, DeliveryRow.state)
    )
    return {(channel, state): int(n) for channel, state, n in session.execute(query).all()}


def receipts_between(session: Session, since: datetime, until: datetime) -> int:
    query = (
        select(func.count())
        .select_from(ReceiptRow)
        .where(ReceiptRow.created_at >= since, ReceiptRow.created_at < until)
    )
    return int(session.scalar(query) or 0)


def audit_count(session: Session, action: str, since: datetime, until: datetime) -> int:
    query = select(func.count()).where(AuditRow.action == action, AuditRow.at >= since, AuditRow.at < until)
    return int(session.scalar(query) or 0)
