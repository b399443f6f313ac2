"""Kiosk use cases: the sale in front of the till, sending its receipt, finding the customer.

Plain async Python over the storage layer (like `app.services.receipts`): the kiosk windows call
these and nothing else. Contacts leave this service masked (`j***@gmail.com`), except what the
caller typed itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from app.domain.channels import Channel
from app.domain.clock import Clock, utcnow
from app.domain.consent import ChannelGroup, ConsentSource
from app.domain.contacts import normalise_email, normalise_phone
from app.domain.delivery import DeliveryState
from app.domain.errors import NotFound, ValidationFailed
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits
from app.services import consent
from app.services.bus import DeliveriesQueued, EventBus
from app.services.export import ExportResult, export_receipts_csv
from app.services.kiosk.sending import SendOutcome, SendRequest, check_request, send_receipt
from app.services.kiosk.views import CustomerView, KioskSale, load_customer, load_sales
from app.storage import audit, customers, receipts
from app.storage.database import Database, UnitOfWork


class KioskService:
    """The till's use cases over the database; publishes `DeliveriesQueued` for new work."""

    def __init__(
        self,
        db: Database,
        routing: Mapping[Channel, str],
        bus: EventBus,
        *,
        clock: Clock = utcnow,
        texts: TextLimits = DEFAULT_LIMITS,
    ) -> None:
        self._texts = texts
        self._db = db
        self._routing = dict(routing)
        self._bus = bus
        self._clock = clock

    def offers(self, channel: Channel) -> bool:
        """Whether receipts can go out on `channel` here (a provider is set up for it)."""
        return channel in self._routing

    async def export_csv(
        self,
        path: Path,
        *,
        since: datetime,
        until: datetime,
        actor: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> ExportResult:
        """Write the receipts of [since, until) to a CSV file (contacts masked), reporting progress; audited."""
        return await export_receipts_csv(
            self._db, path, since=since, until=until, actor=actor, progress=progress, clock=self._clock
        )

    async def sale(self, receipt_id: str) -> KioskSale:
        """The sale of `receipt_id` with preview, customer and deliveries; `NotFound` if unknown."""
        found = await self._db.read(lambda s: load_sales(s, [receipt_id]))
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

        def job(session: UnitOfWork) -> list[KioskSale]:
            found = receipts.list_receipts(session, since=since, until=until, query=text, limit=limit)
            return load_sales(session, [r.receipt_id for r in found])

        return await self._db.read(job)

    async def sale_by_sale_id(self, sale_id: str) -> KioskSale:
        """The newest receipt of the register's sale `sale_id` (a scanned paper receipt); `NotFound` if unknown."""

        def job(session: UnitOfWork) -> list[KioskSale]:
            newest = receipts.newest_receipt_of_sale(session, sale_id)
            return load_sales(session, [newest]) if newest is not None else []

        found = await self._db.read(job)
        if not found:
            raise NotFound(f"No sale {sale_id} is recorded here, so its receipt cannot be sent again.")
        return found[0]

    async def find_customer(self, text: str) -> CustomerView | None:
        """The customer with this loyalty id, email address or phone number, or None."""
        text = text.strip()
        if not text:
            raise ValidationFailed("Type a loyalty number, phone number or email address.", field="customer")
        email = _try(normalise_email, text) if "@" in text else None
        phone = None if email else _try(normalise_phone, text)

        def job(session: UnitOfWork) -> CustomerView | None:
            found = customers.find(session, loyalty_id=text, email=email, phone=phone)
            return load_customer(session, found) if found is not None else None

        return await self._db.read(job)

    async def customer_by_loyalty(self, loyalty_id: str) -> CustomerView | None:
        """The customer holding this loyalty card (a scan), with their preferred channels; None if unknown."""
        loyalty_id = loyalty_id.strip()
        if not loyalty_id:
            raise ValidationFailed("The loyalty card number is empty. Scan it again.", field="loyalty_id")

        def job(session: UnitOfWork) -> CustomerView | None:
            found = customers.find(session, loyalty_id=loyalty_id, email=None, phone=None)
            return load_customer(session, found) if found is not None else None

        return await self._db.read(job)

    async def send(self, receipt_id: str, request: SendRequest) -> SendOutcome:
        """Queue the receipt as asked, record SMS consent and preferences, and audit it.

        Raises `ValidationFailed` (a contact missing or malformed, SMS without consent),
        `ConfigurationError` (no provider for a channel) or `NotFound`.
        """
        checked = check_request(request, self._routing)
        outcome = await self._db.write(
            lambda s: send_receipt(s, receipt_id, checked, routing=self._routing, now=self._clock(), limits=self._texts)
        )
        if outcome.deliveries:
            self._bus.publish(DeliveriesQueued(len(outcome.deliveries)))
        return outcome

    async def stop_messages(self, customer_id: int, group: ChannelGroup, *, actor: str) -> bool:
        """The customer told the cashier to stop texts (or e-mails): the revocation is theirs, recorded as the
        cashier's, and cancels what is queued. False when that contact had already opted out.

        Raises `ValidationFailed` when the customer has no contact of that kind on file.
        """
        now = self._clock()

        def job(session: UnitOfWork) -> consent.Revocation:
            known = customers.load(session, customer_id)
            contact = known.phone if group is ChannelGroup.TEXT else known.email
            if contact is None:
                kind = "phone number" if group is ChannelGroup.TEXT else "e-mail address"
                raise ValidationFailed(f"This customer has no {kind} on file: nothing to stop.", field="customer")
            return consent.revoke_and_cancel(session, contact, group, via=ConsentSource.CASHIER, actor=actor, now=now)

        revocation = await self._db.write(job)
        consent.announce(self._bus, revocation)
        return revocation.newly

    async def deliveries_today(self) -> dict[Channel, dict[DeliveryState, int]]:
        """Today's deliveries (local midnight onwards) counted by channel and state."""
        since = start_of_day(self._clock())
        return await self._db.read(lambda s: receipts.delivery_counts(s, since=since))

    async def record(self, actor: str, action: str, subject: str, detail: Mapping[str, object]) -> None:
        """Append one entry to the audit log (a settings change, a manager's own PIN change)."""
        now = self._clock()
        await self._db.write(
            lambda s: audit.append(s, at=now, actor=actor, action=action, subject=subject, detail=dict(detail))
        )


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
