"""Amazon SES v2 stand-in: `POST /v2/email/outbound-emails` (SendEmail).

Checks the AWS Signature V4 with the same signer the adapter uses, validates the body against
the sesv2 model's rules, answers `{"MessageId"}` and reports errors the AWS rest-json way
(`x-amzn-ErrorType` header plus `{"message"}`), so the real adapter and boto3 work against it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
import uuid
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses, parseaddr
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Fault, Faults
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageRecord, MessageStore, mime_headers
from app.support import sigv4  # the adapter's own signer: one implementation to trust

# --- the credentials the sandbox accepts (they open only the local sandbox) ----------------------
SES_ACCESS_KEY_ID = "AKIDSANDBOX0000000000"
SES_SECRET_ACCESS_KEY = "sandbox-ses-secret"  # noqa: S105 - opens only the local sandbox
SES_REGION = "us-east-1"
SES_FROM = "receipts@demo-market.example"
SES_VERIFIED_DOMAINS = ("demo-market.example",)
"""Senders must be on a verified domain, as in a real SES account."""

PROVIDER_ID = "ses"
IDEMPOTENCY_TAG = "receiptdesk_key"
"""The `EmailTags` name recorded as the message's idempotency key."""
MAX_CLOCK_SKEW_S = 300  # AWS refuses a signature dated more than 5 minutes off
MAX_RECIPIENTS = 50

_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")
_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}")
_CORAL = ":http://internal.amazon.com/coral/com.amazonaws.sesv2/"


def aws_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """An AWS rest-json error: `x-amzn-ErrorType` names it, the body carries `message`."""
    all_headers = {"x-amzn-ErrorType": code + _CORAL, "x-amzn-RequestId": str(uuid.uuid4()), **(headers or {})}
    return JSONResponse({"message": message}, status, all_headers)


def check_signature(request: Request, body: bytes, *, now: datetime | None = None) -> Response | None:
    """The 403 AWS would answer for this request's signature, or None when it is good."""
    header = request.headers.get("authorization")
    if not header:
        return aws_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    auth = sigv4.parse_authorization(header)
    if auth is None:
        return aws_error(403, "IncompleteSignatureException", "Authorization header requires valid SigV4 parts.")
    if auth.access_key_id != SES_ACCESS_KEY_ID:
        return aws_error(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
    if auth.region != SES_REGION or auth.service != "ses":
        message = (
            f"Credential should be scoped to a valid region and to service 'ses', not '{auth.region}/{auth.service}'."
        )
        return aws_error(403, "InvalidSignatureException", message)
    stamp = request.headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, sigv4.TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return aws_error(403, "IncompleteSignatureException", "X-Amz-Date is missing or malformed.")
    if abs(((now or datetime.now(UTC)) - signed_at).total_seconds()) > MAX_CLOCK_SKEW_S:
        return aws_error(403, "InvalidSignatureException", f"Signature expired: {stamp} is outside the 5 min window.")
    headers = {name: value for name, value in request.headers.items()}
    path, query = request.scope["path"], request.scope["query_string"].decode("latin-1")
    if not sigv4.verify(request.method, path, query, headers, body, auth=auth, secret_access_key=SES_SECRET_ACCESS_KEY):
        message = (
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        )
        return aws_error(403, "InvalidSignatureException", message)
    return None


def _valid_list(value: Any) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, str) and _ADDRESS.search(a) for a in value):
        return None
    return value


def parse_raw(data: Any) -> EmailMessage | None:
    """The MIME message of `Content.Raw.Data` (base64), or None when it is not one."""
    try:
        raw = base64.b64decode(data, validate=True) if isinstance(data, str) else b""
    except (binascii.Error, ValueError):
        return None
    parsed = message_from_bytes(raw, policy=default)
    return parsed if isinstance(parsed, EmailMessage) and raw and parsed.get("From") else None


def validate(payload: Any) -> tuple[str, str] | None:
    """The (error code, message) SES would answer 400 with, or None when the body is valid."""
    if not isinstance(payload, dict):
        return "SerializationException", "Start of structure or map found where not expected."
    content = payload.get("Content")
    kinds = [k for k in ("Simple", "Raw", "Template") if isinstance(content, dict) and content.get(k) is not None]
    if not isinstance(content, dict) or len(kinds) != 1 or not isinstance(content[kinds[0]], dict):
        return "BadRequestException", "Content must hold exactly one of Simple, Raw or Template."
    kind, part = kinds[0], content[kinds[0]]
    destination = payload.get("Destination") or {}
    if not isinstance(destination, dict):
        return "BadRequestException", "Destination must be an object."
    lists = [_valid_list(destination.get(k)) for k in ("ToAddresses", "CcAddresses", "BccAddresses")]
    if any(found is None for found in lists):
        return "BadRequestException", "Destination addresses must be valid e-mail addresses."
    recipients = sum(len(found or []) for found in lists)
    if kind == "Raw":
        mime = parse_raw(part.get("Data"))
        if mime is None:
            return "BadRequestException", "Raw.Data must be a base64 MIME message with a From header."
        recipients = recipients or len(getaddresses(mime.get_all("To", []) + mime.get_all("Cc", [])))
    elif kind == "Simple":
        subject, body = part.get("Subject"), part.get("Body")
        if not isinstance(subject, dict) or not isinstance(subject.get("Data"), str):
            return "BadRequestException", "Simple needs Subject.Data."
        if not isinstance(body, dict) or not (body.get("Text") or body.get("Html")):
            return "BadRequestException", "Simple needs a Text or Html body."
    elif not (part.get("TemplateName") or part.get("TemplateArn")):
        return "BadRequestException", "Template needs TemplateName or TemplateArn."
    if not recipients:
        return "BadRequestException", "Missing final '@domain'"
    if recipients > MAX_RECIPIENTS:
        return "MessageRejected", f"Recipient count exceeds {MAX_RECIPIENTS}."
    if kind != "Raw" and not isinstance(payload.get("FromEmailAddress"), str):
        return "BadRequestException", "FromEmailAddress is required unless the raw message carries From."
    for tag in payload.get("EmailTags") or []:
        if not isinstance(tag, dict) or not all(_TAG.fullmatch(str(tag.get(k, ""))) for k in ("Name", "Value")):
            return "BadRequestException", "Tag names and values may hold only ASCII letters, digits, '_' and '-'."
    return None


