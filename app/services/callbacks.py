"""Provider status callbacks: verified as each provider signs them, then handed to tracking.

A verified callback holding a full card number (in its body, or in an event id, message id or
detail read from it) is refused whole with `CardDataRejected` naming the field: none of its events
is recorded, and the log names the provider and the field only (`app.domain.card_guard`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping

from app.domain.card_guard import refuse_cards_in_request, refuse_cards_in_status
from app.domain.cards import contains_card_number
from app.domain.errors import CardDataRejected, NotFound, SignatureRejected, ValidationFailed
from app.domain.inbound import InboundRequest
from app.providers.callback_registry import CALLBACKS
from app.providers.callbacks import StatusCallbacks
from app.services.tracking import TrackingResult, TrackingService

log = logging.getLogger(__name__)


class CallbackService:
    """Checks signatures, parses, and records, through each provider's `StatusCallbacks`.

    `callbacks` holds the providers that are set up (their verifying secret is known); `registry`
    every provider whose callbacks exist, so one that is not set up refuses (and is counted, as a
    forgery is) while a provider nobody knows is not found. Rejections are counted for health.
    """

    def __init__(
        self,
        tracking: TrackingService,
        callbacks: Mapping[str, StatusCallbacks],
        *,
        registry: Mapping[str, type[StatusCallbacks]] | None = None,
    ) -> None:
        self._tracking = tracking
        self._callbacks = dict(callbacks)
        self.registry: dict[str, type[StatusCallbacks]] = dict(CALLBACKS if registry is None else registry)
        self.rejected: Counter[str] = Counter()
        self.refused_card_data: Counter[str] = Counter()

    async def receive(self, provider_id: str, request: InboundRequest) -> TrackingResult:
        """Verify, parse and record one callback request from `provider_id`.

        Raises `NotFound` for a provider without callbacks, `SignatureRejected` when the request is
        not provably from the provider (or its callbacks are not set up), `ValidationFailed` for a
        verified body that cannot be read. Nothing is recorded unless all of it succeeds.
        """
        cls = self.registry.get(provider_id)
        if cls is None:
            named = "such" if contains_card_number(provider_id) else repr(provider_id[:40])
            raise NotFound(f"No provider {named} sends status callbacks here.")
        callbacks = self._callbacks.get(provider_id)
        try:
            if callbacks is None:
                raise SignatureRejected(f"{cls.display_name} callbacks are not set up here.")
            callbacks.verify(request)
        except SignatureRejected:
            self.rejected[provider_id] += 1
            log.warning("rejected a %s callback with a bad or missing signature", provider_id)
            raise
        try:
            refuse_cards_in_request(request)
            events = callbacks.parse(request)
            for event in events:
                refuse_cards_in_status(event)
        except CardDataRejected as exc:
            self.refused_card_data[provider_id] += 1
            log.warning("refused a %s callback: %s looks like a full card number", provider_id, exc.field)
            raise
        except ValueError as exc:
            raise ValidationFailed(f"Not a {cls.display_name} status callback: {exc}") from None
        return await self._tracking.record(events)
