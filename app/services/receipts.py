"""Looking receipts up, resending them, and working the outbox by hand."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.audit import ChainReport
from app.domain.cards import contains_card_number
from app.domain.channels import Channel
from app.domain.clock import Clock, utcnow
from app.domain.consent import OPTED_OUT_SENTENCE, ChannelGroup, ConsentRefused, group_of, wording_version
from app.domain.contacts import normalise_email, normalise_phone
from app.domain.delivery import DeliveryState
from app.domain.errors import ConfigurationError, NotFound, ValidationFailed
from app.domain.records import HeldDelivery, QueueStatus, ReceiptDetail, ReceiptSummary
from app.domain.text_limits import DEFAULT_LIMITS, NewNumberTexts, TextLimits, TextRefused, country_refusal, is_text
from app.services.bus import DeliveriesQueued, EventBus
from app.services.consent import lift
from app.services.text_limits import check_text, new_number_texts
from app.storage import audit, consents, customers, hub_requests, outbox, receipts, sales
from app.storage.database import Database, UnitOfWork
from app.storage.text_counts import NEW_NUMBER

RETRYABLE = (DeliveryState.DEAD, DeliveryState.FAILED)


class ConsentSource(StrEnum):
    """How a customer agreed to a text resent by a manager (kept in the consent ledger as its source)."""

    CUSTOMER_SCREEN = "manager_resend:customer_screen"
    """The customer read the consent on the customer screen and tapped agree."""
    MANAGER_DESK = "manager_resend:at_desk"
    """The customer agreed at the desk and the manager confirmed it."""


@dataclass(frozen=True, slots=True)
class ResendConsent:
    """A customer's agreement to a receipt by text: the words shown to them, and how they agreed."""

    text: str
    source: ConsentSource


AGREED_AT_DESK_TEXT = "The customer asked a manager at the desk for this receipt by text message."
"""What the customer agreed to when a manager confirms it from the command line (no screen to show)."""

NO_CONSENT = (
    "This number has not agreed to texts: ask the customer, then tick \u201cThe customer agreed to texts at "
    "the desk\u201d or ask on the customer screen."
)


