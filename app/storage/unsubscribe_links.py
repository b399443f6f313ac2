"""The unsubscribe token of each e-mail address (Core statements; the caller's unit of work commits).

One token per address, made the first time a receipt e-mail goes to it and reused afterwards, so
every e-mail an address ever got unsubscribes it. A token is never deleted when used: a second click
or a mail app's retry finds it and is recognised as a repeat (`used_at` is set once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.domain.unsubscribe import new_token, normalise_address
from app.storage.models import UnsubscribeLinkRow


@dataclass(frozen=True, slots=True)
class UnsubscribeLink:
    token: str
    address: str
    created_at: datetime
    used_at: datetime | None


def ensure(session: Session, addresses: Iterable[str], *, now: datetime) -> dict[str, str]:
    """The token of each address, made for those without one; keyed by the address as given.

    Addresses are matched without regard to case (`Ana@x` and `ana@x` share a token); a new row keeps the
    address as first written, the form the customer's contact has, so the owner is found when it is used.
    """
    wanted = {address: normalise_address(address) for address in addresses}
    if not wanted:
        return {}
    conn = session.connection()
    known: dict[str, str] = {}
    for row in conn.execute(
        select(UnsubscribeLinkRow.address, UnsubscribeLinkRow.token)
        .where(func.lower(UnsubscribeLinkRow.address).in_(set(wanted.values())))
        .order_by(UnsubscribeLinkRow.created_at, UnsubscribeLinkRow.token)
    ):
        known.setdefault(normalise_address(row.address), row.token)
    fresh: dict[str, tuple[str, str]] = {}
    for given, normal in sorted(wanted.items()):
        if normal not in known and normal not in fresh:
            fresh[normal] = (given.strip(), new_token())
    if fresh:
        conn.execute(
            insert(UnsubscribeLinkRow),
            [{"token": token, "address": address, "created_at": now} for address, token in fresh.values()],
        )
        known.update({normal: token for normal, (_, token) in fresh.items()})
    return {given: known[normal] for given, normal in wanted.items()}


def find(session: Session, token: str) -> UnsubscribeLink | None:
    row = session.connection().execute(select(UnsubscribeLinkRow).where(UnsubscribeLinkRow.token == token)).first()
    if row is None:
        return None
    return UnsubscribeLink(row.token, row.address, row.created_at, row.used_at)


def mark_used(session: Session, token: str, *, now: datetime) -> None:
    """Note the first use of a token (a later use leaves the first time)."""
    session.connection().execute(
        update(UnsubscribeLinkRow)
        .where(UnsubscribeLinkRow.token == token, UnsubscribeLinkRow.used_at.is_(None))
        .values(used_at=now)
    )
