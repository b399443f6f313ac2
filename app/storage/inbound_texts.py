"""Customers' texts to the store and the text-in codes (Core statements; the caller's unit of work commits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.storage.models import InboundMessageRow, ReceiptRow, SaleRow, TextInCodeRow


@dataclass(frozen=True, slots=True)
class InboundText:
    """A text kept for the manager (or taken as a keyword)."""

    id: int
    sender: str
    body: str
    keyword: str | None
    received_at: datetime
    handled_at: datetime | None
    handled_by: str | None


@dataclass(frozen=True, slots=True)
class TextInCode:
    """A code shown on the customer screen, and the sale its receipt belongs to."""

    code: str
    receipt_id: str
    lane: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    sale_pk: int
    customer_id: int | None
    language: str  # the customer screen's when the code was shown, else the receipt's


def seen(session: Session, provider: str, message_sid: str) -> bool:
    """Whether this provider's message was already taken in (a retried webhook)."""
    found = session.connection().execute(
        select(InboundMessageRow.id).where(
            InboundMessageRow.provider == provider, InboundMessageRow.message_sid == message_sid
        )
    )
    return found.first() is not None


def add(
    session: Session,
    *,
    provider: str,
    message_sid: str,
    sender: str,
    body: str,
    keyword: str | None,
    received_at: datetime,
    handled: bool,
) -> int:
    """Record a text; a keyword (`handled`) is handled on arrival by the system, the rest wait for the manager."""
    result = session.connection().execute(
        insert(InboundMessageRow).returning(InboundMessageRow.id),
        {
            "provider": provider,
            "message_sid": message_sid,
            "sender": sender,
            "body": body,
            "keyword": keyword,
            "received_at": received_at,
            "handled_at": received_at if handled else None,
            "handled_by": "system" if handled else None,
        },
    )
    return int(result.scalar_one())


def for_manager(session: Session, *, include_handled: bool, limit: int = 200) -> list[InboundText]:
    """Texts kept for the manager (no keyword), newest first; handled ones too when asked."""
    query = select(InboundMessageRow).where(InboundMessageRow.keyword.is_(None))
    if not include_handled:
        query = query.where(InboundMessageRow.handled_at.is_(None))
    rows = session.connection().execute(
        query.order_by(InboundMessageRow.received_at.desc(), InboundMessageRow.id.desc()).limit(limit)
    )
    return [InboundText(r.id, r.sender, r.body, r.keyword, r.received_at, r.handled_at, r.handled_by) for r in rows]


def unhandled_count(session: Session) -> int:
    query = select(func.count()).where(InboundMessageRow.keyword.is_(None), InboundMessageRow.handled_at.is_(None))
    return int(session.connection().execute(query).scalar_one())


def sender_of(session: Session, message_id: int) -> str | None:
    found = session.connection().execute(select(InboundMessageRow.sender).where(InboundMessageRow.id == message_id))
    return found.scalar()


def mark_handled(session: Session, message_id: int, *, by: str, now: datetime) -> bool:
    """Mark a text handled; False when there is no such text or it was handled already."""
    result = session.connection().execute(
        update(InboundMessageRow)
        .where(InboundMessageRow.id == message_id, InboundMessageRow.handled_at.is_(None))
        .values(handled_at=now, handled_by=by)
    )
    return bool(result.rowcount)


# -- text-in codes ------------------------------------------------------------------------------


def live_code(session: Session, receipt_id: str, *, now: datetime) -> TextInCode | None:
    """An unused code of this receipt still valid at `now` (the newest), to show again."""
    query = (
        _CODES.where(TextInCodeRow.receipt_id == receipt_id, TextInCodeRow.used_at.is_(None))
        .where(TextInCodeRow.expires_at > now)
        .order_by(TextInCodeRow.expires_at.desc())
        .limit(1)
    )
    row = session.connection().execute(query).first()
    return _code(row) if row is not None else None


def code_exists(session: Session, code: str) -> bool:
    found = session.connection().execute(select(TextInCodeRow.code).where(TextInCodeRow.code == code))
    return found.first() is not None


def add_code(
    session: Session,
    *,
    code: str,
    receipt_id: str,
    lane: str | None,
    language: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    session.connection().execute(
        insert(TextInCodeRow),
        {
            "code": code,
            "receipt_id": receipt_id,
            "lane": lane,
            "language": language,
            "created_at": now,
            "expires_at": expires_at,
        },
    )


def show_code_in(session: Session, code: str, language: str) -> None:
    """The customer screen now shows the code's words in `language` (the customer switched)."""
    session.connection().execute(update(TextInCodeRow).where(TextInCodeRow.code == code).values(language=language))


def find_code(session: Session, code: str) -> TextInCode | None:
    row = session.connection().execute(_CODES.where(TextInCodeRow.code == code)).first()
    return _code(row) if row is not None else None


def use_code(session: Session, code: str, *, now: datetime) -> bool:
    """Mark the code used; False when it was used already (the one use went elsewhere)."""
    result = session.connection().execute(
        update(TextInCodeRow).where(TextInCodeRow.code == code, TextInCodeRow.used_at.is_(None)).values(used_at=now)
    )
    return bool(result.rowcount)


def receipt_lane(session: Session, receipt_id: str) -> tuple[str, str] | None:
    """(lane, language) of a receipt, None when there is no such receipt."""
    row = (
        session.connection()
        .execute(
            select(SaleRow.lane, ReceiptRow.language)
            .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
            .where(ReceiptRow.id == receipt_id)
        )
        .first()
    )
    return (row.lane, row.language) if row is not None else None


_CODES = (
    select(
        TextInCodeRow.code,
        TextInCodeRow.receipt_id,
        TextInCodeRow.lane,
        TextInCodeRow.created_at,
        TextInCodeRow.expires_at,
        TextInCodeRow.used_at,
        ReceiptRow.sale_pk,
        ReceiptRow.language,
        TextInCodeRow.language.label("shown_in"),
        SaleRow.customer_id,
    )
    .select_from(TextInCodeRow)
    .join(ReceiptRow, ReceiptRow.id == TextInCodeRow.receipt_id)
    .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
)


def _code(r: Any) -> TextInCode:  # a Row of _CODES
    return TextInCode(
        code=r.code,
        receipt_id=r.receipt_id,
        lane=r.lane,
        created_at=r.created_at,
        expires_at=r.expires_at,
        used_at=r.used_at,
        sale_pk=r.sale_pk,
        customer_id=r.customer_id,
        language=r.shown_in or r.language,
    )
