"""Twilio WhatsApp stand-in: the Twilio stand-in's Messages endpoint, with `whatsapp:` addresses.

WhatsApp goes through the same CreateMessage as SMS (PROVIDERS.md A1), so `app/sandbox/twilio.py`
answers it, refusing a From and To on different channels as Twilio does; this module only declares
the account the WhatsApp adapter sends with.
"""

from __future__ import annotations

from starlette.routing import Route

from app.sandbox import credentials
from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Faults
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageStore

PROVIDER_ID = "twilio_whatsapp"
CONTENT_SID = "HX" + "0" * 32
"""The approved Content Template the demo sends outside the 24-hour window (any HX SID is accepted)."""


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """None of its own: Twilio's Messages endpoint (app/sandbox/twilio.py) answers WhatsApp sends."""
    return []


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Twilio WhatsApp adapter's settings and secrets for a sandbox on `sandbox_url`."""
    settings = {
        "account_sid": credentials.TWILIO_ACCOUNT_SID,
        "from_number": credentials.TWILIO_FROM,
        "content_sid": CONTENT_SID,
    }
    return api_account(sandbox_url, settings, {"auth_token": credentials.TWILIO_AUTH_TOKEN})
