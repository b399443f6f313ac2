"""HubSpot workflow webhook (`/webhooks/hubspot`): a deal closed won becomes a one-line sale.

Signature v3 (developers.hubspot.com "Validating requests from HubSpot", v3): header
`X-HubSpot-Signature-v3` = base64 HMAC-SHA256, key = the app's client secret, over
`method + uri + body + timestamp`, where `uri` is the full URL HubSpot called with a fixed set of
percent-escapes decoded, and timestamp is `X-HubSpot-Request-Timestamp` (epoch milliseconds).
Requests whose timestamp is more than 5 minutes away from our clock are rejected; there is no event
id, so a replay inside that window is recognised by `deal-{hs_object_id}-{closedate}`.

Expected body — the workflow's "Send a webhook" action (POST, "Customize request body") with these
properties (anything else is ignored):

    {"hs_object_id": "12345", "dealname": "Catering order", "amount": "249.90",
     "closedate": "1733155200000" | "2024-12-02T16:00:00Z",
     "dealstage": "closedwon", "hs_is_closed_won": "true" (both optional; an open or lost deal is skipped),
     "contact_email": "...", "contact_phone": "..." (the associated contact's, optional)}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from app.domain.errors import SignatureRejected, ValidationFailed
from app.domain.events import TriggerEvent
from app.domain.inbound import InboundRequest
from app.domain.intake import parse_sale
from app.domain.plugins import SecretField
from app.triggers.base import NotApplicable, PlatformTrigger
from app.triggers.payload import epoch_ms, json_object

PLATFORM = "hubspot"
SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE = timedelta(minutes=5)
"""Replay window on X-HubSpot-Request-Timestamp, either way, against the request's `received_at`: HubSpot's
own rule for v3 (https://developers.hubspot.com/docs/api/webhooks/validating-requests; docs/providers.md)."""
# default sales-pipeline stage ids other than "closedwon"; custom pipelines use numeric ids, so the
# workflow's enrolment trigger (or `hs_is_closed_won`) is what guarantees a won deal
OPEN_OR_LOST_STAGES = frozenset(
    {
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedlost",
    }
)
# the escapes HubSpot decodes in the URI before signing (v3 validation doc)
URI_DECODES = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


def signing_uri(url: str) -> str:
    """The URL as HubSpot signs it: the listed percent-escapes decoded (either case)."""
    out = url
    for escaped, char in URI_DECODES.items():
        out = out.replace(escaped, char).replace(escaped.lower(), char)
    return out


def compute_signature(client_secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    """base64 HMAC-SHA256 over method + uri + body + timestamp."""
    message = method.upper().encode("utf-8") + signing_uri(url).encode("utf-8") + body + timestamp.encode("utf-8")
    digest = hmac.new(client_secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class HubSpotTrigger(PlatformTrigger):
    """Deals closed won, posted by a HubSpot workflow of the store's portal."""

    platform: ClassVar[str] = PLATFORM
    display_name: ClassVar[str] = "HubSpot"
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("client_secret", "App client secret"),)

    def __init__(self, *, client_secret: str, store_id: str, method: str = "POST") -> None:
        """`method` is the one the workflow action uses (InboundRequest does not carry it)."""
        self.require(client_secret=client_secret)
        super().__init__(store_id=store_id)
        self._secret = client_secret
        self.method = method.upper()

    def verify(self, request: InboundRequest) -> None:
        """Signature v3 in constant time, and a timestamp within 5 minutes of `received_at`."""
        given = request.header(SIGNATURE_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER)
        if not given or not timestamp:
            raise SignatureRejected("X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp is missing")
        try:
            sent = datetime.fromtimestamp(int(timestamp.strip()) / 1000, UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise SignatureRejected("X-HubSpot-Request-Timestamp is not epoch milliseconds") from exc
        if abs(request.received_at - sent) > MAX_AGE:
            raise SignatureRejected("the HubSpot request timestamp is more than 5 minutes old")
        expected = compute_signature(self._secret, self.method, request.url, request.body, timestamp)
        if not hmac.compare_digest(expected.encode("ascii"), given.strip().encode("utf-8", "replace")):
            raise SignatureRejected("X-HubSpot-Signature-v3 does not match the app's client secret")

    async def events(self, request: InboundRequest) -> list[TriggerEvent]:
        """The deal as a one-line sale paid in full (tender `other`)."""
        body = json_object(request.body)
        won, stage = body.get("hs_is_closed_won"), body.get("dealstage")
        if won is not None and str(won).lower() not in ("true", "1"):
            raise NotApplicable("the deal is not closed won (hs_is_closed_won)")
        if stage is not None and str(stage).lower() in OPEN_OR_LOST_STAGES:
            raise NotApplicable(f"deal stage {stage!r} is not closed won")
        deal_id, closedate = _required(body, "hs_object_id"), _required(body, "closedate")
        name, amount = _required(body, "dealname"), _required(body, "amount")
        sale: dict[str, Any] = {
            "sale_id": f"{PLATFORM}-{deal_id}",
            "store_id": self.store_id,
            "lane": "web",
            "occurred_at": _closed_at(closedate).isoformat(),
            "order_id": f"deal-{deal_id}",
            "items": [{"name": f"Deal {name}"[:200], "quantity": "1", "unit_price": amount, "line_total": amount}],
            "subtotal": amount,
            "total_savings": "0.00",
            "total": amount,
            "tenders": [{"type": "other", "amount": amount}],
        }
        email, phone = body.get("contact_email"), body.get("contact_phone")
        if email or phone:
            sale["customer"] = {"email": email or None, "phone": phone or None}
        parsed = parse_sale(sale)
        return [
            TriggerEvent(
                source=PLATFORM,
                event_id=f"deal-{deal_id}-{closedate}"[:200],
                sale=parsed,
                received_at=request.received_at,
                order_id=parsed.order_id,
            )
        ]


def _required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int | float) or str(value).strip() == "":
        raise ValidationFailed(f"the workflow body needs `{name}`", field=name)
    return str(value).strip()


def _closed_at(value: str) -> datetime:
    """HubSpot date properties come as epoch milliseconds, or ISO 8601 in some workflow tokens."""
    when = epoch_ms(value) if value.isdigit() else _iso_date(value)
    if when is None:
        raise ValidationFailed("closedate is neither epoch milliseconds nor an ISO date", field="closedate")
    return when


def _iso_date(value: str) -> datetime | None:
    """An ISO 8601 date or time; one without an offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
