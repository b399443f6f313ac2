"""The demo's store app: it registers a demo loyalty member's phone for push receipts through the real
API (its own token, scope `devices:write`), then the simulated POS rings up a sale for that member
choosing push, and the receipt reaches the sandbox's FCM.

The demo's app is the stand-in for a store's loyalty app, which would call
`POST /v1/customers/devices` with the FCM registration token the Firebase SDK gave it on the phone.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from app.sandbox.pos import make_sale

DEMO_LOYALTY_ID = "DEMO-APP-0001"
"""The demo member who has the store's app."""
DEMO_APP = "ReceiptDesk Demo Market"


@dataclass(frozen=True, slots=True)
class PushDemo:
    """What the store app's part of the demo did."""

    device_id: int
    receipt_id: str
    push_deliveries: int


def device_token() -> str:
    """A registration token as FCM hands one to an app install (letters, digits, `-`, `:`, `_`)."""
    return f"demo-install:{uuid.uuid4().hex}{uuid.uuid4().hex[:16]}"


async def register_device(client: httpx.AsyncClient, app_token: str, token: str) -> int:
    """The app registers its install for the demo member; returns the device's id."""
    response = await client.post(
        "/v1/customers/devices",
        json={"loyalty_id": DEMO_LOYALTY_ID, "token": token, "platform": "android", "app": DEMO_APP},
        headers={"Authorization": f"Bearer {app_token}"},
    )
    response.raise_for_status()
    device_id: int = response.json()["id"]
    return device_id


async def ring_up_push_sale(client: httpx.AsyncClient, pos_token: str, rng: random.Random) -> dict[str, Any]:
    """The POS posts a sale for the demo member, who wants the receipt in the app."""
    sale = make_sale(rng, sale_id=f"APP-{uuid.uuid4().hex[:10].upper()}", with_customer=False)
    sale["customer"] = {"loyalty_id": DEMO_LOYALTY_ID, "name": "Sam Rivera", "channels": ["push"]}
    response = await client.post("/v1/sales", json=sale, headers={"Authorization": f"Bearer {pos_token}"})
    response.raise_for_status()
    accepted: dict[str, Any] = response.json()
    return accepted


async def run_store_app(client: httpx.AsyncClient, *, app_token: str, pos_token: str, seed: int) -> PushDemo:
    """Register the demo member's install, then ring up their sale with a push receipt."""
    device_id = await register_device(client, app_token, device_token())
    accepted = await ring_up_push_sale(client, pos_token, random.Random(seed))
    pushes = [d for d in accepted["deliveries"] if d["channel"] == "push"]
    return PushDemo(device_id, str(accepted["receipt_id"]), len(pushes))
