"""Order updates: recorded once per change, waiting for their receipt when they came first."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain.lifecycle import OrderStatus, OrderUpdate
from app.domain.records import UpdateRecord
from app.storage.models import DeliveryRow, OrderUpdateRow, ReceiptRow, SaleRow


@dataclass(frozen=True, slots=True)
class ReceiptOfOrder:
    """The receipt an update belongs to, with what the update message needs to know of the sale."""

    receipt_id: str
    sale_pk: int
    sale_payload: str
    language: str


@dataclass(frozen=True, slots=True)
class StoredUpdate:
    id: str
    status: OrderStatus
    receipt_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where the receipt went: an update follows it on the same channel to the same person."""

    channel: str
    provider: str
    recipient: str


UPDATE_KEY_PREFIX = "upd-"


def delivery_key(update_id: str, channel: str) -> str:
    """The idempotency key of an update's delivery on one channel (once per update and channel)."""
    return f"{UPDATE_KEY_PREFIX}{update_id}-{channel}"


def receipt_for(session: Session, store_id: str, *, order_id: str, sale_id: str | None) -> ReceiptOfOrder | None:
    """The newest receipt of the sale with this sale id, else of the first sale of this order id."""
    query = (
        select(ReceiptRow.id, SaleRow.id.label("sale_pk"), SaleRow.payload, ReceiptRow.language)
        .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .order_by(SaleRow.id, ReceiptRow.created_at.desc())
        .limit(1)
    )
    for condition in ([SaleRow.sale_id == sale_id] if sale_id else []) + [SaleRow.order_id == order_id]:
        row = session.execute(query.where(SaleRow.store_id == store_id, condition)).first()
        if row is not None:
            return ReceiptOfOrder(row.id, row.sale_pk, row.payload, row.language)
    return None


def find(session: Session, store_id: str, order_id: str, update_key: str) -> StoredUpdate | None:
    row = session.scalars(
        select(OrderUpdateRow).where(
            OrderUpdateRow.store_id == store_id,
            OrderUpdateRow.order_id == order_id,
            OrderUpdateRow.update_key == update_key,
        )
    ).first()
    return None if row is None else _stored(row)


def add(session: Session, event: OrderUpdate, *, status: OrderStatus, receipt_id: str | None, now: datetime) -> str:
    """Record the update (with `status`, resolved against the sale when it is known)."""
    update_id = str(uuid.uuid4())
    session.add(
        OrderUpdateRow(
            id=update_id,
            store_id=event.store_id,
            order_id=event.order_id,
            update_key=event.update_key,
            receipt_id=receipt_id,
            source=event.source,
            event_id=event.event_id,
            status=status.value,
            occurred_at=event.occurred_at,
            detail=json.dumps({**event.detail(), "sale_id": event.sale_id}, sort_keys=True),
            created_at=now,
        )
    )
    session.flush()
    return update_id


def set_message(
    session: Session, update_id: str, *, status: OrderStatus, receipt_id: str, subject: str, text: str
) -> None:
    """Attach the update to its receipt, with the status and message it went out with."""
    session.execute(
        update(OrderUpdateRow)
        .where(OrderUpdateRow.id == update_id)
        .values(status=status.value, receipt_id=receipt_id, subject=subject, text=text)
    )


def any_waiting(session: Session, store_id: str, order_ids: list[str]) -> bool:
    """Whether an update of these orders was recorded before their sale arrived (the rare case)."""
    if not order_ids:
        return False
    found = session.execute(
        select(OrderUpdateRow.id)
        .where(
            OrderUpdateRow.store_id == store_id,
            OrderUpdateRow.order_id.in_(order_ids),
            OrderUpdateRow.receipt_id.is_(None),
        )
        .limit(1)
    ).first()
    return found is not None


def waiting(session: Session, store_id: str, order_ids: list[str]) -> list[StoredUpdate]:
    """Updates recorded before their sale arrived, oldest first."""
    if not order_ids:
        return []
    rows = session.scalars(
        select(OrderUpdateRow)
        .where(
            OrderUpdateRow.store_id == store_id,
            OrderUpdateRow.order_id.in_(order_ids),
            OrderUpdateRow.receipt_id.is_(None),
        )
        .order_by(OrderUpdateRow.occurred_at, OrderUpdateRow.created_at)
    )
    return [_stored(row) for row in rows]


