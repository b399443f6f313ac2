"""Stripe catch-up: `payment_intent.succeeded` events from the events list.

`GET /v1/events?type=payment_intent.succeeded&created[gte]=<unix>&limit=100`, newest first, next
page with `starting_after=<last id>` while `has_more` (docs.stripe.com/api/events/list,
docs.stripe.com/api/pagination); the secret key as a Bearer token (docs.stripe.com/api/authentication).
Each event keeps its own `evt_...` id, so an event seen by webhook and by poll dedupes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import httpx

from app.domain.errors import ConfigurationError, ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.plugins import SecretField, SettingField
from app.triggers.catchup.base import MAPPING_ONLY, MAX_PAGES, Poller, PollResult, Tally, request_json
from app.triggers.stripe import PLATFORM, StripeTrigger

log = logging.getLogger(__name__)
BASE_URL = "https://api.stripe.com"
EVENT_TYPE = "payment_intent.succeeded"
PAGE_SIZE = 100  # the most Stripe lists per page


class StripePoller(Poller):
    """Succeeded PaymentIntent events created since a time."""

    platform: ClassVar[str] = PLATFORM
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("secret_key", "Secret API key (sk_...)"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (SettingField("base_url", "API base URL", required=False),)

    @classmethod
    def build(cls, http: httpx.AsyncClient, values: Mapping[str, str], *, store_id: str) -> Self:
        mapper = StripeTrigger(signing_secret=MAPPING_ONLY, store_id=store_id)
        return cls(
            client=http, mapper=mapper, secret_key=values["secret_key"], base_url=values.get("base_url") or BASE_URL
        )

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        mapper: StripeTrigger,
        secret_key: str,
        base_url: str = BASE_URL,
        page_size: int = PAGE_SIZE,
    ) -> None:
        if not secret_key:
            raise ConfigurationError("Stripe catch-up: secret_key is missing")
        self._client = client
        self.page_size = page_size
        self._mapper = mapper
        self._key = secret_key
        self.base_url = base_url.rstrip("/")

    async def poll(self, since: datetime, *, now: datetime) -> PollResult:
        url = f"{self.base_url}/v1/events"
        params = {"type": EVENT_TYPE, "created[gte]": str(int(since.timestamp())), "limit": str(self.page_size)}
        headers = {"Authorization": f"Bearer {self._key}"}
        found = Tally()
        newest: str | None = None
        while found.pages < MAX_PAGES:
            _, data = await request_json(self._client, "GET", url, platform=PLATFORM, params=params, headers=headers)
            page = data.get("data")
            if not isinstance(page, list):
                raise ValidationFailed("Stripe list without `data`", field="data")
            found.page(page, lambda item: self._event(item, now))
            if newest is None and page and isinstance(page[0], dict):
                newest = str(page[0].get("id"))
            last = page[-1].get("id") if page and isinstance(page[-1], dict) else None
            if data.get("has_more") is not True or not isinstance(last, str):
                break
            params = {**params, "starting_after": last}
        found.events.reverse()  # oldest first, as the webhooks would have come
        return found.result(newest)

    def _event(self, event: Any, now: datetime) -> TriggerEvent | None:
        if not isinstance(event, dict) or event.get("type") != EVENT_TYPE:
            return None
        event_id, created = event.get("id"), event.get("created")
        data = event.get("data")
        intent = data.get("object") if isinstance(data, dict) else None
        if not isinstance(event_id, str) or not isinstance(created, int) or not isinstance(intent, dict):
            return None
        if intent.get("status") != "succeeded":
            return None
        try:
            sale = parse_sale(self._mapper.sale_payload(intent, datetime.fromtimestamp(created, UTC)))
        except ValidationFailed as exc:
            log.warning("Stripe event %s cannot be a sale: %s", event_id, exc.message)
            return None
        return TriggerEvent(
            source=PLATFORM, event_id=event_id.strip()[:200], sale=sale, received_at=now, order_id=sale.order_id
        )
