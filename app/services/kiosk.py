"""Kiosk use cases: the sale in front of the till, sending its receipt, finding the customer.

Plain async Python over the storage layer (like `app.services.receipts`): the kiosk windows call
these and nothing else. Contacts leave this module masked (`j***@gmail.com`), except what the
caller typed itself.
"""

from __future__ import annotations

import hmac
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.domain.channels import Channel, Language
from app.domain.clock import Clock, utcnow
from app.domain.contacts import mask_contact, mask_email, mask_phone, normalise_email, normalise_phone
from app.domain.delivery import DeliveryState
from app.domain.errors import ConfigurationError, NotFound, ReceiptDeskError, ValidationFailed
from app.services.bus import DeliveriesQueued, EventBus
from app.services.export import ExportResult, export_receipts_csv
from app.storage import audit, customers, outbox, receipts
from app.storage.database import Database
from app.storage.models import ContactRow, CustomerRow, DeliveryRow, ReceiptRow, SaleRow

SMS_CONSENT_KIND = "transactional_sms"


class ReceiptChoice(StrEnum):
    """What the customer asked for at the till."""

    EMAIL = "email"
    SMS = "sms"
    BOTH = "both"
    PRINT = "print"
    NONE = "none"

    @property
    def channels(self) -> tuple[Channel, ...]:
        """The contact channels this choice queues (print goes to the lane's printer, see `KioskService.send`)."""
        return {
            ReceiptChoice.EMAIL: (Channel.EMAIL,),
            ReceiptChoice.SMS: (Channel.SMS,),
            ReceiptChoice.BOTH: (Channel.EMAIL, Channel.SMS),
        }.get(self, ())

    @classmethod
    def from_channels(cls, channels: Sequence[Channel]) -> ReceiptChoice | None:
        """The choice matching stored preferred channels, or None when they name none we send."""
        wanted = set(channels)
        if {Channel.EMAIL, Channel.SMS} <= wanted:
            return cls.BOTH
        if Channel.EMAIL in wanted:
            return cls.EMAIL
        if Channel.SMS in wanted:
            return cls.SMS
        return None


class AccessDenied(ReceiptDeskError):
    """A wrong manager PIN, or too many of them."""


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


