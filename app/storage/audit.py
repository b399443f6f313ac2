"""Appending to and checking the hash-chained audit log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.domain.audit import GENESIS, AuditDraft, AuditEntry, ChainReport, canonical_detail, entry_hash
from app.storage.models import AuditHeadRow, AuditRow

_HEAD = select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == 1).with_for_update()
_MOVE_HEAD = update(AuditHeadRow).where(AuditHeadRow.id == 1)


def append(session: Session, *, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
    """Add one entry after the current head (locking the head row on PostgreSQL); return its seq."""
    return append_many(session, [AuditDraft(at, actor, action, subject, detail)])


def append_many(session: Session, drafts: Sequence[AuditDraft]) -> int:
    """Add entries in order after the current head, taking the head lock once; return the last seq (0: none)."""
    if not drafts:
        return 0
    connection = session.connection()
    head = connection.execute(_HEAD).first()
    seq, digest = (head.seq, head.hash) if head is not None else (0, GENESIS)
    rows = []
    for draft in drafts:
        prev_hash, seq = digest, seq + 1
        text = canonical_detail(draft.detail)
        digest = entry_hash(prev_hash, seq, draft.at, draft.actor, draft.action, draft.subject, text)
        rows.append(
            {
                "seq": seq,
                "at": draft.at,
                "actor": draft.actor,
                "action": draft.action,
                "subject": draft.subject,
                "detail": text,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
    connection.execute(insert(AuditRow), rows)
    if head is None:
        connection.execute(insert(AuditHeadRow), {"id": 1, "seq": seq, "hash": digest})
    else:
        connection.execute(_MOVE_HEAD, {"seq": seq, "hash": digest})
    return seq


def verify(session: Session, *, chunk: int = 5000) -> ChainReport:
    """Walk the chain from the start: any edit, insertion or deletion breaks it."""
    prev, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditRow).where(AuditRow.seq > last_seq).order_by(AuditRow.seq).limit(chunk)
        ).all()
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
    return entries(session, action=action, limit=limit)


def entries(
    session: Session,
    *,
    since: datetime | None = None,
    action: str | None = None,
    actor: str | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Entries newest first: at or after `since`, of `action` (`manager.*`: every action starting `manager.`)."""
    query = select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)
    if action and action.endswith("*"):
        prefix = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(AuditRow.action.like(f"{prefix}%", escape="\\"))
    elif action:
        query = query.where(AuditRow.action == action)
    if actor:
        query = query.where(AuditRow.actor == actor)
    if since is not None:
        query = query.where(AuditRow.at >= since)
    return [AuditEntry(r.seq, r.at, r.actor, r.action, r.subject, json.loads(r.detail)) for r in session.scalars(query)]
