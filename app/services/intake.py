"""Sales from commerce platforms: verify the webhook, translate it, hand it to checkout.

A request whose signature does not verify changes nothing but the audit log (with the reason) and a
counter the health check shows. A payload that cannot be mapped is refused with a clear error. A
genuine event that asks for no receipt is acknowledged, so the platform stops retrying it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.domain.clock import Clock, utcnow
from app.domain.errors import NotFound, SignatureRejected
from app.domain.events import PlatformEvent, TriggerEvent
from app.domain.inbound import InboundRequest
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

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(sorted(self._triggers))

    async def receive(self, platform: str, request: InboundRequest) -> IntakeResult:
        """Verify, translate and check out one webhook. Raises `SignatureRejected`, `ValidationFailed`."""
        trigger = self._triggers.get(platform)
        if trigger is None:
            raise NotFound(f"No {platform} integration is set up on this terminal.")
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
            events = await trigger.events(request)
        except NotApplicable as exc:
            return IntakeResult(platform, ignored=exc.message)
        return await self.ingest(platform, events)

    @property
    def triggers(self) -> Mapping[str, PlatformTrigger]:
        return dict(self._triggers)

    async def ingest(self, platform: str, events: Sequence[PlatformEvent]) -> IntakeResult:
        """Hand verified events to checkout (sales) and the order lifecycle (updates), in order."""
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
