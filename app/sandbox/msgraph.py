"""Microsoft Graph `sendMail` stand-in: `POST /v1.0/users/{id | userPrincipalName}/sendMail`.

Same path, Bearer auth (app-only tokens from `app.sandbox.oauth_tokens`), JSON validation and
answer (202, empty body) as the real API (PROVIDERS.md A6, `user-sendmail.md`), so a real
adapter works against it unchanged. Errors use Graph's `{"error": {code, message, innerError}}`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Fault, Faults
from app.sandbox.oauth_tokens import MS_SENDER, TOKENS, TokenRegistry, TokenRejected, adapter_account
from app.sandbox.stand_ins import SandboxAccount
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "msgraph"
IDEMPOTENCY_HEADER = "x-receiptdesk-key"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
MAX_REQUEST_BYTES = 4 * 1024 * 1024
FILE_ATTACHMENT = "#microsoft.graph.fileAttachment"
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}")
_TOKEN_PROBLEMS = {
    "missing": "Access token is empty.",
    "invalid": "IDX14100: JWT is not well formed.",
    "expired": "Lifetime validation failed, the token is expired.",
}


def graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A Graph error answer."""
    inner = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    return JSONResponse({"error": {"code": code, "message": message, "innerError": inner}}, status, headers)


def fault_response(fault: Fault) -> JSONResponse:
    """How Graph answers an injected failure (429 = mailbox concurrency throttling, with Retry-After)."""
    if fault.status == 429:
        headers = {"Retry-After": str(fault.retry_after or 0)}
        return graph_error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", headers)
    code = {500: "InternalServerError", 503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(
        fault.status, "BadRequest"
    )
    return graph_error(fault.status, code, fault.phrase)


def _recipients(value: Any) -> list[str] | None:
    """Addresses of `[{"emailAddress": {"address"}}]`, or None when malformed."""
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    addresses = []
    for item in value:
        address = item.get("emailAddress", {}).get("address") if isinstance(item, dict) else None
        if not isinstance(address, str) or not _EMAIL.fullmatch(address):
            return None
        addresses.append(address)
    return addresses


def validate(payload: Any) -> JSONResponse | None:
    """The error Graph would answer for this sendMail body, or None when it is valid."""
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        return graph_error(400, "ErrorInvalidRequest", "The message parameter is required.")
    to = _recipients(message.get("toRecipients"))
    cc = _recipients(message.get("ccRecipients"))
    bcc = _recipients(message.get("bccRecipients"))
    if to is None or cc is None or bcc is None:
        return graph_error(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
    if not (to or cc or bcc):
        return graph_error(400, "ErrorInvalidRecipients", "At least one recipient is required, but none were found.")
    body = message.get("body")
    if body is not None and (
        not isinstance(body, dict) or str(body.get("contentType", "text")).lower() not in ("text", "html")
    ):
        return graph_error(400, "RequestBodyRead", "Requested value 'body.contentType' was not found.")
    for header in message.get("internetMessageHeaders") or ():
        name = header.get("name") if isinstance(header, dict) else None
        if not isinstance(name, str) or not name.lower().startswith("x-"):
            text = f"The internet message header name '{name}' should start with 'x-' or 'X-'."
            return graph_error(400, "InvalidInternetMessageHeader", text)
    for attachment in message.get("attachments") or ():
        if not isinstance(attachment, dict) or attachment.get("@odata.type") != FILE_ATTACHMENT:
            return graph_error(400, "ErrorInvalidRequest", "Only fileAttachment is supported by this sandbox.")
        try:
            base64.b64decode(str(attachment.get("contentBytes", "")), validate=True)
        except (binascii.Error, ValueError):
            return graph_error(400, "ErrorInvalidRequest", "contentBytes is not valid base64.")
    save = payload.get("saveToSentItems")
    if save is not None and not isinstance(save, bool) and str(save).lower() not in ("true", "false"):
        return graph_error(400, "RequestBodyRead", "Cannot convert saveToSentItems to Edm.Boolean.")
    return None


_ID_FILTER = re.compile(r"internetMessageId eq '((?:[^']|'')*)'")


def record_of(message: dict[str, Any], sender: str, *, saved: bool = True) -> MessageRecord:
    """The store record of a validated sendMail message (`saved`: kept in Sent Items)."""
    body = message.get("body") or {}
    html = body.get("content") if str(body.get("contentType", "")).lower() == "html" else None
    html_length, html_sha256 = MessageRecord.digest_html(html)
    headers = {str(h["name"]).lower(): str(h.get("value", "")) for h in message.get("internetMessageHeaders") or ()}
    to = [
        a for field in ("toRecipients", "ccRecipients", "bccRecipients") for a in _recipients(message.get(field)) or ()
    ]
    return MessageRecord(
        provider=PROVIDER_ID,
        id="AAMkAD" + secrets.token_urlsafe(24),
        to=tuple(to),
        from_=sender,
        subject=message.get("subject"),
        text=body.get("content") if html is None else None,
        html_length=html_length,
        html_sha256=html_sha256,
        custom_args={
            "attachments": [a.get("name") for a in message.get("attachments") or ()],
            "internet_message_id": message.get("internetMessageId"),
            "saved_to_sent_items": saved,
        },
        idempotency_key=headers.get(IDEMPOTENCY_HEADER),
        headers={str(h["name"]): str(h.get("value", "")) for h in message.get("internetMessageHeaders") or ()},
    )


class GraphApi:
    """`sendMail`, bound to a store, a fault set, a token registry and the tenant's mailboxes."""

    def __init__(
        self,
        store: MessageStore,
        faults: Faults,
        tokens: TokenRegistry = TOKENS,
        mailboxes: frozenset[str] = frozenset({MS_SENDER}),
    ) -> None:
        self.store = store
        self.faults = faults
        self.tokens = tokens
        self.mailboxes = frozenset(m.lower() for m in mailboxes)

    async def send_mail(self, request: Request) -> Response:
        """`POST /v1.0/users/{user}/sendMail`."""
        try:
            token = self.tokens.verify(request.headers.get("authorization"), "microsoft")
        except TokenRejected as exc:
            return graph_error(401, "InvalidAuthenticationToken", _TOKEN_PROBLEMS[exc.reason])
        if GRAPH_SCOPE not in token.scopes:
            return graph_error(401, "InvalidAuthenticationToken", "Invalid audience.")
        user = request.path_params["user"]
        if user.lower() not in self.mailboxes:
            return graph_error(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        raw = await request.body()
        if len(raw) > MAX_REQUEST_BYTES:
            return graph_error(413, "RequestEntityTooLarge", "The request is larger than 4 MB.")
        try:
            payload = json.loads(raw)
        except ValueError:
            return graph_error(400, "BadRequest", "Unable to read JSON request payload.")
        error = validate(payload)
        if error is not None:
            return error
        save = payload.get("saveToSentItems", True)
        saved = save if isinstance(save, bool) else str(save).lower() == "true"
        self.store.add(record_of(payload["message"], user, saved=saved))
        return Response(status_code=202)

    async def list_messages(self, request: Request) -> Response:
        """`GET /v1.0/users/{user}/mailFolders/{folder}/messages`: Sent Items only, `$filter` with
        `internetMessageId eq '<id>'` (the one filter served), `$top`; `{"value": [...]}` as Graph answers."""
        try:
            token = self.tokens.verify(request.headers.get("authorization"), "microsoft")
        except TokenRejected as exc:
            return graph_error(401, "InvalidAuthenticationToken", _TOKEN_PROBLEMS[exc.reason])
        if GRAPH_SCOPE not in token.scopes:
            return graph_error(401, "InvalidAuthenticationToken", "Invalid audience.")
        user = request.path_params["user"]
        if user.lower() not in self.mailboxes:
            return graph_error(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        if request.path_params["folder"].lower() != "sentitems":
            return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        wanted: str | None = None
        expression = request.query_params.get("$filter")
        if expression is not None:
            match = _ID_FILTER.fullmatch(expression.strip())
            if match is None:
                return graph_error(
                    400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
                )
            wanted = match.group(1).replace("''", "'")
        try:
            top = int(request.query_params.get("$top", "10"))
        except ValueError:
            return graph_error(400, "BadRequest", "Invalid $top value.")
        found = [
            {
                "@odata.etag": 'W/"CQAAABYAAAD"',
                "id": record.id,
                "internetMessageId": record.custom_args.get("internet_message_id"),
                "sentDateTime": record.received_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            for record in self.store.messages(PROVIDER_ID)
            if record.from_ is not None
            and record.from_.lower() == user.lower()
            and record.custom_args.get("saved_to_sent_items", True)
            and (wanted is None or record.custom_args.get("internet_message_id") == wanted)
        ]
        context = f"https://graph.microsoft.com/v1.0/$metadata#users('{user}')/mailFolders('sentitems')/messages"
        return JSONResponse({"@odata.context": context, "value": found[::-1][:top]})

    async def send_mail_me(self, request: Request) -> Response:
        """`POST /v1.0/me/sendMail`: not usable with an app-only token."""
        try:
            self.tokens.verify(request.headers.get("authorization"), "microsoft")
        except TokenRejected as exc:
            return graph_error(401, "InvalidAuthenticationToken", _TOKEN_PROBLEMS[exc.reason])
        message = "/me request is only valid with delegated authentication flow."
        return graph_error(400, "BadRequest", message)


def routes(
    store: MessageStore, faults: Faults, tokens: TokenRegistry = TOKENS, *, callbacks: CallbackSender | None = None
) -> list[Route]:
    """The sendMail routes, recording into `store`."""
    api = GraphApi(store, faults, tokens)
    return [
        Route("/v1.0/me/sendMail", api.send_mail_me, methods=["POST"]),
        Route("/v1.0/users/{user}/sendMail", api.send_mail, methods=["POST"]),
        Route("/v1.0/users/{user}/mailFolders/{folder}/messages", api.list_messages, methods=["GET"]),
    ]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The adapter's settings (its API and token endpoint at `sandbox_url`) and its OAuth client secret."""
    return adapter_account(PROVIDER_ID, sandbox_url)
