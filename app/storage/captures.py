"""Captured print receipts (`captures` table): already scrubbed of card data when they get here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.domain.capture import CaptureRecord, CaptureState
from app.storage.models import CaptureRow


def _record(row: CaptureRow) -> CaptureRecord:
    return CaptureRecord(
        id=row.id,
        source=row.source,
        state=CaptureState(row.state),
        text=row.text,
        captured_at=row.captured_at,
        updated_at=row.updated_at,
        sale_id=row.sale_id,
        reason=row.reason,
        receipt_id=row.receipt_id,
    )


def add(
    session: Session,
    *,
    capture_id: str,
    source: str,
    state: CaptureState,
    text: str,
    now: datetime,
    sale_id: str | None = None,
    reason: str | None = None,
    receipt_id: str | None = None,
) -> CaptureRecord:
    """Record a capture; the same id again (the same receipt printed again) returns the first record."""
    existing = session.get(CaptureRow, capture_id)
    if existing is not None:
        return _record(existing)
    row = CaptureRow(
        id=capture_id,
        source=source,
        state=state.value,
        sale_id=sale_id,
        text=text,
        reason=reason[:300] if reason else None,
        receipt_id=receipt_id,
        captured_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return _record(row)


def get(session: Session, capture_id: str) -> CaptureRecord | None:
    row = session.get(CaptureRow, capture_id)
    return None if row is None else _record(row)


def find(session: Session, prefix: str) -> list[CaptureRecord]:
    """Captures whose id starts with `prefix` (the CLI accepts a short id)."""
    rows = session.scalars(select(CaptureRow).where(CaptureRow.id.startswith(prefix, autoescape=True)).limit(2))
    return [_record(r) for r in rows]


def listing(session: Session, state: CaptureState | None = None, limit: int = 100) -> list[CaptureRecord]:
    """Captures newest first, optionally in one state."""
    query = select(CaptureRow).order_by(CaptureRow.captured_at.desc(), CaptureRow.id).limit(limit)
    if state is not None:
        query = query.where(CaptureRow.state == state.value)
    return [_record(r) for r in session.scalars(query)]


def set_state(
    session: Session,
    capture_id: str,
    state: CaptureState,
    *,
    now: datetime,
    reason: str | None = None,
    receipt_id: str | None = None,
    sale_id: str | None = None,
) -> None:
    row = session.get(CaptureRow, capture_id)
    if row is None:
        return
    row.state = state.value
    row.reason = reason[:300] if reason else None
    row.updated_at = now
    if receipt_id is not None:
        row.receipt_id = receipt_id
    if sale_id is not None:
        row.sale_id = sale_id
    session.flush()


def remove(session: Session, capture_id: str) -> bool:
    """Delete a capture (a discarded one: its text may still hold card data)."""
    result = session.execute(delete(CaptureRow).where(CaptureRow.id == capture_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
