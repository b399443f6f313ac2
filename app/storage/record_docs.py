"""Records as plain JSON-ready documents: a customer's file and an auditor's archive read these.

Every document is a dict of strings, numbers, booleans and lists (times in ISO 8601 with their UTC
offset, money as a string with two decimals), so it is written as it is and read back anywhere.
Receipts come page by page in keyset order (created_at, id): a range of any size is never loaded whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.storage.models import (
    AppDeviceRow,
    AttemptRow,
    AuditRow,
    ChannelPreferenceRow,
    ConsentRow,
    ContactRow,
    CustomerRow,
    DeliveryEventRow,
    DeliveryRow,
    ReceiptRow,
    SaleRow,
)

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """A customer as their file opens: who, how reached, how many sales."""

    id: int
    name: str | None
    loyalty_id: str | None
    language: str | None
    created_at: datetime
    forgotten_at: datetime | None
    contacts: tuple[tuple[str, str], ...]  # (kind, value), oldest first
    preferences: tuple[tuple[str, bool], ...]  # (channel, auto_send)
    app_devices: int
    sales: int
    last_sale_at: datetime | None


def owners_of(session: Session, kind: str, value: str) -> list[int]:
    """The customers (not forgotten) this contact belongs to, or that it was consented for, lowest id first."""
    same = func.lower(ContactRow.value) == value.lower() if kind == "email" else ContactRow.value == value
    by_contact = select(ContactRow.customer_id).where(ContactRow.kind == kind, same)
    consented = func.lower(ConsentRow.contact) == value.lower() if kind == "email" else ConsentRow.contact == value
    by_consent = select(ConsentRow.customer_id).where(consented)
    query = (
        select(CustomerRow.id)
        .where(CustomerRow.forgotten_at.is_(None), or_(CustomerRow.id.in_(by_contact), CustomerRow.id.in_(by_consent)))
        .order_by(CustomerRow.id)
    )
    return [int(i) for i in session.execute(query).scalars()]


def profile(session: Session, customer_id: int) -> CustomerProfile | None:
    customer = session.get(CustomerRow, customer_id)
    if customer is None:
        return None
    contacts = session.execute(
        select(ContactRow.kind, ContactRow.value)
        .where(ContactRow.customer_id == customer_id)
        .order_by(ContactRow.created_at, ContactRow.id)
    ).all()
    preferences = session.execute(
        select(ChannelPreferenceRow.channel, ChannelPreferenceRow.auto_send)
        .where(ChannelPreferenceRow.customer_id == customer_id)
        .order_by(ChannelPreferenceRow.channel)
    ).all()
    devices = session.scalar(
        select(func.count()).select_from(AppDeviceRow).where(AppDeviceRow.customer_id == customer_id)
    )
    sales = session.execute(
        select(func.count(), func.max(SaleRow.occurred_at)).where(SaleRow.customer_id == customer_id)
    ).one()
    return CustomerProfile(
        id=customer.id,
        name=customer.name,
        loyalty_id=customer.loyalty_id,
        language=customer.language,
        created_at=customer.created_at,
        forgotten_at=customer.forgotten_at,
        contacts=tuple((c.kind, c.value) for c in contacts),
        preferences=tuple((p.channel, bool(p.auto_send)) for p in preferences),
        app_devices=int(devices or 0),
        sales=int(sales[0] or 0),
        last_sale_at=sales[1],
    )


def app_device_docs(session: Session, customer_id: int) -> list[Doc]:
    """The customer's registered app installs (the push token's end only)."""
    rows = session.scalars(
        select(AppDeviceRow).where(AppDeviceRow.customer_id == customer_id).order_by(AppDeviceRow.id)
    )
    return [
        {
            "platform": d.platform,
            "app": d.app,
            "token_ends_with": d.token[-6:],
            "registered_at": _time(d.created_at),
            "last_seen_at": _time(d.last_seen_at),
        }
        for d in rows
    ]


def customer_receipts(session: Session, customer_id: int, *, page: int = 200) -> Iterator[Doc]:
    """Every receipt of the customer's sales, oldest first, each with its deliveries, attempts and events."""
    after: tuple[datetime, str] | None = None
    while True:
        query = _receipts_query(after, page).where(SaleRow.customer_id == customer_id)
        rows = session.execute(query).all()
        if not rows:
            return
        yield from _receipt_docs(session, rows)
        after = (rows[-1][0].created_at, rows[-1][0].id)


def receipts_page(
    session: Session, *, since: datetime, until: datetime, after: tuple[datetime, str] | None, limit: int
) -> list[Doc]:
    """The next `limit` receipts created in [since, until) after `after` (keyset: created_at, id), as documents."""
    query = _receipts_query(after, limit).where(ReceiptRow.created_at >= since, ReceiptRow.created_at < until)
    return _receipt_docs(session, session.execute(query).all())


