"""Gmail API stand-in: `POST /gmail/v1/users/{userId}/messages/send` and `GET .../messages` (list).

Same path, Bearer auth (tokens from `app.sandbox.oauth_tokens`, scope `gmail.send` or broader),
`{"raw": base64url}` body and Message resource answer as the real API (PROVIDERS.md A5,
`gmail.v1.json`), so a real adapter works against it unchanged. Errors use Google's JSON error
shape `{"error": {code, message, errors: [{domain, reason, message}], status}}`.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import json
import secrets
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Fault, Faults
from app.sandbox.oauth_tokens import TOKENS, TokenRegistry, TokenRejected, adapter_account
from app.sandbox.stand_ins import SandboxAccount
from app.sandbox.store import MessageRecord, MessageStore, mime_headers

PROVIDER_ID = "gmail"
IDEMPOTENCY_HEADER = "X-ReceiptDesk-Key"
SEND_SCOPES = frozenset(
    {
        "https://mail.google.com/",
        "https://www.googleapis.com/auth/gmail.addons.current.action.compose",
        "https://www.googleapis.com/auth/gmail.compose",
        "https://www.googleapis.com/auth/gmail.modify",
        "https://www.googleapis.com/auth/gmail.send",
    }
)  # gmail.v1.json, users.messages.send scopes
LIST_SCOPES = frozenset(
    {
        "https://mail.google.com/",
        "https://www.googleapis.com/auth/gmail.modify",
        "https://www.googleapis.com/auth/gmail.readonly",
    }
)  # gmail.v1.json, users.messages.list scopes that allow `q` (gmail.metadata does not)
MAX_MESSAGE_BYTES = 36_700_160  # mediaUpload maxSize (gmail.v1.json)
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)


def google_error(
    status: int, message: str, reason: str, *, domain: str = "global", headers: dict[str, str] | None = None
) -> JSONResponse:
    """A Google API error answer with one `errors[]` entry."""
    error = {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
        "status": _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def fault_response(fault: Fault) -> JSONResponse:
    """How Gmail answers an injected failure (429 = per-user rate limit, with Retry-After)."""
    if fault.status == 429:
        headers = {"Retry-After": str(fault.retry_after or 0)}
        return google_error(
            429, "User-rate limit exceeded.", "userRateLimitExceeded", domain="usageLimits", headers=headers
        )
    return google_error(fault.status, fault.phrase, "backendError" if fault.status >= 500 else "failedPrecondition")


def decode_raw(raw: str) -> bytes:
    """base64url with or without padding (Gmail accepts both); raises ValueError."""
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("raw is not base64url") from exc


def _part_text(part: object) -> str | None:
    """A text part as the sender wrote it: LF line ends, without the newline MIME encoding appends."""
    if not isinstance(part, EmailMessage):
        return None
    content = part.get_content()
    return content.replace("\r\n", "\n").removesuffix("\n") if isinstance(content, str) else None


def record_of(message_id: str, mail: EmailMessage, user: str) -> MessageRecord:
    """The store record of an accepted MIME message."""
    recipients = getaddresses([str(v) for name in ("To", "Cc", "Bcc") for v in mail.get_all(name, [])])
    sender = getaddresses([str(mail.get("From", ""))])
    html = _part_text(mail.get_body(preferencelist=("html",)))
    html_length, html_sha256 = MessageRecord.digest_html(html)
    key = mail.get(IDEMPOTENCY_HEADER)
    attachments = [part.get_filename() for part in mail.iter_attachments() if isinstance(part, EmailMessage)]
    return MessageRecord(
        provider=PROVIDER_ID,
        id=message_id,
        to=tuple(addr for _, addr in recipients if addr),
        from_=sender[0][1] if sender and sender[0][1] else user,
        subject=str(mail["Subject"]) if mail["Subject"] is not None else None,
        text=_part_text(mail.get_body(preferencelist=("plain",))),
        html_length=html_length,
        html_sha256=html_sha256,
        custom_args={"message_id": str(mail.get("Message-ID", "")), "attachments": attachments},
        idempotency_key=str(key) if key is not None else None,
        headers=mime_headers(list(mail.items())),
    )


class GmailApi:
    """`users.messages.send`, bound to a store, a fault set and a token registry."""

    def __init__(self, store: MessageStore, faults: Faults, tokens: TokenRegistry = TOKENS) -> None:
        self.store = store
        self.faults = faults
        self.tokens = tokens

    async def list_messages(self, request: Request) -> Response:
        """`GET /gmail/v1/users/{userId}/messages`: `q=rfc822msgid:<id>` (the one operator served) and
        `labelIds=SENT`; the answer is `{"messages": [{id, threadId}], "resultSizeEstimate"}`, or only
        `{"resultSizeEstimate": 0}` when nothing matches, as the real API answers."""
        try:
            token = self.tokens.verify(request.headers.get("authorization"), "google")
        except TokenRejected:
            challenge = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'}
            return google_error(401, _UNAUTHENTICATED, "authError", headers=challenge)
        if not token.scopes & LIST_SCOPES:
            return google_error(403, "Request had insufficient authentication scopes.", "insufficientPermissions")
        user = request.path_params["user_id"]
        if token.subject is None or user not in ("me", token.subject):
            return google_error(403, f"Delegation denied for {token.subject}", "forbidden")
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        query = request.query_params.get("q", "")
        wanted = None
        for term in query.split():
            if term.startswith("rfc822msgid:"):
                wanted = term.removeprefix("rfc822msgid:").strip("<>")
        labels = request.query_params.getlist("labelIds")
        found = [
            {"id": record.id, "threadId": record.id}
            for record in self.store.messages(PROVIDER_ID)
            if record.from_ == token.subject
            and (wanted is None or str(record.custom_args.get("message_id", "")).strip("<>") == wanted)
            and (not labels or labels == ["SENT"])
        ]
        if not found:
            return JSONResponse({"resultSizeEstimate": 0})
        return JSONResponse({"messages": found[::-1], "resultSizeEstimate": len(found)})

    async def send(self, request: Request) -> Response:
        """`POST /gmail/v1/users/{userId}/messages/send`."""
        try:
            token = self.tokens.verify(request.headers.get("authorization"), "google")
        except TokenRejected:
            challenge = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'}
            return google_error(401, _UNAUTHENTICATED, "authError", headers=challenge)
        if not token.scopes & SEND_SCOPES:
            return google_error(403, "Request had insufficient authentication scopes.", "insufficientPermissions")
        user = request.path_params["user_id"]
        if token.subject is None:
            # A service account without delegation has no mailbox (failedPrecondition, real Gmail).
            return google_error(400, "Precondition check failed.", "failedPrecondition")
        if user not in ("me", token.subject):
            return google_error(403, f"Delegation denied for {token.subject}", "forbidden")
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        try:
            payload: Any = json.loads(await request.body())
        except ValueError:
            return google_error(400, "Invalid JSON payload received.", "parseError")
        raw = payload.get("raw") if isinstance(payload, dict) else None
        if not isinstance(raw, str) or not raw:
            text = "'raw' RFC822 payload message string or uploading message via /upload/* URL required"
            return google_error(400, text, "invalidArgument")
        try:
            data = decode_raw(raw)
        except ValueError:
            return google_error(400, "Invalid value for ByteString: raw", "invalid")
        if len(data) > MAX_MESSAGE_BYTES:
            return google_error(413, "Request payload size exceeds the limit: 36700160 bytes.", "uploadTooLarge")
        mail = BytesParser(policy=email.policy.default).parsebytes(data)
        if not isinstance(mail, EmailMessage) or not any(mail.get_all(h) for h in ("To", "Cc", "Bcc")):
            return google_error(400, "Invalid To header", "invalidArgument")
        message_id = secrets.token_hex(8)
        self.store.add(record_of(message_id, mail, token.subject))
        return JSONResponse({"id": message_id, "threadId": message_id, "labelIds": ["SENT"]})


def routes(
    store: MessageStore, faults: Faults, tokens: TokenRegistry = TOKENS, *, callbacks: CallbackSender | None = None
) -> list[Route]:
    """The Gmail send route, recording into `store`."""
    api = GmailApi(store, faults, tokens)
    return [
        Route("/gmail/v1/users/{user_id}/messages/send", api.send, methods=["POST"]),
        Route("/gmail/v1/users/{user_id}/messages", api.list_messages, methods=["GET"]),
    ]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The adapter's settings (its API and token endpoint at `sandbox_url`) and its OAuth client secret."""
    return adapter_account(PROVIDER_ID, sandbox_url)
