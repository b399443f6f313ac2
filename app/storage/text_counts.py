"""Counting texts for their limits: per number, to new numbers, and resends to new numbers.

Texts are outbox deliveries on the SMS and WhatsApp channels; a number is new when no text went to
it before. The per-number queries filter on `recipient` and `created_at`, and the new-number count
on `created_at`; an index on `deliveries (recipient, created_at)` and one on
`deliveries (created_at)` keep them to the rows they count. Resends are read back from the audit
log's newest entries (by its primary key), so they stay cheap however long the log grows.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.text_limits import TEXT_CHANNELS
from app.storage.models import AuditRow, DeliveryRow

TEXTS = sorted(channel.value for channel in TEXT_CHANNELS)

RESENT = "receipt.resent"
"""The audit action of a resend by hand."""

NEW_NUMBER = "new_number"
"""The key of a resend's audit detail saying it went to a number no text had gone to before."""

CLOCK_SLACK = timedelta(minutes=10)
"""How far the audit log's times may run out of order (terminals sharing one database, each with
its own clock): the backwards walk stops only past the window by this much."""

_BATCH = 500
_CHUNK = 200


def texts_to(session: Session, recipient: str, *, since: datetime) -> int:
    """How many texts to `recipient` were queued after `since` (this transaction's included)."""
    count = session.scalar(
        select(func.count())
        .select_from(DeliveryRow)
        .where(DeliveryRow.recipient == recipient, DeliveryRow.channel.in_(TEXTS), DeliveryRow.created_at > since)
    )
    return int(count or 0)


def ever_texted(session: Session, recipient: str) -> bool:
    """True when a text to `recipient` was ever queued."""
    found = session.scalar(
        select(DeliveryRow.id).where(DeliveryRow.recipient == recipient, DeliveryRow.channel.in_(TEXTS)).limit(1)
    )
    return found is not None


def new_numbers_since(session: Session, since: datetime) -> int:
    """How many numbers got their first text after `since`."""
    # No DISTINCT here: with it, SQLite walks a (recipient, created_at) index whole instead of the
    # hour's range of a created_at index. The hour's rows are few; the set drops the repeats.
    recent = set(
        session.scalars(
            select(DeliveryRow.recipient).where(DeliveryRow.channel.in_(TEXTS), DeliveryRow.created_at > since)
        )
    )
    ordered = sorted(recent)
    for start in range(0, len(ordered), _BATCH):
        batch = ordered[start : start + _BATCH]
        recent.difference_update(
            session.scalars(
                select(DeliveryRow.recipient)
                .where(
                    DeliveryRow.recipient.in_(batch), DeliveryRow.channel.in_(TEXTS), DeliveryRow.created_at <= since
                )
                .distinct()
            )
        )
    return len(recent)


def resends_to_new_numbers_since(session: Session, since: datetime) -> int:
    """How many resends by hand after `since` went to a number no text had gone to before.

    Walks the audit log from its newest entry back, a chunk at a time, until it is `CLOCK_SLACK`
    past `since`.
    """
    stop = since - CLOCK_SLACK
    count = 0
    below: int | None = None
    while True:
        query = select(AuditRow.seq, AuditRow.at, AuditRow.action, AuditRow.detail).order_by(AuditRow.seq.desc())
        if below is not None:
            query = query.where(AuditRow.seq < below)
        rows = session.execute(query.limit(_CHUNK)).all()
        for row in rows:
            if row.at < stop:
                return count
            if row.action == RESENT and row.at > since and json.loads(row.detail).get(NEW_NUMBER) is True:
                count += 1
        if len(rows) < _CHUNK:
            return count
        below = rows[-1].seq
