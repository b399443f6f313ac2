"""Customers, their contacts, channel preferences and consents (Core statements: checkout runs these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from app.domain.channels import Channel, Language
from app.storage.models import ChannelPreferenceRow, ContactRow, CustomerRow


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
    loyalty_id: str | None = None


# Statements are built once with bound parameters: building them per call costs more than running them.
_BY_LOYALTY = select(CustomerRow.id).where(CustomerRow.loyalty_id == bindparam("loyalty_id"))
_CONTACT_OWNER = select(ContactRow.customer_id).where(
    ContactRow.kind == bindparam("kind"), ContactRow.value == bindparam("value")
)
_CUSTOMER = select(CustomerRow.name, CustomerRow.language, CustomerRow.loyalty_id).where(
    CustomerRow.id == bindparam("customer_id")
)
_CONTACTS = (
    select(ContactRow.kind, ContactRow.value)
    .where(ContactRow.customer_id == bindparam("customer_id"))
    .order_by(ContactRow.created_at, ContactRow.id)
)
_PREFERENCES = select(ChannelPreferenceRow.channel, ChannelPreferenceRow.auto_send).where(
    ChannelPreferenceRow.customer_id == bindparam("customer_id")
)
_INSERT_CUSTOMER = insert(CustomerRow).returning(CustomerRow.id)


def find(session: Session, *, loyalty_id: str | None, email: str | None, phone: str | None) -> int | None:
    """The id of the customer matching the loyalty id, else the email, else the phone (already normalised)."""
    connection = session.connection()
    if loyalty_id:
        found = connection.execute(_BY_LOYALTY, {"loyalty_id": loyalty_id}).scalar()
        if found is not None:
            return int(found)
    for kind, value in (("email", email), ("phone", phone)):
        if value:
            owner = connection.execute(_CONTACT_OWNER, {"kind": kind, "value": value}).scalar()
            if owner is not None:
                return int(owner)
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
) -> int:
    """Find the customer or create them; add any new contact; keep the newest name and language. Returns the id."""
    connection = session.connection()
    customer_id = find(session, loyalty_id=loyalty_id, email=email, phone=phone)
    if customer_id is None:
        values = {"name": name, "loyalty_id": loyalty_id, "language": language, "created_at": now, "updated_at": now}
        customer_id = int(connection.execute(_INSERT_CUSTOMER, values).scalar_one())
    else:
        changes: dict[str, object] = {"updated_at": now}
        if name:
            changes["name"] = name
        if language:
            changes["language"] = language.value
        connection.execute(update(CustomerRow).where(CustomerRow.id == customer_id).values(**changes))
        if loyalty_id:
            connection.execute(
                update(CustomerRow)
                .where(CustomerRow.id == customer_id, CustomerRow.loyalty_id.is_(None))
                .values(loyalty_id=loyalty_id)
            )
    for kind, value in (("email", email), ("phone", phone)):
        if not value:
            continue
        owner = connection.execute(_CONTACT_OWNER, {"kind": kind, "value": value}).scalar()
        if owner is None:
            connection.execute(
                insert(ContactRow), {"customer_id": customer_id, "kind": kind, "value": value, "created_at": now}
            )
        elif owner != customer_id:  # the contact now belongs to this customer
            connection.execute(
                update(ContactRow)
                .where(ContactRow.kind == kind, ContactRow.value == value)
                .values(customer_id=customer_id, created_at=now)
            )
    return customer_id


def load(session: Session, customer_id: int) -> KnownCustomer:
    connection = session.connection()
    key = {"customer_id": customer_id}
    customer = connection.execute(_CUSTOMER, key).one()
    newest = {row.kind: row.value for row in connection.execute(_CONTACTS, key)}  # later rows win
    prefs = connection.execute(_PREFERENCES, key).all()
    return KnownCustomer(
        id=customer_id,
        name=customer.name,
        language=Language(customer.language) if customer.language else None,
        email=newest.get("email"),
        phone=newest.get("phone"),
        preferred=tuple(Channel(p.channel) for p in prefs),
        auto_send=any(p.auto_send for p in prefs),
        loyalty_id=customer.loyalty_id,
    )


def exists(session: Session, customer_id: int) -> bool:
    """Whether a customer with this id is recorded."""
    found = session.connection().execute(select(CustomerRow.id).where(CustomerRow.id == customer_id)).first()
    return found is not None


def attach_contact(session: Session, customer_id: int, kind: str, value: str, *, now: datetime) -> None:
    """Give the customer this contact as their newest (taking it from another customer when it was theirs)."""
    connection = session.connection()
    owner = connection.execute(_CONTACT_OWNER, {"kind": kind, "value": value}).scalar()
    if owner is None:
        connection.execute(
            insert(ContactRow), {"customer_id": customer_id, "kind": kind, "value": value, "created_at": now}
        )
    else:
        connection.execute(
            update(ContactRow)
            .where(ContactRow.kind == kind, ContactRow.value == value)
            .values(customer_id=customer_id, created_at=now)
        )


def set_language(session: Session, customer_id: int, language: Language) -> None:
    """Remember the language the customer's receipts are written in."""
    session.connection().execute(
        update(CustomerRow).where(CustomerRow.id == customer_id).values(language=language.value)
    )


def set_preferences(
    session: Session, customer_id: int, channels: tuple[Channel, ...], *, auto_send: bool, now: datetime
) -> None:
    """Replace the customer's preferred channels.

    The channels kept are updated and the new ones added before those dropped are deleted, so the
    customer is never without preferences in between: the hub, which reads a lane's changes one row at
    a time, never sees a moment with none, and stamps the change with the time it was made (`now`).
    """
    connection = session.connection()
    wanted = [c.value for c in dict.fromkeys(channels)]
    mine = ChannelPreferenceRow.customer_id == customer_id
    have = set(connection.execute(select(ChannelPreferenceRow.channel).where(mine)).scalars())
    for channel in wanted:
        values = {"auto_send": auto_send, "updated_at": now}
        if channel in have:
            connection.execute(
                update(ChannelPreferenceRow).where(mine, ChannelPreferenceRow.channel == channel).values(**values)
            )
        else:
            connection.execute(insert(ChannelPreferenceRow), {"customer_id": customer_id, "channel": channel, **values})
    if have - set(wanted):
        connection.execute(delete(ChannelPreferenceRow).where(mine, ChannelPreferenceRow.channel.not_in(wanted)))
