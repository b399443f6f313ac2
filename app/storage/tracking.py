"""Delivery events: recorded once each, attached to their delivery, moving its state on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.domain.tracking import StatusEvent, next_state
from app.storage.models import DeliveryEventRow, DeliveryRow, ReceiptRow, SaleRow

_SEEN = select(DeliveryEventRow.id).where(
    DeliveryEventRow.provider == bindparam("provider"), DeliveryEventRow.event_id == bindparam("event_id")
)
_BY_KEY = select(DeliveryRow.id, DeliveryRow.state, DeliveryRow.receipt_id, DeliveryRow.channel).where(
    DeliveryRow.idempotency_key == bindparam("key")
)
_BY_MESSAGE_ID = select(DeliveryRow.id, DeliveryRow.state, DeliveryRow.receipt_id, DeliveryRow.channel).where(
    DeliveryRow.provider_message_id == bindparam("message_id")
)


@dataclass(frozen=True, slots=True)
class AppliedEvent:
    """An event that was new; `new_state` is set when it moved its delivery."""

    event: StatusEvent
    delivery_id: str | None
    receipt_id: str | None
    channel: Channel | None
    new_state: DeliveryState | None


def apply(session: Session, events: list[StatusEvent], *, now: datetime) -> list[AppliedEvent]:
    """Record each new event; a repeated one (same provider and event id) changes nothing."""
    connection = session.connection()
    applied: list[AppliedEvent] = []
    for event in events:
        if connection.execute(_SEEN, {"provider": event.provider, "event_id": event.event_id}).first():
            continue
        row = None
        if event.delivery_key:
            row = connection.execute(_BY_KEY, {"key": event.delivery_key}).first()
        if row is None and event.provider_message_id:
            row = connection.execute(_BY_MESSAGE_ID, {"message_id": event.provider_message_id}).first()
        connection.execute(
            insert(DeliveryEventRow),
            {
                "delivery_id": row.id if row else None,
                "provider": event.provider,
                "event_id": event.event_id,
                "kind": event.kind.value,
                "raw_status": event.raw_status[:64],
                "occurred_at": event.occurred_at,
                "received_at": now,
                "detail": event.detail,
                "raw": event.raw,
            },
        )
        new_state = next_state(DeliveryState(row.state), event.kind) if row else None
        if row is not None and new_state is not None:
            values: dict[str, object] = {"state": new_state.value, "updated_at": now}
            if new_state is DeliveryState.BOUNCED:
                values["reason"] = (event.detail or event.raw_status)[:200]
            connection.execute(update(DeliveryRow).where(DeliveryRow.id == row.id).values(**values))
        applied.append(
            AppliedEvent(
                event,
                row.id if row else None,
                row.receipt_id if row else None,
                Channel(row.channel) if row else None,
                new_state,
            )
        )
    return applied


def customer_of_receipt(session: Session, receipt_id: str) -> int | None:
    query = (
        select(SaleRow.customer_id)
        .join(ReceiptRow, ReceiptRow.sale_pk == SaleRow.id)
        .where(ReceiptRow.id == receipt_id)
    )
    return session.connection().execute(query).scalar()


def already_sent_there(session: Session, receipt_id: str, channel: Channel, recipient: str) -> bool:
    """Whether the receipt already has a delivery on `channel` to `recipient` (sent, or on its way)."""
    query = select(DeliveryRow.id).where(
        DeliveryRow.receipt_id == receipt_id, DeliveryRow.channel == channel.value, DeliveryRow.recipient == recipient
    )
    return session.connection().execute(query.limit(1)).first() is not None


def events_for(session: Session, delivery_ids: list[str]) -> dict[str, list[DeliveryEventRow]]:
    found: dict[str, list[DeliveryEventRow]] = {d: [] for d in delivery_ids}
    query = (
        select(DeliveryEventRow)
        .where(DeliveryEventRow.delivery_id.in_(delivery_ids))
        .order_by(DeliveryEventRow.occurred_at, DeliveryEventRow.id)
    )
    for row in session.scalars(query):
        if row.delivery_id is not None:
            found[row.delivery_id].append(row)
    return found
