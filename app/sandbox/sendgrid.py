"""SendGrid Mail Send v3 stand-in: `POST /v3/mail/send`.

Same path, Bearer auth, JSON validation (sendgrid-oai `SendMail`, PROVIDERS.md A2) and answer
(202, empty body, `X-Message-Id`) as the real API, so a real adapter works against it unchanged.
"""

from __future__ import annotations

import gzip
import hmac
import json
import re
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.sandbox import credentials
from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Fault, Faults
from app.sandbox.outcomes import Fate, Outcome, outcome_of
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "sendgrid"
IDEMPOTENCY_ARG = "receiptdesk_key"
"""The `custom_args` key recorded as the message's idempotency key."""
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
UNKNOWN_TEMPLATE_MARK = "missing"
"""A `template_id` holding this is one the sandbox account lacks: refused as SendGrid refuses a template id that
is not the account's (400 on `template_id`), so the fallback to our own rendering can be exercised."""
SCOPES = ("mail.send", "user.profile.read")
"""What the sandbox key may do, as `GET /v3/scopes` lists it: a key made for sending receipts."""

_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message."
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}")
_FROM_REQUIRED = (
    "The from object must be provided for every email send. It is an object that requires the email "
    'parameter, but may also contain a name parameter.  e.g. {"email" : "example@example.com"}  or '
    '{"email" : "example@example.com", "name" : "Example Recipient"}.'
)
_SUBJECT_REQUIRED = (
    "The subject is required. You can get around this requirement if you use a template with a subject "
    "defined or if every personalization has a subject defined."
)
_CONTENT_REQUIRED = (
    "Unless a valid template_id is provided, the content parameter is required. There must be at least "
    "one defined content block. We typically suggest both text/plain and text/html blocks are included, "
    "but only one block is required."
)

Error = dict[str, str | None]


def _error(message: str, field: str | None = None, help_anchor: str | None = None) -> Error:
    return {"message": message, "field": field, "help": _HELP + help_anchor if help_anchor else None}


def sendgrid_errors(status: int, errors: list[Error], headers: dict[str, str] | None = None) -> Response:
    """A SendGrid error response: JSON `{"errors": [{message, field, help}]}`."""
    return Response(json.dumps({"errors": errors}), status, headers, media_type="application/json")


def _valid_email(value: Any) -> bool:
    return isinstance(value, str) and _EMAIL.fullmatch(value) is not None


def _check_addresses(value: Any, field: str, errors: list[Error], *, required: bool) -> int:
    """Validate a list of `{email, name?}`; return how many addresses it holds."""
    if value is None and not required:
        return 0
    if not isinstance(value, list) or (required and not value):
        message = (
            "The to array is required for all personalization objects, and must have at least one email "
            "object with a valid email address."
            if required
            else "This field must be an array of email objects."
        )
        errors.append(_error(message, field, "personalizations.to" if required else None))
        return 0
    for index, address in enumerate(value):
        if not isinstance(address, dict) or not _valid_email(address.get("email")):
            errors.append(_error("Does not contain a valid address.", f"{field}.{index}.email"))
    return len(value)


def _check_custom_args(value: Any, field: str, errors: list[Error]) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        errors.append(_error("custom_args must be an object of string values.", field, "custom_args"))
        return
    for key, item in value.items():
        if not isinstance(item, str):
            errors.append(_error(f"Invalid type. Expected: string, given: {type(item).__name__}.", f"{field}.{key}"))


def _check_personalizations(payload: dict[str, Any], errors: list[Error]) -> None:
    personalizations = payload.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(
            _error(
                "The personalizations field is required and must have at least one personalization.",
                "personalizations",
                "personalizations",
            )
        )
        return
    if len(personalizations) > MAX_PERSONALIZATIONS:
        errors.append(_error("You may not have more than 1000 personalizations per API request.", "personalizations"))
    recipients = 0
    for index, item in enumerate(personalizations):
        field = f"personalizations.{index}"
        if not isinstance(item, dict):
            errors.append(_error("Each personalization must be an object.", field, "personalizations"))
            continue
        recipients += _check_addresses(item.get("to"), f"{field}.to", errors, required=True)
        recipients += _check_addresses(item.get("cc"), f"{field}.cc", errors, required=False)
        recipients += _check_addresses(item.get("bcc"), f"{field}.bcc", errors, required=False)
        _check_custom_args(item.get("custom_args"), f"{field}.custom_args", errors)
    if recipients > MAX_RECIPIENTS:
        errors.append(_error("The total number of recipients must be less than 1000.", "personalizations"))


