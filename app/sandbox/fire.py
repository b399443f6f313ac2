"""`receiptdesk sandbox fire PLATFORM`: the sandbox acting as a commerce platform, sending a signed webhook.

The app must be set up with the sandbox's platform settings and secrets (`receiptdesk demo` is); the
request is built exactly as the platform would send it, so it exercises the real verification and
mapping. Where the platform's stand-in keeps orders, the order (or event) is first recorded in the
sandbox platform's store, where the app fetches it (a webhook that only names the order) and the
catch-up poll lists it; `missed=True` records it without sending the webhook, as if the store had
been offline. Each platform's part (secrets, settings, signing, sample events) is its stand-in in
`app/sandbox/platforms/`.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx

from app.sandbox import credentials
from app.sandbox.callbacks import twilio_signature
from app.sandbox.platforms.base import Prepared, SettingValue
from app.sandbox.platforms.registry import STAND_INS

PLATFORM_SECRETS: dict[str, dict[str, str]] = {name: dict(s.secrets) for name, s in STAND_INS.items()}
"""The secrets the app needs to accept what the sandbox fires, by platform."""


def platform_settings(sandbox_url: str) -> dict[str, dict[str, SettingValue]]:
    """`[platforms.*]` settings that point every platform's API (order fetches, catch-up polls) at the sandbox."""
    return {name: stand_in.settings(sandbox_url) for name, stand_in in STAND_INS.items()}


def prepare(platform: str, *, app_url: str, topic: str | None = None, seed: int = 1) -> Prepared:
    """The signed webhook from `platform` to the app at `app_url`, and the order behind it."""
    stand_in = STAND_INS.get(platform)
    if stand_in is None:
        raise ValueError(f"the sandbox fires {', '.join(sorted(STAND_INS))}, not {platform!r}")
    url = f"{app_url.rstrip('/')}/webhooks/{platform}"
    return stand_in.prepare(url, topic or stand_in.default_topic, seed)


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


TWILIO_INBOUND_PATH = "/webhooks/twilio/inbound"


def twilio_text(*, app_url: str, sender: str, body: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(url, form, headers) of Twilio's signed incoming-message webhook for a text from `sender` to the store.

    The fields Twilio posts for an SMS (twilio.com/docs/messaging/guides/webhook-request), signed with
    the Auth Token the demo gives the twilio provider.
    """
    url = app_url.rstrip("/") + TWILIO_INBOUND_PATH
    form = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "SmsSid": "",
        "AccountSid": credentials.TWILIO_ACCOUNT_SID,
        "MessagingServiceSid": "",
        "From": sender,
        "To": credentials.TWILIO_FROM,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }
    form["SmsSid"] = form["SmsMessageSid"] = form["MessageSid"]
    return url, form, {"X-Twilio-Signature": twilio_signature(url, form)}


async def fire_twilio_text(
    client: httpx.AsyncClient, *, app_url: str, sender: str, body: str
) -> tuple[list[str], bool]:
    """Send a customer's text to the app as Twilio would; the line to print and whether the app took it."""
    url, form, headers = twilio_text(app_url=app_url, sender=sender, body=body)
    response = await client.post(url, data=form, headers=headers)
    line = f"twilio text {form['MessageSid']} -> {url}: {response.status_code} {response.text[:300]}"
    return [line], response.is_success
