"""Twilio WhatsApp stand-in: the Twilio stand-in's Messages endpoint, with `whatsapp:` addresses, and
a customer who writes to the store.

WhatsApp goes through the same CreateMessage as SMS (PROVIDERS.md A1), so `app/sandbox/twilio.py`
answers it, refusing a From and To on different channels as Twilio does; this module declares the
account the WhatsApp adapter sends with, and `POST /_sandbox/twilio_whatsapp/inbound`
(`{"from": "+1...", "url": "<the app's incoming-message webhook>", "body"?}`) makes the sandbox
post Twilio's signed incoming-message webhook to `url`, as when a customer writes to the store's
WhatsApp sender (which opens their 24-hour window; docs/providers.md § B8a).
"""

from __future__ import annotations

import json
import re
import secrets

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox import credentials
from app.sandbox.callbacks import CallbackSender, twilio_signature
from app.sandbox.faults import Faults
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageStore

PROVIDER_ID = "twilio_whatsapp"
CONTENT_SID = "HX" + "0" * 32
"""The approved Content Template the demo sends outside the 24-hour window (any HX SID is accepted)."""
INBOUND_PATH = "/_sandbox/twilio_whatsapp/inbound"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


async def customer_writes(request: Request) -> Response:
    """Post Twilio's signed incoming-message webhook for a customer's message; answer the app's status."""
    try:
        given = json.loads(await request.body() or b"{}")
    except ValueError:
        given = None
    if not isinstance(given, dict):
        return JSONResponse({"error": "Send a JSON object with from and url."}, status_code=400)
    sender, url, text = given.get("from"), given.get("url"), given.get("body", "Hi")
    if not isinstance(sender, str) or not _E164.fullmatch(sender):
        return JSONResponse({"error": "from must be an E.164 number (+12175550142)."}, status_code=400)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return JSONResponse(
            {"error": "url must be the app's incoming-message webhook (http or https)."}, status_code=400
        )
    # The fields of Twilio's incoming-message request (twilio.com/docs/messaging/guides/webhook-request).
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": credentials.TWILIO_ACCOUNT_SID,
        "From": "whatsapp:" + sender,
        "To": "whatsapp:" + credentials.TWILIO_FROM,
        "Body": str(text),
        "NumMedia": "0",
        "WaId": sender.lstrip("+"),
        "ProfileName": "Sandbox customer",
        "ApiVersion": "2010-04-01",
    }
    headers = {"X-Twilio-Signature": twilio_signature(url, params)}
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(url, data=params, headers=headers)
    except httpx.HTTPError as exc:
        return JSONResponse({"error": f"The app could not be reached: {type(exc).__name__}."}, status_code=502)
    return JSONResponse({"status": answer.status_code, "message_sid": params["MessageSid"]})


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The customer's side of WhatsApp; Twilio's Messages endpoint (app/sandbox/twilio.py) answers sends."""
    return [Route(INBOUND_PATH, customer_writes, methods=["POST"])]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Twilio WhatsApp adapter's settings and secrets for a sandbox on `sandbox_url`."""
    settings = {
        "account_sid": credentials.TWILIO_ACCOUNT_SID,
        "from_number": credentials.TWILIO_FROM,
        "content_sid": CONTENT_SID,
    }
    return api_account(sandbox_url, settings, {"auth_token": credentials.TWILIO_AUTH_TOKEN})