def _check_content(payload: dict[str, Any], errors: list[Error]) -> None:
    content = payload.get("content")
    if content is None and payload.get("template_id"):
        return
    if not isinstance(content, list) or not content:
        errors.append(_error(_CONTENT_REQUIRED, "content", "content"))
        return
    types: list[str] = []
    for index, block in enumerate(content):
        block = block if isinstance(block, dict) else {}
        kind, value = block.get("type"), block.get("value")
        if not isinstance(kind, str) or not kind or ";" in kind or "\n" in kind:
            errors.append(_error("The content type cannot contain ';', or CRLF characters.", f"content.{index}.type"))
        else:
            types.append(kind)
        if not isinstance(value, str) or not value:
            errors.append(
                _error("The content value must be a string at least one character in length.", f"content.{index}.value")
            )
    expected = [kind for kind in ("text/plain", "text/html") if kind in types]
    if types[: len(expected)] != expected:
        errors.append(
            _error(
                "If present, text/plain and text/html may only be provided in that order, before any other content.",
                "content",
                "content",
            )
        )


def validate(payload: Any) -> list[Error]:
    """Every error SendGrid would report for this mail/send body (empty when it is valid)."""
    if not isinstance(payload, dict):
        return [_error("Bad Request", None)]
    errors: list[Error] = []
    _check_personalizations(payload, errors)
    sender = payload.get("from")
    if not isinstance(sender, dict) or "email" not in sender:
        errors.append(_error(_FROM_REQUIRED, "from.email", "from"))
    elif not _valid_email(sender["email"]):
        errors.append(_error("The from email does not contain a valid address.", "from.email", "from"))
    template_id = payload.get("template_id")
    if template_id is not None and (not isinstance(template_id, str) or not template_id):
        errors.append(_error("The template_id must be a non-empty string.", "template_id", "template_id"))
    if isinstance(template_id, str) and UNKNOWN_TEMPLATE_MARK in template_id:
        message = f"The template id must be a valid template id for your account. You provided {template_id}"
        errors.append(_error(message, "template_id", "template_id"))
    if not template_id:
        personalizations = payload.get("personalizations")
        every_has_subject = isinstance(personalizations, list) and all(
            isinstance(item, dict) and item.get("subject") for item in personalizations
        )
        subject = payload.get("subject")
        if not (isinstance(subject, str) and subject) and not every_has_subject:
            errors.append(_error(_SUBJECT_REQUIRED, "subject", "subject"))
    _check_content(payload, errors)
    _check_custom_args(payload.get("custom_args"), "custom_args", errors)
    if payload.get("reply_to") is not None and payload.get("reply_to_list") is not None:
        errors.append(_error("The reply_to and reply_to_list properties are mutually exclusive.", "reply_to"))
    return errors


def record_of(message_id: str, payload: dict[str, Any]) -> MessageRecord:
    """The store record of a validated mail/send body."""
    personalizations: list[dict[str, Any]] = payload["personalizations"]
    custom_args: dict[str, Any] = dict(payload.get("custom_args") or {})
    for item in personalizations:
        custom_args.update(item.get("custom_args") or {})
    parts = {block["type"]: block["value"] for block in reversed(payload.get("content") or [])}
    html_length, html_sha256 = MessageRecord.digest_html(parts.get("text/html"))
    key = custom_args.get(IDEMPOTENCY_ARG)
    return MessageRecord(
        provider=PROVIDER_ID,
        id=message_id,
        to=tuple(address["email"] for item in personalizations for address in item["to"]),
        from_=payload["from"]["email"],
        subject=payload.get("subject") or personalizations[0].get("subject"),
        text=parts.get("text/plain"),
        html_length=html_length,
        html_sha256=html_sha256,
        template_id=payload.get("template_id"),
        template_data=personalizations[0].get("dynamic_template_data") if payload.get("template_id") else None,
        custom_args=custom_args,
        idempotency_key=key if isinstance(key, str) else None,
        headers={str(k): str(v) for k, v in (payload.get("headers") or {}).items()},
    )


_UNIQUE_ARG = re.compile(r"unique_args\['([^']+)'\]\s*=\s*\"((?:[^\"\\]|\\.)*)\"")


