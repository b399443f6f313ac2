"""What the till shows of a sale: its receipt in every form, its customer and its deliveries.

Contacts leave here masked (`j***@gmail.com`, `(***) ***-0101`); a printer's name is shown as is.
The loaders run inside a unit of work and read through the repositories of `app.storage`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.domain.channels import Channel, Language
from app.domain.contacts import mask_contact, mask_email, mask_phone
from app.domain.delivery import DeliveryState
from app.domain.records import DeliveryRecord
from app.storage import customers, outbox, receipts
from app.storage.database import UnitOfWork


@dataclass(frozen=True, slots=True)
class CustomerView:
    """A known customer as the till may show them: contacts masked."""

    id: int
    name: str | None
    loyalty_id: str | None
    language: Language | None
    masked_email: str | None
    masked_phone: str | None
    preferred: tuple[Channel, ...]
    auto_send: bool


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One delivery of a receipt, recipient masked."""

    id: str
    channel: Channel
    masked_recipient: str
    state: DeliveryState
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ReceiptPreview:
    """Exactly what the customer would get, in every form."""

    language: str
    subject: str
    html: str
    text: str
    sms_body: str
    sms_segments: int
    sms_encoding: str


@dataclass(frozen=True, slots=True)
class KioskSale:
    """A sale at the till: its receipt, customer (when identified) and deliveries so far."""

    receipt_id: str
    sale_id: str
    lane: str
    total: Decimal
    occurred_at: datetime
    created_at: datetime
    card_last4: str | None
    customer: CustomerView | None
    preview: ReceiptPreview
    deliveries: tuple[DeliveryView, ...]


def customer_view(known: customers.KnownCustomer) -> CustomerView:
    """The customer with their contacts masked."""
    return CustomerView(
        id=known.id,
        name=known.name,
        loyalty_id=known.loyalty_id,
        language=known.language,
        masked_email=mask_email(known.email) if known.email else None,
        masked_phone=mask_phone(known.phone) if known.phone else None,
        preferred=known.preferred,
        auto_send=known.auto_send,
    )


def delivery_view(record: DeliveryRecord) -> DeliveryView:
    """A stored delivery with its recipient masked."""
    return DeliveryView(
        record.id,
        record.channel,
        mask_contact(record.recipient),
        record.state,
        record.attempts,
        record.last_error,
    )


def queued_view(new: outbox.NewDelivery) -> DeliveryView:
    """A delivery just queued: no attempt yet."""
    return DeliveryView(new.id, new.channel, mask_contact(new.recipient), new.state, 0, None)


def load_customer(session: UnitOfWork, customer_id: int) -> CustomerView:
    """The customer `customer_id` as the till shows them."""
    return customer_view(customers.load(session, customer_id))


def load_sales(session: UnitOfWork, receipt_ids: Sequence[str]) -> list[KioskSale]:
    """The sales of these receipts, newest receipt first; unknown ids are left out."""
    seen: dict[int, CustomerView] = {}
    sales: list[KioskSale] = []
    for found in receipts.sale_receipts(session, receipt_ids):
        customer = None
        if found.customer_id is not None:
            if found.customer_id not in seen:
                seen[found.customer_id] = load_customer(session, found.customer_id)
            customer = seen[found.customer_id]
        preview = ReceiptPreview(
            found.language,
            found.subject,
            found.html,
            found.text,
            found.sms_body,
            found.sms_segments,
            found.sms_encoding,
        )
        sales.append(
            KioskSale(
                found.receipt_id,
                found.sale_id,
                found.lane,
                found.total,
                found.occurred_at,
                found.created_at,
                found.card_last4,
                customer,
                preview,
                tuple(delivery_view(d) for d in found.deliveries),
            )
        )
    sales.sort(key=lambda s: s.created_at, reverse=True)
    return sales
