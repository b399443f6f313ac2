"""Where each platform's catch-up poll got to (`platform_sync`); functions take the caller's session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.models import PlatformSyncRow

MAX_ERROR = 500


@dataclass(frozen=True, slots=True)
class SyncState:
    platform: str
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    cursor: str | None
    last_error: str | None  # the last poll's error; None once a poll succeeds again
    events_found: int  # sales the catch-up found that no webhook had brought, since the first poll


def _state(row: PlatformSyncRow) -> SyncState:
    return SyncState(
        row.platform, row.last_success_at, row.last_attempt_at, row.cursor, row.last_error, row.events_found or 0
    )


def _row(session: Session, platform: str) -> PlatformSyncRow:
    row = session.get(PlatformSyncRow, platform)
    if row is None:
        row = PlatformSyncRow(platform=platform, events_found=0)
        session.add(row)
    return row


def load(session: Session, platform: str) -> SyncState | None:
    row = session.get(PlatformSyncRow, platform)
    return None if row is None else _state(row)


def load_all(session: Session) -> dict[str, SyncState]:
    rows = session.execute(select(PlatformSyncRow)).scalars()
    return {row.platform: _state(row) for row in rows}


def record_success(session: Session, platform: str, *, at: datetime, cursor: str | None, found: int) -> None:
    """A poll that started at `at` succeeded; `found` sales were new."""
    row = _row(session, platform)
    row.last_success_at = at
    row.last_attempt_at = at
    row.cursor = cursor[:200] if cursor else row.cursor
    row.last_error = None
    row.events_found = (row.events_found or 0) + found


def record_failure(session: Session, platform: str, *, at: datetime, error: str) -> None:
    """A poll that started at `at` failed; `last_success_at` stays where it was."""
    row = _row(session, platform)
    row.last_attempt_at = at
    row.last_error = error[:MAX_ERROR]
