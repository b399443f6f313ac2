"""Catch-up polls of the commerce platforms whose webhooks can be missed while a store is offline.

Built from the same `[platforms.<name>]` sections and secrets as the triggers: Shopify needs the
`access_token` secret and a `shop` (or `base_url`) setting, Square the `access_token` secret and a
`location_id` setting, Stripe the `secret_key` secret. A platform without them is not polled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from app.triggers.catchup.base import Poller, PollResult
from app.triggers.catchup.shopify import API_VERSION, ShopifyPoller
from app.triggers.catchup.square import SquarePoller
from app.triggers.catchup.stripe import BASE_URL as STRIPE_BASE_URL
from app.triggers.catchup.stripe import StripePoller
from app.triggers.shopify import ShopifyTrigger
from app.triggers.square import BASE_URL as SQUARE_BASE_URL
from app.triggers.square import SquareTrigger
from app.triggers.stripe import StripeTrigger

Secret = Callable[[str, str], str | None]
CATCHUP_PLATFORMS = ("shopify", "square", "stripe")
MAPPING_ONLY = "catch-up-mapping-only"  # a poller uses a trigger's mapping, never its verify()


def _poller(
    platform: str, section: Mapping[str, Any], secret: Secret, http: httpx.AsyncClient, store_id: str
) -> Poller | str:
    """The poller, or why the platform is not polled."""

    def setting(name: str) -> str | None:
        value = section.get(name)
        return str(value) if value not in (None, "") else None

    def webhook_secret(name: str) -> str:
        return secret(platform, name) or MAPPING_ONLY

    if platform == "shopify":
        token, shop = secret(platform, "access_token"), setting("shop")
        base_url = setting("base_url") or (f"https://{shop}" if shop else None)
        if not token or not base_url:
            return "not configured (needs the access_token secret and a shop setting)"
        mapper = ShopifyTrigger(client_secret=webhook_secret("client_secret"), store_id=store_id)
        version = setting("api_version") or API_VERSION
        return ShopifyPoller(client=http, mapper=mapper, access_token=token, base_url=base_url, api_version=version)
    if platform == "square":
        token, location = secret(platform, "access_token"), setting("location_id")
        if not token or not location:
            return "not configured (needs the access_token secret and a location_id setting)"
        base_url = setting("base_url") or SQUARE_BASE_URL
        square = SquareTrigger(
            signature_key=webhook_secret("signature_key"),
            store_id=store_id,
            client=http,
            access_token=token,
            base_url=base_url,
        )
        return SquarePoller(client=http, mapper=square, access_token=token, location_id=location, base_url=base_url)
    key = secret(platform, "secret_key")
    if not key:
        return "not configured (needs the secret_key secret)"
    stripe = StripeTrigger(signing_secret=webhook_secret("signing_secret"), store_id=store_id)
    return StripePoller(client=http, mapper=stripe, secret_key=key, base_url=setting("base_url") or STRIPE_BASE_URL)


def build_pollers(
    platforms: Mapping[str, Mapping[str, Any]], http: httpx.AsyncClient, secret: Secret, *, store_id: str
) -> tuple[dict[str, Poller], dict[str, str]]:
    """The poller of every catch-up platform with a `[platforms.<name>]` section, and why the others are not."""
    pollers: dict[str, Poller] = {}
    not_polled: dict[str, str] = {}
    for name in CATCHUP_PLATFORMS:
        if name not in platforms:
            continue
        built = _poller(name, platforms[name], secret, http, store_id)
        if isinstance(built, str):
            not_polled[name] = built
        else:
            pollers[name] = built
    return pollers, not_polled


__all__ = ["CATCHUP_PLATFORMS", "PollResult", "Poller", "build_pollers"]
