"""Square catch-up: COMPLETED orders from the Orders API search.

`POST /v2/orders/search` with `location_ids`, `query.filter.date_time_filter.updated_at.start_at`,
`query.filter.state_filter.states` and `query.sort` on `UPDATED_AT` (the sort field must be the
filtered timestamp), pages by `cursor` with the same query
(developer.squareup.com/reference/square/orders/search-orders); headers `Authorization: Bearer
<access token>` and `Square-Version` (developer.squareup.com/docs/build-basics/access-tokens).
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
from app.triggers.catchup.base import MAPPING_ONLY, MAX_PAGES, Poller, PollResult, Tally, latest_stamp, request_json
from app.triggers.square import BASE_URL, PLATFORM, SQUARE_VERSION, SquareTrigger

log = logging.getLogger(__name__)
PAGE_SIZE = 500  # Square's default page size for SearchOrders (max 1000)


class SquarePoller(Poller):
    """COMPLETED orders of one location updated since a time; event id `poll:<order id>:paid`."""

    platform: ClassVar[str] = PLATFORM
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("access_token", "Access token"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("location_id", "Location whose orders are polled"),
        SettingField("base_url", "API base URL", required=False),
    )

    @classmethod
    def build(cls, http: httpx.AsyncClient, values: Mapping[str, str], *, store_id: str) -> Self:
        token, base_url = values["access_token"], values.get("base_url") or BASE_URL
        mapper = SquareTrigger(
            signature_key=MAPPING_ONLY, store_id=store_id, client=http, access_token=token, base_url=base_url
        )
        return cls(client=http, mapper=mapper, access_token=token, location_id=values["location_id"], base_url=base_url)

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        mapper: SquareTrigger,
        access_token: str,
        location_id: str,
        base_url: str,
        square_version: str = SQUARE_VERSION,
        page_size: int = PAGE_SIZE,
    ) -> None:
        for name, value in (("access_token", access_token), ("location_id", location_id)):
            if not value:
                raise ConfigurationError(f"Square catch-up: {name} is missing")
        self._client = client
        self.page_size = page_size
        self._mapper = mapper
        self._token = access_token
        self.location_id = location_id
        self.base_url = base_url.rstrip("/")
        self.square_version = square_version

    def query(self, since: datetime) -> dict[str, Any]:
        """The SearchOrders query; every page repeats it unchanged."""
        start = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return {
            "filter": {
                "date_time_filter": {"updated_at": {"start_at": start}},
                "state_filter": {"states": ["COMPLETED"]},
            },
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        }

    async def poll(self, since: datetime, *, now: datetime) -> PollResult:
        url = f"{self.base_url}/v2/orders/search"
        headers = {"Authorization": f"Bearer {self._token}", "Square-Version": self.square_version}
        body: dict[str, Any] = {"location_ids": [self.location_id], "query": self.query(since), "limit": self.page_size}
        found = Tally()
        latest: str | None = None
        while found.pages < MAX_PAGES:
            _, data = await request_json(self._client, "POST", url, platform=PLATFORM, json=body, headers=headers)
            orders = data.get("orders", [])  # an empty result is `{}`
            if not isinstance(orders, list):
                raise ValidationFailed("Square search answer with a non-list `orders`", field="orders")
            found.page(orders, lambda order: self._event(order, now))
            latest = latest_stamp(orders, "updated_at", latest)
            cursor = data.get("cursor")
            if not isinstance(cursor, str) or not cursor:
                break
            body = {**body, "cursor": cursor}
        return found.result(latest)

    def _event(self, order: Any, now: datetime) -> TriggerEvent | None:
        if not isinstance(order, dict) or order.get("state") != "COMPLETED":
            return None
        try:
            sale = parse_sale(self._mapper.sale_payload(order, {}, fallback_time=order.get("updated_at")))
        except ValidationFailed as exc:
            log.warning("Square order %s cannot be a sale: %s", order.get("id"), exc.message)
            return None
        return TriggerEvent(
            source=PLATFORM,
            event_id=f"poll:{order.get('id')}:paid"[:200],
            sale=sale,
            received_at=now,
            order_id=sale.order_id,
        )
