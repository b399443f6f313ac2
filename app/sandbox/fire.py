"""`receiptdesk sandbox fire PLATFORM`: the sandbox acting as a commerce platform, sending a signed webhook.

The app must be set up with the sandbox's platform settings and secrets (`receiptdesk demo` is); the
request is built exactly as the platform would send it, so it exercises the real verification and
mapping. For Shopify, Square, Stripe and Clover the order (or event) is first recorded in the
sandbox platform's store, where the app fetches it (Square, Clover) and the catch-up poll lists it;
`missed=True` records it without sending the webhook, as if the store had been offline.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from app.sandbox.platforms import clover, hubspot, shopify, square, stripe, toast, zapier

SHOPIFY_CLIENT_SECRET = "sandbox-shopify-client-secret"  # noqa: S105 - opens only the local sandbox
STRIPE_SIGNING_SECRET = "whsec_sandbox_signing_secret"  # noqa: S105 - opens only the local sandbox

PLATFORM_SECRETS: dict[str, dict[str, str]] = {
    "shopify": {"client_secret": SHOPIFY_CLIENT_SECRET, "access_token": shopify.SANDBOX_ACCESS_TOKEN},
    "stripe": {"signing_secret": STRIPE_SIGNING_SECRET, "secret_key": stripe.SANDBOX_SECRET_KEY},
    "square": {"signature_key": square.SANDBOX_SIGNATURE_KEY, "access_token": square.SANDBOX_ACCESS_TOKEN},
    "clover": {"auth_code": clover.SANDBOX_AUTH_CODE, "api_token": clover.SANDBOX_TOKEN},
    "zapier": {"shared_secret": zapier.SANDBOX_SHARED_SECRET},
    "toast": {"webhook_secret": toast.SANDBOX_WEBHOOK_SECRET},
    "hubspot": {"client_secret": hubspot.SANDBOX_CLIENT_SECRET},
}
"""The secrets the app needs to accept what the sandbox fires, by platform."""

DEFAULT_TOPIC = {
    "shopify": "orders/paid",
    "stripe": "payment_intent.succeeded",
    "square": "order.updated",
    "clover": "UPDATE",
    "zapier": "new_sale",
    "toast": "ORDER_UPDATED",
    "hubspot": "deal_closed_won",
}


def platform_settings(sandbox_url: str) -> dict[str, dict[str, str | int | float | bool]]:
    """`[platforms.*]` settings that point every platform's API (order fetches, catch-up polls) at the sandbox."""
    return {
        "shopify": {"shop": shopify.SHOP_DOMAIN, "base_url": sandbox_url, "api_version": shopify.API_VERSION},
        "stripe": {"base_url": sandbox_url},
        "square": {"base_url": sandbox_url, "location_id": square.SANDBOX_LOCATION},
        "clover": {"base_url": sandbox_url, "merchant_id": clover.SANDBOX_MERCHANT_ID},
        "zapier": {},
        "toast": {},
        "hubspot": {},
    }


@dataclass(frozen=True, slots=True)
class Prepared:
    """One platform delivery: where and what to post, and what the platform's API keeps (if anything)."""

    url: str
    headers: dict[str, str]
    body: bytes
    stored: dict[str, Any] | None  # the order (for Stripe: the event) the sandbox platform records


Builder = Callable[[str, str, int], Prepared]


def _shopify(url: str, topic: str, seed: int) -> Prepared:
    order = shopify.sample_event(topic, seed)
    headers, body = shopify.signed_webhook(topic, order, url=url, secret=SHOPIFY_CLIENT_SECRET)
    return Prepared(url, headers, body, order if topic.startswith("orders/") else None)


def _stripe(url: str, topic: str, seed: int) -> Prepared:
    event = stripe.sample_event(topic, seed)
    headers, body = stripe.signed_webhook(topic, event, url=url, secret=STRIPE_SIGNING_SECRET)
    return Prepared(url, headers, body, event if topic == "payment_intent.succeeded" else None)


