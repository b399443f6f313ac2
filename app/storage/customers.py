"""Customers, their contacts, channel preferences and consents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.channels import Channel, Language
from app.storage.models import ChannelPreferenceRow, ConsentRow, ContactRow, CustomerRow


@dataclass(frozen=True, slots=True)
class KnownCustomer:
    """A customer as the checkout sees them."""

    id: int
    name: str | None
    language: Language | None
    email: str | None
    phone: str | None
    preferred: tuple[Channel, ...]
    auto_send: bool


def find(session: Session, *, loyalty_id: str | None, email: str | None, phone: str | None) -> CustomerRow | None:
    """The customer matching the loyalty id, else the email, else the phone (already normalised)."""
    if loyalty_id:
        row = session.scalars(select(CustomerRow).where(CustomerRow.loyalty_id == loyalty_id)).first()
        if row is not None:
            return row
    for kind, value in (("email", email), ("phone", phone)):
        if value:
            contact = session.scalars(select(ContactRow).where(ContactRow.kind == kind, ContactRow.value == value)).first()
            if contact is not None:
                return session.get(CustomerRow, contact.customer_id)
    return None


def upsert(
    session: Session,
    *,
    now: datetime,
    name: str | None,
    loyalty_id: str | None,
    language: Language | None,
    email: str | None,
    phone: str | None,
) -> CustomerRow:
    """Find the customer or create them; add any new contact; keep the newest name and language."""
    row = find(session, loyalty_id=loyalty_id, email=email, phone=phone)
    if row is None:
        row = CustomerRow(name=name, loyalty_id=loyalty_id, language=language, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
    else:
        if name:
            row.name = name
        if language:
            row.language = language.value
        if loyalty_id and not row.loyalty_id:
            row.loyalty_id = loyalty_id
        row.updated_at = now
    for kind, value in (("email", email), ("phone", phone)):
        if value:
            existing = session.scalars(select(ContactRow).where(ContactRow.kind == kind, ContactRow.value == value)).first()
            if existing is None:
                session.add(ContactRow(customer_id=row.id, kind=kind, value=value, created_at=now))
            elif existing.customer_id != row.id:
                existing.customer_id = row.id  # the contact now belongs to this customer
    return row


def latest_contact(session: Session, customer_id: int, kind: str) -> str | None:
    query = (
        select(ContactRow.value)
        .where(ContactRow.customer_id == customer_id, ContactRow.kind == kind)
        .order_by(ContactRow.created_at.desc(), ContactRow.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def load(session: Session, row: CustomerRow) -> KnownCustomer:
    prefs = session.scalars(select(ChannelPreferenceRow).where(ChannelPreferenceRow.customer_id == row.id)).all()
    return KnownCustomer(
        id=row.id,
        name=row.name,
        language=Language(row.language) if row.language else None,
        email=latest_contact(session, row.id, "email"),
        phone=latest_contact(session, row.id, "phone"),
        preferred=tuple(Channel(p.channel) for p in prefs),
        auto_send=any(p.auto_send for p in prefs),
    )


def set_preferences(session: Session, customer_id: int, channels: tuple[Channel, ...], *, auto_send: bool, now: datetime) -> None:
    """Replace the customer's preferred channels."""
    for old in session.scalars(select(ChannelPreferenceRow).where(ChannelPreferenceRow.customer_id == customer_id)):
        session.delete(old)
    session.flush()
    for channel in channels:
        session.add(ChannelPreferenceRow(customer_id=customer_id, channel=channel.value, auto_send=auto_send, updated_at=now))


def record_consent(
    session: Session, *, customer_id: int, channel: Channel, kind: str, granted: bool, text: str, source: str, now: datetime
) -> None:
    session.add(
        ConsentRow(
            customer_id=customer_id, channel=channel.value, kind=kind, granted=granted,
            text_shown=text, source=source, recorded_at=now,
        )
    )
