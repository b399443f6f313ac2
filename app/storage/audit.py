"""Appending to and checking the hash-chained audit log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit import GENESIS, AuditEntry, ChainReport, canonical_detail, entry_hash
from app.storage.models import AuditHeadRow, AuditRow


def append(session: Session, *, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
    """Add one entry after the current head (locking the head row on PostgreSQL); return its seq."""
    head = session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHeadRow(id=1, seq=0, hash=GENESIS)
        session.add(head)
    seq = head.seq + 1
    text = canonical_detail(detail)
    digest = entry_hash(head.hash, seq, at, actor, action, subject, text)
    session.add(
        AuditRow(seq=seq, at=at, actor=actor, action=action, subject=subject, detail=text, prev_hash=head.hash, hash=digest)
    )
    head.seq, head.hash = seq, digest
    session.flush()
    return seq


def verify(session: Session, *, chunk: int = 5000) -> ChainReport:
    """Walk the chain from the start: any edit, insertion or deletion breaks it."""
    prev, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.scalars(select(AuditRow).where(AuditRow.seq > last_seq).order_by(AuditRow.seq).limit(chunk)).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return ChainReport(count, False, expected_seq, f"entry {expected_seq} is missing")
            if row.prev_hash != prev:
                return ChainReport(count, False, row.seq, f"entry {row.seq} does not follow entry {row.seq - 1}")
            if entry_hash(prev, row.seq, row.at, row.actor, row.action, row.subject, row.detail) != row.hash:
                return ChainReport(count, False, row.seq, f"entry {row.seq} was altered")
            prev, expected_seq, count = row.hash, expected_seq + 1, count + 1
            last_seq = row.seq
    head = session.get(AuditHeadRow, 1)
    if head is not None and (head.seq != last_seq or head.hash != prev):
        return ChainReport(count, False, last_seq + 1, f"entries after {last_seq} were deleted")
    return ChainReport(count, True)


def recent(session: Session, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
    query = select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)
    if action:
        query = query.where(AuditRow.action == action)
    return [
        AuditEntry(r.seq, r.at, r.actor, r.action, r.subject, json.loads(r.detail)) for r in session.scalars(query)
    ]
