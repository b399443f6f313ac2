"""Legal holds: what they cover, and whether a record is covered (Core statements; the caller commits).

A hold covers a customer (everything of theirs), one sale (its receipts, deliveries and attempts) or
a range of dates (every record of a sale made in it). A released hold covers nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import SQLColumnExpression, and_, insert, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.storage.models import LegalHoldRow, SaleRow


@dataclass(frozen=True, slots=True)
class LegalHold:
    id: int
    customer_id: int | None
    sale_pk: int | None
    from_at: datetime | None
    to_at: datetime | None
    reason: str
    placed_by: str
    placed_at: datetime
    released_at: datetime | None = None
    released_by: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None


def place(
    session: Session,
    *,
    reason: str,
    placed_by: str,
    now: datetime,
    customer_id: int | None = None,
    sale_pk: int | None = None,
    from_at: datetime | None = None,
    to_at: datetime | None = None,
) -> int:
    """Add a hold on exactly one of: a customer, a sale, a date range (either end may be open). Returns its id."""
    scopes = (customer_id is not None) + (sale_pk is not None) + (from_at is not None or to_at is not None)
    if scopes != 1:
        raise ValueError("a hold covers exactly one of: a customer, a sale, a range of dates")
    values = {
        "customer_id": customer_id,
        "sale_pk": sale_pk,
        "from_at": from_at,
        "to_at": to_at,
        "reason": reason,
        "placed_by": placed_by,
        "placed_at": now,
    }
    return int(session.connection().execute(insert(LegalHoldRow).returning(LegalHoldRow.id), values).scalar_one())


def release(session: Session, hold_id: int, *, released_by: str, now: datetime) -> bool:
    """Release an active hold; False when there is no such active hold."""
    result = session.connection().execute(
        update(LegalHoldRow)
        .where(LegalHoldRow.id == hold_id, LegalHoldRow.released_at.is_(None))
        .values(released_at=now, released_by=released_by)
    )
    return bool(result.rowcount)


def get(session: Session, hold_id: int) -> LegalHold | None:
    row = session.get(LegalHoldRow, hold_id)
    return _hold(row) if row is not None else None


def sales_named(session: Session, sale_id: str) -> list[tuple[int, str]]:
    """The sales the POS called `sale_id`: (key, store id), one per store that has one."""
    query = select(SaleRow.id, SaleRow.store_id).where(SaleRow.sale_id == sale_id).order_by(SaleRow.id)
    return [(r.id, r.store_id) for r in session.connection().execute(query)]


def sale_names(session: Session, sale_pks: list[int]) -> dict[int, str]:
    """The POS's own id of each of these sales (a sale purged since is missing)."""
    if not sale_pks:
        return {}
    query = select(SaleRow.id, SaleRow.sale_id).where(SaleRow.id.in_(sale_pks))
    return {r.id: r.sale_id for r in session.connection().execute(query)}


def listed(session: Session, *, include_released: bool = False) -> list[LegalHold]:
    query = select(LegalHoldRow).order_by(LegalHoldRow.placed_at, LegalHoldRow.id)
    if not include_released:
        query = query.where(LegalHoldRow.released_at.is_(None))
    return [_hold(r) for r in session.scalars(query)]


def active(session: Session) -> list[LegalHold]:
    return listed(session)


def covering_customer(session: Session, customer_id: int) -> list[LegalHold]:
    """The active holds on this customer (by customer only: sale and date holds keep records, not people)."""
    return [h for h in active(session) if h.customer_id == customer_id]


def covers_sale(holds: list[LegalHold], *, sale_pk: int, customer_id: int | None, occurred_at: datetime) -> bool:
    """Whether any of `holds` covers a sale (its own hold, its customer's, or a range its time falls in)."""
    return any(
        h.released_at is None
        and (
            (h.sale_pk is not None and h.sale_pk == sale_pk)
            or (h.customer_id is not None and h.customer_id == customer_id)
            or (
                h.sale_pk is None
                and h.customer_id is None
                and (h.from_at is None or occurred_at >= h.from_at)
                and (h.to_at is None or occurred_at < h.to_at)
            )
        )
        for h in holds
    )


def not_held(
    holds: list[LegalHold],
    *,
    sale_pk: SQLColumnExpression[Any],
    customer_id: SQLColumnExpression[Any],
    at: SQLColumnExpression[Any],
) -> ColumnElement[bool]:
    """A SQL condition true for records of sales no active hold covers (for the purge's statements).

    Never NULL: a record without a sale, a customer or a time (an outer join's NULL) is simply not
    covered by a hold on that; a NULL inside NOT (...) would otherwise hide the record from the purge.
    """
    held: list[ColumnElement[bool]] = []
    for h in holds:
        if h.released_at is not None:
            continue
        if h.sale_pk is not None:
            held.append(and_(sale_pk.is_not(None), sale_pk == h.sale_pk))
        elif h.customer_id is not None:
            held.append(and_(customer_id.is_not(None), customer_id == h.customer_id))
        else:
            bounds: list[ColumnElement[bool]] = [at.is_not(None)]
            bounds += [at >= h.from_at] if h.from_at is not None else []
            bounds += [at < h.to_at] if h.to_at is not None else []
            held.append(and_(*bounds))
    return ~or_(*held) if held else true()


def _hold(row: LegalHoldRow) -> LegalHold:
    return LegalHold(
        id=row.id,
        customer_id=row.customer_id,
        sale_pk=row.sale_pk,
        from_at=row.from_at,
        to_at=row.to_at,
        reason=row.reason,
        placed_by=row.placed_by,
        placed_at=row.placed_at,
        released_at=row.released_at,
        released_by=row.released_by,
    )
