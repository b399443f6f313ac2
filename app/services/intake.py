"""Sales from commerce platforms: verify the webhook, translate it, hand it to checkout.

A request whose signature does not verify changes nothing but the audit log (with the reason) and a
counter the health check shows. A payload that cannot be mapped is refused with a clear error. A
genuine event that asks for no receipt is acknowledged, so the platform stops retrying it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.clock import Clock, utcnow
from app.domain.errors import NotFound
from app.services.checkout import CheckoutResult, CheckoutService
from app.storage import audit
from app.storage.database import Database
from app.triggers.base import InboundRequest, NotApplicable, SignatureRejected, Trigger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    platform: str
    results: tuple[CheckoutResult, ...] = ()
    ignored: str | None = None  # why a genuine event asked for no receipt


class IntakeService:
    """Receives platform webhooks for the local API."""

    def __init__(
        self, db: Database, checkout: CheckoutService, triggers: Mapping[str, Trigger], *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._checkout = checkout
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
        results = [await self._checkout.accept(event) for event in events]
        return IntakeResult(platform, tuple(results))
