"""Sales from commerce platforms: verify the webhook, translate it, hand it to checkout.

A request whose signature does not verify changes nothing but the audit log (with the reason) and a
counter the health check shows. A payload that cannot be mapped is refused with a clear error. A
genuine event that asks for no receipt is acknowledged, so the platform stops retrying it.

A verified request holding a full card number (anywhere in its body, in the event id or order id
read from it, or in its sale) is refused whole: nothing of it is stored, and the audit log and the
log name the platform and the field only (`app.domain.card_guard`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.domain.card_guard import refuse_cards_in_event, refuse_cards_in_request
from app.domain.cards import contains_card_number
from app.domain.clock import Clock, utcnow
from app.domain.errors import CardDataRejected, NotFound, SignatureRejected
from app.domain.events import PlatformEvent, TriggerEvent
from app.domain.inbound import InboundRequest
from app.domain.intake import InvalidSale
from app.domain.lifecycle import OrderUpdate
from app.services.checkout import CheckoutResult, CheckoutService
from app.storage import audit
from app.storage.database import Database
from app.triggers.base import NotApplicable, PlatformTrigger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What became of one order update."""

    update_id: str | None
    order_id: str
    status: str
    duplicate: bool
    receipt_id: str | None  # None while the order's sale has not arrived: the update waits for it
    deliveries: int = 0


class UpdateSink(Protocol):
    async def apply(self, update: OrderUpdate) -> UpdateResult: ...


@dataclass(frozen=True, slots=True)
class IntakeResult:
    platform: str
    results: tuple[CheckoutResult, ...] = ()
    updates: tuple[UpdateResult, ...] = ()
    ignored: str | None = None  # why a genuine event asked for no receipt


class IntakeService:
    """Receives platform webhooks for the local API."""

    def __init__(
        self,
        db: Database,
        checkout: CheckoutService,
        triggers: Mapping[str, PlatformTrigger],
        *,
        lifecycle: UpdateSink | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._checkout = checkout
        self._lifecycle = lifecycle
        self._triggers = dict(triggers)
        self._clock = clock
        self.rejected: Counter[str] = Counter()
        self.refused_card_data: Counter[str] = Counter()

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(sorted(self._triggers))

    async def receive(self, platform: str, request: InboundRequest) -> IntakeResult:
        """Verify, translate and check out one webhook. Raises `SignatureRejected`, `ValidationFailed`."""
        trigger = self._triggers.get(platform)
        if trigger is None:
            named = "such" if contains_card_number(platform) else platform[:40]
            raise NotFound(f"No {named} integration is set up on this terminal.")
        try:
            trigger.verify(request)
        except SignatureRejected as exc:
            self.rejected[platform] += 1
            log.warning("rejected a %s webhook: %s", platform, exc.message)
            now, reason = self._clock(), exc.message
            await self._db.write(
                lambda s: audit.append(
                    s,
                    at=now,
                    actor=platform,
                    action="webhook.rejected",
                    subject=platform,
                    detail={"reason": reason},
                )
            )
            raise
        try:
            refuse_cards_in_request(request)
            events = await trigger.events(request)
            for event in events:
                refuse_cards_in_event(event)
        except NotApplicable as exc:
            return IntakeResult(platform, ignored=exc.message)
        except (CardDataRejected, InvalidSale) as exc:
            field = _card_field(exc)
            if field is not None:
                await self._refused(platform, field)
            raise
        return await self.ingest(platform, events)

    async def _refused(self, platform: str, field: str) -> None:
        """Count and audit a genuine request refused for card data: the platform and the field, never the value."""
        self.refused_card_data[platform] += 1
        log.warning("refused a %s webhook: %s looks like a full card number", platform, field)
        now = self._clock()
        await self._db.write(
            lambda s: audit.append(
                s,
                at=now,
                actor=platform,
                action="webhook.refused",
                subject=platform,
                detail={"reason": "card number", "field": field},
            )
        )

    @property
    def triggers(self) -> Mapping[str, PlatformTrigger]:
        return dict(self._triggers)

    async def ingest(self, platform: str, events: Sequence[PlatformEvent]) -> IntakeResult:
        """Hand verified events to checkout (sales) and the order lifecycle (updates), in order.

        Every event is checked for card numbers first (`CardDataRejected`): one refused, none is handed on.
        """
        for event in events:
            refuse_cards_in_event(event)
        results: list[CheckoutResult] = []
        updates: list[UpdateResult] = []
        for event in events:
            if isinstance(event, TriggerEvent):
                results.append(await self._checkout.accept(event))
            elif self._lifecycle is not None:
                updates.append(await self._lifecycle.apply(event))
            else:
                log.info("%s order %s is %s; order updates are not sent here", platform, event.order_id, event.status)
        return IntakeResult(platform, tuple(results), tuple(updates))


def _card_field(exc: CardDataRejected | InvalidSale) -> str | None:
    """The field a refusal for card data names, or None when `exc` is about something else."""
    if isinstance(exc, CardDataRejected):
        return exc.field or "(body)"
    return next((p.path for p in exc.problems if p.type == "card_number"), None)
