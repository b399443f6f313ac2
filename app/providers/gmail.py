"""Gmail API `users.messages.send`: one `OutboundMessage` → one RFC 5322 message, base64url in `raw`.

Public documentation: https://developers.google.com/gmail/api/reference/rest/v1/users.messages/send

See docs/providers.md § A5 (checked against google-api-python-client 2.202.0's bundled
discovery document `gmail.v1.json`, revision 20261005). The payload builder and the response parser
are pure; `send` glues them to the shared `httpx.AsyncClient` and the OAuth token cache.

Verified here: path, method, `raw` (format byte = base64url), the scopes (discovery document);
`rateLimitExceeded`/`userRateLimitExceeded` reasons (quota page). PROVIDERS.md's UNVERIFIED 403-vs-429
question, settled by the Gmail "Resolve errors" guide: 403 for usage limits (those two reasons, and
`dailyLimitExceeded`, left permanent: it lasts until the daily reset) and 429 for mail-sending,
bandwidth and concurrency limits; both quota forms are transient. Still UNVERIFIED: no idempotency
key exists (none in the discovery document).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Self
from urllib.parse import quote

import httpx

from app.domain.channels import Channel
from app.domain.errors import TransientProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.providers import mime
from app.providers.base import (
    Capabilities,
    SecretField,
    SettingField,
    classify_status,
    parse_retry_after,
    require,
    translate_http_errors,
)
from app.providers.oauth import (
    AccessToken,
    Clock,
    ServiceAccountJwtGrant,
    ServiceAccountKey,
    TokenCache,
    authorized,
    bearer,
)

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/gmail.send"  # least privilege (gmail.v1.json send scopes)
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})  # quota page "Exceeded reason"
SENT_LABEL = "SENT"


class GmailAdapter:
    """Sends e-mail as a Google Workspace mailbox through the Gmail API.

    Auth is a service account with domain-wide delegation: the JWT's `sub` is the sending mailbox,
    scope `gmail.send`. Gmail takes a whole MIME message, so text, html and attachments travel as
    built by `app.providers.mime`, with our idempotency key in the `X-ReceiptDesk-Key` header.
    """

    provider_id: ClassVar[str] = "gmail"
    display_name: ClassVar[str] = "Gmail"
    default_base_url: ClassVar[str] = "https://gmail.googleapis.com"  # gmail.v1.json rootUrl
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.EMAIL,
        max_body_chars=None,
        supports_attachments=True,
        supports_templates=False,
        supports_idempotency_key=False,  # none in gmail.v1.json; Message-ID stays stable across retries
        rate_per_sec=2.5,  # 15,000 quota units/user/min ÷ 100 units per send (quota page; volatile)
        delivery_receipts=False,
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (
        SecretField("service_account_json", "Service-account key (JSON)"),
    )
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("sender", "Sending mailbox (delegated user)"),
        SettingField("from_name", "Sender name", required=False),
        SettingField("reply_to", "Reply-to address", required=False),
        SettingField("base_url", "API base URL", required=False),
        SettingField("token_uri", "OAuth token endpoint (default: the key file's token_uri)", required=False),
    )

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        service_account_json: str,
        sender: str,
        from_name: str | None = None,
        reply_to: str | None = None,
        base_url: str = "https://gmail.googleapis.com",
        token_uri: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        values = {"service_account_json": service_account_json, "sender": sender}
        require(values, self.display_name, "service_account_json", "sender")
        key = ServiceAccountKey.from_json(service_account_json, provider=self.display_name)
        self._http = http
        self._sender = sender
        self._from_name = from_name or None
        self._reply_to = reply_to or None
        self._base_url = (base_url or self.default_base_url).rstrip("/")
        grant = ServiceAccountJwtGrant(
            key, [SCOPE], subject=sender, token_uri=token_uri, label=f"{self.display_name} token endpoint"
        )
        self.tokens = TokenCache(http, grant, clock=clock)

    @classmethod
    def create(
        cls, http: httpx.AsyncClient, settings: Mapping[str, str | None], secrets: Mapping[str, str | None]
    ) -> Self:
        """Build from the settings file and the keyring; a missing field fails here, by name."""
        (service_account_json,) = require(secrets, cls.display_name, "service_account_json")
        (sender,) = require(settings, cls.display_name, "sender")
        return cls(
            http,
            service_account_json=service_account_json,
            sender=sender,
            from_name=settings.get("from_name"),
            reply_to=settings.get("reply_to"),
            base_url=settings.get("base_url") or cls.default_base_url,
            token_uri=settings.get("token_uri"),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sender={self._sender!r}, base_url={self._base_url!r})"

    def build_request(self, message: OutboundMessage, *, now: datetime | None = None) -> tuple[str, dict[str, Any]]:
        """The path and the JSON body (`{"raw": base64url(RFC 5322 bytes)}`) for one message."""
        if message.channel != self.capabilities.channel:
            raise UnsupportedFeature(f"{self.display_name} sends e-mail, not {message.channel}.")
        mail = mime.build_email(
            message,
            sender=self._sender,
            sender_name=self._from_name,
            reply_to=self._reply_to,
            now=now,
            provider=self.display_name,
        )
        # Recipients come from the To header; urlsafe base64 with padding, as Google's sending guide does.
        raw = base64.urlsafe_b64encode(mime.to_bytes(mail)).decode("ascii")
        path = f"/gmail/v1/users/{quote(self._sender, safe='')}/messages/send"  # %40, as googleapiclient sends it
        return path, {"raw": raw}

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        payload = _json_object(response)
        labels = payload.get("labelIds")
        labels = [str(label) for label in labels] if isinstance(labels, list) else []
        message_id = payload.get("id")
        # The Message resource has no status; the SENT label is what says it left the mailbox.
        accepted = SENT_LABEL in labels
        return SendResult(
            provider_message_id=message_id if isinstance(message_id, str) and message_id else None,
            status=SendStatus.ACCEPTED if accepted else SendStatus.UNKNOWN,
            raw_status=",".join(labels) or str(response.status_code),
            detail=None if accepted else "answer carries no SENT label",
        )

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message. Raises `TransientProviderError` or `PermanentProviderError`."""
        path, body = self.build_request(message)
        url = self._base_url + path

        async def post(token: AccessToken) -> httpx.Response:
            return await self._http.post(url, json=body, headers={**bearer(token), "Accept": "application/json"})

        with translate_http_errors(self.display_name):
            response = await authorized(self.tokens, post)
        result = self.parse_response(response)
        log.debug("gmail: sent %s as %s", message.idempotency_key, result.provider_message_id)
        return result

    def _error(self, response: httpx.Response) -> Exception:
        # Google error body: {"error": {code, message, status, errors: [{domain, reason, message}]}}.
        error = _json_object(response).get("error")
        error = error if isinstance(error, dict) else {}
        reasons = [str(e.get("reason")) for e in error.get("errors") or () if isinstance(e, dict) and e.get("reason")]
        text = error.get("message")
        detail = text if isinstance(text, str) and text else (response.reason_phrase or "error")
        code = reasons[0] if reasons else (str(error["status"]) if error.get("status") else None)
        rate_limited = RATE_LIMIT_REASONS.intersection(reasons)
        if rate_limited and response.status_code == 403:
            # Quota errors may come as 403 (handle-errors guide), which is otherwise permanent.
            return TransientProviderError(
                f"{self.display_name} answered 403: {detail}",
                status_code=403,
                code=sorted(rate_limited)[0],
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        return classify_status(self.display_name, response, detail, code=code)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON or not an object."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
