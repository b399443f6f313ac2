"""Delivery tracking: provider callbacks become one timeline per delivery.

A bounced email or an undelivered text can fall back to the customer's other channel (email needs
an address on file; a text also needs a grant in the consent ledger covering the number; neither goes
to a contact that opted out, and such a refusal is audited). The fallback is a new delivery of
the same receipt snapshot, recorded in the audit log, and shown to the manager like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.domain.channels import Channel
from app.domain.clock import Clock, utcnow
from app.domain.consent import OPTED_OUT_SENTENCE, group_of
from app.domain.delivery import DeliveryState
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits
from app.domain.tracking import NOT_RECEIVED, StatusEvent
from app.services.bus import DeliveriesQueued, DeliveryChanged, EventBus
from app.services.text_limits import check_text
from app.storage import audit, consents, customers, outbox, status_checks, tracking
from app.storage.database import Database, UnitOfWork

OTHER_CHANNEL = {Channel.EMAIL: Channel.SMS, Channel.SMS: Channel.EMAIL}


@dataclass(frozen=True, slots=True)
class TrackingResult:
    recorded: int  # new events stored
    duplicates: int  # events seen before
    unmatched: int  # events for no delivery of ours (kept for support)
    fallbacks: int  # deliveries queued on the other channel after a bounce


class TrackingService:
    """Applies verified provider events to deliveries."""

    def __init__(
        self,
        db: Database,
        routing: Mapping[Channel, str],
        bus: EventBus,
        *,
        bounce_fallback: bool = True,
        texts: TextLimits = DEFAULT_LIMITS,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._texts = texts
        self._routing = dict(routing)
        self._bus = bus
        self._bounce_fallback = bounce_fallback
        self._clock = clock

    async def record(self, events: list[StatusEvent]) -> TrackingResult:
        """Store each new event, move deliveries on, and queue bounce fallbacks; all in one transaction."""
        if not events:
            return TrackingResult(0, 0, 0, 0)
        return await self._record(events, lambda session: None)

    async def record_status_check(self, delivery_id: str, event: StatusEvent | None) -> TrackingResult:
        """Record what a provider's status API answered about a delivery, as its callback would be
        recorded (a repeat changes nothing), and mark the delivery asked, in one transaction.

        `event` None marks it asked with nothing to record (a provider that never answered, given up on).
        """
        checked_at = self._clock()

        def mark(session: UnitOfWork) -> None:
            status_checks.mark_checked(session, [delivery_id], at=checked_at)

        return await self._record([event] if event is not None else [], mark)

    async def _record(self, events: list[StatusEvent], also: Callable[[UnitOfWork], None]) -> TrackingResult:
        def work(session: UnitOfWork) -> tuple[list[tracking.AppliedEvent], int]:
            result = self._apply(session, events)
            also(session)
            return result

        applied, fallbacks = await self._db.write(work)
        for item in applied:
            if item.new_state is not None and item.delivery_id and item.receipt_id and item.channel:
                self._bus.publish(
                    DeliveryChanged(
                        item.delivery_id,
                        item.receipt_id,
                        item.channel,
                        item.event.provider,
                        item.new_state,
                        item.event.detail,
                    )
                )
        if fallbacks:
            self._bus.publish(DeliveriesQueued(fallbacks))
        return TrackingResult(
            recorded=len(applied),
            duplicates=len(events) - len(applied),
            unmatched=sum(1 for a in applied if a.delivery_id is None),
            fallbacks=fallbacks,
        )

    def _apply(self, session: UnitOfWork, events: list[StatusEvent]) -> tuple[list[tracking.AppliedEvent], int]:
        now = self._clock()
        applied = tracking.apply(session, events, now=now)
        fallbacks = 0
        if self._bounce_fallback:
            for item in applied:
                if item.new_state is DeliveryState.BOUNCED and item.event.kind in NOT_RECEIVED:
                    fallbacks += self._fall_back(session, item)
        return applied, fallbacks

    def _fall_back(self, session: UnitOfWork, item: tracking.AppliedEvent) -> int:
        assert item.receipt_id is not None and item.channel is not None and item.delivery_id is not None
        other = OTHER_CHANNEL.get(item.channel)
        provider = self._routing.get(other) if other else None
        customer_id = tracking.customer_of_receipt(session, item.receipt_id)
        if other is None or provider is None or customer_id is None:
            return 0
        known = customers.load(session, customer_id)
        recipient = known.phone if other is Channel.SMS else known.email
        if recipient is None:
            return 0
        # The receipt already went there (chosen at the till, or an earlier fallback): not twice, and
        # never back and forth when both of the customer's contacts bounce.
        if tracking.already_sent_there(session, item.receipt_id, other, recipient):
            return 0
        now = self._clock()
        group = group_of(other)
        if group is not None and consents.opted_out(session, group, recipient):
            refused: str | None = OPTED_OUT_SENTENCE[group]
        elif other is Channel.SMS and not consents.covers(session, other, recipient, customer_id=customer_id):
            return 0  # the customer never agreed to texts: nothing to refuse, only nothing to do
        else:
            refused = check_text(session, other, recipient, self._texts, now=now).refusal
        if refused is not None:
            audit.append(
                session,
                at=now,
                actor="tracking",
                action="delivery.bounce_fallback_refused",
                subject=item.receipt_id,
                detail={"bounced": item.delivery_id, "channel": other.value, "reason": refused},
            )
            return 0
        created = outbox.new_delivery(
            session, receipt_id=item.receipt_id, channel=other, provider=provider, recipient=recipient, now=now
        )
        audit.append(
            session,
            at=now,
            actor="tracking",
            action="delivery.bounce_fallback",
            subject=item.receipt_id,
            detail={"bounced": item.delivery_id, "channel": other.value, "delivery_id": created.id},
        )
        return 1
