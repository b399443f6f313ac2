"""Sales, inbound event ids and rendered receipts.

These run on every checkout, so they are plain Core statements on the session's connection (inside
its transaction and savepoint) rather than ORM units of work.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from app.domain.receipt import RenderedReceipt
from app.domain.sale import Sale, TenderType
from app.storage.models import InboundEventRow, ReceiptRow, SaleRow


@dataclass(frozen=True, slots=True)
class StoredSale:
    pk: int
    payload_hash: str


@dataclass(frozen=True, slots=True)
class SaleOfReceipt:
    """The sale a receipt was rendered for: its key and the customer it is recorded for, if any."""

    pk: int
    customer_id: int | None


def canonical_json(sale: Sale) -> str:
    return sale.model_dump_json(exclude_none=True)


def payload_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# Statements are built once with bound parameters: building them per call costs more than running them.
_SEEN_EVENT = select(InboundEventRow.receipt_id).where(
    InboundEventRow.source == bindparam("source"), InboundEventRow.event_id == bindparam("event_id")
)
_FIND_SALE = select(SaleRow.id, SaleRow.payload_hash).where(
    SaleRow.store_id == bindparam("store_id"), SaleRow.sale_id == bindparam("sale_id")
)
_FIND_ORDER = (
    select(SaleRow.id)
    .where(SaleRow.store_id == bindparam("store_id"), SaleRow.order_id == bindparam("order_id"))
    .order_by(SaleRow.id)
    .limit(1)
)
_INSERT_SALE = insert(SaleRow).returning(SaleRow.id)
_ORDER_ID_OF = select(SaleRow.order_id).where(SaleRow.id == bindparam("sale_pk"))
_INSERT_EVENT = insert(InboundEventRow)
_INSERT_RECEIPT = insert(ReceiptRow)
_SALE_OF_RECEIPT = (
    select(SaleRow.id, SaleRow.customer_id)
    .join(ReceiptRow, ReceiptRow.sale_pk == SaleRow.id)
    .where(ReceiptRow.id == bindparam("receipt_id"))
)
_LATEST_RECEIPT = (
    select(ReceiptRow.id)
    .where(ReceiptRow.sale_pk == bindparam("sale_pk"))
    .order_by(ReceiptRow.created_at.desc())
    .limit(1)
)


def seen_event(session: Session, source: str, event_id: str) -> str | None:
    """The receipt id recorded for this event, or None when the event is new."""
    row = session.connection().execute(_SEEN_EVENT, {"source": source, "event_id": event_id}).first()
    return None if row is None else (row.receipt_id or "")


def record_event(session: Session, *, source: str, event_id: str, receipt_id: str | None, now: datetime) -> None:
    session.connection().execute(
        _INSERT_EVENT,
        {"source": source, "event_id": event_id, "receipt_id": receipt_id, "received_at": now},
    )


def find_sale(session: Session, store_id: str, sale_id: str) -> StoredSale | None:
    row = session.connection().execute(_FIND_SALE, {"store_id": store_id, "sale_id": sale_id}).first()
    return None if row is None else StoredSale(row.id, row.payload_hash)


def find_order(session: Session, store_id: str, order_id: str) -> int | None:
    """The first sale recorded for this order id, from any source."""
    found = session.connection().execute(_FIND_ORDER, {"store_id": store_id, "order_id": order_id}).scalar()
    return None if found is None else int(found)


def order_id_of(session: Session, sale_pk: int) -> str | None:
    """The order id a stored sale carries, if any."""
    found = session.connection().execute(_ORDER_ID_OF, {"sale_pk": sale_pk}).scalar()
    return None if found is None else str(found)


def add_sale(
    session: Session,
    sale: Sale,
    *,
    payload: str,
    source: str,
    customer_id: int | None,
    now: datetime,
    digest: str | None = None,
) -> int:
    """Insert the sale (`digest`: `payload_hash(payload)`, when the caller has it already); return its key."""
    last4s = sorted({t.last4 for t in sale.tenders if t.last4 and t.type is not TenderType.CASH})
    values = {
        "store_id": sale.store_id,
        "sale_id": sale.sale_id,
        "order_id": sale.order_id,
        "order_name": sale.order_name,
        "lane": sale.lane,
        "cashier": sale.cashier,
        "occurred_at": sale.occurred_at,
        "currency": sale.currency,
        "total": sale.total,
        "card_last4": ",".join(last4s) or None,
        "payload": payload,
        "payload_hash": digest if digest is not None else payload_hash(payload),
        "customer_id": customer_id,
        "source": source,
        "created_at": now,
    }
    return int(session.connection().execute(_INSERT_SALE, values).scalar_one())


def add_receipt(session: Session, sale_pk: int, rendered: RenderedReceipt, *, now: datetime) -> str:
    """Insert the rendered receipt (its template data with it: every send of it uses that snapshot); return its id."""
    receipt_id = str(uuid.uuid4())
    session.connection().execute(
        _INSERT_RECEIPT,
        {
            "id": receipt_id,
            "sale_pk": sale_pk,
            "language": rendered.language.value,
            "subject": rendered.subject,
            "html": rendered.html,
            "text": rendered.text,
            "sms_body": rendered.sms.body,
            "sms_encoding": rendered.sms.encoding,
            "sms_segments": rendered.sms.segments,
            "content_hash": rendered.content_hash,
            "template_version": rendered.template_version,
            "template_data": rendered.template_data,
            "created_at": now,
        },
    )
    return receipt_id


def latest_receipt_for_sale(session: Session, sale_pk: int) -> str | None:
    return session.connection().execute(_LATEST_RECEIPT, {"sale_pk": sale_pk}).scalar()


def receipt_exists(session: Session, receipt_id: str) -> bool:
    return session.connection().execute(select(ReceiptRow.id).where(ReceiptRow.id == receipt_id)).first() is not None


def sale_of_receipt(session: Session, receipt_id: str) -> SaleOfReceipt | None:
    """The sale of this receipt, or None when there is no such receipt."""
    found = session.connection().execute(_SALE_OF_RECEIPT, {"receipt_id": receipt_id}).first()
    return None if found is None else SaleOfReceipt(found.id, found.customer_id)


def set_customer(session: Session, sale_pk: int, customer_id: int) -> None:
    """Record whose sale this is (a customer identified after the sale was recorded)."""
    session.connection().execute(update(SaleRow).where(SaleRow.id == sale_pk).values(customer_id=customer_id))
