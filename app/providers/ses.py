"""Amazon SES v2 `SendEmail`: one `OutboundMessage` → one SigV4-signed `POST /v2/email/outbound-emails`.

Public documentation: https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html

See docs/providers.md § A7. The payload builder and the response parser are pure; `request`
serialises the body and signs those exact bytes (app/support/sigv4.py); sending, error translation
and `repr` are `HttpAdapter`'s.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr
from typing import Any, ClassVar

import httpx

from app.domain.channels import Channel
from app.domain.errors import PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers import mime as mime_headers
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status, parse_retry_after
from app.support import sigv4

PATH = "/v2/email/outbound-emails"
ACCOUNT_PATH = "/v2/email/account"
SIGNING_NAME = "ses"  # signingName in the sesv2 model, not the endpoint prefix "email"
CHARSET = "UTF-8"
IDEMPOTENCY_TAG = "receiptdesk_key"
"""Our key travels as a message tag, which SES puts on every event it publishes for the message."""
MAX_TAG_CHARS = 256
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

STATUS_MAP: Mapping[int, SendStatus] = {200: SendStatus.ACCEPTED}
# Error codes of SendEmail (sesv2 service-2.json) plus the generic AWS ones; others go by HTTP status.
TRANSIENT_ERRORS = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException"}
    | {"InternalFailure", "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout"}
)
PERMANENT_ERRORS = frozenset(
    {"MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException"}
    | {"SendingPausedException", "BadRequestException", "NotFoundException", "AccessDeniedException"}
    | {"UnrecognizedClientException", "InvalidSignatureException", "SignatureDoesNotMatch"}
    | {"MissingAuthenticationTokenException", "IncompleteSignature", "ExpiredTokenException"}
)


def tag_safe(value: str) -> str:
    """A message-tag name or value: ASCII letters, digits, `_` and `-` only, at most 256 characters.

    Anything else becomes `_` (MessageTag.Name/Value rules in the sesv2 model).
    """
    return _TAG_UNSAFE.sub("_", value)[:MAX_TAG_CHARS]


class SesAdapter(HttpAdapter):
    """Sends e-mail through Amazon SES API v2 `SendEmail`, signed with AWS Signature V4.

    Simple content for text/HTML, raw MIME (built with the standard library) when there are
    attachments, or a stored template. Credentials are an access key pair; an optional
    `session_token` secret supports temporary credentials. SES has no idempotency key, so ours
    travels as the `receiptdesk_key` message tag (sanitised to the tag alphabet).

    SES cannot be asked whether it took a message (`lookup_doc` is None): SendEmail's `MessageId` is
    the only handle, and the API v2 has no call that finds a sent message, by id, tag or header
    (its operations: docs APIReference-V2/API_Operations.html; the events that carry our tag go to a
    configuration set's destinations, not to an API we can query). An attempt in doubt follows the
    e-mail channel's in-doubt policy.
    """

    provider_id: ClassVar[str] = "ses"
    display_name: ClassVar[str] = "Amazon SES"
    default_base_url: ClassVar[str] = "https://email.us-east-1.amazonaws.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.EMAIL,
        max_body_chars=None,  # 40 MB per message after base64 (PROVIDERS.md § A7)
        supports_attachments=True,
        supports_templates=True,
        supports_idempotency_key=False,  # no client token in the sesv2 model
        rate_per_sec=1.0,  # SES sandbox quota (docs: ses/latest/dg/quotas.html); set the account's own in settings
        delivery_receipts=True,  # event publishing through a configuration set
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (
        SecretField("access_key_id", "Access key ID"),
        SecretField("secret_access_key", "Secret access key"),
        SecretField("session_token", "Session token (temporary credentials only)", required=False),
    )
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("region", "AWS region (e.g. us-east-1)"),
        SettingField("from_email", "Sender e-mail address"),
        SettingField("from_name", "Sender name", required=False),
        SettingField("reply_to", "Reply-to address", required=False),
        SettingField("configuration_set", "Configuration set name", required=False),
        SettingField("base_url", "API base URL", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("region", "base_url")
    credential_check_doc: ClassVar[str | None] = (
        "https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_GetAccount.html"
    )

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        access_key_id: str,
        secret_access_key: str,
        region: str,
        from_email: str,
        session_token: str | None = None,
        from_name: str | None = None,
        reply_to: str | None = None,
        configuration_set: str | None = None,
        base_url: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        # The endpoint is per region: email.{region}.amazonaws.com (docs: general/latest/gr/ses.html).
        super().__init__(http, base_url=base_url or f"https://email.{region}.amazonaws.com")
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._session_token = session_token or None
        self._region = region
        self._from_email = from_email
        self._from_name = from_name or None
        self._reply_to = reply_to or None
        self._configuration_set = configuration_set or None
        self._clock = clock or (lambda: datetime.now(UTC))

    @property
    def sender(self) -> str:
        """`FromEmailAddress`; a non-ASCII name is RFC 2047-encoded, as SES requires."""
        return formataddr((self._from_name, self._from_email)) if self._from_name else self._from_email

    def build_request(self, message: OutboundMessage) -> tuple[str, dict[str, Any]]:
        """The path and the JSON body (members in sesv2 model order) for one message."""
        self.check_channel(message)
        body: dict[str, Any] = {"FromEmailAddress": self.sender, "Destination": {"ToAddresses": [message.to]}}
        if self._reply_to:
            body["ReplyToAddresses"] = [self._reply_to]
        body["Content"] = self._content(message)
        tags = {**message.metadata, IDEMPOTENCY_TAG: message.idempotency_key}
        body["EmailTags"] = [
            {"Name": tag_safe(name), "Value": tag_safe(str(value))} for name, value in tags.items() if name and value
        ]
        if self._configuration_set:
            body["ConfigurationSetName"] = self._configuration_set
        return PATH, body

    def _content(self, message: OutboundMessage) -> dict[str, Any]:
        extra = message.provider_extra
        template_name = extra.get("template_name")
        if template_name:
            if message.attachments:
                raise UnsupportedFeature(f"{self.display_name}: attachments with a template are not supported.")
            # TemplateData is a JSON string, not an object (sesv2 model EmailTemplateData).
            data = json.dumps(extra.get("template_data") or {}, separators=(",", ":"), default=str)
            return {"Template": {"TemplateName": str(template_name), "TemplateData": data}}
        if not message.text and not message.html:
            raise PermanentProviderError(f"{self.display_name}: the message has no text, html or template_name.")
        if not message.subject:
            raise PermanentProviderError(
                f"{self.display_name}: a message needs a subject (Simple.Subject is required)."
            )
        if message.attachments:
            # Raw.Data is the base64 of the whole MIME message (sesv2 model RawMessageData).
            return {"Raw": {"Data": base64.b64encode(self.mime(message)).decode("ascii")}}
        parts: dict[str, Any] = {}
        if message.text:
            parts["Text"] = {"Data": message.text, "Charset": CHARSET}
        if message.html:
            parts["Html"] = {"Data": message.html, "Charset": CHARSET}
        simple: dict[str, Any] = {"Subject": {"Data": message.subject, "Charset": CHARSET}, "Body": parts}
        if message.headers:
            # Simple.Headers (sesv2 model MessageHeaderList), e.g. List-Unsubscribe
            # (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_Message.html).
            simple["Headers"] = [{"Name": name, "Value": value} for name, value in message.headers.items()]
        return {"Simple": simple}

    def mime(self, message: OutboundMessage) -> bytes:
        """The message as RFC 5322 bytes with CRLF line ends (lines ≤ 998 octets, as SES requires)."""
        mime = EmailMessage()
        mime["From"] = self.sender
        mime["To"] = message.to
        mime["Subject"] = message.subject or ""
        # The same Message-ID on every attempt of one delivery (SES may put its own in its place).
        mime["Message-ID"] = mime_headers.message_id(message.idempotency_key, self._from_email)
        mime[mime_headers.IDEMPOTENCY_HEADER] = message.idempotency_key
        if self._reply_to:
            mime["Reply-To"] = self._reply_to
        for name, value in message.headers.items():
            mime[name] = value
        if message.text:
            mime.set_content(message.text)
            if message.html:
                mime.add_alternative(message.html, subtype="html")
        elif message.html:
            mime.set_content(message.html, subtype="html")
        # Inline images in multipart/related with the html part (Raw lets us build it; SES sends it as is).
        mime_headers.add_attachments(mime, message.attachments)
        return mime.as_bytes(policy=SMTP)

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        message_id = _json_object(response).get("MessageId")
        status = STATUS_MAP.get(response.status_code, SendStatus.UNKNOWN)
        return SendResult(
            provider_message_id=message_id if isinstance(message_id, str) and message_id else None,
            status=status,
            raw_status=str(response.status_code),
            detail=None if status is SendStatus.ACCEPTED else f"answered {response.status_code}, not 200",
        )

    def request(self, message: OutboundMessage) -> HttpRequest:
        """The request with the exact body bytes, signed for now (SigV4 signs these bytes)."""
        path, body = self.build_request(message)
        url = self._base_url + path
        content = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}  # rest-json, as botocore sends SendEmail
        headers |= sigv4.sign(
            "POST",
            url,
            headers,
            content,
            region=self._region,
            service=SIGNING_NAME,
            access_key_id=self._access_key_id,
            secret_access_key=self._secret_access_key,
            session_token=self._session_token,
            now=self._clock(),
        )
        return HttpRequest(url, content=content, headers=headers)

    def credential_request(self) -> HttpRequest | None:
        """GetAccount (`GET /v2/email/account`), signed now: the account's sending status, for these keys only."""
        url = self._base_url + ACCOUNT_PATH
        headers = sigv4.sign(
            "GET",
            url,
            {},
            b"",
            region=self._region,
            service=SIGNING_NAME,
            access_key_id=self._access_key_id,
            secret_access_key=self._secret_access_key,
            session_token=self._session_token,
            now=self._clock(),
        )
        return HttpRequest(url, method="GET", headers=headers)

    def credentials_accepted(self, response: httpx.Response) -> tuple[bool | None, str]:
        """Keys that may send but not read the account are not refused; an account whose sending is paused is."""
        code = error_code(response.headers, _json_object(response))
        if code == "AccessDeniedException":
            return None, f"{self.display_name} knows the keys but they may not read the account (ses:GetAccount)."
        if response.is_success and _json_object(response).get("SendingEnabled") is False:
            return False, f"{self.display_name} accepted the keys, but sending is paused for this account."
        accepted, detail = super().credentials_accepted(response)
        return accepted, f"{detail[:-1]}: {code}." if code and accepted is not True else detail

    def _error(self, response: httpx.Response) -> Exception:
        payload = _json_object(response)
        code = error_code(response.headers, payload)
        text = payload.get("message") or payload.get("Message")
        detail = text if isinstance(text, str) and text else (response.reason_phrase or "error")
        if code:
            detail = f"{detail} ({code})"
        status = response.status_code
        message = f"{self.display_name} answered {status}: {detail}"
        if code in TRANSIENT_ERRORS:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return TransientProviderError(message, status_code=status, code=code, retry_after=retry_after)
        if code in PERMANENT_ERRORS and status < 500:
            return PermanentProviderError(message, status_code=status, code=code)
        return classify_status(self.display_name, response, detail, code=code)


def error_code(headers: Mapping[str, str], payload: Mapping[str, Any]) -> str | None:
    """The AWS error code: `x-amzn-ErrorType` header, else `__type`/`code` in the body (botocore RestJSONParser)."""
    raw = headers.get("x-amzn-ErrorType") or payload.get("__type") or payload.get("code") or payload.get("Code")
    if not isinstance(raw, str) or not raw:
        return None
    # "Code:http://internal.amazon.com/..." in the header; "aws.prefix#Code" in the body.
    return raw.split(":", 1)[0].rsplit("#", 1)[-1] or None


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON or not an object."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
