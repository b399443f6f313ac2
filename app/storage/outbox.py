"""The outbox: deliveries waiting to go out, claimed under a lease, settled with their attempts.

A claim moves due rows to `sending` and pushes `next_attempt_at` to the lease's end, so a worker
that dies mid-send leaves rows that become due again when the lease runs out. The attempt counter
doubles as a fencing token: a settlement only lands on the claim it belongs to.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from app.domain.channels import Channel
from app.domain.delivery import ACTIVE, DeliveryState
from app.domain.records import AttemptRecord, ClaimedDelivery, DeliveryRecord, QueueStatus, Settlement
from app.storage import audit
from app.storage.models import AttemptRow, DeliveryRow, ReceiptRow, SaleRow

_ACTIVE = [s.value for s in ACTIVE]


@dataclass(frozen=True, slots=True)
class NewDelivery:
    id: str
    channel: Channel
    provider: str
    recipient: str
    state: DeliveryState


def new_delivery(
    session: Session,
    *,
    receipt_id: str | None,
    channel: Channel,
    provider: str,
    recipient: str,
    now: datetime,
    context: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> NewDelivery:
    """Queue one delivery, due now, with an idempotency key that stays the same on every retry.

    `context` carries extra message metadata, and for a delivery that is not a receipt its content
    (`subject`, `text`, `html`). A given `idempotency_key` makes queueing the same thing twice fail.
    """
    delivery_id = str(uuid.uuid4())
    session.connection().execute(
        insert(DeliveryRow),
        {
            "id": delivery_id,
            "receipt_id": receipt_id,
            "channel": channel.value,
            "provider": provider,
            "recipient": recipient,
            "state": DeliveryState.QUEUED.value,
            "attempts": 0,
            "next_attempt_at": now,
            "idempotency_key": idempotency_key or f"rd-{delivery_id}",
            "context": json.dumps(context, sort_keys=True) if context else None,
            "created_at": now,
            "updated_at": now,
        },
    )
    return NewDelivery(delivery_id, channel, provider, recipient, DeliveryState.QUEUED)


def claim_due(
    session: Session, *, owner: str, now: datetime, lease: timedelta, limit: int, skip_locked: bool
) -> list[ClaimedDelivery]:
    """Take up to `limit` due deliveries (queued, unknown, or sending with an expired lease)."""
    due = (
        select(DeliveryRow.id)
        .where(DeliveryRow.state.in_(_ACTIVE), DeliveryRow.next_attempt_at <= now)
        .order_by(DeliveryRow.next_attempt_at)
        .limit(limit)
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    ids = list(session.scalars(due))
    if not ids:
        return []
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(ids))
        .values(
            state=DeliveryState.SENDING.value,
            attempts=DeliveryRow.attempts + 1,
            lease_owner=owner,
            next_attempt_at=now + lease,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    d, r = DeliveryRow.__table__.c, ReceiptRow.__table__.c
    rows = session.execute(
        select(
            d.id,
            d.receipt_id,
            SaleRow.__table__.c.sale_id,
            d.channel,
            d.provider,
            d.recipient,
            d.attempts,
            d.idempotency_key,
            d.created_at,
            d.context,
            r.subject,
            r.html,
            r.text,
            r.sms_body,
        )
        .outerjoin(ReceiptRow.__table__, r.id == d.receipt_id)
        .outerjoin(SaleRow.__table__, SaleRow.__table__.c.id == r.sale_pk)
        .where(d.id.in_(ids))
    ).all()
    claims = []
    for row in rows:
        context: dict[str, Any] = json.loads(row.context) if row.context else {}
        own = "subject" in context
        claims.append(
            ClaimedDelivery(
                id=row.id,
                receipt_id=row.receipt_id,
                sale_id=row.sale_id,
                channel=Channel(row.channel),
                provider=row.provider,
                recipient=row.recipient,
                attempt=row.attempts,
                idempotency_key=row.idempotency_key,
                created_at=row.created_at,
                # A message with content of its own (an order update, a summary) sends that content,
                # even when it belongs to a receipt; follow-ups carry only metadata and send the receipt.
                subject=str(context["subject"]) if own else row.subject or "",
                html=str(context.get("html", "")) if own else row.html or "",
                text=str(context.get("text", "")) if own else row.text or "",
                sms_body=str(context.get("sms", context.get("text", ""))) if own else row.sms_body or "",
                metadata={str(k): str(v) for k, v in dict(context.get("metadata", {})).items()},
            )
        )
    return claims


def settle(session: Session, settlements: Sequence[Settlement]) -> list[Settlement]:
    """Record each attempt and move its delivery on; return the settlements that still held their claim.

    Plain Core statements: this runs for every attempt, and the ORM's unit of work is not needed here.
    """
    if not settlements:
        return []
    connection = session.connection()
    attempted = [s for s in settlements if s.counts]
    if attempted:
        connection.execute(
            insert(AttemptRow),
            [
                {
                    "delivery_id": s.delivery_id,
                    "number": s.attempt,
                    "provider": s.provider,
                    "started_at": s.started_at,
                    "finished_at": s.finished_at,
                    "outcome": s.outcome,
                    "status_code": s.status_code,
                    "provider_message_id": s.provider_message_id,
                    "raw_status": s.raw_status,
                    "error": s.error,
                }
                for s in attempted
            ],
        )
    landed: list[Settlement] = []
    for s in settlements:
        values: dict[str, object] = {
            "state": s.new_state.value,
            "updated_at": s.finished_at,
            "lease_owner": None,
            "last_error": s.error,
            "reason": s.reason,
        }
        if s.next_attempt_at is not None:
            values["next_attempt_at"] = s.next_attempt_at
        if s.provider_message_id:
            values["provider_message_id"] = s.provider_message_id
        if s.route_to:
            values["provider"] = s.route_to
        if not s.counts:
            values["attempts"] = s.attempt - 1
        # the attempt number is the fencing token: a claim taken over by another worker is not overwritten
        result = connection.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == s.delivery_id,
                DeliveryRow.attempts == s.attempt,
                DeliveryRow.state == DeliveryState.SENDING.value,
            )
            .values(**values)
        )
        if result.rowcount:
            landed.append(s)
            if s.failover_from:
                audit.append(
                    session,
                    at=s.finished_at,
                    actor="dispatcher",
                    action="delivery.failover",
                    subject=s.delivery_id,
                    detail={"from": s.failover_from, "to": s.route_to or s.provider, "outcome": s.outcome},
                )
    return landed


def release(session: Session, claims: Sequence[tuple[str, int]], *, now: datetime) -> int:
    """Hand back claims that were never attempted: due again now, and the claim not counted as an attempt."""
    released = 0
    for delivery_id, attempt in claims:
        result = session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.attempts == attempt,
                DeliveryRow.state == DeliveryState.SENDING.value,
            )
            .values(state=DeliveryState.QUEUED.value, attempts=attempt - 1, next_attempt_at=now, lease_owner=None)
            .execution_options(synchronize_session=False)
        )
        released += int(result.rowcount)  # type: ignore[attr-defined]
    return released


def requeue(session: Session, delivery_ids: Sequence[str], *, now: datetime, states: Sequence[DeliveryState]) -> int:
    """Put deliveries in any of `states` back in the queue, due now; return how many moved."""
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(delivery_ids), DeliveryRow.state.in_([s.value for s in states]))
        .values(state=DeliveryState.QUEUED.value, next_attempt_at=now, updated_at=now, reason=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def known_ids(session: Session, delivery_ids: Sequence[str]) -> set[str]:
    """Which of `delivery_ids` are deliveries in the outbox."""
    return set(session.scalars(select(DeliveryRow.id).where(DeliveryRow.id.in_(delivery_ids))))


def ids_in_states(session: Session, states: Sequence[DeliveryState], limit: int = 100_000) -> list[str]:
    query = select(DeliveryRow.id).where(DeliveryRow.state.in_([s.value for s in states])).limit(limit)
    return list(session.scalars(query))


def status(session: Session, *, now: datetime) -> QueueStatus:
    counts = dict(session.execute(select(DeliveryRow.state, func.count()).group_by(DeliveryRow.state)).all())
    due, oldest_due = session.execute(
        select(func.count(), func.min(DeliveryRow.next_attempt_at)).where(
            and_(DeliveryRow.state.in_(_ACTIVE), DeliveryRow.next_attempt_at <= now)
        )
    ).one()
    oldest = session.scalar(select(func.min(DeliveryRow.created_at)).where(DeliveryRow.state.in_(_ACTIVE)))
    return QueueStatus(
        by_state={str(k): int(v) for k, v in counts.items()},
        due_now=int(due or 0),
        oldest_pending_at=_aware(oldest, now),
        oldest_due_at=_aware(oldest_due, now),
    )


def _aware(value: datetime | str | None, now: datetime) -> datetime | None:
    """An aggregate's datetime with its zone: aggregate results bypass the column type on SQLite."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    return datetime.fromisoformat(str(value)).replace(tzinfo=now.tzinfo)


def to_record(row: DeliveryRow) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        receipt_id=row.receipt_id or "",
        channel=Channel(row.channel),
        provider=row.provider,
        recipient=row.recipient,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        provider_message_id=row.provider_message_id,
        last_error=row.last_error,
        reason=row.reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def attempts_for(session: Session, delivery_ids: Sequence[str]) -> dict[str, tuple[AttemptRecord, ...]]:
    found: dict[str, list[AttemptRecord]] = {d: [] for d in delivery_ids}
    query = select(AttemptRow).where(AttemptRow.delivery_id.in_(delivery_ids)).order_by(AttemptRow.id)
    for a in session.scalars(query):
        found[a.delivery_id].append(
            AttemptRecord(
                a.number,
                a.provider,
                a.started_at,
                a.finished_at,
                a.outcome,
                a.status_code,
                a.provider_message_id,
                a.raw_status,
                a.error,
            )
        )
    return {k: tuple(v) for k, v in found.items()}
