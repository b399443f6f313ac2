"""The purge's statements (Core; the caller commits each batch): what is due, and removing it in an order the
foreign keys accept. Every "due" query takes the active legal holds (`legal_holds.not_held`) and a limit: a store
has millions of rows, and nothing here loads more than one batch.

Keyed batches (`after`) walk each kind in ascending id, so the purge's digest (`app.domain.retention`) is over
sorted ids without holding them. Receipt and capture ids are UUIDs (lower-case hex and dashes in fixed places),
which every collation orders as Python does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import SQLColumnExpression, and_, delete, func, insert, null, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import CompoundSelect, Select
from sqlalchemy.sql.elements import ColumnElement

from app.storage.legal_holds import LegalHold, not_held
from app.storage.models import (
    AttemptRow,
    CaptureRow,
    ContactRow,
    DeliveryEventRow,
    DeliveryRow,
    InboundEventRow,
    InboundMessageRow,
    LegalHoldRow,
    OrderUpdateRow,
    PurgeRunRow,
    ReceiptRow,
    SaleRow,
    TextInCodeRow,
)

_NO_SALE: SQLColumnExpression[Any] = null()


def _ranges(holds: list[LegalHold]) -> list[LegalHold]:
    """The date-range holds: the only ones that cover a record with no sale."""
    return [h for h in holds if h.sale_pk is None and h.customer_id is None]


def _sale_due(holds: list[LegalHold], before: datetime) -> ColumnElement[bool]:
    return and_(
        SaleRow.occurred_at < before,
        not_held(holds, sale_pk=SaleRow.id, customer_id=SaleRow.customer_id, at=SaleRow.occurred_at),
    )


# -- receipts as sent, with their sale and everything hanging off them -----------------------------


def _due_receipts(holds: list[LegalHold], before: datetime) -> Select[str, str]:
    query = (
        select(ReceiptRow.id, ReceiptRow.content_hash)
        .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .where(_sale_due(holds, before))
    )
    return query


def due_receipts(
    session: Session, holds: list[LegalHold], *, before: datetime, after: str, limit: int
) -> list[tuple[str, str]]:
    """The next due receipts after `after`: (id, content hash), in ascending id."""
    query = _due_receipts(holds, before).where(ReceiptRow.id > after).order_by(ReceiptRow.id).limit(limit)
    return [(r.id, r.content_hash) for r in session.connection().execute(query)]


def remove_receipts(session: Session, receipt_ids: Sequence[str]) -> dict[str, int]:
    """Delete these receipts with their deliveries, attempts, events, order updates, text-in codes, webhook event
    ids and captures; then their sales once no receipt is left (and released holds naming those sales)."""
    if not receipt_ids:
        return {}
    connection = session.connection()
    ids = list(receipt_ids)
    sale_pks = list(connection.execute(select(ReceiptRow.sale_pk).where(ReceiptRow.id.in_(ids)).distinct()).scalars())
    deliveries = select(DeliveryRow.id).where(DeliveryRow.receipt_id.in_(ids))
    counts = {
        "delivery_events": _deleted(
            session, delete(DeliveryEventRow).where(DeliveryEventRow.delivery_id.in_(deliveries))
        ),
        "attempts": _deleted(session, delete(AttemptRow).where(AttemptRow.delivery_id.in_(deliveries))),
        "deliveries": _deleted(session, delete(DeliveryRow).where(DeliveryRow.receipt_id.in_(ids))),
        "order_updates": _deleted(session, delete(OrderUpdateRow).where(OrderUpdateRow.receipt_id.in_(ids))),
        "text_in_codes": _deleted(session, delete(TextInCodeRow).where(TextInCodeRow.receipt_id.in_(ids))),
        "inbound_events": _deleted(session, delete(InboundEventRow).where(InboundEventRow.receipt_id.in_(ids))),
        "captures": _deleted(session, delete(CaptureRow).where(CaptureRow.receipt_id.in_(ids))),
    }
    # A correction kept elsewhere loses its pointer to the receipt it corrected, not itself.
    connection.execute(update(ReceiptRow).where(ReceiptRow.supersedes_id.in_(ids)).values(supersedes_id=None))
    counts["receipts"] = _deleted(session, delete(ReceiptRow).where(ReceiptRow.id.in_(ids)))
    empty = select(ReceiptRow.id).where(ReceiptRow.sale_pk == SaleRow.id).exists()
    bare = list(connection.execute(select(SaleRow.id).where(SaleRow.id.in_(sale_pks), ~empty)).scalars())
    counts["sales"] = _remove_sales(session, bare)
    return counts


def _remove_sales(session: Session, sale_pks: Sequence[int]) -> int:
    """Delete sales that have no receipt (a released hold naming one goes too: its audit entries remain)."""
    if not sale_pks:
        return 0
    session.connection().execute(
        delete(LegalHoldRow).where(LegalHoldRow.sale_pk.in_(sale_pks), LegalHoldRow.released_at.is_not(None))
    )
    return _deleted(session, delete(SaleRow).where(SaleRow.id.in_(sale_pks)))


def _bare_sales(holds: list[LegalHold], before: datetime) -> Select[Any]:
    has_receipt = select(ReceiptRow.id).where(ReceiptRow.sale_pk == SaleRow.id).exists()
    return select(SaleRow.id).where(_sale_due(holds, before), ~has_receipt)


def remove_bare_sales(session: Session, holds: list[LegalHold], *, before: datetime, limit: int) -> dict[str, int]:
    """Delete up to `limit` due sales that never had a receipt."""
    pks = list(session.connection().execute(_bare_sales(holds, before).order_by(SaleRow.id).limit(limit)).scalars())
    return {"sales": _remove_sales(session, pks)}


def _loose(id_: Any, owner: Any, at: SQLColumnExpression[Any], holds: list[LegalHold], before: datetime) -> Select[Any]:
    """The ids of rows that belong to nothing (`owner` empty) and are older than `before`, where no date hold
    covers their time."""
    return select(id_).where(
        owner.is_(None), at < before, not_held(_ranges(holds), sale_pk=_NO_SALE, customer_id=_NO_SALE, at=at)
    )


def _loose_deliveries(holds: list[LegalHold], before: datetime) -> Select[Any]:
    """Deliveries of no receipt (the end-of-day summary) older than `before`."""
    return _loose(DeliveryRow.id, DeliveryRow.receipt_id, DeliveryRow.created_at, holds, before)


def _loose_updates(holds: list[LegalHold], before: datetime) -> Select[Any]:
    """Order updates that never found their sale, older than `before`."""
    return _loose(OrderUpdateRow.id, OrderUpdateRow.receipt_id, OrderUpdateRow.created_at, holds, before)


def _loose_events(holds: list[LegalHold], before: datetime) -> Select[Any]:
    """Provider events that matched no delivery, older than `before`."""
    return _loose(DeliveryEventRow.id, DeliveryEventRow.delivery_id, DeliveryEventRow.received_at, holds, before)


def remove_loose(session: Session, holds: list[LegalHold], *, before: datetime, limit: int) -> dict[str, int]:
    """Delete up to `limit` each of due deliveries of no receipt (with their attempts and events), order
    updates of no sale and events of no delivery."""
    connection = session.connection()
    ids = list(connection.execute(_loose_deliveries(holds, before).order_by(DeliveryRow.id).limit(limit)).scalars())
    counts = {
        "delivery_events": _deleted(session, delete(DeliveryEventRow).where(DeliveryEventRow.delivery_id.in_(ids))),
        "attempts": _deleted(session, delete(AttemptRow).where(AttemptRow.delivery_id.in_(ids))),
        "deliveries": _deleted(session, delete(DeliveryRow).where(DeliveryRow.id.in_(ids))),
    }
    updates = list(connection.execute(_loose_updates(holds, before).limit(limit)).scalars())
    counts["order_updates"] = _deleted(session, delete(OrderUpdateRow).where(OrderUpdateRow.id.in_(updates)))
    events = list(connection.execute(_loose_events(holds, before).limit(limit)).scalars())
    counts["delivery_events"] += _deleted(session, delete(DeliveryEventRow).where(DeliveryEventRow.id.in_(events)))
    return counts


# -- raw provider payloads: blanked, the record kept -------------------------------------------------


def _payload_due(holds: list[LegalHold], at: SQLColumnExpression[Any]) -> ColumnElement[bool]:
    return not_held(
        holds, sale_pk=SaleRow.id, customer_id=SaleRow.customer_id, at=func.coalesce(SaleRow.occurred_at, at)
    )


def _event_payloads(holds: list[LegalHold], before: datetime) -> Select[Any]:
    e = DeliveryEventRow
    return (
        select(e.id)
        .outerjoin(DeliveryRow, DeliveryRow.id == e.delivery_id)
        .outerjoin(ReceiptRow, ReceiptRow.id == DeliveryRow.receipt_id)
        .outerjoin(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .where(e.received_at < before, e.raw != "", _payload_due(holds, e.received_at))
    )


def _attempt_errors(holds: list[LegalHold], before: datetime) -> Select[Any]:
    a = AttemptRow
    return (
        select(a.id)
        .join(DeliveryRow, DeliveryRow.id == a.delivery_id)
        .outerjoin(ReceiptRow, ReceiptRow.id == DeliveryRow.receipt_id)
        .outerjoin(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .where(a.started_at < before, a.error.is_not(None), _payload_due(holds, a.started_at))
    )


def _delivery_errors(holds: list[LegalHold], before: datetime) -> Select[Any]:
    d = DeliveryRow
    return (
        select(d.id)
        .outerjoin(ReceiptRow, ReceiptRow.id == d.receipt_id)
        .outerjoin(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .where(d.updated_at < before, d.last_error.is_not(None), _payload_due(holds, d.updated_at))
    )


PAYLOAD_PARTS = ("event", "attempt", "delivery")
"""The payloads' parts, in the order the purge blanks them: a provider event's raw body, an attempt's error
text, a delivery's last error text (providers' errors quote the recipient)."""


def blank_payloads(
    session: Session, part: str, holds: list[LegalHold], *, before: datetime, after: str, limit: int
) -> list[str]:
    """Blank the next due payloads of `part` after `after` (ascending id); returns the ids blanked, as text."""
    connection = session.connection()
    if part == "event":
        e = DeliveryEventRow
        query = _event_payloads(holds, before).where(e.id > int(after or 0)).order_by(e.id).limit(limit)
        ids: list[Any] = list(connection.execute(query).scalars())
        connection.execute(update(e).where(e.id.in_(ids)).values(raw=""))
    elif part == "attempt":
        a = AttemptRow
        query = _attempt_errors(holds, before).where(a.id > int(after or 0)).order_by(a.id).limit(limit)
        ids = list(connection.execute(query).scalars())
        connection.execute(update(a).where(a.id.in_(ids)).values(error=None))
    else:
        d = DeliveryRow
        query = _delivery_errors(holds, before).where(d.id > after).order_by(d.id).limit(limit)
        ids = list(connection.execute(query).scalars())
        connection.execute(update(d).where(d.id.in_(ids)).values(last_error=None))
    return [str(i) for i in ids]


# -- captured print streams, texts from customers ------------------------------------------------------


def _captures(holds: list[LegalHold], before: datetime) -> Select[Any]:
    c = CaptureRow
    return (
        select(c.id)
        .outerjoin(ReceiptRow, ReceiptRow.id == c.receipt_id)
        .outerjoin(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .where(c.captured_at < before, _payload_due(holds, c.captured_at))
    )


def remove_captures(session: Session, holds: list[LegalHold], *, before: datetime, after: str, limit: int) -> list[str]:
    """Delete the next due captures after `after`; returns their ids (ascending)."""
    query = _captures(holds, before).where(CaptureRow.id > after).order_by(CaptureRow.id).limit(limit)
    ids = list(session.connection().execute(query).scalars())
    session.connection().execute(delete(CaptureRow).where(CaptureRow.id.in_(ids)))
    return ids


def _inbound(holds: list[LegalHold], before: datetime) -> Select[Any]:
    m = InboundMessageRow
    at: SQLColumnExpression[Any] = m.received_at
    condition = [m.received_at < before, not_held(_ranges(holds), sale_pk=_NO_SALE, customer_id=_NO_SALE, at=at)]
    customers = [h.customer_id for h in holds if h.customer_id is not None]
    if customers:  # a held customer's texts are theirs: sent from one of their contacts
        theirs = select(ContactRow.value).where(ContactRow.customer_id.in_(customers))
        condition.append(m.sender.not_in(theirs))
    return select(m.id).where(*condition)


def remove_inbound(session: Session, holds: list[LegalHold], *, before: datetime, after: int, limit: int) -> list[int]:
    """Delete the next due texts from customers after `after`; returns their ids (ascending)."""
    query = _inbound(holds, before).where(InboundMessageRow.id > after).order_by(InboundMessageRow.id).limit(limit)
    ids = list(session.connection().execute(query).scalars())
    session.connection().execute(delete(InboundMessageRow).where(InboundMessageRow.id.in_(ids)))
    return ids


# -- contacts ---------------------------------------------------------------------------------------


def customers_with_held_sales(session: Session, holds: list[LegalHold], customer_ids: Sequence[int]) -> set[int]:
    """Those of `customer_ids` with a sale a sale or date-range hold covers (their receipts stay as they are)."""
    covering = [h for h in holds if h.customer_id is None]
    if not covering or not customer_ids:
        return set()
    s = SaleRow
    held = ~not_held(covering, sale_pk=s.id, customer_id=s.customer_id, at=s.occurred_at)
    query = select(s.customer_id).where(s.customer_id.in_(list(customer_ids)), held).distinct()
    return {int(c) for c in session.connection().execute(query).scalars() if c is not None}


# -- what the next purge would remove ----------------------------------------------------------------


def preview(session: Session, holds: list[LegalHold], *, receipts: datetime, payloads: datetime,
            captures: datetime, inbound_messages: datetime) -> dict[str, int]:  # fmt: skip
    """Counts of what a purge with these cutoffs would remove now (contacts apart: the caller counts them)."""
    connection = session.connection()

    def count(query: Select[Any] | CompoundSelect[Any]) -> int:
        return int(connection.execute(select(func.count()).select_from(query.subquery())).scalar_one())

    due = _due_receipts(holds, receipts).with_only_columns(ReceiptRow.id)
    due_deliveries = select(DeliveryRow.id).where(DeliveryRow.receipt_id.in_(due))
    loose = _loose_deliveries(holds, receipts)
    return {
        "receipts": count(due),
        "sales": count(select(SaleRow.id).where(_sale_due(holds, receipts))),
        "deliveries": count(due_deliveries) + count(loose),
        "attempts": count(select(AttemptRow.id).where(AttemptRow.delivery_id.in_(due_deliveries.union(loose)))),
        "delivery_events": count(
            select(DeliveryEventRow.id).where(DeliveryEventRow.delivery_id.in_(due_deliveries.union(loose)))
        )
        + count(_loose_events(holds, receipts)),
        "order_updates": count(select(OrderUpdateRow.id).where(OrderUpdateRow.receipt_id.in_(due)))
        + count(_loose_updates(holds, receipts)),
        "text_in_codes": count(select(TextInCodeRow.code).where(TextInCodeRow.receipt_id.in_(due))),
        "payloads": count(_event_payloads(holds, payloads))
        + count(_attempt_errors(holds, payloads))
        + count(_delivery_errors(holds, payloads)),
        "captures": count(
            _captures(holds, captures).union(select(CaptureRow.id).where(CaptureRow.receipt_id.in_(due)))
        ),
        "inbound_messages": count(_inbound(holds, inbound_messages)),
    }


# -- purge runs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PurgeRun:
    """One purge: started, finished (None: cut short, to be carried on), and its state (cutoffs, counts,
    digests, where each step stands) as JSON in `purge_runs.counts`."""

    id: int
    actor: str
    started_at: datetime
    finished_at: datetime | None
    state: dict[str, Any]


def _run(row: Any) -> PurgeRun:
    return PurgeRun(row.id, row.actor, row.started_at, row.finished_at, json.loads(row.counts or "{}"))


_RUNS = select(PurgeRunRow.id, PurgeRunRow.actor, PurgeRunRow.started_at, PurgeRunRow.finished_at, PurgeRunRow.counts)


def open_run(session: Session, *, actor: str, now: datetime, state: dict[str, Any]) -> int:
    values = {"actor": actor, "started_at": now, "counts": json.dumps(state, sort_keys=True)}
    return int(session.connection().execute(insert(PurgeRunRow).returning(PurgeRunRow.id), values).scalar_one())


def unfinished(session: Session) -> PurgeRun | None:
    """The oldest run a crash (or a stop) cut short."""
    query = _RUNS.where(PurgeRunRow.finished_at.is_(None)).order_by(PurgeRunRow.id).limit(1)
    row = session.connection().execute(query).first()
    return _run(row) if row is not None else None


def last_finished(session: Session) -> PurgeRun | None:
    query = _RUNS.where(PurgeRunRow.finished_at.is_not(None)).order_by(PurgeRunRow.id.desc()).limit(1)
    row = session.connection().execute(query).first()
    return _run(row) if row is not None else None


def locked(session: Session, run_id: int) -> PurgeRun:
    """A run, its row locked for this transaction on PostgreSQL (two purges never advance one step twice)."""
    row = session.connection().execute(_RUNS.where(PurgeRunRow.id == run_id).with_for_update()).one()
    return _run(row)


def save(session: Session, run_id: int, state: dict[str, Any], *, finished_at: datetime | None = None) -> None:
    values: dict[str, Any] = {"counts": json.dumps(state, sort_keys=True)}
    if finished_at is not None:
        values["finished_at"] = finished_at
    session.connection().execute(update(PurgeRunRow).where(PurgeRunRow.id == run_id).values(**values))


def _deleted(session: Session, statement: Any) -> int:
    return int(session.connection().execute(statement).rowcount or 0)
