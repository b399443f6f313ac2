"""HubSpot stand-in: a deal-closed-won workflow webhook signed with signature v3.

Signature v3 (HubSpot "Validating requests", PROVIDERS.md-style summary in `app/triggers/hubspot.py`):
base64 HMAC-SHA256 of method + URI + body + X-HubSpot-Request-Timestamp (epoch ms), keyed by the
app's client secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from app.sandbox.platforms.base import PlatformStandIn, Prepared
from app.sandbox.pos import STORE_TZ, make_sale

SANDBOX_CLIENT_SECRET = "sandbox-hubspot-client-secret"  # noqa: S105 - opens only the local sandbox


def signed_webhook(
    body: dict[str, Any],
    *,
    url: str,
    client_secret: str = SANDBOX_CLIENT_SECRET,
    timestamp_ms: int | None = None,
    method: str = "POST",
) -> tuple[dict[str, str], bytes]:
    """Headers and body of the workflow's "Send a webhook" request to `url`."""
    raw = json.dumps(body).encode("utf-8")
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    signed = method.encode() + url.encode("utf-8") + raw + timestamp.encode()
    signature = base64.b64encode(hmac.new(client_secret.encode("utf-8"), signed, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WorkflowsWebhooksAppInstance",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": timestamp,
    }
    return headers, raw


def sample_event(rng: random.Random, *, deal_id: str, when: datetime | None = None) -> dict[str, Any]:
    """A closed-won catering deal whose amount is a `make_sale` basket total."""
    when = when or datetime.now(STORE_TZ)
    sale = make_sale(rng, sale_id=f"deal-{deal_id}", when=when, with_customer=True)
    customer = sale["customer"]
    return {
        "hs_object_id": deal_id,
        "dealname": f"Catering for {customer['name']}",
        "amount": str(Decimal(sale["total"])),
        "closedate": str(int(when.timestamp() * 1000)),
        "dealstage": "closedwon",
        "contact_email": customer.get("email"),
        "contact_phone": customer.get("phone"),
    }


class HubSpotStandIn(PlatformStandIn):
    """A deal-closed-won workflow webhook signed with signature v3."""

    platform: ClassVar[str] = "hubspot"
    default_topic: ClassVar[str] = "deal_closed_won"
    secrets: ClassVar[dict[str, str]] = {"client_secret": SANDBOX_CLIENT_SECRET}

    @classmethod
    def prepare(cls, url: str, topic: str, seed: int) -> Prepared:
        event = sample_event(random.Random(seed), deal_id=str(9000 + seed))
        return Prepared(url, *signed_webhook(event, url=url), None)