class ReceiptService:
    """The manager's and cashier's questions about receipts, and their corrections."""

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

    async def list(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        query: str | None = None,
        state: DeliveryState | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[ReceiptSummary]:
        """Receipts newest first, filtered by time range, a search text (sale id, last four, contact) and state."""
        return await self._db.read(
            lambda s: receipts.list_receipts(
                s, since=since, until=until, query=query, state=state, limit=limit, offset=offset
            )
        )

    async def count(self) -> int:
        """How many receipts exist."""
        return await self._db.read(receipts.count_receipts)

    async def get(self, receipt_id: str) -> ReceiptDetail:
        """One receipt with its rendered forms, deliveries and attempts; `NotFound` if there is none."""
        detail = await self._db.read(lambda s: receipts.get_detail(s, receipt_id))
        if detail is None:
            raise NotFound(f"There is no receipt {receipt_id}.")
        return detail

    async def resend(
        self,
        receipt_id: str,
        channel: Channel,
        contact: str,
        *,
        reason: str,
        actor: str,
        consent: ResendConsent | None = None,
        request_id: int | None = None,
    ) -> str:
        """Queue the same receipt snapshot again to `contact` on `channel`; the reason goes to the audit log.

        On PRINT (a reprint) there is no contact: it goes to the lane's printer.

        A text (SMS or WhatsApp) to a number no grant in the ledger covers for that channel, or that
        opted out, needs `consent` (refused with `ValidationFailed`, nothing queued, without it); the
        consent is recorded in the ledger of the number's owner with its source (customer screen or at
        the desk) and the manager as staff, in the same unit of work as the delivery, and, given in
        person, lifts the number's opt-out. An email to an address that opted out is refused
        (`ConsentRefused`).

        A text goes only where and as often as the text limits allow (`TextRefused`, nothing queued).
        A reason holding a card number is refused: the audit log keeps no card numbers.

        `request_id` (a request from the hub) goes into `sync_requests` in the same unit of work as the
        delivery, so the request is carried out at most once (a second time fails, nothing queued).
        """
        if not reason.strip():
            raise ValidationFailed("Say why the receipt is sent again.", field="reason")
        if contains_card_number(reason):
            raise ValidationFailed(
                "The reason looks like it holds a card number: write it without the number.", field="reason"
            )
        provider = self._routing.get(channel)
        if channel is Channel.PRINT:  # a reprint: the lane's printer is its recipient, as at checkout
            if provider is None:
                raise ConfigurationError(
                    "No receipt printer is set up on this lane: turn it on in Settings, Devices, Receipt printer."
                )
            if contact.strip():
                raise ValidationFailed("A reprint goes to the lane's printer: leave the contact empty.", field="to")
            recipient = provider
        else:
            recipient = normalise_email(contact) if channel is Channel.EMAIL else normalise_phone(contact)
        if provider is None:
            raise ConfigurationError(f"No provider is set up for {channel.value} receipts.")
        if is_text(channel) and (refusal := country_refusal(recipient, self._texts)) is not None:
            raise TextRefused(refusal)

        def job(session: UnitOfWork) -> str:
            if not sales.receipt_exists(session, receipt_id):
                raise NotFound(f"There is no receipt {receipt_id}.")
            now = self._clock()
            check = check_text(session, channel, recipient, self._texts, now=now, resend=True)
            if check.refusal is not None:
                raise TextRefused(check.refusal)
            group = group_of(channel)
            stopped = group is not None and consents.opted_out(session, group, recipient)
            texting = is_text(channel)
            if stopped and not texting:
                raise ConsentRefused(OPTED_OUT_SENTENCE[ChannelGroup.EMAIL])
            agreed = not texting or (not stopped and consents.covers(session, channel, recipient))
            if not agreed:
                if consent is None or not consent.text.strip():
                    raise ValidationFailed(NO_CONSENT, field="consent")
                customer_id = customers.upsert(
                    session, now=now, name=None, loyalty_id=None, language=None, email=None, phone=recipient
                )
                if stopped and group is not None:
                    lift(
                        session,
                        recipient,
                        group,
                        via=consent.source.value,
                        actor=actor,
                        now=now,
                        customer_id=customer_id,
                    )
                grant = consents.Grant(
                    customer_id,
                    channel,
                    recipient,
                    consent.text,
                    consent.source.value,
                    text_version=wording_version(consent.text),
                    staff=actor,
                )
                consents.record(session, grant, granted=True, now=now)
            row = outbox.new_delivery(
                session, receipt_id=receipt_id, channel=channel, provider=provider, recipient=recipient, now=now
            )
            detail: dict[str, object] = {"delivery_id": row.id, "channel": channel.value, "reason": reason.strip()}
            if check.new_number is not None:
                detail[NEW_NUMBER] = check.new_number
            if not agreed and consent is not None:
                detail["consent"] = consent.source.value
            if request_id is not None:
                detail["hub_request"] = request_id
                hub_requests.record_carried(
                    session,
                    request_id,
                    receipt_id=receipt_id,
                    state=hub_requests.DONE,
                    detail=None,
                    delivery_id=row.id,
                    now=now,
                )
            audit.append(session, at=now, actor=actor, action="receipt.resent", subject=receipt_id, detail=detail)
            return row.id

        delivery_id = await self._db.write(job)
        self._bus.publish(DeliveriesQueued(1))
        return delivery_id

    async def reprint(self, receipt_id: str, *, reason: str, actor: str) -> str:
        """Print the same receipt again on the lane's printer (a resend on the PRINT channel, audited)."""
        return await self.resend(receipt_id, Channel.PRINT, "", reason=reason, actor=actor)

    async def new_number_texts(self, now: datetime | None = None) -> NewNumberTexts:
        """How many numbers got their first text in the hour before `now`, against the alarm's threshold."""
        at = now if now is not None else self._clock()
        return await self._db.read(lambda s: new_number_texts(s, self._texts, now=at))

    async def queue_status(self) -> QueueStatus:
        now = self._clock()
        return await self._db.read(lambda s: outbox.status(s, now=now))

    async def retry(self, delivery_ids: Sequence[str] | None = None, *, actor: str) -> int:
        """Put failed or dead deliveries (all of them when `delivery_ids` is None) back in the queue.

        Raises `NotFound`, and moves nothing, when one of `delivery_ids` is no delivery at all; one that
        is not failed or dead is left as it is (and not counted).
        """

        def job(session: UnitOfWork) -> int:
            now = self._clock()
            ids = list(delivery_ids) if delivery_ids is not None else outbox.ids_in_states(session, RETRYABLE)
            unknown = sorted(set(ids) - outbox.known_ids(session, ids)) if delivery_ids is not None else []
            if unknown:
                raise NotFound(f"There is no delivery {', '.join(unknown)}.")
            moved = outbox.requeue(session, ids, now=now, states=RETRYABLE) if ids else 0
            if moved:
                audit.append(
                    session,
                    at=now,
                    actor=actor,
                    action="queue.retried",
                    subject="deliveries",
                    detail={"count": moved, "ids": ids[:50]},
                )
            return moved

        moved = await self._db.write(job)
        if moved:
            self._bus.publish(DeliveriesQueued(moved))
        return moved

    async def held(self) -> builtins.list[HeldDelivery]:
        """Deliveries held for a manager (an attempt in doubt its provider cannot be asked about), oldest first."""
        return await self._db.read(outbox.held_deliveries)

    async def held_count(self) -> int:
        """How many deliveries wait for a manager's decision."""
        return await self._db.read(outbox.held_count)

    async def possible_duplicates(self, since: datetime) -> dict[str, int]:
        """Per provider, how many deliveries were sent since `since` in a way that may have reached the
        customer twice (an attempt in doubt resent by the channel's policy or a manager)."""
        return await self._db.read(lambda s: outbox.possible_duplicates(s, since))

    async def send_held(self, delivery_id: str, *, actor: str) -> None:
        """Send a held delivery again, by the manager's decision: it may reach the customer a second time,
        and its next attempt says so. `NotFound`, `ValidationFailed` when it is not held."""
        await self._decide_held(delivery_id, actor=actor, send=True)
        self._bus.publish(DeliveriesQueued(1))

    async def drop_held(self, delivery_id: str, *, actor: str, reason: str) -> None:
        """Do not send a held delivery again: it goes dead, with the manager's name and reason.
        `NotFound`, `ValidationFailed` when it is not held or the reason is empty or holds a card number."""
        if not reason.strip():
            raise ValidationFailed("Say why the delivery is dropped.", field="reason")
        if contains_card_number(reason):
            raise ValidationFailed(
                "The reason looks like it holds a card number: write it without the number.", field="reason"
            )
        await self._decide_held(delivery_id, actor=actor, send=False, reason=f"Dropped by {actor}: {reason.strip()}")

    async def _decide_held(self, delivery_id: str, *, actor: str, send: bool, reason: str | None = None) -> None:
        def job(session: UnitOfWork) -> DeliveryState | None:
            return outbox.decide_held(session, delivery_id, now=self._clock(), actor=actor, send=send, reason=reason)

        was = await self._db.write(job)
        if was is None:
            raise NotFound(f"There is no delivery {delivery_id}.")
        if was is not DeliveryState.HELD:
            raise ValidationFailed(f"Delivery {delivery_id} is {was.value}, not held.", field="delivery_id")

    async def verify_audit(self) -> ChainReport:
        """Check the whole audit chain; any edit or deletion is reported with the first bad entry."""
        return await self._db.read(audit.verify)
