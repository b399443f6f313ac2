"""The callbacks the sandbox's providers would send after accepting a message.

Twilio posts status callbacks (sent, then delivered or undelivered) to the message's StatusCallback,
signed with the account's Auth Token. SendGrid posts signed Event Webhook batches (processed, then
delivered or bounce) to the configured event URL. `bounce_rate` makes a share of them fail, so the
demo shows bounces and fallbacks too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections.abc import Coroutine
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.sandbox import credentials

log = logging.getLogger(__name__)

# A fixed key, so a sandbox in another process signs with the key the demo configures.
_SECRET = int.from_bytes(hashlib.sha256(b"receiptdesk sandbox event webhook").digest(), "big")
SENDGRID_SIGNING_KEY = ec.derive_private_key(_SECRET % (2**255), ec.SECP256R1())
SENDGRID_WEBHOOK_PUBLIC_KEY = base64.b64encode(
    SENDGRID_SIGNING_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


def twilio_signature(url: str, params: dict[str, str], auth_token: str = credentials.TWILIO_AUTH_TOKEN) -> str:
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


SENDING_AT_ONCE = 8
"""Callbacks posted at once; the others wait their turn here (a provider's webhooks go out a few at a
time, and thousands queued in one HTTP connection pool cost its every request a pass over them all)."""


class CallbackSender:
    """Sends provider callbacks a little after each accepted message; owns its tasks and HTTP client."""

    def __init__(self, *, delay: float = 0.4, seed: int = 0) -> None:
        self.delay = delay
        self.bounce_rate = 0.0
        self.sendgrid_event_url: str | None = None
        self._rng = random.Random(seed)
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._turns = asyncio.Semaphore(SENDING_AT_ONCE)

    def configure(self, settings: dict[str, Any]) -> None:
        """`sendgrid_event_url` (str or null), `bounce_rate` (0..1), `delay` (seconds)."""
        if "sendgrid_event_url" in settings:
            url = settings["sendgrid_event_url"]
            if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
                raise ValueError("sendgrid_event_url must be an http(s) URL or null")
            self.sendgrid_event_url = url
        if "bounce_rate" in settings:
            rate = float(settings["bounce_rate"])
            if not 0 <= rate <= 1:
                raise ValueError("bounce_rate must be between 0 and 1")
            self.bounce_rate = rate
        if "delay" in settings:
            self.delay = max(0.0, float(settings["delay"]))

    def to_dict(self) -> dict[str, Any]:
        return {"sendgrid_event_url": self.sendgrid_event_url, "bounce_rate": self.bounce_rate, "delay": self.delay}

    def twilio_message(self, sid: str, form: dict[str, str]) -> None:
        url = form.get("StatusCallback")
        if url:
            final = "undelivered" if self._rng.random() < self.bounce_rate else "delivered"
            self._spawn(self._twilio(url, sid, form, final))

    def sendgrid_message(self, message_id: str, payload: dict[str, Any]) -> None:
        if not self.sendgrid_event_url:
            return
        events: list[dict[str, Any]] = []
        now = int(time.time())
        for n, personalization in enumerate(payload.get("personalizations", [])):
            custom = {**payload.get("custom_args", {}), **personalization.get("custom_args", {})}
            for recipient in personalization.get("to", []):
                sg_id = f"{message_id}.filter{n:04d}.{secrets.token_hex(4)}"
                base = {"email": recipient.get("email"), "timestamp": now, "sg_message_id": sg_id, **custom}
                bounced = self._rng.random() < self.bounce_rate
                events.append({**base, "event": "processed", "sg_event_id": secrets.token_urlsafe(16)})
                final = (
                    {"event": "bounce", "reason": "550 5.1.1 The email account does not exist"}
                    if bounced
                    else {"event": "delivered", "response": "250 OK"}
                )
                events.append({**base, **final, "sg_event_id": secrets.token_urlsafe(16)})
        self._spawn(self._sendgrid(self.sendgrid_event_url, events))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work, name="sandbox-callback")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_connections=SENDING_AT_ONCE, max_keepalive_connections=SENDING_AT_ONCE)
            self._client = httpx.AsyncClient(timeout=10, limits=limits)
        return self._client

    async def _post(self, url: str, **kwargs: Any) -> None:
        """POST one callback in its turn; a callback the app cannot take is dropped, as a provider gives up."""
        async with self._turns:
            with contextlib.suppress(httpx.HTTPError):
                await self._http().post(url, **kwargs)

    async def _twilio(self, url: str, sid: str, form: dict[str, str], final: str) -> None:
        for status in ("sent", final):
            await asyncio.sleep(self.delay)
            params = {
                "MessageSid": sid,
                "SmsSid": sid,
                "AccountSid": credentials.TWILIO_ACCOUNT_SID,
                "From": form.get("From", ""),
                "To": form.get("To", ""),
                "MessageStatus": status,
                "SmsStatus": status,
                "ApiVersion": "2010-04-01",
            }
            if status == "undelivered":
                params["ErrorCode"] = "30003"
            await self._post(url, data=params, headers={"X-Twilio-Signature": twilio_signature(url, params)})

    async def _sendgrid(self, url: str, events: list[dict[str, Any]]) -> None:
        await asyncio.sleep(self.delay)
        body = json.dumps(events).encode() + b"\r\n"
        timestamp = str(int(time.time()))
        signature = SENDGRID_SIGNING_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers = {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }
        await self._post(url, content=body, headers=headers)
