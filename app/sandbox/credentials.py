"""The credentials the sandbox accepts; the demo configures its adapters with these.

They are not secrets: they only open the local sandbox.
"""

from __future__ import annotations

TWILIO_ACCOUNT_SID = "AC5a4db0c0000000000000000000000000"
TWILIO_AUTH_TOKEN = "sandbox-twilio-auth-token"  # noqa: S105 - opens only the local sandbox
TWILIO_FROM = "+15005550006"

SENDGRID_API_KEY = "sandbox-sendgrid-api-key"
SENDGRID_FROM = "receipts@demo-market.example"
