"""Where a lane keeps its token at the hub: `receiptdesk secrets set hub token`, or RECEIPTDESK_HUB_TOKEN.

Kept apart from the push, so a command that only reads the token starts without the push's machinery.
"""

from __future__ import annotations

from app.domain.plugins import SecretField

HUB_OWNER = "hub"
HUB_TOKEN = SecretField("token", "This lane's API token at its hub (scopes hub:sync and receipts:read)")
