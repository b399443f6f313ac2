"""Managers (a name and a PIN hash) and the lockouts of wrong PINs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.pins import Lockout, Manager
from app.storage.models import LockoutRow, ManagerRow


def _manager(row: ManagerRow) -> Manager:
    return Manager(row.name, row.created_at, row.removed_at)


def list_managers(session: Session, *, include_removed: bool = False) -> list[Manager]:
    """Managers by name (the removed ones too when asked)."""
    query = select(ManagerRow).order_by(ManagerRow.name)
    if not include_removed:
        query = query.where(ManagerRow.removed_at.is_(None))
    return [_manager(row) for row in session.scalars(query)]


def any_recorded(session: Session) -> bool:
    """Whether any manager was ever added (removed ones count)."""
    return session.scalar(select(ManagerRow.name).limit(1)) is not None


def pin_hash(session: Session, name: str) -> str | None:
    """The PIN hash of the current manager called `name`, or None (no such manager, or removed)."""
    row = session.get(ManagerRow, name)
    return row.pin_hash if row is not None and row.removed_at is None else None


def find(session: Session, name: str) -> Manager | None:
    """The manager called `name`, current or removed, or None."""
    row = session.get(ManagerRow, name)
    return _manager(row) if row is not None else None


def add(session: Session, name: str, pin_hash: str, *, now: datetime) -> Manager:
    """Record a manager (a removed one of that name comes back with the new PIN); the caller checks for another."""
    row = session.get(ManagerRow, name)
    if row is None:
        row = ManagerRow(name=name, pin_hash=pin_hash, created_at=now, removed_at=None)
        session.add(row)
    else:
        row.pin_hash, row.created_at, row.removed_at = pin_hash, now, None
    session.flush()
    return _manager(row)


def remove(session: Session, name: str, *, now: datetime) -> bool:
    """Mark the current manager `name` removed (kept, so the audit log's names stay explained); False if none."""
    row = session.get(ManagerRow, name)
    if row is None or row.removed_at is not None:
        return False
    row.removed_at = now
    session.flush()
    return True


def set_pin(session: Session, name: str, pin_hash: str) -> bool:
    """Give the current manager `name` a new PIN hash; False if there is none."""
    row = session.get(ManagerRow, name)
    if row is None or row.removed_at is not None:
        return False
    row.pin_hash = pin_hash
    session.flush()
    return True


def lockout(session: Session, subject: str) -> Lockout | None:
    """The wrong tries recorded against `subject`, or None."""
    row = session.scalars(select(LockoutRow).where(LockoutRow.subject == subject)).first()
    return Lockout(row.subject, row.failures, row.locked_until) if row is not None else None


def hold_lockout(session: Session, subject: str, *, now: datetime) -> Lockout:
    """The lockout row of `subject`, made when missing, and locked until the transaction ends (PostgreSQL).

    Two kiosks on one database counting a wrong PIN for the same name at once take turns here: neither
    count is lost, and the second never fails on the row the first just made.
    """
    query = select(LockoutRow).where(LockoutRow.subject == subject).with_for_update()
    row = session.scalars(query).first()
    if row is None:
        try:
            with session.begin_nested():
                session.add(LockoutRow(subject=subject, failures=0, locked_until=None, updated_at=now))
        except IntegrityError:  # the other kiosk made it first; its transaction has ended
            pass
        row = session.scalars(query.execution_options(populate_existing=True)).one()
    return Lockout(row.subject, row.failures, row.locked_until)


def lockouts(session: Session, prefix: str) -> list[Lockout]:
    """Every lockout whose subject starts with `prefix`."""
    query = select(LockoutRow).where(LockoutRow.subject.startswith(prefix, autoescape=True))
    return [Lockout(row.subject, row.failures, row.locked_until) for row in session.scalars(query)]


def save_lockout(
    session: Session, subject: str, *, failures: int, locked_until: datetime | None, now: datetime
) -> None:
    """Record `failures` wrong tries in a row against `subject`, locked until `locked_until`."""
    row = session.get(LockoutRow, subject)
    if row is None:
        session.add(LockoutRow(subject=subject, failures=failures, locked_until=locked_until, updated_at=now))
    else:
        row.failures, row.locked_until, row.updated_at = failures, locked_until, now
    session.flush()


def clear_lockout(session: Session, subject: str) -> None:
    """Forget the wrong tries against `subject` (a right PIN, or a PIN reset)."""
    session.execute(delete(LockoutRow).where(LockoutRow.subject == subject))