@dataclass(frozen=True, slots=True)
class SendRequest:
    """How to send one receipt from the kiosk.

    `email`/`phone` are what was typed (None: use the contact on file). `consent_text` is the
    SMS consent exactly as shown; an SMS is refused without it. `customer_id` is a customer the
    cashier looked up; `not_me` says the customer identified with the sale is someone else.
    """

    choice: ReceiptChoice
    email: str | None = None
    phone: str | None = None
    consent_text: str | None = None
    remember: bool = False
    customer_id: int | None = None
    not_me: bool = False
    language: Language | None = None
    source: str = "kiosk"


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What a kiosk send did: the deliveries it queued (none for print or no receipt)."""

    receipt_id: str
    choice: ReceiptChoice
    deliveries: tuple[DeliveryView, ...]


class KioskService:
    """The till's use cases over the database; publishes `DeliveriesQueued` for new work."""

    def __init__(self, db: Database, routing: Mapping[Channel, str], bus: EventBus, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._routing = dict(routing)
        self._bus = bus
        self._clock = clock

    async def export_csv(
        self, path: Path, *, since: datetime, until: datetime, progress: Callable[[int, int], None] | None = None
    ) -> ExportResult:
        """Write the receipts of [since, until) to a CSV file (contacts masked), reporting progress."""
        return await export_receipts_csv(self._db, path, since=since, until=until, progress=progress)

    async def sale(self, receipt_id: str) -> KioskSale:
        """The sale of `receipt_id` with preview, customer and deliveries; `NotFound` if unknown."""
        found = await self._db.read(lambda s: _load_sales(s, [receipt_id]))
        if not found:
            raise NotFound(f"There is no receipt {receipt_id}.")
        return found[0]

    async def search(
        self,
        *,
        query: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[KioskSale]:
        """Sales newest first, by time range and a search text (sale id, last four, phone, email)."""

        text = search_text(query)

        def job(session: Session) -> list[KioskSale]:
            found = receipts.list_receipts(session, since=since, until=until, query=text, limit=limit)
            return _load_sales(session, [r.receipt_id for r in found])

        return await self._db.read(job)

    async def find_customer(self, text: str) -> CustomerView | None:
        """The customer with this loyalty id, email address or phone number, or None."""
        text = text.strip()
        if not text:
            raise ValidationFailed("Type a loyalty number, phone number or email address.", field="customer")
        email = _try(normalise_email, text) if "@" in text else None
        phone = None if email else _try(normalise_phone, text)

        def job(session: Session) -> CustomerView | None:
            found = customers.find(session, loyalty_id=text, email=email, phone=phone)
            return _customer_view(session, found) if found is not None else None

        return await self._db.read(job)

    async def customer_by_loyalty(self, loyalty_id: str) -> CustomerView | None:
        """The customer holding this loyalty card (a scan), with their preferred channels; None if unknown."""
        loyalty_id = loyalty_id.strip()
        if not loyalty_id:
            raise ValidationFailed("The loyalty card number is empty. Scan it again.", field="loyalty_id")

        def job(session: Session) -> CustomerView | None:
            found = customers.find(session, loyalty_id=loyalty_id, email=None, phone=None)
            return _customer_view(session, found) if found is not None else None

        return await self._db.read(job)

    async def sale_by_sale_id(self, sale_id: str) -> KioskSale:
        """The newest receipt of the register's sale `sale_id` (a scanned paper receipt); `NotFound` if unknown."""

        def job(session: Session) -> list[KioskSale]:
            newest = session.execute(
                select(ReceiptRow.id)
                .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
                .where(SaleRow.sale_id == sale_id)
                .order_by(ReceiptRow.created_at.desc(), ReceiptRow.id.desc())
                .limit(1)
            ).scalar()
            return _load_sales(session, [newest]) if newest is not None else []

        found = await self._db.read(job)
        if not found:
            raise NotFound(f"No sale {sale_id} is recorded here, so its receipt cannot be sent again.")
        return found[0]

    async def send(self, receipt_id: str, request: SendRequest) -> SendOutcome:
        """Queue the receipt as asked, record SMS consent and preferences, and audit it.

        Raises `ValidationFailed` (a contact missing or malformed, SMS without consent),
        `ConfigurationError` (no provider for a channel) or `NotFound`.
        """
        channels = request.choice.channels
        # "Print" goes to the lane's receipt printer when one is set up; otherwise the POS prints.
        printing = request.choice is ReceiptChoice.PRINT and Channel.PRINT in self._routing
        email = normalise_email(request.email) if request.email else None
        phone = normalise_phone(request.phone) if request.phone else None
        if Channel.SMS in channels and not (request.consent_text or "").strip():
            raise ValidationFailed("The customer has to agree to text messages before an SMS is sent.", field="consent")
        for channel in channels:
            if channel not in self._routing:
                raise ConfigurationError(f"No provider is set up for {channel.value} receipts.")

        def job(session: Session) -> SendOutcome:
            receipt = session.get(ReceiptRow, receipt_id)
            if receipt is None:
                raise NotFound(f"There is no receipt {receipt_id}.")
            sale = session.get(SaleRow, receipt.sale_pk)
            assert sale is not None
            now = self._clock()
            customer_id = _resolve_customer(session, sale, request, email, phone, now)
            on_file = customers.load(session, customer_id) if customer_id is not None else None
            rows: list[outbox.NewDelivery] = []
            if printing:
                printer = self._routing[Channel.PRINT]
                new = outbox.new_delivery(
                    session, receipt_id=receipt_id, channel=Channel.PRINT, provider=printer, recipient=printer, now=now
                )
                rows.append(new)
            for channel in channels:
                typed = email if channel is Channel.EMAIL else phone
                kind = "email" if channel is Channel.EMAIL else "phone"
                recipient = typed or (getattr(on_file, kind) if on_file is not None else None)
                if recipient is None:
                    word = "an email address" if channel is Channel.EMAIL else "a phone number"
                    raise ValidationFailed(f"Type {word} for this receipt; none is on file.", field=kind)
                rows.append(
                    outbox.new_delivery(
                        session,
                        receipt_id=receipt_id,
                        channel=channel,
                        provider=self._routing[channel],
                        recipient=recipient,
                        now=now,
                    )
                )
                if channel is Channel.SMS and customer_id is not None:
                    customers.record_consent(
                        session,
                        customer_id=customer_id,
                        channel=channel,
                        kind=SMS_CONSENT_KIND,
                        granted=True,
                        text=str(request.consent_text),
                        source=request.source,
                        now=now,
                    )
            if customer_id is not None and channels:
                customers.set_preferences(session, customer_id, channels, auto_send=request.remember, now=now)
                if request.remember and request.language is not None:
                    session.connection().execute(
                        update(CustomerRow).where(CustomerRow.id == customer_id).values(language=request.language.value)
                    )
            session.flush()
            audit.append(
                session,
                at=now,
                actor=request.source,
                action=f"receipt.kiosk_{request.choice.value}",
                subject=receipt_id,
                detail={"delivery_ids": [r.id for r in rows], "remember": request.remember, "customer_id": customer_id},
            )
            return SendOutcome(receipt_id, request.choice, tuple(_queued_view(r) for r in rows))

        outcome = await self._db.write(job)
        if outcome.deliveries:
            self._bus.publish(DeliveriesQueued(len(outcome.deliveries)))
        return outcome

    async def deliveries_today(self) -> dict[Channel, dict[DeliveryState, int]]:
        """Today's deliveries (local midnight onwards) counted by channel and state."""
        since = start_of_day(self._clock())

        def job(session: Session) -> dict[Channel, dict[DeliveryState, int]]:
            query = (
                select(DeliveryRow.channel, DeliveryRow.state, func.count())
                .where(DeliveryRow.created_at >= since)
                .group_by(DeliveryRow.channel, DeliveryRow.state)
            )
            counts: dict[Channel, dict[DeliveryState, int]] = defaultdict(dict)
            for channel, state, n in session.execute(query):
                counts[Channel(channel)][DeliveryState(state)] = int(n)
            return dict(counts)

        return await self._db.read(job)

    async def record(self, actor: str, action: str, subject: str, detail: dict[str, object]) -> None:
        """Append one entry to the audit log (manager sign-in, lockout, settings saved)."""
        now = self._clock()
        await self._db.write(
            lambda s: audit.append(s, at=now, actor=actor, action=action, subject=subject, detail=dict(detail))
        )


class ManagerLock:
    """Checks the manager PIN; after `max_tries` wrong PINs in a row every PIN is refused for `lockout_s`."""

    def __init__(
        self,
        pin: str | None,
        *,
        max_tries: int = 5,
        lockout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pin = pin
        self._max_tries = max_tries
        self._lockout_s = lockout_s
        self._clock = clock
        self._wrong = 0
        self._locked_until = 0.0

    @property
    def configured(self) -> bool:
        """Whether a PIN is set up at all."""
        return bool(self._pin)

    def locked_for(self) -> float:
        """Seconds until PINs are accepted again (0 when not locked)."""
        return max(0.0, self._locked_until - self._clock())

    def check(self, pin: str) -> None:
        """Return when `pin` is right; else raise `AccessDenied` saying what is left."""
        if not self._pin:
            raise AccessDenied("No manager PIN is set up. Store one with `receiptdesk secrets set kiosk manager_pin`.")
        wait = self.locked_for()
        if wait > 0:
            raise AccessDenied(f"Too many wrong PINs. Try again in {int(wait + 0.999)} seconds.")
        if hmac.compare_digest(pin.encode(), self._pin.encode()):
            self._wrong = 0
            return
        self._wrong += 1
        if self._wrong >= self._max_tries:
            self._wrong = 0
            self._locked_until = self._clock() + self._lockout_s
            raise AccessDenied(f"Too many wrong PINs. Try again in {int(self._lockout_s)} seconds.")
        left = self._max_tries - self._wrong
        raise AccessDenied(f"Wrong PIN. {left} {'try' if left == 1 else 'tries'} left.")


def start_of_day(now: datetime) -> datetime:
    """Local midnight of the day `now` falls on (this machine's time zone)."""
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def search_text(query: str | None) -> str | None:
    """A typed phone number or address in the form deliveries store it; anything else as typed."""
    text = (query or "").strip()
    if not text:
        return None
    if "@" in text:
        return _try(normalise_email, text) or text
    if sum(c.isdigit() for c in text) >= 7:
        return _try(normalise_phone, text) or text
    return text


def _try(fn: Callable[[str], str], text: str) -> str | None:
    try:
        return fn(text)
    except ValidationFailed:
        return None


def _resolve_customer(
    session: Session, sale: SaleRow, request: SendRequest, email: str | None, phone: str | None, now: datetime
) -> int | None:
    """Whose receipt this is: a looked-up customer, else the sale's (unless 'not me'), else found by contact."""
    customer_id = request.customer_id
    if customer_id is None and not request.not_me:
        customer_id = sale.customer_id
    if customer_id is not None:
        if session.get(CustomerRow, customer_id) is None:
            raise NotFound(f"There is no customer {customer_id}.")
        for kind, value in (("email", email), ("phone", phone)):
            if value:
                _attach_contact(session, customer_id, kind, value, now)
    elif email or phone:
        session.flush()
        customer_id = customers.upsert(
            session, now=now, name=None, loyalty_id=None, language=request.language, email=email, phone=phone
        )
    if customer_id is not None and sale.customer_id is None:
        session.connection().execute(update(SaleRow).where(SaleRow.id == sale.id).values(customer_id=customer_id))
    return customer_id


def _attach_contact(session: Session, customer_id: int, kind: str, value: str, now: datetime) -> None:
    """Give the customer this contact, as their newest (taking it from another customer, as checkout does)."""
    connection = session.connection()
    owner = connection.execute(
        select(ContactRow.customer_id).where(ContactRow.kind == kind, ContactRow.value == value)
    ).scalar()
    if owner is None:
        connection.execute(insert(ContactRow).values(customer_id=customer_id, kind=kind, value=value, created_at=now))
    else:
        connection.execute(
            update(ContactRow)
            .where(ContactRow.kind == kind, ContactRow.value == value)
            .values(customer_id=customer_id, created_at=now)
        )


def _customer_view(session: Session, customer_id: int) -> CustomerView:
    known = customers.load(session, customer_id)
    loyalty_id = (
        session.connection().execute(select(CustomerRow.loyalty_id).where(CustomerRow.id == customer_id)).scalar()
    )
    return CustomerView(
        id=known.id,
        name=known.name,
        loyalty_id=loyalty_id,
        language=known.language,
        masked_email=mask_email(known.email) if known.email else None,
        masked_phone=mask_phone(known.phone) if known.phone else None,
        preferred=known.preferred,
        auto_send=known.auto_send,
    )


def _delivery_view(row: DeliveryRow) -> DeliveryView:
    return DeliveryView(
        row.id,
        Channel(row.channel),
        mask_contact(row.recipient),
        DeliveryState(row.state),
        row.attempts,
        row.last_error,
    )


def _queued_view(new: outbox.NewDelivery) -> DeliveryView:
    return DeliveryView(new.id, new.channel, mask_contact(new.recipient), new.state, 0, None)


def _load_sales(session: Session, receipt_ids: Sequence[str]) -> list[KioskSale]:
    if not receipt_ids:
        return []
    found = session.execute(
        select(ReceiptRow, SaleRow)
        .join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
        .where(ReceiptRow.id.in_(receipt_ids))
    ).all()
    deliveries: dict[str, list[DeliveryView]] = defaultdict(list)
    query = select(DeliveryRow).where(DeliveryRow.receipt_id.in_(receipt_ids)).order_by(DeliveryRow.created_at)
    for d in session.scalars(query):
        if d.receipt_id is not None:
            deliveries[d.receipt_id].append(_delivery_view(d))
    views: dict[int, CustomerView] = {}
    sales: list[KioskSale] = []
    for receipt, sale in found:
        customer = None
        if sale.customer_id is not None:
            if sale.customer_id not in views:
                views[sale.customer_id] = _customer_view(session, sale.customer_id)
            customer = views[sale.customer_id]
        preview = ReceiptPreview(
            receipt.language,
            receipt.subject,
            receipt.html,
            receipt.text,
            receipt.sms_body,
            receipt.sms_segments,
            receipt.sms_encoding,
        )
        sales.append(
            KioskSale(
                receipt.id,
                sale.sale_id,
                sale.lane,
                sale.total,
                sale.occurred_at,
                receipt.created_at,
                sale.card_last4,
                customer,
                preview,
                tuple(deliveries[receipt.id]),
            )
        )
    sales.sort(key=lambda s: s.created_at, reverse=True)
    return sales
