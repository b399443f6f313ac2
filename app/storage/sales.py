"""Sales, inbound event ids and rendered receipts."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.receipt import RenderedReceipt
from app.domain.sale import Sale, TenderType
from app.storage.models import InboundEventRow, ReceiptRow, SaleRow


def canonical_json(sale: Sale) -> str:
    return sale.model_dump_json(exclude_none=True)


def payload_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def seen_event(session: Session, source: str, event_id: str) -> InboundEventRow | None:
    return session.get(InboundEventRow, (source, event_id))


def record_event(session: Session, *, source: str, event_id: str, receipt_id: str | None, now: datetime) -> None:
    session.add(InboundEventRow(source=source, event_id=event_id, receipt_id=receipt_id, received_at=now))


def find_sale(session: Session, store_id: str, sale_id: str) -> SaleRow | None:
    return session.scalars(select(SaleRow).where(SaleRow.store_id == store_id, SaleRow.sale_id == sale_id)).first()


def add_sale(session: Session, sale: Sale, *, payload: str, source: str, customer_id: int | None, now: datetime) -> SaleRow:
    last4s = sorted({t.last4 for t in sale.tenders if t.last4 and t.type is not TenderType.CASH})
    row = SaleRow(
        store_id=sale.store_id,
        sale_id=sale.sale_id,
        order_id=sale.order_id,
        lane=sale.lane,
        cashier=sale.cashier,
        occurred_at=sale.occurred_at,
        currency=sale.currency,
        total=sale.total,
        card_last4=",".join(last4s) or None,
        payload=payload,
        payload_hash=payload_hash(payload),
        customer_id=customer_id,
        source=source,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def add_receipt(session: Session, sale_pk: int, rendered: RenderedReceipt, *, now: datetime) -> ReceiptRow:
    row = ReceiptRow(
        id=str(uuid.uuid4()),
        sale_pk=sale_pk,
        language=rendered.language.value,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        sms_body=rendered.sms.body,
        sms_encoding=rendered.sms.encoding,
        sms_segments=rendered.sms.segments,
        content_hash=rendered.content_hash,
        template_version=rendered.template_version,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def latest_receipt_for_sale(session: Session, sale_pk: int) -> ReceiptRow | None:
    query = select(ReceiptRow).where(ReceiptRow.sale_pk == sale_pk).order_by(ReceiptRow.created_at.desc()).limit(1)
    return session.scalars(query).first()
