"""Zapier "New Sale" zap (`/webhooks/zapier`): a body we define, protected by a shared secret.

Zapier has no signature of its own (PROVIDERS.md B6: "Webhooks by Zapier" POST / Custom Request
action, headers and body chosen by the Zap author), so the store configures the action as:

- URL: `https://<hub>/webhooks/zapier`, method POST, Payload Type `json`, Unflatten `yes`;
- header `X-ReceiptDesk-Secret: <the secret shown in ReceiptDesk's settings>` (compared in
  constant time; no timestamp, so replays are caught by `event_id` alone);
- body (JSON Schema: `new_sale_schema()`):

      {"event_id": "<unique per sale, e.g. the Zap's source record id>",
       "store_id": "<optional; when present it must be this hub's store>",
       "sale": {<the canonical sale, exactly the POS contract of /v1/sales; store_id may be left out>}}

The sale goes straight through `parse_sale`; its `sale_id` is stored as `zapier-<sale_id>` so it
never collides with the in-store POS's own ids.
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar

from app.domain.errors import SignatureRejected, ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.inbound import InboundRequest
from app.domain.intake import parse_sale
from app.domain.plugins import SecretField
from app.domain.sale import Sale
from app.triggers.base import PlatformTrigger
from app.triggers.payload import json_object

PLATFORM = "zapier"
SECRET_HEADER = "X-ReceiptDesk-Secret"  # noqa: S105 - a header name, not a secret
MAX_EVENT_ID = 200


def new_sale_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the body a "New Sale" zap must POST."""
    sale = Sale.model_json_schema()
    defs = sale.pop("$defs", {})
    sale["required"] = [name for name in sale.get("required", []) if name != "store_id"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ReceiptDesk Zapier New Sale",
        "type": "object",
        "additionalProperties": False,
        "required": ["event_id", "sale"],
        "properties": {
            "event_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_EVENT_ID,
                "description": "Unique per sale; a repeat is recognised and ignored.",
            },
            "store_id": {"type": "string", "minLength": 1, "maxLength": 64, "description": "This hub's store."},
            "sale": sale,
        },
        "$defs": defs,
    }


class ZapierTrigger(PlatformTrigger):
    """The "New Sale" zap of one store."""

    platform: ClassVar[str] = PLATFORM
    display_name: ClassVar[str] = "Zapier"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (
        SecretField("shared_secret", "Shared secret the zap sends in X-ReceiptDesk-Secret"),
    )

    def __init__(self, *, shared_secret: str, store_id: str) -> None:
        self.require(shared_secret=shared_secret)
        super().__init__(store_id=store_id)
        self._secret = shared_secret.encode("utf-8")

    def verify(self, request: InboundRequest) -> None:
        """Constant-time equality of X-ReceiptDesk-Secret with the configured secret."""
        given = request.header(SECRET_HEADER)
        if not given or not hmac.compare_digest(given.strip().encode("utf-8", "replace"), self._secret):
            raise SignatureRejected("X-ReceiptDesk-Secret is missing or wrong")

    async def events(self, request: InboundRequest) -> list[TriggerEvent]:
        """The one sale of the body."""
        body = json_object(request.body)
        unknown = sorted(set(body) - {"event_id", "store_id", "sale"})
        if unknown:
            raise ValidationFailed(f"unexpected field {unknown[0]!r}", field=str(unknown[0]))
        event_id = body.get("event_id")
        if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > MAX_EVENT_ID:
            raise ValidationFailed("event_id must be a non-empty string of at most 200 characters", field="event_id")
        store = body.get("store_id")
        if store is not None and store != self.store_id:
            raise ValidationFailed(f"this hub is store {self.store_id}, not {store!r}", field="store_id")
        sale = body.get("sale")
        if not isinstance(sale, dict):
            raise ValidationFailed("`sale` must be the canonical sale object", field="sale")
        payload = dict(sale)
        payload.setdefault("store_id", self.store_id)
        if payload["store_id"] != self.store_id:
            raise ValidationFailed(f"this hub is store {self.store_id}", field="sale.store_id")
        if isinstance(payload.get("sale_id"), str):
            payload["sale_id"] = f"{PLATFORM}-{payload['sale_id']}"
        parsed = parse_sale(payload)
        return [
            TriggerEvent(
                source=PLATFORM,
                event_id=event_id.strip(),
                sale=parsed,
                received_at=request.received_at,
                order_id=parsed.order_id,
            )
        ]
