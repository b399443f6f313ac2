"""Checkout: a trigger event becomes a recorded sale, a rendered receipt and queued deliveries.

Everything happens in ONE database transaction, so a crash leaves either all of it or none, and
the same event (or the same sale) arriving twice gives one receipt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from app.domain.channels import Channel, Language
from app.domain.clock import Clock, utcnow
from app.domain.consent import ConsentSource
from app.domain.contacts import mask_contact, normalise_email, normalise_phone
from app.domain.errors import SaleConflict, ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.receipt import RenderedReceipt, StoreProfile
from app.domain.sale import Sale
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits
from app.services.bus import DeliveriesQueued, EventBus, ReceiptCreated
from app.services.queueing import (
    CONTACT_KIND,
    AuditNote,
    Send,
    SmsConsent,
    push_recipients,
    queue_receipt,
    recipient_for,
)
from app.storage import customers, outbox, sales
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)
SMS_CONSENT_AT_TILL = "Customer asked the cashier for a text-message receipt for this purchase."
WHATSAPP_CONSENT_AT_TILL = "Customer asked the cashier for a WhatsApp receipt for this purchase."
EMAIL_CONSENT_AT_TILL = "Customer asked the cashier for an email receipt for this purchase."
"""The register's standard wordings: what the ledger keeps as the text of a grant the POS passed on."""
T = TypeVar("T")


class Renderer(Protocol):
    def render(self, sale: Sale, store: StoreProfile, language: Language) -> RenderedReceipt: ...


