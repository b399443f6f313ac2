"""Reading receipts back: lists with filters, one receipt with its whole timeline, a sale's receipt
as the till shows it, pages for an export, and today's deliveries counted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CompoundSelect, Row, and_, func, or_, select, union
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.domain.records import AttemptRecord, DeliveryRecord, EventRecord, ReceiptDetail, ReceiptSummary
from app.storage import order_updates
from app.storage.models import AttemptRow, DeliveryRow, ReceiptRow, SaleRow
from app.storage.outbox import to_record
from app.storage.tracking import events_for


def list_receipts(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    query: str | None = None,
    state: DeliveryState | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[ReceiptSummary]:
    """Newest first. `query` matches a sale id, the last four of a card, or a contact (exact or partial).

    Only the columns a summary shows are read (not the receipt's rendered forms nor the sale's payload).
    """
    stmt = select(
        ReceiptRow.id,
        ReceiptRow.created_at,
        SaleRow.sale_id,
        SaleRow.store_id,
        SaleRow.lane,
        SaleRow.occurred_at,
        SaleRow.total,
    ).join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
    if since is not None:
        stmt = stmt.where(ReceiptRow.created_at >= since)
    if until is not None:
        stmt = stmt.where(ReceiptRow.created_at < until)
    if query:
        stmt = stmt.where(ReceiptRow.id.in_(matching_receipts(session, query.strip())))
    if state is not None:
        stmt = stmt.where(ReceiptRow.id.in_(select(DeliveryRow.receipt_id).where(DeliveryRow.state == state.value)))
    rows = session.execute(stmt.order_by(ReceiptRow.created_at.desc(), ReceiptRow.id).limit(limit).offset(offset)).all()
    deliveries: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    if rows:
        found = select(DeliveryRow.receipt_id, DeliveryRow.channel, DeliveryRow.recipient, DeliveryRow.state)
        found = found.where(DeliveryRow.receipt_id.in_([r.id for r in rows])).order_by(DeliveryRow.created_at)
        for receipt_id, channel, recipient, delivery_state in session.execute(found):
            deliveries[receipt_id or ""].append((channel, recipient, delivery_state))
    return [
        ReceiptSummary(
            receipt_id=r.id,
            sale_id=r.sale_id,
            store_id=r.store_id,
            lane=r.lane,
            occurred_at=r.occurred_at,
            total=r.total,
            created_at=r.created_at,
            channels=tuple(Channel(c) for c, _, _ in deliveries[r.id]),
            recipients=tuple(to for _, to, _ in deliveries[r.id]),
            states=tuple(DeliveryState(st) for _, _, st in deliveries[r.id]),
        )
        for r in rows
    ]


def matching_receipts(session: Session, q: str) -> CompoundSelect[str | None]:
    """The ids of the receipts `q` finds: its sale id or order id, the receipt's own id, any part of a
    recipient of its deliveries, or (four digits) the last four of a card it was paid with.

    One indexed read per kind, put together: an OR across the joined tables would have every receipt read.
    """
    by_sale = select(ReceiptRow.id).join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
    kinds = [
        by_sale.where(SaleRow.sale_id == q),
        by_sale.where(SaleRow.order_id == q),
        select(ReceiptRow.id).where(ReceiptRow.id == q),
        select(DeliveryRow.receipt_id).where(_recipient_has(session, q)),
    ]
    if q.isdigit() and len(q) == 4:
        # A sale's `card_last4` is one last four, or several joined by commas (a split tender).
        kinds.append(by_sale.where(SaleRow.card_last4 == q))
        kinds.append(by_sale.where(sql_text(SPLIT_TENDERS), SaleRow.card_last4.contains(q)))
    return union(*kinds)


SPLIT_TENDERS = "sales.card_last4 LIKE '%,%'"
"""As written in the partial index `ix_sales_split_cards`, so SQLite sees that the index serves it."""


def _recipient_has(session: Session, q: str) -> ColumnElement[bool]:
    """A delivery's recipient contains `q`. On SQLite the trigram index over the distinct recipients
    (migration 0014) names the candidates, and LIKE itself decides as before."""
    contains = DeliveryRow.recipient.contains(q)
    if session.get_bind().dialect.name != "sqlite":
        return contains
    candidates = sql_text(
        "SELECT recipient FROM recipient_search WHERE id IN "
        "(SELECT rowid FROM recipient_search_fts WHERE recipient_search_fts.recipient LIKE :pattern)"
    ).bindparams(pattern=f"%{q}%")
    return and_(DeliveryRow.recipient.in_(candidates.columns(DeliveryRow.recipient)), contains)


def _summary(receipt: ReceiptRow, sale: SaleRow, deliveries: list[DeliveryRow]) -> ReceiptSummary:
    return ReceiptSummary(
        receipt_id=receipt.id,
        sale_id=sale.sale_id,
        store_id=sale.store_id,
        lane=sale.lane,
        occurred_at=sale.occurred_at,
        total=sale.total,
        created_at=receipt.created_at,
        channels=tuple(Channel(d.channel) for d in deliveries),
        recipients=tuple(d.recipient for d in deliveries),
        states=tuple(DeliveryState(d.state) for d in deliveries),
    )


def get_detail(session: Session, receipt_id: str) -> ReceiptDetail | None:
    found = session.execute(
        select(ReceiptRow, SaleRow).join(SaleRow, SaleRow.id == ReceiptRow.sale_pk).where(ReceiptRow.id == receipt_id)
    ).first()
    if found is None:
        return None
    receipt, sale = found
    rows = list(
        session.scalars(
            select(DeliveryRow).where(DeliveryRow.receipt_id == receipt_id).order_by(DeliveryRow.created_at)
        )
    )
    return ReceiptDetail(
        summary=_summary(receipt, sale, rows),
        language=receipt.language,
        subject=receipt.subject,
        html=receipt.html,
        text=receipt.text,
        sms_body=receipt.sms_body,
        sms_segments=receipt.sms_segments,
        content_hash=receipt.content_hash,
        deliveries=tuple(to_record(d) for d in rows),
        attempts=attempt_records(session, [d.id for d in rows]),
        events={
            delivery_id: tuple(EventRecord(e.kind, e.raw_status, e.provider, e.occurred_at, e.detail) for e in found)
            for delivery_id, found in events_for(session, [d.id for d in rows]).items()
        },
        updates=order_updates.for_receipt(session, receipt_id),
    )


def attempt_records(session: Session, delivery_ids: Sequence[str]) -> dict[str, tuple[AttemptRecord, ...]]:
    """Every attempt of these deliveries, in their order, with how a doubt over each was settled."""
    found: dict[str, list[AttemptRecord]] = {d: [] for d in delivery_ids}
    if not delivery_ids:
        return {}
    query = (
        select(AttemptRow)
        .where(AttemptRow.delivery_id.in_(delivery_ids))
        .order_by(AttemptRow.delivery_id, AttemptRow.number, AttemptRow.id)
    )
    for a in session.scalars(query):
        found[a.delivery_id].append(
            AttemptRecord(
                number=a.number,
                provider=a.provider,
                started_at=a.started_at,
                finished_at=a.finished_at,
                outcome=a.outcome,
                status_code=a.status_code,
                provider_message_id=a.provider_message_id,
                raw_status=a.raw_status,
                error=a.error,
                settled_by=a.settled_by,
                settled_at=a.settled_at,
                settled_actor=a.settled_actor,
                possible_duplicate=bool(a.possible_duplicate),
            )
        )
    return {k: tuple(v) for k, v in found.items()}


def count_receipts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ReceiptRow)) or 0)


@dataclass(frozen=True, slots=True)
class SaleReceipt:
    """A receipt with its sale's facts and its deliveries, oldest first (what the till shows, the export writes)."""

    receipt_id: str
    sale_id: str
    store_id: str
    lane: str
    total: Decimal
    occurred_at: datetime
    created_at: datetime
    card_last4: str | None
    customer_id: int | None
    language: str
    subject: str
    html: str
    text: str
    sms_body: str
    sms_segments: int
    sms_encoding: str
    deliveries: tuple[DeliveryRecord, ...]


