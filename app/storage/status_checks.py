"""Deliveries whose provider may be asked for their status: accepted, no final status since, never asked.

A delivery is due when it is `sent` (or `unknown` with the provider's message id) through a provider
that can be asked, has not moved for a while, and `status_checked_at` is empty. Setting
`status_checked_at` (whatever the answer) makes the check happen once; the index on
(`state`, `status_checked_at`) keeps the search cheap however many receipts were delivered.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain.delivery import DeliveryState
from app.storage.models import DeliveryRow

CHECKED_STATES = (DeliveryState.SENT.value, DeliveryState.UNKNOWN.value)
"""States whose final status may never have come: accepted (`sent`), or an answer that never came."""


@dataclass(frozen=True, slots=True)
class DueCheck:
    """One delivery to ask about: its provider and the id that provider answered with."""

    delivery_id: str
    provider: str
    provider_message_id: str
    idempotency_key: str
    state: DeliveryState
    updated_at: datetime


def due(session: Session, *, providers: Collection[str], quiet_since: datetime, limit: int) -> list[DueCheck]:
    """Deliveries of `providers` never asked about, unchanged since `quiet_since`, oldest first."""
    if not providers or limit <= 0:
        return []
    query = (
        select(
            DeliveryRow.id,
            DeliveryRow.provider,
            DeliveryRow.provider_message_id,
            DeliveryRow.idempotency_key,
            DeliveryRow.state,
            DeliveryRow.updated_at,
        )
        .where(
            DeliveryRow.state.in_(CHECKED_STATES),
            DeliveryRow.status_checked_at.is_(None),
            DeliveryRow.provider.in_(sorted(providers)),
            DeliveryRow.provider_message_id.is_not(None),
            DeliveryRow.updated_at <= quiet_since,
        )
        .order_by(DeliveryRow.updated_at, DeliveryRow.id)
        .limit(limit)
    )
    found = []
    for row in session.execute(query):
        if not row.provider_message_id:
            continue
        found.append(
            DueCheck(
                row.id,
                row.provider,
                row.provider_message_id,
                row.idempotency_key,
                DeliveryState(row.state),
                row.updated_at,
            )
        )
    return found


def mark_checked(session: Session, delivery_ids: Sequence[str], *, at: datetime) -> int:
    """Record that these deliveries' provider was asked (or given up on): they are not asked again."""
    if not delivery_ids:
        return 0
    query = (
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(list(delivery_ids)), DeliveryRow.status_checked_at.is_(None))
        .values(status_checked_at=at)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(query)
    return int(result.rowcount)  # type: ignore[attr-defined]