def sender_of(payload: dict[str, Any]) -> str:
    """The bare sender address (FromEmailAddress, else the raw message's From)."""
    raw = payload.get("FromEmailAddress")
    if not raw:
        mime = parse_raw(payload["Content"]["Raw"].get("Data"))
        raw = str(mime.get("From", "")) if mime else ""
    return parseaddr(str(raw))[1]


def record_of(message_id: str, payload: dict[str, Any]) -> MessageRecord:
    """The store record of a validated SendEmail."""
    content, tags = payload["Content"], {t["Name"]: t["Value"] for t in payload.get("EmailTags") or []}
    to = list((payload.get("Destination") or {}).get("ToAddresses") or [])
    subject = text = html = template = None
    headers: dict[str, str] = {}
    if "Simple" in content:
        simple = content["Simple"]
        subject = simple["Subject"]["Data"]
        headers = {str(h["Name"]): str(h["Value"]) for h in simple.get("Headers") or ()}
        text = (simple["Body"].get("Text") or {}).get("Data")
        html = (simple["Body"].get("Html") or {}).get("Data")
    elif "Raw" in content and (mime := parse_raw(content["Raw"]["Data"])) is not None:
        subject = str(mime.get("Subject", "")) or None
        headers = mime_headers(list(mime.items()))
        to = to or [address for _, address in getaddresses(mime.get_all("To", []))]
        plain, rich = mime.get_body(("plain",)), mime.get_body(("html",))
        text = plain.get_content() if isinstance(plain, EmailMessage) else None
        html = rich.get_content() if isinstance(rich, EmailMessage) else None
    else:
        template = content["Template"].get("TemplateName") or content["Template"].get("TemplateArn")
    html_length, html_sha256 = MessageRecord.digest_html(html)
    return MessageRecord(
        provider=PROVIDER_ID,
        id=message_id,
        to=tuple(to),
        from_=payload.get("FromEmailAddress") or sender_of(payload),
        subject=subject,
        text=text,
        html_length=html_length,
        html_sha256=html_sha256,
        template_id=template,
        custom_args=tags,
        idempotency_key=tags.get(IDEMPOTENCY_TAG),
        headers=headers,
    )


def fault_response(fault: Fault) -> Response:
    """An injected failure the AWS way; 429 is `TooManyRequestsException` with `Retry-After`."""
    if fault.status == 429:
        headers = {"Retry-After": str(fault.retry_after or 0)}
        return aws_error(429, "TooManyRequestsException", "Too Many Requests", headers)
    if fault.status >= 500:
        code = "ServiceUnavailable" if fault.status == 503 else "InternalFailure"
        return aws_error(fault.status, code, fault.phrase)
    return aws_error(fault.status, "BadRequestException", fault.phrase)


class SesApi:
    """SendEmail, bound to a store and a fault set; accepts the sandbox access key only."""

    def __init__(self, store: MessageStore, faults: Faults) -> None:
        self.store = store
        self.faults = faults

    async def get_account(self, request: Request) -> Response:
        """`GET /v2/email/account` (GetAccount): the account's sending status, for a good signature only."""
        refused = check_signature(request, await request.body())
        if refused is not None:
            return refused
        # SendQuota: message counts and a rate (doubles in the API), not money
        quota = {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": self.store.total(PROVIDER_ID)}
        account = {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": True,
            "SendQuota": quota,
            "SendingEnabled": True,
        }
        return JSONResponse(account, headers={"x-amzn-RequestId": secrets.token_hex(16)})

    async def send_email(self, request: Request) -> Response:
        """`POST /v2/email/outbound-emails`."""
        body = await request.body()
        refused = check_signature(request, body)
        if refused is not None:
            return refused
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        try:
            payload = json.loads(body)
        except ValueError:
            return aws_error(400, "SerializationException", "The request body is not valid JSON.")
        problem = validate(payload)
        if problem:
            return aws_error(400, *problem)
        sender = sender_of(payload)
        if sender.rpartition("@")[2].lower() not in SES_VERIFIED_DOMAINS:
            message = (
                "Email address is not verified. The following identities failed the check "
                f"in region {SES_REGION.upper()}: {sender}"
            )
            return aws_error(400, "MessageRejected", message)
        message_id = f"{int(time.time() * 1000):016x}-{uuid.uuid4()}-000000"
        self.store.add(record_of(message_id, payload))
        return JSONResponse({"MessageId": message_id}, headers={"x-amzn-RequestId": secrets.token_hex(16)})


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The SES routes of the sandbox app."""
    api = SesApi(store, faults)
    return [
        Route("/v2/email/outbound-emails", api.send_email, methods=["POST"]),
        Route("/v2/email/account", api.get_account, methods=["GET"]),
    ]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The SES adapter's settings and secrets for a sandbox on `sandbox_url`."""
    settings = {"region": SES_REGION, "from_email": SES_FROM, "from_name": store_name}
    secrets = {"access_key_id": SES_ACCESS_KEY_ID, "secret_access_key": SES_SECRET_ACCESS_KEY}
    return api_account(sandbox_url, settings, secrets)
