"""`receiptdesk sandbox fire PLATFORM`: the sandbox acting as a commerce platform, sending a signed webhook.

The app must be set up with the sandbox's platform secrets (`receiptdesk demo` is); the request is
built exactly as the platform would send it, so it exercises the real verification and mapping.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from app.sandbox.platforms import hubspot, shopify, stripe, toast, zapier

SHOPIFY_CLIENT_SECRET = "sandbox-shopify-client-secret"  # noqa: S105 - opens only the local sandbox
STRIPE_SIGNING_SECRET = "whsec_sandbox_signing_secret"  # noqa: S105 - opens only the local sandbox

PLATFORM_SECRETS: dict[str, dict[str, str]] = {
    "shopify": {"client_secret": SHOPIFY_CLIENT_SECRET},
    "stripe": {"signing_secret": STRIPE_SIGNING_SECRET},
    "zapier": {"shared_secret": zapier.SANDBOX_SHARED_SECRET},
    "toast": {"webhook_secret": toast.SANDBOX_WEBHOOK_SECRET},
    "hubspot": {"client_secret": hubspot.SANDBOX_CLIENT_SECRET},
}
"""The secrets the app needs to accept what the sandbox fires, by platform."""

DEFAULT_TOPIC = {
    "shopify": "orders/paid",
    "stripe": "payment_intent.succeeded",
    "zapier": "new_sale",
    "toast": "ORDER_UPDATED",
    "hubspot": "deal_closed_won",
}

Builder = Callable[[str, str, int], tuple[dict[str, str], bytes]]


def _shopify(url: str, topic: str, seed: int) -> tuple[dict[str, str], bytes]:
    return shopify.signed_webhook(topic, shopify.sample_event(topic, seed), url=url, secret=SHOPIFY_CLIENT_SECRET)


def _stripe(url: str, topic: str, seed: int) -> tuple[dict[str, str], bytes]:
    return stripe.signed_webhook(topic, stripe.sample_event(topic, seed), url=url, secret=STRIPE_SIGNING_SECRET)


def _zapier(url: str, topic: str, seed: int) -> tuple[dict[str, str], bytes]:
    body = zapier.sample_event(random.Random(seed), event_id=f"zap-{seed}", sale_id=f"Z-{seed}")
    return zapier.signed_webhook(body)


def _toast(url: str, topic: str, seed: int) -> tuple[dict[str, str], bytes]:
    return toast.signed_webhook(toast.sample_event(random.Random(seed)))


def _hubspot(url: str, topic: str, seed: int) -> tuple[dict[str, str], bytes]:
    return hubspot.signed_webhook(hubspot.sample_event(random.Random(seed), deal_id=str(9000 + seed)), url=url)


BUILDERS: dict[str, Builder] = {
    "shopify": _shopify,
    "stripe": _stripe,
    "zapier": _zapier,
    "toast": _toast,
    "hubspot": _hubspot,
}


def webhook(
    platform: str, *, app_url: str, topic: str | None = None, seed: int = 1
) -> tuple[str, dict[str, Any], bytes]:
    """(url, headers, body) of one signed webhook from `platform` to the app at `app_url`."""
    if platform not in BUILDERS:
        raise ValueError(f"the sandbox fires {', '.join(sorted(BUILDERS))}, not {platform!r}")
    url = f"{app_url.rstrip('/')}/webhooks/{platform}"
    headers, body = BUILDERS[platform](url, topic or DEFAULT_TOPIC[platform], seed)
    return url, headers, body