@dataclass(frozen=True, slots=True)
class QueuedDelivery:
    id: str
    channel: Channel
    provider: str
    masked_recipient: str
    state: str


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    """What became of one trigger event."""

    receipt_id: str
    sale_id: str
    duplicate: bool
    deliveries: tuple[QueuedDelivery, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class _Early:
    """What a sale's checkout needs that reads no database, worked out before its transaction: the sale's
    canonical JSON and its hash, and its receipt rendered in `language` (or the error the render raised)."""

    payload: str
    digest: str
    language: Language
    rendered: RenderedReceipt | None
    error: Exception | None


@dataclass(frozen=True, slots=True)
class _Contacts:
    email: str | None
    phone: str | None
    warnings: tuple[str, ...]


class CheckoutService:
    """Records sales and queues their receipts."""

    def __init__(
        self,
        db: Database,
        renderer: Renderer,
        store: StoreProfile,
        routing: Mapping[Channel, str],
        bus: EventBus,
        *,
        default_language: Language = Language.EN,
        clock: Clock = utcnow,
        texts: TextLimits = DEFAULT_LIMITS,
    ) -> None:
        self._texts = texts
        self._db = db
        self._renderer = renderer
        self._store = store
        self._routing = dict(routing)
        self._bus = bus
        self._default_language = default_language
        self._clock = clock

    async def accept(self, event: TriggerEvent) -> CheckoutResult:
        """Record the sale of `event` and queue its receipt. Idempotent on the event id and the sale.

        Raises `SaleConflict` when the sale id is known with different content.
        """
        result, _ = await self.accept_with(event, _nothing)
        return result

    async def accept_with(
        self, event: TriggerEvent, also: Callable[[UnitOfWork, CheckoutResult], T]
    ) -> tuple[CheckoutResult, T]:
        """`accept`, with the caller's own record written in the SAME transaction.

        `also(session, result)` runs after checkout's work, inside its transaction: the sale, its
        receipt and whatever `also` writes commit together, or (when either raises) none of them
        does. `also` also runs for a duplicate, with the earlier receipt's id. Returns checkout's
        result and what `also` returned.
        """
        contacts = _normalise_contacts(event.sale)
        early = self._render_early(event.sale)

        def work(session: UnitOfWork) -> tuple[CheckoutResult, T]:
            result = self._checkout(session, event, contacts, early)
            return result, also(session, result)

        result, extra = await self._db.write(work)
        self._announce(event, result)
        if log.isEnabledFor(logging.INFO):
            self._log_received(event, result)
        return result, extra

    def _render_early(self, sale: Sale) -> _Early:
        """The sale's canonical JSON, and its receipt rendered in the language it will most likely have.

        Rendering is pure, so it need not hold the single writer. The language is the sale's own, else the
        default; a customer's stored language is only known inside the transaction, which renders again
        when it is another. A render that fails is kept as its error and raised where the render would have
        run, inside the transaction: a new sale fails as it always did, and a duplicate never renders.
        """
        payload = sales.canonical_json(sale)
        digest = sales.payload_hash(payload)
        info = sale.customer
        language = (info.language if info else None) or self._default_language
        try:
            return _Early(payload, digest, language, self._renderer.render(sale, self._store, language), None)
        except Exception as exc:
            return _Early(payload, digest, language, None, exc)

    def _log_received(self, event: TriggerEvent, result: CheckoutResult) -> None:
        log.info(
            "sale received: sale %s from %s, receipt %s%s, deliveries %s",
            result.sale_id,
            event.source,
            result.receipt_id,
            " (a duplicate)" if result.duplicate else "",
            ", ".join(f"{d.id} {d.channel.value} via {d.provider}" for d in result.deliveries) or "none",
            extra={
                "event": "sale.received",
                "sale_id": result.sale_id,
                "source": event.source,
                "receipt_id": result.receipt_id,
                "duplicate": result.duplicate,
                "deliveries": [
                    {"delivery_id": d.id, "channel": d.channel.value, "provider": d.provider, "state": d.state}
                    for d in result.deliveries
                ],
            },
        )

    def _announce(self, event: TriggerEvent, result: CheckoutResult) -> None:
        """Tell the bus about a new receipt and its queued deliveries (once they are committed)."""
        if not result.duplicate:
            ids = tuple(d.id for d in result.deliveries)
            sale = event.sale
            self._bus.publish(ReceiptCreated(result.receipt_id, sale.sale_id, sale.store_id, sale.lane, ids))
            if ids:
                self._bus.publish(DeliveriesQueued(len(ids)))

    def _checkout(
        self, session: UnitOfWork, event: TriggerEvent, contacts: _Contacts, early: _Early | None = None
    ) -> CheckoutResult:
        now = self._clock()
        sale = event.sale
        payload = early.payload if early is not None else sales.canonical_json(sale)
        digest = early.digest if early is not None else sales.payload_hash(payload)
        existing = sales.find_sale(session, sale.store_id, sale.sale_id)
        if existing is not None and existing.payload_hash != digest:
            raise SaleConflict(
                f"Sale {sale.sale_id} of store {sale.store_id} is already recorded with different content; "
                "send a correction as a new sale id."
            )
        seen = sales.seen_event(session, event.source, event.event_id)
        if seen:
            if existing is None:
                raise SaleConflict(f"Event {event.event_id} from {event.source} was already used for another sale.")
            return CheckoutResult(seen, sale.sale_id, duplicate=True)
        if existing is None and sale.order_id:
            # The same purchase from another source (the POS and an e-commerce webhook): one receipt.
            same_order = sales.find_order(session, sale.store_id, sale.order_id)
            if same_order is not None:
                existing = sales.StoredSale(same_order, "")
        if existing is not None:
            receipt_id = sales.latest_receipt_for_sale(session, existing.pk)
            assert receipt_id is not None  # a sale is never stored without its receipt
            sales.record_event(session, source=event.source, event_id=event.event_id, receipt_id=receipt_id, now=now)
            return CheckoutResult(receipt_id, sale.sale_id, duplicate=True)

        info = sale.customer
        customer = None
        if info is not None and (info.loyalty_id or contacts.email or contacts.phone):
            customer_id = customers.upsert(
                session,
                now=now,
                name=info.name,
                loyalty_id=info.loyalty_id,
                language=info.language,
                email=contacts.email,
                phone=contacts.phone,
            )
            customer = customers.load(session, customer_id)

        chosen = (
            event.channels
            if event.channels is not None
            else (tuple(info.channels) if info and info.channels is not None else None)
        )
        if chosen is None:
            channels = customer.preferred if customer is not None and customer.auto_send else ()
        else:
            channels = chosen
            if customer is not None and chosen and set(chosen) != set(customer.preferred):
                customers.set_preferences(session, customer.id, chosen, auto_send=customer.auto_send, now=now)
        language = (
            (info.language if info else None) or (customer.language if customer else None) or self._default_language
        )

        if early is not None and early.language is language:
            if early.error is not None:
                raise early.error
            assert early.rendered is not None
            rendered = early.rendered
        else:
            rendered = self._renderer.render(sale, self._store, language)
        sale_pk = sales.add_sale(
            session,
            sale,
            payload=payload,
            digest=digest,
            source=event.source,
            customer_id=customer.id if customer else None,
            now=now,
        )
        receipt_id = sales.add_receipt(session, sale_pk, rendered, now=now)

        warnings = list(contacts.warnings)
        sends: list[Send] = []
        for channel in dict.fromkeys(channels):
            if channel is Channel.PUSH:  # every app device of the customer, one delivery each
                recipients = push_recipients(session, customer)
            else:
                one = recipient_for(
                    channel, email=contacts.email, phone=contacts.phone, on_file=customer, routing=self._routing
                )
                recipients = (one,) if one is not None else ()
            provider = self._routing.get(channel)
            if not recipients:
                warnings.append(f"No {CONTACT_KIND.get(channel, channel.value)} on file for a {channel.value} receipt.")
                continue
            if provider is None:
                warnings.append(f"No provider is set up for {channel.value} receipts.")
                continue
            sends.extend(Send(channel, provider, recipient) for recipient in recipients)
        # The register asked for these channels: the customer's grants are the till's standard wording,
        # given at the sale's lane to its cashier. An order (one that can ship, be refunded or cancelled)
        # gets its updates on the same channels: the grants cover them too.
        consent = (
            SmsConsent(
                customer.id,
                SMS_CONSENT_AT_TILL,
                ConsentSource.REGISTER,
                whatsapp_text=WHATSAPP_CONSENT_AT_TILL,
                email_text=EMAIL_CONSENT_AT_TILL,
                language=Language.EN.value,
                lane=sale.lane,
                staff=sale.cashier,
                order_updates=sale.order_id is not None,
            )
            if customer and chosen
            else None
        )

        def detail(queued: Sequence[outbox.NewDelivery]) -> dict[str, Any]:
            return {
                "sale_id": sale.sale_id,
                "store_id": sale.store_id,
                "event_id": event.event_id,
                "content_hash": rendered.content_hash,
                "channels": [d.channel.value for d in queued],
            }

        note = AuditNote(event.source, "receipt.created", detail)
        queued = queue_receipt(
            session, receipt_id, sends, consent=consent, note=note, now=now, limits=self._texts, warn=warnings.append
        )
        sales.record_event(session, source=event.source, event_id=event.event_id, receipt_id=receipt_id, now=now)
        return CheckoutResult(
            receipt_id,
            sale.sale_id,
            duplicate=False,
            deliveries=tuple(
                QueuedDelivery(d.id, d.channel, d.provider, mask_contact(d.recipient), d.state.value) for d in queued
            ),
            warnings=tuple(warnings),
        )


def _nothing(session: UnitOfWork, result: CheckoutResult) -> None:
    """The `also` of a plain `accept`: nothing more to write."""


def _normalise_contacts(sale: Sale) -> _Contacts:
    """Normalise the contacts the POS sent; a malformed one is dropped with a warning, the sale kept."""
    info = sale.customer
    email = phone = None
    warnings: list[str] = []
    if info is not None and info.email:
        try:
            email = normalise_email(info.email)
        except ValidationFailed as exc:
            warnings.append(f"customer.email ignored: {exc.message}")
    if info is not None and info.phone:
        try:
            phone = normalise_phone(info.phone)
        except ValidationFailed as exc:
            warnings.append(f"customer.phone ignored: {exc.message}")
    return _Contacts(email, phone, tuple(warnings))
