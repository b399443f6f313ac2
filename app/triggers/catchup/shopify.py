"""Shopify catch-up: paid orders from the REST Admin API orders list.

`GET /admin/api/<version>/orders.json?status=any&updated_at_min=<ISO 8601>&limit=250` with the
`X-Shopify-Access-Token` header (shopify.dev/docs/api/admin-rest/latest/resources/order#get-orders);
further pages come from the `Link: <...>; rel="next"` header, whose URL already carries `page_info`
and must not be given other filters (shopify.dev/docs/api/usage/pagination-rest).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import httpx

from app.domain.errors import ConfigurationError, ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.intake import parse_sale
from app.domain.plugins import SecretField, SettingField
from app.triggers.catchup.base import MAPPING_ONLY, MAX_PAGES, Poller, PollResult, Tally, latest_stamp, request_json
from app.triggers.shopify import PLATFORM, ShopifyTrigger, shopify_id

log = logging.getLogger(__name__)
API_VERSION = "2025-10"
PAGE_SIZE = 250  # the most Shopify lists per page
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def next_link(header: str | None) -> str | None:
    """The `rel="next"` URL of a Link header, if any."""
    for part in (header or "").split(","):
        match = _NEXT.search(part)
        if match:
            return match.group(1)
    return None


class ShopifyPoller(Poller):
    """Paid orders updated since a time; the event id `poll:<order id>:paid` is stable across polls."""

    platform: ClassVar[str] = PLATFORM
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("access_token", "Admin API access token"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("shop", "Shop domain (<name>.myshopify.com)"),
        SettingField("base_url", "Admin API base URL, instead of the shop's", required=False),
        SettingField("api_version", "Admin API version", required=False),
    )

    @classmethod
    def configured(cls, values: Mapping[str, str]) -> bool:
        """A `base_url` stands in for the shop."""
        return "access_token" in values and ("shop" in values or "base_url" in values)

    @classmethod
    def build(cls, http: httpx.AsyncClient, values: Mapping[str, str], *, store_id: str) -> Self:
        return cls(
            client=http,
            mapper=ShopifyTrigger(client_secret=MAPPING_ONLY, store_id=store_id),
            access_token=values["access_token"],
            base_url=values.get("base_url") or f"https://{values['shop']}",
            api_version=values.get("api_version") or API_VERSION,
        )

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        mapper: ShopifyTrigger,
        access_token: str,
        base_url: str,
        api_version: str = API_VERSION,
        page_size: int = PAGE_SIZE,
    ) -> None:
        if not access_token:
            raise ConfigurationError("Shopify catch-up: access_token is missing")
        self._client = client
        self.page_size = page_size
        self._mapper = mapper
        self._token = access_token
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version

    async def poll(self, since: datetime, *, now: datetime) -> PollResult:
        url: str | None = f"{self.base_url}/admin/api/{self.api_version}/orders.json"
        params: dict[str, str] | None = {
            "status": "any",
            "updated_at_min": since.astimezone(UTC).isoformat(),
            "limit": str(self.page_size),
        }
        headers = {"X-Shopify-Access-Token": self._token, "Accept": "application/json"}
        found = Tally()
        latest: str | None = None
        while url is not None and found.pages < MAX_PAGES:
            response, data = await request_json(
                self._client, "GET", url, platform=PLATFORM, params=params, headers=headers
            )
            orders = data.get("orders")
            if not isinstance(orders, list):
                raise ValidationFailed("Shopify orders list without `orders`", field="orders")
            found.page(orders, lambda order: self._event(order, now))
            latest = latest_stamp(orders, "updated_at", latest)
            url, params = next_link(response.headers.get("link")), None
        return found.result(latest)

    def _event(self, order: Any, now: datetime) -> TriggerEvent | None:
        if not isinstance(order, dict) or order.get("financial_status") != "paid":
            return None
        try:
            sale = parse_sale(self._mapper.sale_payload(order))
        except ValidationFailed as exc:
            log.warning("Shopify order %s cannot be a sale: %s", shopify_id(order.get("id")), exc.message)
            return None
        order_id = sale.order_id or shopify_id(order.get("id"))
        return TriggerEvent(
            source=PLATFORM, event_id=f"poll:{order_id}:paid", sale=sale, received_at=now, order_id=sale.order_id
        )
