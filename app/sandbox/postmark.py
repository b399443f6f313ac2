"""Postmark stand-in: `POST /email` and `POST /email/withTemplate`.

Same paths, `X-Postmark-Server-Token` auth, PascalCase JSON validation, `{ErrorCode, Message}`
errors (422 for API errors, 401 for a bad token) and the success answer
`{To, SubmittedAt, MessageID, ErrorCode: 0, Message: "OK"}` (PROVIDERS.md A10), so the real
adapter and the official `postmark` SDK work against it unchanged.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Fault, Faults
from app.sandbox.outcomes import Fate, outcome_of
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageRecord, MessageStore

# --- the credentials the sandbox accepts (they open only the local sandbox) ----------------------
POSTMARK_SERVER_TOKEN = "sandbox-postmark-server-token"  # noqa: S105 - opens only the local sandbox
POSTMARK_FROM = "receipts@demo-market.example"
POSTMARK_STREAMS = ("outbound",)
INACTIVE_DOMAIN = "inactive.demo-market.example"
"""Recipients at this domain are inactive (suppressed): the send answers ErrorCode 406."""

PROVIDER_ID = "postmark"
IDEMPOTENCY_META = "receiptdesk_key"
"""The `Metadata` key recorded as the message's idempotency key."""
MAX_RECIPIENTS = 50  # To + Cc + Bcc (PROVIDERS.md A10)

_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}")


def postmark_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A Postmark error answer: `{"ErrorCode", "Message"}`."""
    return JSONResponse({"ErrorCode": code, "Message": message}, status, headers)


def _addresses(value: Any) -> list[str] | None:
    """Bare addresses of a comma-separated list (`Name <a@b>` allowed); None when one is invalid."""
    if not isinstance(value, str):
        return None
    found = []
    for item in value.split(","):
        item = item.strip()
        if "<" in item and item.endswith(">"):
            item = item[item.rindex("<") + 1 : -1]
        if not _ADDRESS.fullmatch(item):
            return None
        found.append(item)
    return found


UNKNOWN_TEMPLATE_MARK = "missing"
"""A `TemplateAlias` holding this is one the sandbox server lacks: refused with ErrorCode 1101, as Postmark
refuses a template it does not have, so the fallback to our own rendering can be exercised."""


def validate(payload: Any, *, template: bool) -> tuple[int, str] | None:
    """The (ErrorCode, Message) Postmark would answer 422 with, or None when the body is valid."""
    if not isinstance(payload, dict):
        return 402, "Received invalid JSON input."
    if _addresses(payload.get("From")) is None:
        return 300, "Invalid 'From' address."
    recipients = []
    for field in ("To", "Cc", "Bcc"):
        if payload.get(field) in (None, "") and field != "To":
            continue
        found = _addresses(payload.get(field))
        if found is None:
            return 300, f"Invalid '{field}' address."
        recipients += found
    if not recipients:
        return 300, "Zero recipients specified"
    if len(recipients) > MAX_RECIPIENTS:
        return 300, f"Maximum of {MAX_RECIPIENTS} recipients allowed."
    if template:
        if not payload.get("TemplateId") and not payload.get("TemplateAlias"):
            return 300, "Either TemplateId or TemplateAlias must be specified."
        if not isinstance(payload.get("TemplateModel", {}), dict):
            return 300, "TemplateModel must be an object."
        if UNKNOWN_TEMPLATE_MARK in str(payload.get("TemplateAlias") or ""):
            return 1101, "The Template's 'Alias' associated with this request is not valid or was not found."
    elif not payload.get("TextBody") and not payload.get("HtmlBody"):
        return 300, "Provide either email TextBody or HtmlBody or both."
    metadata = payload.get("Metadata")
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, str | int | float) for v in metadata.values())
    ):
        return 300, "Metadata must be an object of string values."
    stream = payload.get("MessageStream") or "outbound"
    if stream not in POSTMARK_STREAMS:
        return 1235, f"The message stream '{stream}' was not found."
    for attachment in payload.get("Attachments") or []:
        if not isinstance(attachment, dict) or not all(attachment.get(k) for k in ("Name", "Content", "ContentType")):
            return 300, "Attachments need Name, Content and ContentType."
    return None


def record_of(message_id: str, payload: dict[str, Any]) -> MessageRecord:
    """The store record of a validated send."""
    metadata = {str(k): v for k, v in (payload.get("Metadata") or {}).items()}
    html_length, html_sha256 = MessageRecord.digest_html(payload.get("HtmlBody"))
    template = payload.get("TemplateAlias") or payload.get("TemplateId")
    key = metadata.get(IDEMPOTENCY_META)
    return MessageRecord(
        provider=PROVIDER_ID,
        id=message_id,
        to=tuple(_addresses(payload["To"]) or ()),
        from_=payload["From"],
        subject=payload.get("Subject"),
        text=payload.get("TextBody"),
        html_length=html_length,
        html_sha256=html_sha256,
        template_id=None if template is None else str(template),
        template_data=payload.get("TemplateModel") if template is not None else None,
        custom_args=metadata,
        idempotency_key=key if isinstance(key, str) else None,
        headers={str(h.get("Name")): str(h.get("Value", "")) for h in payload.get("Headers") or () if h.get("Name")},
    )


def summary_of(record: MessageRecord) -> dict[str, Any]:
    """One entry of the outbound search's `Messages` (docs: api/messages-api#outbound-message-search)."""
    return {
        "Tag": "",
        "MessageID": record.id,
        "MessageStream": "outbound",
        "To": [{"Email": address, "Name": None} for address in record.to],
        "Cc": [],
        "Bcc": [],
        "Recipients": list(record.to),
        "ReceivedAt": record.received_at.isoformat(),
        "From": record.from_,
        "Subject": record.subject,
        "Attachments": [],
        "Status": "Sent",
        "TrackOpens": False,
        "TrackLinks": "None",
        "Metadata": dict(record.custom_args),
        "Sandboxed": False,
    }