def sale_receipts(session: Session, receipt_ids: Sequence[str]) -> list[SaleReceipt]:
    """These receipts with their sales and deliveries, in no particular order; unknown ids are left out."""
    if not receipt_ids:
        return []
    found = session.execute(
        select(ReceiptRow, SaleRow)
        .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .where(ReceiptRow.id.in_(receipt_ids))
    ).all()
    return _with_deliveries(session, found)


def newest_receipt_of_sale(session: Session, sale_id: str) -> str | None:
    """The id of the newest receipt of the register's sale `sale_id` (any store), or None."""
    return session.execute(
        select(ReceiptRow.id)
        .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .where(SaleRow.sale_id == sale_id)
        .order_by(ReceiptRow.created_at.desc(), ReceiptRow.id.desc())
        .limit(1)
    ).scalar()


def count_created(session: Session, *, since: datetime, until: datetime) -> int:
    """How many receipts were created in [since, until)."""
    query = (
        select(func.count())
        .select_from(ReceiptRow)
        .where(ReceiptRow.created_at >= since, ReceiptRow.created_at < until)
    )
    return int(session.scalar(query) or 0)


def created_page(
    session: Session, *, since: datetime, until: datetime, after: tuple[datetime, str] | None, limit: int
) -> list[SaleReceipt]:
    """The next `limit` receipts created in [since, until) after `after`, in keyset order (created_at, id)."""
    query = (
        select(ReceiptRow, SaleRow)
        .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .where(ReceiptRow.created_at >= since, ReceiptRow.created_at < until)
        .order_by(ReceiptRow.created_at, ReceiptRow.id)
        .limit(limit)
    )
    if after is not None:
        at, receipt_id = after
        query = query.where(
            or_(ReceiptRow.created_at > at, and_(ReceiptRow.created_at == at, ReceiptRow.id > receipt_id))
        )
    return _with_deliveries(session, session.execute(query).all())


