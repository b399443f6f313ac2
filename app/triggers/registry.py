"""Every platform trigger ReceiptDesk ships, built from `[platforms.<name>]` settings and secrets.

Secrets (webhook signing secrets, API tokens) come from the keyring or `RECEIPTDESK_<PLATFORM>_<FIELD>`
like the providers' (`receiptdesk secrets set shopify client_secret`); the settings file holds the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from app.domain.errors import ConfigurationError
from app.triggers.base import Trigger
from app.triggers.clover import CloverTrigger
from app.triggers.hubspot import HubSpotTrigger
from app.triggers.shopify import ShopifyTrigger
from app.triggers.square import SquareTrigger
from app.triggers.stripe import StripeTrigger
from app.triggers.toast import ToastTrigger
from app.triggers.zapier import ZapierTrigger

Secret = Callable[[str, str], str | None]


def _build(
    platform: str, section: Mapping[str, Any], secret: Secret, http: httpx.AsyncClient, store_id: str
) -> Trigger:
    def need(field: str) -> str:
        value = secret(platform, field)
        if not value:
            raise ConfigurationError(
                f"{platform}: missing {field}. Store it with `receiptdesk secrets set {platform} {field}`."
            )
        return value

    def setting(field: str, default: str | None = None) -> str | None:
        value = section.get(field, default)
        return None if value is None else str(value)

    if platform == "shopify":
        return ShopifyTrigger(
            client_secret=need("client_secret"),
            store_id=store_id,
            previous_client_secret=secret(platform, "previous_client_secret"),
        )
    if platform == "square":
        return SquareTrigger(
            signature_key=need("signature_key"),
            store_id=store_id,
            client=http,
            access_token=need("access_token"),
            notification_url=setting("notification_url"),
            base_url=setting("base_url") or "https://connect.squareup.com",
        )
    if platform == "stripe":
        return StripeTrigger(signing_secret=need("signing_secret"), store_id=store_id)
    if platform == "clover":
        merchant = setting("merchant_id")
        if not merchant:
            raise ConfigurationError("clover: merchant_id is missing from [platforms.clover].")
        return CloverTrigger(
            auth_code=secret(platform, "auth_code"),
            store_id=store_id,
            client=http,
            api_token=need("api_token"),
            merchant_id=merchant,
            base_url=setting("base_url") or "https://api.clover.com",
        )
    if platform == "toast":
        return ToastTrigger(webhook_secret=need("webhook_secret"), store_id=store_id)
    if platform == "zapier":
        return ZapierTrigger(shared_secret=need("shared_secret"), store_id=store_id)
    if platform == "hubspot":
        return HubSpotTrigger(client_secret=need("client_secret"), store_id=store_id)
    raise ConfigurationError(f"Unknown platform {platform!r} in [platforms]; known: {', '.join(PLATFORMS)}.")


PLATFORMS = ("shopify", "square", "stripe", "clover", "toast", "zapier", "hubspot")


def build_triggers(
    platforms: Mapping[str, Mapping[str, Any]], http: httpx.AsyncClient, secret: Secret, *, store_id: str
) -> dict[str, Trigger]:
    """The trigger of every platform that has a `[platforms.<name>]` section."""
    return {name: _build(name, section, secret, http, store_id) for name, section in platforms.items()}
