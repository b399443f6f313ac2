"""Zapier stand-in: the "New Sale" zap's POST, as a store would configure Webhooks by Zapier.

The body is ReceiptDesk's own schema (`app/triggers/zapier.py`): `{"event_id", "store_id", "sale"}`
with the shared secret in `X-ReceiptDesk-Secret` (PROVIDERS.md B6: Zapier signs nothing).
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any, ClassVar

from app.sandbox.platforms.base import PlatformStandIn, Prepared
from app.sandbox.pos import make_sale

SANDBOX_SHARED_SECRET = "sandbox-zapier-shared-secret"  # noqa: S105 - opens only the local sandbox
SANDBOX_STORE_ID = "store-0042"


def signed_webhook(body: dict[str, Any], *, secret: str = SANDBOX_SHARED_SECRET) -> tuple[dict[str, str], bytes]:
    """Headers and JSON body of the zap's "Webhooks by Zapier" POST action."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Zapier",
        "X-ReceiptDesk-Secret": secret,
    }
    return headers, json.dumps(body).encode("utf-8")


def sample_event(
    rng: random.Random,
    *,
    event_id: str,
    sale_id: str,
    store_id: str = SANDBOX_STORE_ID,
    when: datetime | None = None,
) -> dict[str, Any]:
    """A "New Sale" body around one `make_sale` basket, e.g. from an online-order spreadsheet row."""
    sale = make_sale(rng, sale_id=sale_id, store_id=store_id, lane="web", when=when)
    return {"event_id": event_id, "store_id": store_id, "sale": sale}


class ZapierStandIn(PlatformStandIn):
    """The "New Sale" zap's POST with the shared secret."""

    platform: ClassVar[str] = "zapier"
    default_topic: ClassVar[str] = "new_sale"
    secrets: ClassVar[dict[str, str]] = {"shared_secret": SANDBOX_SHARED_SECRET}

    @classmethod
    def prepare(cls, url: str, topic: str, seed: int) -> Prepared:
        body = sample_event(random.Random(seed), event_id=f"zap-{seed}", sale_id=f"Z-{seed}")
        return Prepared(url, *signed_webhook(body), None)