def all_waiting(session: Session, limit: int = 1000) -> list[tuple[str, str, str | None]]:
    """(store id, order id, sale id) of every update still waiting for its sale."""
    rows = session.scalars(select(OrderUpdateRow).where(OrderUpdateRow.receipt_id.is_(None)).limit(limit))
    return [(row.store_id, row.order_id, json.loads(row.detail).get("sale_id")) for row in rows]


def shipments(session: Session, receipt_id: str) -> list[dict[str, Any]]:
    """The details of every shipment already announced for this receipt, oldest first."""
    rows = session.scalars(
        select(OrderUpdateRow)
        .where(
            OrderUpdateRow.receipt_id == receipt_id,
            OrderUpdateRow.status.in_([OrderStatus.FULFILLED.value, OrderStatus.PARTIALLY_SHIPPED.value]),
        )
        .order_by(OrderUpdateRow.occurred_at, OrderUpdateRow.created_at)
    )
    return [json.loads(row.detail) for row in rows]


def refunded_total(session: Session, receipt_id: str) -> Decimal:
    """The sum of every refund already announced for this receipt (zero when none)."""
    rows = session.scalars(
        select(OrderUpdateRow.detail).where(
            OrderUpdateRow.receipt_id == receipt_id, OrderUpdateRow.status == OrderStatus.REFUNDED.value
        )
    )
    total = Decimal(0)
    for detail in rows:
        amount = json.loads(detail).get("refund_amount")
        try:
            total += Decimal(str(amount)) if amount is not None else Decimal(0)
        except InvalidOperation:
            continue
    return total


def recipients(session: Session, receipt_id: str, channels: frozenset[str]) -> list[Recipient]:
    """Each channel and person the receipt itself went to (not its follow-ups or earlier updates)."""
    rows = session.execute(
        select(DeliveryRow.channel, DeliveryRow.provider, DeliveryRow.recipient)
        .where(
            DeliveryRow.receipt_id == receipt_id,
            DeliveryRow.channel.in_(sorted(channels)),
            DeliveryRow.idempotency_key.not_like(f"{UPDATE_KEY_PREFIX}%"),
        )
        .order_by(DeliveryRow.created_at)
    ).all()
    seen: dict[tuple[str, str], Recipient] = {}
    for row in rows:
        seen.setdefault((row.channel, row.recipient), Recipient(row.channel, row.provider, row.recipient))
    return list(seen.values())


def for_receipt(session: Session, receipt_id: str) -> tuple[UpdateRecord, ...]:
    """The receipt's lifecycle in the order we learnt of it: every update, with the deliveries that carried it."""
    rows = list(
        session.scalars(
            select(OrderUpdateRow)
            .where(OrderUpdateRow.receipt_id == receipt_id)
            .order_by(OrderUpdateRow.created_at, OrderUpdateRow.occurred_at)
        )
    )
    if not rows:
        return ()
    keys = session.execute(
        select(DeliveryRow.id, DeliveryRow.idempotency_key).where(
            DeliveryRow.receipt_id == receipt_id, DeliveryRow.idempotency_key.like(f"{UPDATE_KEY_PREFIX}%")
        )
    ).all()
    records = []
    for row in rows:
        prefix = f"{UPDATE_KEY_PREFIX}{row.id}-"
        records.append(
            UpdateRecord(
                id=row.id,
                status=row.status,
                source=row.source,
                occurred_at=row.occurred_at,
                recorded_at=row.created_at,
                subject=row.subject or "",
                text=row.text or "",
                detail=json.loads(row.detail),
                delivery_ids=tuple(k.id for k in keys if k.idempotency_key.startswith(prefix)),
            )
        )
    return tuple(records)


def _stored(row: OrderUpdateRow) -> StoredUpdate:
    return StoredUpdate(row.id, OrderStatus(row.status), row.receipt_id, json.loads(row.detail))