def delivery_counts(session: Session, *, since: datetime) -> dict[Channel, dict[DeliveryState, int]]:
    """Deliveries created from `since` on, counted by channel and state."""
    query = (
        select(DeliveryRow.channel, DeliveryRow.state, func.count())
        .where(DeliveryRow.created_at >= since)
        .group_by(DeliveryRow.channel, DeliveryRow.state)
    )
    counts: dict[Channel, dict[DeliveryState, int]] = defaultdict(dict)
    for channel, state, n in session.execute(query):
        counts[Channel(channel)][DeliveryState(state)] = int(n)
    return dict(counts)


def _with_deliveries(session: Session, found: Sequence[Row[ReceiptRow, SaleRow]]) -> list[SaleReceipt]:
    """Each (receipt, sale) row with its deliveries, in the order given."""
    if not found:
        return []
    deliveries: dict[str, list[DeliveryRecord]] = defaultdict(list)
    ids = [receipt.id for receipt, _ in found]
    query = select(DeliveryRow).where(DeliveryRow.receipt_id.in_(ids)).order_by(DeliveryRow.created_at)
    for row in session.scalars(query):
        if row.receipt_id is not None:
            deliveries[row.receipt_id].append(to_record(row))
    return [
        SaleReceipt(
            receipt_id=receipt.id,
            sale_id=sale.sale_id,
            store_id=sale.store_id,
            lane=sale.lane,
            total=sale.total,
            occurred_at=sale.occurred_at,
            created_at=receipt.created_at,
            card_last4=sale.card_last4,
            customer_id=sale.customer_id,
            language=receipt.language,
            subject=receipt.subject,
            html=receipt.html,
            text=receipt.text,
            sms_body=receipt.sms_body,
            sms_segments=receipt.sms_segments,
            sms_encoding=receipt.sms_encoding,
            deliveries=tuple(deliveries[receipt.id]),
        )
        for receipt, sale in found
    ]