def consent_docs(
    session: Session,
    *,
    customer_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[Doc]:
    """Ledger rows (of one customer, or recorded in [since, until)) in the order recorded (by id); a page of
    `limit` rows after `after_id` when given."""
    query = select(ConsentRow).order_by(ConsentRow.id)
    if after_id is not None:
        query = query.where(ConsentRow.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    if customer_id is not None:
        query = query.where(ConsentRow.customer_id == customer_id)
    if since is not None:
        query = query.where(ConsentRow.recorded_at >= since)
    if until is not None:
        query = query.where(ConsentRow.recorded_at < until)
    return [
        {
            "id": c.id,
            "customer_id": c.customer_id,
            "channel": c.channel,
            "purpose": c.purpose,
            "granted": bool(c.granted),
            "contact": c.contact,
            "text_shown": c.text_shown,
            "text_version": c.text_version,
            "language": c.language,
            "source": c.source,
            "lane": c.lane,
            "staff": c.staff,
            "recorded_at": _time(c.recorded_at),
        }
        for c in session.scalars(query)
    ]


def audit_bounds(session: Session, *, since: datetime, until: datetime) -> tuple[int, int] | None:
    """The first and last sequence numbers of the audit entries in [since, until), or None when there are none.

    The segment runs by sequence between them, not by time alone: it is one unbroken run of the chain,
    so it verifies on its own from its first entry's `prev_hash`.
    """
    found = session.execute(
        select(func.min(AuditRow.seq), func.max(AuditRow.seq)).where(AuditRow.at >= since, AuditRow.at < until)
    ).one()
    return None if found[0] is None else (int(found[0]), int(found[1]))


def audit_page(session: Session, *, after: int, last: int, limit: int) -> list[Doc]:
    """Audit entries after seq `after` up to `last`, in chain order, at most `limit`."""
    rows = session.scalars(
        select(AuditRow).where(AuditRow.seq > after, AuditRow.seq <= last).order_by(AuditRow.seq).limit(limit)
    )
    return [
        {
            "seq": row.seq,
            "at": row.at.isoformat(timespec="microseconds"),  # as app.domain.audit.entry_hash spells it
            "actor": row.actor,
            "action": row.action,
            "subject": row.subject,
            "detail": row.detail,
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }
        for row in rows
    ]


def _receipts_query(after: tuple[datetime, str] | None, limit: int) -> Any:
    query = (
        select(ReceiptRow, SaleRow)
        .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .order_by(ReceiptRow.created_at, ReceiptRow.id)
        .limit(limit)
    )
    if after is not None:
        at, receipt_id = after
        query = query.where(
            or_(ReceiptRow.created_at > at, and_(ReceiptRow.created_at == at, ReceiptRow.id > receipt_id))
        )
    return query


def _receipt_docs(session: Session, rows: Sequence[Any]) -> list[Doc]:
    ids = [receipt.id for receipt, _ in rows]
    deliveries = _delivery_docs(session, ids)
    return [
        {
            "receipt_id": receipt.id,
            "supersedes": receipt.supersedes_id,
            "created_at": _time(receipt.created_at),
            "sale": {
                "store_id": sale.store_id,
                "sale_id": sale.sale_id,
                "order_id": sale.order_id,
                "lane": sale.lane,
                "occurred_at": _time(sale.occurred_at),
                "currency": sale.currency,
                "total": f"{sale.total:.2f}",
            },
            "language": receipt.language,
            "subject": receipt.subject,
            "text": receipt.text,
            "html": receipt.html,
            "sms_body": receipt.sms_body,
            "content_hash": receipt.content_hash,
            "template_version": receipt.template_version,
            "deliveries": deliveries.get(receipt.id, []),
        }
        for receipt, sale in rows
    ]


def _delivery_docs(session: Session, receipt_ids: Sequence[str]) -> dict[str, list[Doc]]:
    if not receipt_ids:
        return {}
    rows = session.scalars(
        select(DeliveryRow)
        .where(DeliveryRow.receipt_id.in_(receipt_ids))
        .order_by(DeliveryRow.created_at, DeliveryRow.id)
    ).all()
    ids = [d.id for d in rows]
    attempts: dict[str, list[Doc]] = {}
    events: dict[str, list[Doc]] = {}
    if ids:
        for a in session.scalars(
            select(AttemptRow)
            .where(AttemptRow.delivery_id.in_(ids))
            .order_by(AttemptRow.delivery_id, AttemptRow.number)
        ):
            attempts.setdefault(a.delivery_id, []).append(
                {
                    "number": a.number,
                    "provider": a.provider,
                    "started_at": _time(a.started_at),
                    "finished_at": _time(a.finished_at),
                    "outcome": a.outcome,
                    "status_code": a.status_code,
                    "provider_message_id": a.provider_message_id,
                    "raw_status": a.raw_status,
                    "error": a.error,
                    "settled_by": a.settled_by,
                    "possible_duplicate": bool(a.possible_duplicate),
                }
            )
        for e in session.scalars(
            select(DeliveryEventRow)
            .where(DeliveryEventRow.delivery_id.in_(ids))
            .order_by(DeliveryEventRow.occurred_at, DeliveryEventRow.id)
        ):
            events.setdefault(e.delivery_id or "", []).append(
                {
                    "provider": e.provider,
                    "kind": e.kind,
                    "raw_status": e.raw_status,
                    "occurred_at": _time(e.occurred_at),
                    "detail": e.detail,
                }
            )
    found: dict[str, list[Doc]] = {}
    for d in rows:
        found.setdefault(d.receipt_id or "", []).append(
            {
                "delivery_id": d.id,
                "channel": d.channel,
                "provider": d.provider,
                "recipient": d.recipient,
                "state": d.state,
                "attempts": attempts.get(d.id, []),
                "events": events.get(d.id, []),
                "last_error": d.last_error,
                "reason": d.reason,
                "created_at": _time(d.created_at),
                "updated_at": _time(d.updated_at),
            }
        )
    return found


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
