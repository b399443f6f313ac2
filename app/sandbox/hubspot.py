"""HubSpot transactional single-send stand-in: `POST /marketing/v3/transactional/single-email/send`.

Same path, Bearer auth, request model (`PublicSingleSendRequestEgg`) and answer
(`EmailSendStatusView`: statusId, status PENDING, requestedAt, ...) as the real API
(PROVIDERS.md A11), so a real adapter works against it unchanged. A repeated `sendId` sends
nothing and answers COMPLETE / IDEMPOTENT_IGNORE (modelled on the sendResult enum; UNVERIFIED).
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Fault, Faults
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "hubspot"
SANDBOX_ACCESS_TOKEN = "sandbox-hubspot-private-app-token"  # noqa: S105 - opens only the local sandbox
SANDBOX_EMAIL_ID = "424242"
PATH = "/marketing/v3/transactional/single-email/send"
ACCOUNT_PATH = "/account-info/v3/details"
SANDBOX_PORTAL_ID = 4242424
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}")


def hubspot_error(
    status: int, category: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """A HubSpot error: JSON `{status: "error", message, correlationId, category, ...}`."""
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}
    return Response(json.dumps(body), status, headers, media_type="application/json")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def validate(payload: Any) -> list[str]:
    """What HubSpot would refuse in this body (empty when it is valid)."""
    if not isinstance(payload, dict):
        return ["Invalid input JSON: the body must be an object."]
    errors: list[str] = []
    email_id = payload.get("emailId")
    if isinstance(email_id, bool) or not isinstance(email_id, int):
        errors.append("emailId is required and must be an integer.")
    message = payload.get("message")
    if not isinstance(message, dict):
        errors.append("message is required.")
    else:
        to = message.get("to")
        if not isinstance(to, str) or not _EMAIL.fullmatch(to):
            errors.append("message.to must be a valid email address.")
        if "sendId" in message and not isinstance(message["sendId"], str):
            errors.append("message.sendId must be a string.")
        for field in ("cc", "bcc", "replyTo"):
            if field in message and not isinstance(message[field], list):
                errors.append(f"message.{field} must be an array of strings.")
    for field in ("contactProperties", "customProperties"):
        if field in payload and not isinstance(payload[field], dict):
            errors.append(f"{field} must be an object.")
    return errors


def fault_response(fault: Fault) -> Response:
    """How HubSpot answers an injected failure (429 carries its rate-limit headers)."""
    if fault.status == 429:
        headers = {
            "Retry-After": str(fault.retry_after or 0),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Max": "100",
            "X-HubSpot-RateLimit-Remaining": "0",
        }
        message = "You have reached your ten_secondly_rolling limit."
        return hubspot_error(
            429, "RATE_LIMITS", message, headers, errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING"
        )
    return hubspot_error(fault.status, "INTERNAL_ERROR", fault.phrase)


class HubSpotApi:
    """The single-send endpoint, bound to a store, a fault set and the accepted token."""

    def __init__(
        self,
        store: MessageStore,
        faults: Faults,
        access_token: str = SANDBOX_ACCESS_TOKEN,
        email_ids: frozenset[int] = frozenset({int(SANDBOX_EMAIL_ID)}),
    ) -> None:
        self.store = store
        self.faults = faults
        self.email_ids = email_ids
        self._token = access_token.encode()
        self._sent: dict[str, str] = {}  # sendId -> statusId

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("utf-8", "replace"), self._token)

    async def account_details(self, request: Request) -> Response:
        """`GET /account-info/v3/details`: the account the token belongs to."""
        if not self._authorized(request):
            text = "Authentication credentials not found. This API supports OAuth 2.0 authentication."
            return hubspot_error(401, "INVALID_AUTHENTICATION", text)
        details = {
            "portalId": SANDBOX_PORTAL_ID,
            "accountType": "STANDARD",
            "timeZone": "US/Central",
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "utcOffset": "-06:00",
            "utcOffsetMilliseconds": -21600000,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }
        return Response(json.dumps(details), 200, media_type="application/json")

    async def single_send(self, request: Request) -> Response:
        """`POST /marketing/v3/transactional/single-email/send`."""
        if not self._authorized(request):
            text = "Authentication credentials not found. This API supports OAuth 2.0 authentication."
            return hubspot_error(401, "INVALID_AUTHENTICATION", text)
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return hubspot_error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1.")
        errors = validate(payload)
        if errors:
            return hubspot_error(400, "VALIDATION_ERROR", errors[0], errors=[{"message": e} for e in errors])
        if payload["emailId"] not in self.email_ids:
            return hubspot_error(404, "OBJECT_NOT_FOUND", f"Email {payload['emailId']} not found.")
        message: dict[str, Any] = payload["message"]
        send_id = message.get("sendId")
        now = _now()
        if isinstance(send_id, str) and send_id in self._sent:
            first = self._sent[send_id]
            ignored = {"statusId": first, "status": "COMPLETE", "sendResult": "IDEMPOTENT_IGNORE", "completedAt": now}
            return Response(json.dumps({**ignored, "requestedAt": now}), 200, media_type="application/json")
        status_id = str(uuid.uuid4())
        if isinstance(send_id, str):
            self._sent[send_id] = status_id
        custom: dict[str, Any] = dict(payload.get("customProperties") or {})
        self.store.add(
            MessageRecord(
                provider=PROVIDER_ID,
                id=status_id,
                to=(message["to"],),
                from_=message.get("from"),
                template_id=str(payload["emailId"]),
                custom_args=custom,
                idempotency_key=send_id if isinstance(send_id, str) else None,
            )
        )
        view: dict[str, Any] = {
            "statusId": status_id,
            "status": "PENDING",
            "requestedAt": now,
            "eventId": {"id": secrets.token_hex(8), "created": int(time.time() * 1000)},
        }
        return Response(json.dumps(view), 200, media_type="application/json")


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The HubSpot stand-in's routes for the sandbox app."""
    api = HubSpotApi(store, faults)
    return [Route(PATH, api.single_send, methods=["POST"]), Route(ACCOUNT_PATH, api.account_details, methods=["GET"])]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The HubSpot adapter's settings and secrets for a sandbox on `sandbox_url`."""
    return api_account(sandbox_url, {"email_id": SANDBOX_EMAIL_ID}, {"access_token": SANDBOX_ACCESS_TOKEN})
