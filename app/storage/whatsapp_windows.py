"""When each number last wrote to the store on WhatsApp (`whatsapp_windows`): its 24-hour window opens then."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.storage.models import WhatsAppWindowRow


def last_inbound(session: Session, phone: str) -> datetime | None:
    """When `phone` (E.164) last wrote to the store, or None when it never did (that we heard)."""
    return session.execute(select(WhatsAppWindowRow.last_inbound_at).where(WhatsAppWindowRow.phone == phone)).scalar()


def record_inbound(session: Session, phone: str, at: datetime) -> bool:
    """Remember that `phone` wrote at `at`; an older message (a late or repeated webhook) moves nothing back.

    Returns whether the row changed.
    """
    known = last_inbound(session, phone)
    if known is None:
        session.add(WhatsAppWindowRow(phone=phone, last_inbound_at=at))
        session.flush()
        return True
    if at <= known:
        return False
    session.execute(update(WhatsAppWindowRow).where(WhatsAppWindowRow.phone == phone).values(last_inbound_at=at))
    return True
