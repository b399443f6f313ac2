"""Clover catch-up: orders modified since a time, with their payments and refunds, from the orders list.

`GET /v3/merchants/{mId}/orders?filter=modifiedTime>=<epoch ms>&expand=...&limit=100&offset=<n>`
(docs.clover.com/dev/reference/ordergetorders; the `filter` syntax: docs.clover.com/docs/applying-filters),
the merchant API token as a Bearer token. Lists are `{"elements": [...]}`, paged by `limit`/`offset`
(default 100, at most 1000; a nested list such as an order's refunds is capped at 100:
docs.clover.com/docs/paginating-elements). Each order is mapped exactly as its webhook's fetch would be
(`CloverTrigger.order_events`): a paid order is a sale, each refund and a voided order an update, so a
refund whose notification was missed is found by the order it changed (a refund modifies its order).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Self

import httpx

from app.domain.errors import ConfigurationError, ValidationFailed
from app.domain.events import PlatformEvent
from app.domain.plugins import SecretField, SettingField
from app.triggers.catchup.base import MAPPING_ONLY, MAX_PAGES, Poller, PollResult, Tally, request_json
from app.triggers.clover import EXPAND, PLATFORM, CloverTrigger

log = logging.getLogger(__name__)
BASE_URL = "https://api.clover.com"
PAGE_SIZE = 100  # Clover's default page; nested lists (refunds, payments) stay whole below 100


class CloverPoller(Poller):
    """Orders of one merchant modified since a time; event ids `poll:<order id>[:refund:<id>|:cancelled]`."""

    platform: ClassVar[str] = PLATFORM
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("api_token", "Merchant API token"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("merchant_id", "Merchant id"),
        SettingField("base_url", "API base URL", required=False),
    )

    @classmethod
    def build(cls, http: httpx.AsyncClient, values: Mapping[str, str], *, store_id: str) -> Self:
        token, base_url = values["api_token"], values.get("base_url") or BASE_URL
        mapper = CloverTrigger(
            auth_code=MAPPING_ONLY,
            store_id=store_id,
            client=http,
            api_token=token,
            merchant_id=values["merchant_id"],
            base_url=base_url,
        )
        return cls(client=http, mapper=mapper, api_token=token, merchant_id=values["merchant_id"], base_url=base_url)

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        mapper: CloverTrigger,
        api_token: str,
        merchant_id: str,
        base_url: str = BASE_URL,
        page_size: int = PAGE_SIZE,
    ) -> None:
        for name, value in (("api_token", api_token), ("merchant_id", merchant_id)):
            if not value:
                raise ConfigurationError(f"Clover catch-up: {name} is missing")
        self._client = client
        self._mapper = mapper
        self._token = api_token
        self.merchant_id = merchant_id
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size

    async def poll(self, since: datetime, *, now: datetime) -> PollResult:
        url = f"{self.base_url}/v3/merchants/{self.merchant_id}/orders"
        headers = {"Authorization": f"Bearer {self._token}"}
        found = Tally()
        latest: int | None = None
        offset = 0
        while found.pages < MAX_PAGES:
            params = {
                "filter": f"modifiedTime>={int(since.timestamp() * 1000)}",
                "expand": EXPAND,
                "limit": str(self.page_size),
                "offset": str(offset),
            }
            _, data = await request_json(self._client, "GET", url, platform=PLATFORM, params=params, headers=headers)
            orders = data.get("elements", [])
            if not isinstance(orders, list):
                raise ValidationFailed("Clover order list with a non-list `elements`", field="elements")
            found.page_of_many(orders, lambda order: self._events(order, now))
            for order in orders:
                stamp = order.get("modifiedTime") if isinstance(order, dict) else None
                if isinstance(stamp, int) and not isinstance(stamp, bool) and (latest is None or stamp > latest):
                    latest = stamp
            if len(orders) < self.page_size:
                break
            offset += len(orders)
        return found.result(None if latest is None else str(latest))

    def _events(self, order: Any, now: datetime) -> list[PlatformEvent]:
        if not isinstance(order, dict) or not isinstance(order.get("id"), str):
            return []
        try:
            return self._mapper.order_events(order, event_id=f"poll:{order['id']}"[:160], received_at=now)
        except ValidationFailed as exc:
            log.warning("Clover order %s cannot be read: %s", order.get("id"), exc.message)
            return []