def activity_of(record: MessageRecord) -> dict[str, Any]:
    """One entry of the Email Activity `messages` list (docs: email-activity/filter-all-messages)."""
    return {
        "from_email": record.from_,
        "msg_id": f"{record.id}.filterdrecv-0-1-1",
        "subject": record.subject,
        "to_email": record.to[0] if record.to else None,
        "status": "delivered",
        "opens_count": 0,
        "clicks_count": 0,
        "last_event_time": record.received_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def with_fate(activity: dict[str, Any], outcome: Outcome | None) -> dict[str, Any]:
    """The status check's view: a message whose fate a test set (`app.sandbox.outcomes`) is `delivered`
    or `not_delivered` (a bounce or a failure); the others stay as `activity_of` shows them."""
    if outcome is None:
        return activity
    return activity | {"status": "delivered" if outcome.fate is Fate.DELIVERED else "not_delivered"}


def fault_response(fault: Fault) -> Response:
    """How SendGrid answers an injected failure (429 carries rate-limit headers)."""
    if fault.status == 429:
        retry_after = fault.retry_after or 0
        headers = {
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": "600",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + retry_after),
        }
        return sendgrid_errors(429, [{"field": None, "message": "too many requests"}], headers)
    return sendgrid_errors(fault.status, [_error(fault.phrase)])


class SendGridApi:
    """The mail/send endpoint, bound to a store, a fault set and the accepted API key."""

    def __init__(
        self,
        store: MessageStore,
        faults: Faults,
        api_key: str = credentials.SENDGRID_API_KEY,
        callbacks: CallbackSender | None = None,
    ) -> None:
        self.store = store
        self.faults = faults
        self.callbacks = callbacks
        self._key = api_key.encode("utf-8")

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        good_token = hmac.compare_digest(token.strip().encode("utf-8", "replace"), self._key)
        return scheme.lower() == "bearer" and good_token

    async def scopes(self, request: Request) -> Response:
        """`GET /v3/scopes` (ListScope): the permissions of the key it is called with."""
        if not self._authorized(request):
            message = "The provided authorization grant is invalid, expired, or revoked"
            return sendgrid_errors(401, [{"message": message, "field": None, "help": None}])
        return Response(json.dumps({"scopes": list(SCOPES)}), 200, media_type="application/json")

    async def messages(self, request: Request) -> Response:
        """`GET /v3/messages` (Email Activity, filter all messages): the `unique_args['name']="value"`
        query (the one query type served; several joined by AND) over recorded sends, newest first."""
        if not self._authorized(request):
            message = "The provided authorization grant is invalid, expired, or revoked"
            return sendgrid_errors(401, [{"message": message, "field": None, "help": None}])
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        query = request.query_params.get("query", "")
        wanted: dict[str, str] = {}
        for term in (t.strip() for t in query.split(" AND ") if t.strip()):
            match = _UNIQUE_ARG.fullmatch(term)
            if match is None:
                return sendgrid_errors(400, [_error(f"invalid query: {term}", "query")])
            wanted[match.group(1)] = match.group(2).replace('\\"', '"').replace("\\\\", "\\")
        try:
            limit = int(request.query_params.get("limit", "10"))
        except ValueError:
            return sendgrid_errors(400, [_error("limit must be a number", "limit")])
        found = [
            with_fate(activity_of(record), outcome_of(self.store, PROVIDER_ID, record.id))
            for record in reversed(self.store.messages(PROVIDER_ID))
            if all(record.custom_args.get(name) == value for name, value in wanted.items())
        ]
        return Response(json.dumps({"messages": found[:limit]}), 200, media_type="application/json")

    async def mail_send(self, request: Request) -> Response:
        """`POST /v3/mail/send` (SendMail)."""
        if not self._authorized(request):
            message = "The provided authorization grant is invalid, expired, or revoked"
            return sendgrid_errors(401, [{"message": message, "field": None, "help": None}])
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        if not request.headers.get("content-type", "").startswith("application/json"):
            return sendgrid_errors(400, [_error("Content-Type should be application/json.", None)])
        raw = await request.body()
        try:
            if request.headers.get("content-encoding", "") == "gzip":
                raw = gzip.decompress(raw)
            payload = json.loads(raw)
        except (ValueError, OSError, EOFError):
            return sendgrid_errors(400, [_error("The request body could not be parsed as JSON.", None)])
        errors = validate(payload)
        if errors:
            return sendgrid_errors(400, errors)
        message_id = secrets.token_urlsafe(16)
        self.store.add(record_of(message_id, payload))
        if self.callbacks is not None:
            self.callbacks.sendgrid_message(message_id, payload)
        return Response(status_code=202, headers={"X-Message-Id": message_id})


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The Mail Send endpoint and the key's scopes; Event Webhook batches go through `callbacks`."""
    api = SendGridApi(store, faults, callbacks=callbacks)
    return [
        Route("/v3/mail/send", api.mail_send, methods=["POST"]),
        Route("/v3/scopes", api.scopes, methods=["GET"]),
        Route("/v3/messages", api.messages, methods=["GET"]),
    ]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The SendGrid adapter's settings and secrets for a sandbox on `sandbox_url`."""
    settings = {"from_email": credentials.SENDGRID_FROM, "from_name": store_name}
    return api_account(sandbox_url, settings, {"api_key": credentials.SENDGRID_API_KEY})
