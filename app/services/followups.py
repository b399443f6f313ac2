"""Follow-ups after a receipt went out: CRM and support records, internal audit posts, a daily summary.

Each follow-up is its own outbox delivery, queued only after the customer's receipt was accepted, so
it never holds the receipt up and gets the same retries, failover and tracking. Each is queued once
per receipt and provider (and the summary once per day and provider): the idempotency key says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta

from app.domain.channels import Channel
from app.domain.clock import Clock, utcnow
from app.domain.delivery import DeliveryState
from app.domain.money import format_usd
from app.services.background import BackgroundTasks
from app.services.bus import DeliveriesQueued, DeliveryChanged, EventBus
from app.storage import followups, outbox
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)

RECEIPT_CHANNELS = frozenset({Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.PUSH})
ACCEPTED = frozenset({DeliveryState.SENT, DeliveryState.DELIVERED})


class FollowUpService:
    """Queues follow-ups on the bus's delivery events and sends the daily summary at its time."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        store_name: str,
        after_delivery: Mapping[str, Channel],
        daily_summary: Mapping[str, Channel],
        daily_at: time | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._bus = bus
        self._store = store_name
        self._after = dict(after_delivery)
        self._daily = dict(daily_summary)
        self._daily_at = daily_at
        self._clock = clock
        self._tasks = BackgroundTasks("follow-up")
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        if self._after:
            self._unsubscribe = self._bus.subscribe(DeliveryChanged, self._on_changed)
        if self._daily and self._daily_at is not None:
            self._tasks.start(self._daily_loop(), "daily-summary")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self._tasks.cancel_all()

    def _on_changed(self, event: DeliveryChanged) -> None:
        if event.channel in RECEIPT_CHANNELS and event.state in ACCEPTED:
            work = self.queue_after_delivery(event.delivery_id, event.receipt_id)
            self._tasks.start(work, f"follow-up-{event.delivery_id}")

    async def queue_after_delivery(self, delivery_id: str, receipt_id: str) -> int:
        """Queue one follow-up per configured provider for this receipt, unless already queued."""
        queued = await self._db.write(lambda s: self._queue_after(s, delivery_id, receipt_id))
        if queued:
            self._bus.publish(DeliveriesQueued(queued))
        return queued

    def _queue_after(self, session: UnitOfWork, delivery_id: str, receipt_id: str) -> int:
        found = followups.delivered_receipt(session, delivery_id)
        if found is None:
            return 0
        now = self._clock()
        metadata = {
            "store": self._store,
            "sale_id": found.sale_id,
            "total": format_usd(found.total),
            "receipt_channel": found.channel,
            "state": "sent",
            "sent_at": now.isoformat(),
        }
        queued = 0
        for provider, channel in self._after.items():
            key = f"fu-{provider}-{receipt_id}"
            if followups.key_exists(session, key):
                continue
            outbox.new_delivery(
                session,
                receipt_id=receipt_id,
                channel=channel,
                provider=provider,
                recipient=found.recipient,
                now=now,
                context={"metadata": metadata},
                idempotency_key=key,
            )
            queued += 1
        return queued

    async def send_daily_summary(self, day: date) -> int:
        """Queue the summary of `day` (local midnight to midnight) to each summary provider, once."""
        start = datetime.combine(day, time(0), tzinfo=self._clock().astimezone().tzinfo)
        since, until = start, start + timedelta(days=1)
        queued = await self._db.write(lambda s: self._queue_summary(s, day, since, until))
        if queued:
            self._bus.publish(DeliveriesQueued(queued))
        return queued

    def _queue_summary(self, session: UnitOfWork, day: date, since: datetime, until: datetime) -> int:
        counts = followups.day_counts(session, since, until)
        receipts = followups.receipts_between(session, since, until)
        fallbacks = followups.audit_count(session, "delivery.failover", since, until)
        bounce_fallbacks = followups.audit_count(session, "delivery.bounce_fallback", since, until)
        subject, text = summary_text(self._store, day, receipts, counts, fallbacks + bounce_fallbacks)
        queued = 0
        for provider, channel in self._daily.items():
            key = f"eod-{provider}-{day.isoformat()}"
            if followups.key_exists(session, key):
                continue
            context = {"subject": subject, "text": text, "metadata": {"kind": "daily_summary", "store": self._store}}
            outbox.new_delivery(
                session,
                receipt_id=None,
                channel=channel,
                provider=provider,
                recipient=provider,
                now=self._clock(),
                context=context,
                idempotency_key=key,
            )
            queued += 1
        return queued

    async def _daily_loop(self) -> None:
        assert self._daily_at is not None
        while True:
            now = self._clock().astimezone()
            due = now.replace(hour=self._daily_at.hour, minute=self._daily_at.minute, second=0, microsecond=0)
            if due <= now:
                due += timedelta(days=1)
            await asyncio.sleep((due - now).total_seconds())
            try:
                await self.send_daily_summary(due.date())
            except Exception:
                log.exception("the daily summary could not be queued")


def summary_text(
    store: str, day: date, receipts: int, counts: Mapping[tuple[str, str], int], fallbacks: int
) -> tuple[str, str]:
    """Subject and body of the daily summary: counts by channel and state; no contact, no receipt."""
    subject = f"{store}: receipts for {day:%A %B} {day.day}"
    lines = [f"Receipts: {receipts}"]
    for channel in sorted({c for c, _ in counts}):
        states = ", ".join(f"{state} {n}" for (c, state), n in sorted(counts.items()) if c == channel)
        lines.append(f"{channel.capitalize()}: {states}")
    failed = sum(n for (_, state), n in counts.items() if state in ("failed", "dead", "bounced"))
    lines.append(f"Not delivered: {failed}")
    lines.append(f"Fallbacks used: {fallbacks}")
    return subject, "\n".join(lines)
