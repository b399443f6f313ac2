"""Erasing a customer, and finding those past retention (Core statements; the caller's unit of work commits).

What erasure does, table by table (`erase_customer` returns the count of each):
- `contacts`, `channel_preferences`, `app_devices`: the customer's rows are deleted.
- `customers`: the row stays (sales point to it) without name or loyalty id, `forgotten_at` set.
- `consents`: the ledger's rows stay (what was agreed, when, where) with `contact` emptied and any
  contact or name in the text shown scrubbed.
- `opt_outs` are kept: they hold only a SHA-256 of the contact, so a STOP outlives the erasure and
  the number or address is still not texted or mailed if it comes back.
- `whatsapp_windows`, `inbound_messages` (texts they sent), `unsubscribe_links` (their addresses) and
  the `text_in_codes` of their receipts are deleted.
- `sales`: the payload's customer block loses name, email, phone and loyalty id; money, lines and
  tenders stay (the financial record). `payload_hash` stays: the POS sending the same sale again is
  still recognised as the same sale.
- `receipts`: subject, HTML, text, SMS body and template data are scrubbed of every form of the
  name and contacts (`app.domain.erasure`); `content_hash` still names what was sent.
- `deliveries` (of their receipts, or to their contacts): `recipient` becomes the masked form
  (`mask_contact`); a delivery not yet sent is stopped (`dead`, reason "customer forgotten"), as its
  recipient is gone. The only index over `recipient` is `ix_deliveries_recipient_created` (text
  limits per number); masked rows no longer count for that number, which is right: it is forgotten.
  `context`, `last_error` and `reason` are scrubbed.
- `delivery_attempts.error` is scrubbed (providers quote the recipient in errors);
  `delivery_events.raw` is blanked (payloads quote the address) and `detail` scrubbed.
- `order_updates` and `captures` of their receipts: text scrubbed; so are the reasons of (released)
  legal holds that were on them.
The audit log is not touched (it is hash-chained, and its entries carry contacts only masked).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.domain.contacts import mask_contact
from app.domain.delivery import ACTIVE, DeliveryState
from app.domain.erasure import Needles, sale_customer, scrub_json, scrub_sale
from app.storage.models import (
    AppDeviceRow,
    AttemptRow,
    CaptureRow,
    ChannelPreferenceRow,
    ConsentRow,
    ContactRow,
    CustomerRow,
    DeliveryEventRow,
    DeliveryRow,
    InboundMessageRow,
    LegalHoldRow,
    OrderUpdateRow,
    ReceiptRow,
    SaleRow,
    TextInCodeRow,
    UnsubscribeLinkRow,
    WhatsAppWindowRow,
)

FORGOTTEN_REASON = "customer forgotten"
_STOPPED = {*ACTIVE, DeliveryState.HELD}
_CHUNK = 500


def erase_customer(session: Session, customer_id: int, *, now: datetime) -> dict[str, int]:
    """Erase the customer's personal data (see the module's docstring); returns the rows touched per table.

    Legal holds are the caller's to check (`legal_holds.covering_customer`). Erasing twice is harmless.
    """
    connection = session.connection()
    customer = connection.execute(
        select(CustomerRow.name, CustomerRow.loyalty_id).where(CustomerRow.id == customer_id)
    ).first()
    if customer is None:
        return {}
    contacts = connection.execute(
        select(ContactRow.kind, ContactRow.value).where(ContactRow.customer_id == customer_id)
    ).all()
    emails = {c.value for c in contacts if c.kind == "email"}
    phones = {c.value for c in contacts if c.kind == "phone"}
    names: set[str] = {n for n in (customer.name, customer.loyalty_id) if n}
    consented = connection.execute(
        select(ConsentRow.contact).where(ConsentRow.customer_id == customer_id, ConsentRow.contact.is_not(None))
    ).scalars()
    for contact in consented:
        if contact:
            (emails if "@" in contact else phones).add(contact)

    sale_pks = list(connection.execute(select(SaleRow.id).where(SaleRow.customer_id == customer_id)).scalars())
    for chunk in _chunks(sale_pks):  # what the POS called them (a phone as typed, a name as keyed)
        for payload in connection.execute(select(SaleRow.payload).where(SaleRow.id.in_(chunk))).scalars():
            found = sale_customer(payload)
            names.update(v for k, v in found.items() if k in ("name", "loyalty_id", "member_id"))
            emails.update(v for k, v in found.items() if k == "email")
            phones.update(v for k, v in found.items() if k == "phone")
    needles = Needles.of(names=names, emails=emails, phones=phones)
    contact_values = sorted(emails | phones | {e.lower() for e in emails})

    receipt_ids: list[str] = []
    for chunk in _chunks(sale_pks):
        receipt_ids += connection.execute(select(ReceiptRow.id).where(ReceiptRow.sale_pk.in_(chunk))).scalars()
    to_them: ColumnElement[bool] = DeliveryRow.recipient.in_(contact_values) if contact_values else _false()
    delivery_ids = set(connection.execute(select(DeliveryRow.id).where(to_them)).scalars())
    for chunk in _chunks(receipt_ids):
        delivery_ids.update(
            connection.execute(select(DeliveryRow.id).where(DeliveryRow.receipt_id.in_(chunk))).scalars()
        )

    counts: dict[str, int] = {}

    def count(table: str, n: int) -> None:
        if n:
            counts[table] = counts.get(table, 0) + n

    count("contacts", connection.execute(delete(ContactRow).where(ContactRow.customer_id == customer_id)).rowcount)
    count(
        "channel_preferences",
        connection.execute(
            delete(ChannelPreferenceRow).where(ChannelPreferenceRow.customer_id == customer_id)
        ).rowcount,
    )
    count(
        "app_devices", connection.execute(delete(AppDeviceRow).where(AppDeviceRow.customer_id == customer_id)).rowcount
    )
    if phones:
        phone_forms = sorted(phones)
        count(
            "whatsapp_windows",
            connection.execute(delete(WhatsAppWindowRow).where(WhatsAppWindowRow.phone.in_(phone_forms))).rowcount,
        )
    if contact_values:
        count(
            "inbound_messages",
            connection.execute(delete(InboundMessageRow).where(InboundMessageRow.sender.in_(contact_values))).rowcount,
        )
        lowered = sorted({v.lower() for v in contact_values})
        count(
            "unsubscribe_links",
            connection.execute(
                delete(UnsubscribeLinkRow).where(func.lower(UnsubscribeLinkRow.address).in_(lowered))
            ).rowcount,
        )
    for chunk in _chunks(receipt_ids):
        count(
            "text_in_codes",
            connection.execute(delete(TextInCodeRow).where(TextInCodeRow.receipt_id.in_(chunk))).rowcount,
        )

    for grant in connection.execute(
        select(ConsentRow.id, ConsentRow.text_shown, ConsentRow.contact).where(ConsentRow.customer_id == customer_id)
    ).all():
        text = needles.scrub(grant.text_shown)
        if grant.contact is not None or text != grant.text_shown:
            connection.execute(
                update(ConsentRow).where(ConsentRow.id == grant.id).values(contact=None, text_shown=text)
            )
            count("consents", 1)

    for hold in connection.execute(
        select(LegalHoldRow.id, LegalHoldRow.reason).where(LegalHoldRow.customer_id == customer_id)
    ).all():  # released holds (an active one refuses the erasure) keep their reason without the name
        reason = needles.scrub(hold.reason)
        if reason != hold.reason:
            connection.execute(update(LegalHoldRow).where(LegalHoldRow.id == hold.id).values(reason=reason))
            count("legal_holds", 1)

    connection.execute(
        update(CustomerRow)
        .where(CustomerRow.id == customer_id)
        .values(name=None, loyalty_id=None, forgotten_at=now, updated_at=now)
    )
    count("customers", 1)

    for chunk in _chunks(sale_pks):
        for sale in connection.execute(select(SaleRow.id, SaleRow.payload).where(SaleRow.id.in_(chunk))).all():
            scrubbed = scrub_sale(sale.payload, needles)
            if scrubbed != sale.payload:
                connection.execute(update(SaleRow).where(SaleRow.id == sale.id).values(payload=scrubbed))
                count("sales", 1)

    for chunk in _chunks(receipt_ids):
        rows = connection.execute(
            select(
                ReceiptRow.id,
                ReceiptRow.subject,
                ReceiptRow.html,
                ReceiptRow.text,
                ReceiptRow.sms_body,
                ReceiptRow.template_data,
            ).where(ReceiptRow.id.in_(chunk))
        ).all()
        for r in rows:
            texts: dict[str, str | None] = {
                "subject": needles.scrub(r.subject),
                "html": needles.scrub(r.html),
                "text": needles.scrub(r.text),
                "sms_body": needles.scrub(r.sms_body),
                "template_data": None if r.template_data is None else scrub_json(r.template_data, needles),
            }
            if texts != {k: getattr(r, k) for k in texts}:
                connection.execute(update(ReceiptRow).where(ReceiptRow.id == r.id).values(**texts))
                count("receipts", 1)
        count("order_updates", _scrub_rows(session, OrderUpdateRow, chunk, needles, ("subject", "text", "detail")))
        count("captures", _scrub_rows(session, CaptureRow, chunk, needles, ("text", "reason")))

    for chunk in _chunks(sorted(delivery_ids)):
        for d in connection.execute(
            select(
                DeliveryRow.id,
                DeliveryRow.recipient,
                DeliveryRow.state,
                DeliveryRow.context,
                DeliveryRow.last_error,
                DeliveryRow.reason,
            ).where(DeliveryRow.id.in_(chunk))
        ).all():
            values: dict[str, Any] = {
                "recipient": mask_contact(d.recipient) if needles.found_in(d.recipient) else d.recipient,
                "context": None if d.context is None else scrub_json(d.context, needles),
                "last_error": needles.scrub_optional(d.last_error),
                "reason": needles.scrub_optional(d.reason),
            }
            if d.state in _STOPPED:
                values.update(state=DeliveryState.DEAD.value, reason=FORGOTTEN_REASON, lease_owner=None, updated_at=now)
            if any(values[k] != getattr(d, k) for k in ("recipient", "context", "last_error", "reason")) or (
                "state" in values
            ):
                connection.execute(update(DeliveryRow).where(DeliveryRow.id == d.id).values(**values))
                count("deliveries", 1)
        for a in connection.execute(
            select(AttemptRow.id, AttemptRow.error).where(
                AttemptRow.delivery_id.in_(chunk), AttemptRow.error.is_not(None)
            )
        ).all():
            error = needles.scrub(a.error)
            if error != a.error:
                connection.execute(update(AttemptRow).where(AttemptRow.id == a.id).values(error=error))
                count("delivery_attempts", 1)
        for e in connection.execute(
            select(DeliveryEventRow.id, DeliveryEventRow.raw, DeliveryEventRow.detail).where(
                DeliveryEventRow.delivery_id.in_(chunk)
            )
        ).all():
            if e.raw or needles.found_in(e.detail):
                connection.execute(
                    update(DeliveryEventRow)
                    .where(DeliveryEventRow.id == e.id)
                    .values(raw="", detail=needles.scrub_optional(e.detail))
                )
                count("delivery_events", 1)
    return counts


def customers_past_retention(session: Session, *, revoked_before: datetime, idle_before: datetime) -> list[int]:
    """Customers not yet forgotten whose every consent was revoked before `revoked_before` (for each channel and
    purpose they ever agreed to, the newest ledger row is a revocation, and the newest of all is older than
    `revoked_before`), or whose last sale is before `idle_before` (a customer with no sale: created before it).

    A customer under an active legal hold is never listed.
    """
    connection = session.connection()
    held = select(LegalHoldRow.customer_id).where(
        LegalHoldRow.customer_id.is_not(None), LegalHoldRow.released_at.is_(None)
    )
    candidates = select(CustomerRow.id).where(CustomerRow.forgotten_at.is_(None), CustomerRow.id.not_in(held))

    last_sale = (
        select(SaleRow.customer_id, func.max(SaleRow.occurred_at).label("last_at"))
        .where(SaleRow.customer_id.is_not(None))
        .group_by(SaleRow.customer_id)
        .subquery()
    )
    idle = connection.execute(
        select(CustomerRow.id)
        .outerjoin(last_sale, last_sale.c.customer_id == CustomerRow.id)
        .where(
            CustomerRow.id.in_(candidates),
            or_(
                last_sale.c.last_at < idle_before,
                and_(last_sale.c.last_at.is_(None), CustomerRow.created_at < idle_before),
            ),
        )
    ).scalars()
    found = set(idle)

    newest = (
        select(ConsentRow.customer_id, ConsentRow.channel, ConsentRow.purpose, func.max(ConsentRow.id).label("last_id"))
        .where(ConsentRow.customer_id.in_(candidates))
        .group_by(ConsentRow.customer_id, ConsentRow.channel, ConsentRow.purpose)
        .subquery()
    )
    rows = connection.execute(
        select(ConsentRow.customer_id, ConsentRow.granted, ConsentRow.recorded_at).join(
            newest, ConsentRow.id == newest.c.last_id
        )
    ).all()
    revoked: dict[int, datetime] = {}
    granted: set[int] = set()
    for row in rows:
        if row.granted:
            granted.add(row.customer_id)
        else:
            at = revoked.get(row.customer_id)
            revoked[row.customer_id] = row.recorded_at if at is None else max(at, row.recorded_at)
    found.update(c for c, at in revoked.items() if c not in granted and at < revoked_before)
    return sorted(found)


def _scrub_rows(
    session: Session,
    table: type[OrderUpdateRow] | type[CaptureRow],
    receipt_ids: Sequence[str],
    needles: Needles,
    columns: tuple[str, ...],
) -> int:
    """Scrub `columns` of the rows of `table` belonging to these receipts; returns how many changed."""
    connection = session.connection()
    changed = 0
    selected = [table.id] + [getattr(table, c) for c in columns]
    for row in connection.execute(select(*selected).where(table.receipt_id.in_(receipt_ids))).all():
        values = {c: needles.scrub_optional(getattr(row, c)) for c in columns}
        if any(values[c] != getattr(row, c) for c in columns):
            connection.execute(update(table).where(table.id == row.id).values(**values))
            changed += 1
    return changed


def _chunks(items: Sequence[Any] | Iterable[Any]) -> list[list[Any]]:
    listed = list(items)
    return [listed[i : i + _CHUNK] for i in range(0, len(listed), _CHUNK)]


def _false() -> ColumnElement[bool]:
    return DeliveryRow.id.is_(None)  # a primary key is never null