def _square(url: str, topic: str, seed: int) -> Prepared:
    order = square.sample_order(seed)
    envelope = square.sample_event(topic, seed)
    headers, body = square.signed_webhook(topic, envelope, url=url, secret=square.SANDBOX_SIGNATURE_KEY)
    return Prepared(url, headers, body, order)


def _clover(url: str, topic: str, seed: int) -> Prepared:
    order = clover.sample_order(random.Random(seed), order_id=f"SBXORDER{seed:05d}")
    headers, body = clover.signed_webhook(clover.sample_event(order["id"], kind=topic, ts_ms=int(time.time() * 1000)))
    return Prepared(url, headers, body, order)


def _zapier(url: str, topic: str, seed: int) -> Prepared:
    body = zapier.sample_event(random.Random(seed), event_id=f"zap-{seed}", sale_id=f"Z-{seed}")
    return Prepared(url, *zapier.signed_webhook(body), None)


def _toast(url: str, topic: str, seed: int) -> Prepared:
    return Prepared(url, *toast.signed_webhook(toast.sample_event(random.Random(seed))), None)


def _hubspot(url: str, topic: str, seed: int) -> Prepared:
    event = hubspot.sample_event(random.Random(seed), deal_id=str(9000 + seed))
    return Prepared(url, *hubspot.signed_webhook(event, url=url), None)


BUILDERS: dict[str, Builder] = {
    "shopify": _shopify,
    "stripe": _stripe,
    "square": _square,
    "clover": _clover,
    "zapier": _zapier,
    "toast": _toast,
    "hubspot": _hubspot,
}


def prepare(platform: str, *, app_url: str, topic: str | None = None, seed: int = 1) -> Prepared:
    """The signed webhook from `platform` to the app at `app_url`, and the order behind it."""
    if platform not in BUILDERS:
        raise ValueError(f"the sandbox fires {', '.join(sorted(BUILDERS))}, not {platform!r}")
    url = f"{app_url.rstrip('/')}/webhooks/{platform}"
    return BUILDERS[platform](url, topic or DEFAULT_TOPIC[platform], seed)


def webhook(
    platform: str, *, app_url: str, topic: str | None = None, seed: int = 1
) -> tuple[str, dict[str, Any], bytes]:
    """(url, headers, body) of one signed webhook from `platform` to the app at `app_url`."""
    prepared = prepare(platform, app_url=app_url, topic=topic, seed=seed)
    return prepared.url, prepared.headers, prepared.body


async def fire(
    client: httpx.AsyncClient,
    platform: str,
    *,
    app_url: str,
    sandbox_url: str,
    topic: str | None = None,
    seed: int = 1,
    missed: bool = False,
) -> tuple[list[str], bool]:
    """Record the order in the sandbox platform, then (unless `missed`) send the webhook.

    Returns the lines to print and whether everything succeeded. Raises `ValueError` for an unknown
    platform and `httpx.HTTPError` when the sandbox or the app cannot be reached.
    """
    prepared = prepare(platform, app_url=app_url, topic=topic, seed=seed)
    lines: list[str] = []
    ok = True
    if prepared.stored is not None:
        store_url = f"{sandbox_url.rstrip('/')}/_sandbox/platforms/{platform}/orders"
        answer = await client.post(store_url, content=json.dumps(prepared.stored).encode("utf-8"))
        ok = answer.status_code == 201
        lines.append(f"{platform} order {prepared.stored.get('id')} recorded in the sandbox: {answer.status_code}")
    elif missed:
        raise ValueError(f"the sandbox keeps no {platform} orders for a catch-up poll to find")
    if missed:
        lines.append(f"{platform} webhook not sent (missed): a catch-up poll (`receiptdesk sync`) finds the order")
        return lines, ok
    response = await client.post(prepared.url, content=prepared.body, headers=prepared.headers)
    lines.append(f"{platform} -> {prepared.url}: {response.status_code} {response.text[:300]}")
    return lines, ok and response.is_success