def fault_response(fault: Fault) -> Response:
    """An injected failure in Postmark's error shape; 429 carries `Retry-After`."""
    if fault.status == 429:
        headers = {"Retry-After": str(fault.retry_after or 0)}
        return JSONResponse({"Message": "Rate limit exceeded."}, 429, headers)
    if fault.status >= 500:
        return JSONResponse({"Message": fault.phrase}, fault.status)
    return postmark_error(fault.status, 300, f"Invalid email request: {fault.phrase}")


class PostmarkApi:
    """`/email` and `/email/withTemplate`, bound to a store, a fault set and the server token."""

    def __init__(self, store: MessageStore, faults: Faults, server_token: str = POSTMARK_SERVER_TOKEN) -> None:
        self.store = store
        self.faults = faults
        self._token = server_token.encode("utf-8")

    async def email(self, request: Request) -> Response:
        """`POST /email`."""
        return await self._handle(request, template=False)

    async def email_with_template(self, request: Request) -> Response:
        """`POST /email/withTemplate`."""
        return await self._handle(request, template=True)

    def _refused(self, request: Request) -> Response | None:
        token = request.headers.get("x-postmark-server-token")
        if token is None:
            message = "No Account or Server API tokens were supplied in the HTTP headers."
            return postmark_error(401, 10, message)
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self._token):
            return postmark_error(401, 10, "The Server API Token you provided was invalid.")
        return None

    async def server(self, request: Request) -> Response:
        """`GET /server`: the settings of the server the token belongs to."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        return JSONResponse({"ID": 1, "Name": "ReceiptDesk sandbox", "Color": "blue", "DeliveryType": "Live"})

    async def outbound_search(self, request: Request) -> Response:
        """`GET /messages/outbound` (outbound message search): `count` and `offset` required, filters
        `recipient`, `tag`, `status` and one `metadata_<key>=<value>`, newest first; `fromdate` is
        accepted and, being in Eastern time on the real API, not applied (the sandbox keeps little)."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        query = request.query_params
        try:
            count, offset = int(query["count"]), int(query["offset"])
        except (KeyError, ValueError):
            return postmark_error(422, 300, "The 'count' and 'offset' parameters are required numbers.")
        if not 0 < count <= 500 or offset < 0 or count + offset > 10_000:
            return postmark_error(422, 300, "Count must be 1-500 and count + offset at most 10,000.")
        metadata = {
            name.removeprefix("metadata_"): value for name, value in query.items() if name.startswith("metadata_")
        }
        if len(metadata) > 1:
            return postmark_error(422, 300, "Only one metadata field may be searched at a time.")
        recipient = query.get("recipient")
        found = [
            summary_of(record)
            for record in reversed(self.store.messages(PROVIDER_ID))
            if all(record.custom_args.get(name) == value for name, value in metadata.items())
            and (recipient is None or recipient in record.to)
        ]
        return JSONResponse({"TotalCount": len(found), "Messages": found[offset : offset + count]})

    # --- status check: one message's details ---------------------------------------------------

    async def message_details(self, request: Request) -> Response:
        """`GET /messages/outbound/{messageid}/details`: the message's summary with its `MessageEvents`
        (a `Delivered` or `Bounced` event once a test set its fate, `app.sandbox.outcomes`); an unknown
        id is 422 with ErrorCode 701 (docs: api/messages-api#outbound-message-details)."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        message_id = request.path_params["message_id"]
        record = next((r for r in self.store.messages(PROVIDER_ID) if r.id == message_id), None)
        if record is None:
            return postmark_error(422, 701, "This message was not found.")
        events: list[dict[str, Any]] = []
        outcome = outcome_of(self.store, PROVIDER_ID, message_id)
        if outcome is not None:
            at = (outcome.at or record.received_at).isoformat()
            recipient = record.to[0] if record.to else None
            if outcome.fate is Fate.DELIVERED:
                details = {"DeliveryMessage": "smtp;250 2.0.0 OK", "DestinationServer": "mx.example"}
                events.append({"Recipient": recipient, "Type": "Delivered", "ReceivedAt": at, "Details": details})
            else:
                summary = outcome.reason or "The server was unable to deliver your message (ex: unknown user)."
                details = {"Summary": summary, "BounceID": message_id}
                events.append({"Recipient": recipient, "Type": "Bounced", "ReceivedAt": at, "Details": details})
        return JSONResponse(summary_of(record) | {"TextBody": record.text, "MessageEvents": events})

    async def _handle(self, request: Request, *, template: bool) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        if not request.headers.get("content-type", "").startswith("application/json"):
            return postmark_error(422, 409, "Please set the 'Content-Type' header to 'application/json'.")
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return postmark_error(422, 402, "Received invalid JSON input.")
        problem = validate(payload, template=template)
        if problem:
            return postmark_error(422, *problem)
        to = _addresses(payload["To"]) or []
        inactive = [a for a in to if a.lower().endswith("@" + INACTIVE_DOMAIN)]
        if inactive:
            message = (
                "You tried to send to recipient(s) that have been marked as inactive. "
                f"Found inactive addresses: {', '.join(inactive)}. Inactive recipients are ones that have "
                "generated a hard bounce, a spam complaint, or a manual suppression."
            )
            return postmark_error(422, 406, message)
        message_id = str(uuid.uuid4())
        self.store.add(record_of(message_id, payload))
        submitted = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        return JSONResponse(
            {"To": payload["To"], "SubmittedAt": submitted, "MessageID": message_id, "ErrorCode": 0, "Message": "OK"}
        )


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The Postmark routes of the sandbox app."""
    api = PostmarkApi(store, faults)
    return [
        Route("/email", api.email, methods=["POST"]),
        Route("/email/withTemplate", api.email_with_template, methods=["POST"]),
        Route("/server", api.server, methods=["GET"]),
        Route("/messages/outbound", api.outbound_search, methods=["GET"]),
        Route("/messages/outbound/{message_id}/details", api.message_details, methods=["GET"]),
    ]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Postmark adapter's settings and secrets for a sandbox on `sandbox_url`."""
    settings = {"from_email": POSTMARK_FROM, "from_name": store_name}
    return api_account(sandbox_url, settings, {"server_token": POSTMARK_SERVER_TOKEN})
