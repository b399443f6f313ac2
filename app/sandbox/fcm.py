"""FCM HTTP v1 stand-in: `POST /v1/projects/{project_id}/messages:send`.

Same path, Bearer auth (service-account tokens from `app.sandbox.oauth_tokens`, scope
firebase.messaging or cloud-platform), validation and answer (`{"name": "projects/.../messages/..."}`)
as the real API (PROVIDERS.md A15, `fcm.v1.json`), so a real adapter works against it unchanged.
Errors use `{"error": {code, message, status, details: [FcmError]}}`.

Device tokens starting with `UNREGISTERED_PREFIX` answer 404 UNREGISTERED, as a dead app install does.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Fault, Faults
from app.sandbox.oauth_tokens import GOOGLE_PROJECT_ID, TOKENS, TokenRegistry, TokenRejected, adapter_account
from app.sandbox.stand_ins import SandboxAccount
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "fcm"
IDEMPOTENCY_KEY = "receiptdesk_key"
UNREGISTERED_PREFIX = "unregistered-"
SEND_SCOPES = frozenset(
    {"https://www.googleapis.com/auth/firebase.messaging", "https://www.googleapis.com/auth/cloud-platform"}
)  # fcm.v1.json, projects.messages.send scopes
MAX_PAYLOAD_BYTES = 4096
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
MESSAGE_FIELDS = frozenset(
    {"name", "data", "notification", "android", "webpush", "apns", "fcm_options", "fcmOptions", "token", "topic"}
    | {"condition", "fid", "androidV2"}
)  # fcm.v1.json Message properties (proto JSON also takes snake_case)
TARGETS = ("token", "topic", "condition", "fid")
_DEVICE_TOKEN = re.compile(r"[A-Za-z0-9_:\-]{20,4096}")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_FCM_CODES = {400: "INVALID_ARGUMENT", 404: "UNREGISTERED", 429: "QUOTA_EXCEEDED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def fcm_error(
    status: int, message: str, fcm_code: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An FCM v1 error answer; `fcm_code` adds the FcmError detail."""
    error: dict[str, Any] = {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}
    if fcm_code:
        error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": fcm_code}]
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def fault_response(fault: Fault) -> JSONResponse:
    """How FCM answers an injected failure (429 = QUOTA_EXCEEDED, with Retry-After)."""
    headers = {"Retry-After": str(fault.retry_after or 0)} if fault.status == 429 else None
    return fcm_error(fault.status, fault.phrase, _FCM_CODES.get(fault.status), headers)


def validate(payload: Any) -> JSONResponse | None:
    """The error FCM would answer for this send body, or None when it is valid."""
    if not isinstance(payload, dict) or not isinstance(payload.get("message"), dict):
        return fcm_error(400, "Request contains an invalid argument.", "INVALID_ARGUMENT")
    message: dict[str, Any] = payload["message"]
    unknown = sorted(set(message) - MESSAGE_FIELDS)
    if unknown:
        text = f"Invalid JSON payload received. Unknown name \"{unknown[0]}\" at 'message': Cannot find field."
        return fcm_error(400, text)
    targets = [t for t in TARGETS if message.get(t)]
    if not targets:
        return fcm_error(400, "Recipient of the message is not set.", "INVALID_ARGUMENT")
    if len(targets) > 1:
        return fcm_error(
            400, f"Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set '{targets[1]}'"
        )
    token = message.get("token")
    if token is not None and (not isinstance(token, str) or not _DEVICE_TOKEN.fullmatch(token)):
        return fcm_error(400, "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT")
    data = message.get("data") or {}
    if not isinstance(data, dict):
        return fcm_error(400, "Invalid value at 'message.data' (type.googleapis.com/google.protobuf.Struct)")
    for index, (key, value) in enumerate(data.items()):
        if not isinstance(value, str):
            return fcm_error(400, f"Invalid value at 'message.data[{index}].value' (TYPE_STRING), {json.dumps(value)}")
        if key in ("from", "message_type") or key.startswith(("google.", "gcm.notification.")):
            return fcm_error(400, f"Invalid data payload key: {key}", "INVALID_ARGUMENT")
    notification = message.get("notification") or {}
    if not isinstance(notification, dict) or set(notification) - {"title", "body", "image"}:
        return fcm_error(400, "Invalid JSON payload received. Unknown name at 'message.notification'.")
    size = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in (*data.items(), *notification.items()))
    if size > MAX_PAYLOAD_BYTES:
        return fcm_error(400, "Message is too big", "INVALID_ARGUMENT")
    return None


def record_of(message_id: str, message: dict[str, Any]) -> MessageRecord:
    """The store record of a validated message."""
    notification = message.get("notification") or {}
    data: dict[str, Any] = dict(message.get("data") or {})
    key = data.get(IDEMPOTENCY_KEY)
    target = next(str(message[t]) for t in TARGETS if message.get(t))
    return MessageRecord(
        provider=PROVIDER_ID,
        id=message_id,
        to=(target,),
        from_=None,
        subject=notification.get("title"),
        body=notification.get("body"),
        custom_args=data,
        idempotency_key=key if isinstance(key, str) else None,
    )


class FcmApi:
    """`projects.messages.send`, bound to a store, a fault set, a token registry and the project id."""

    def __init__(
        self, store: MessageStore, faults: Faults, tokens: TokenRegistry = TOKENS, project_id: str = GOOGLE_PROJECT_ID
    ) -> None:
        self.store = store
        self.faults = faults
        self.tokens = tokens
        self.project_id = project_id

    async def send(self, request: Request) -> Response:
        """`POST /v1/projects/{project_id}/messages:send`."""
        try:
            token = self.tokens.verify(request.headers.get("authorization"), "google")
        except TokenRejected:
            text = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
            return fcm_error(401, text + "or other valid authentication credential.")
        project = request.path_params["project_id"]
        if not token.scopes & SEND_SCOPES or project != self.project_id:
            resource = f"//cloudresourcemanager.googleapis.com/projects/{project}"
            text = f"Permission 'cloudmessaging.messages.create' denied on resource '{resource}' (or it may not exist)."
            return fcm_error(403, text)
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return fcm_error(400, "Invalid JSON payload received.")
        error = validate(payload)
        if error is not None:
            return error
        message: dict[str, Any] = payload["message"]
        if str(message.get("token", "")).startswith(UNREGISTERED_PREFIX):
            return fcm_error(404, "Requested entity was not found.", "UNREGISTERED")
        if payload.get("validateOnly") or payload.get("validate_only"):
            return JSONResponse({"name": f"projects/{project}/messages/fake_message_id"})
        message_id = str(secrets.randbelow(10**16) + 10**15)
        self.store.add(record_of(message_id, message))
        return JSONResponse({"name": f"projects/{project}/messages/{message_id}"})


def routes(
    store: MessageStore, faults: Faults, tokens: TokenRegistry = TOKENS, *, callbacks: CallbackSender | None = None
) -> list[Route]:
    """The FCM send route, recording into `store`."""
    api = FcmApi(store, faults, tokens)
    return [Route("/v1/projects/{project_id}/messages:send", api.send, methods=["POST"])]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The adapter's settings (its API and token endpoint at `sandbox_url`) and its OAuth client secret."""
    return adapter_account(PROVIDER_ID, sandbox_url)
