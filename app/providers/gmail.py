"""Gmail API `users.messages.send`: one `OutboundMessage` → one RFC 5322 message, base64url in `raw`.

Public documentation: https://developers.google.com/gmail/api/reference/rest/v1/users.messages/send

See docs/providers.md § A5 (checked against google-api-python-client 2.202.0's bundled
discovery document `gmail.v1.json`, revision 20261005). The payload builder and the response parser
are pure; sending, the token and `repr` are `OAuthAdapter`'s.

Verified here: path, method, `raw` (format byte = base64url), the scopes (discovery document);
`rateLimitExceeded`/`userRateLimitExceeded` reasons (quota page). PROVIDERS.md's UNVERIFIED 403-vs-429
question, settled by the Gmail "Resolve errors" guide: 403 for usage limits (those two reasons, and
`dailyLimitExceeded`, left permanent: it lasts until the daily reset) and 429 for mail-sending,
bandwidth and concurrency limits; both quota forms are transient. Still UNVERIFIED: no idempotency
key exists (none in the discovery document).
"""

from __future__ import annotations

import base64
import time
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx

from app.domain.channels import Channel
from app.domain.doubt import Lookup
from app.domain.errors import TransientProviderError
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers import mime
from app.providers.base import Capabilities, HttpRequest, classify_status, parse_retry_after
from app.providers.oauth import (
    AccessToken,
    Clock,
    OAuthAdapter,
    ServiceAccountJwtGrant,
    ServiceAccountKey,
    TokenCache,
    authorized,
)

SCOPE = "https://www.googleapis.com/auth/gmail.send"  # least privilege (gmail.v1.json send scopes)
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})  # quota page "Exceeded reason"
SENT_LABEL = "SENT"
LOOKUP_SCOPE = "https://www.googleapis.com/auth/gmail.readonly"
"""users.messages.list with `q` needs gmail.readonly (or wider; gmail.metadata refuses `q`): its own
token, so a delegation that grants only gmail.send still sends (gmail.v1.json list scopes)."""


class GmailAdapter(OAuthAdapter):
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

    shown: ClassVar[tuple[str, ...]] = ("sender", "base_url")
    # The token grant is the check (OAuthAdapter.check_credentials).
    credential_check_doc: ClassVar[str | None] = (
        "https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests"
    )
    lookup_doc: ClassVar[str | None] = "https://developers.google.com/gmail/api/reference/rest/v1/users.messages/list"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        service_account_json: str,
        sender: str,
        from_name: str | None = None,
        reply_to: str | None = None,
        base_url: str | None = None,
        token_uri: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        key = ServiceAccountKey.from_json(service_account_json, provider=self.display_name)
        grant = ServiceAccountJwtGrant(
            key, [SCOPE], subject=sender, token_uri=token_uri, label=f"{self.display_name} token endpoint"
        )
        super().__init__(http, grant, base_url=base_url, clock=clock)
        lookup_grant = ServiceAccountJwtGrant(
            key, [LOOKUP_SCOPE], subject=sender, token_uri=token_uri, label=f"{self.display_name} token endpoint"
        )
        self.lookup_tokens = TokenCache(http, lookup_grant, clock=clock)
        """The read-only token the lookup uses (never the sending token)."""
        self._sender = sender
        self._from_name = from_name or None
        self._reply_to = reply_to or None

    def build_request(self, message: OutboundMessage, *, now: datetime | None = None) -> tuple[str, dict[str, Any]]:
        """The path and the JSON body (`{"raw": base64url(RFC 5322 bytes)}`) for one message."""
        self.check_channel(message)
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

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, body = self.build_request(message)
        return HttpRequest(self._base_url + path, json=body, headers={"Accept": "application/json"})

    def lookup_request(self, message: OutboundMessage, *, sent_after: datetime) -> HttpRequest | None:
        """users.messages.list in the SENT label with `q=rfc822msgid:<Message-ID>`.

        Every attempt carries the same Message-ID (`mime.message_id`); `rfc822msgid:` is Gmail's search
        operator for it (support.google.com/mail/answer/7190), and `q` takes the search-box syntax
        (docs above). `after:` is not added: the Message-ID is unique to the delivery.
        """
        msgid = mime.message_id(message.idempotency_key, self._sender)
        query = urlencode({"q": f"rfc822msgid:{msgid.strip('<>')}", "labelIds": SENT_LABEL, "maxResults": "10"})
        path = f"/gmail/v1/users/{quote(self._sender, safe='')}/messages"
        return HttpRequest(f"{self._base_url}{path}?{query}", method="GET", headers={"Accept": "application/json"})

    def parse_lookup(self, response: httpx.Response, message: OutboundMessage) -> Lookup:
        """Found when `messages` lists one; an answer without `messages` (`resultSizeEstimate: 0`) is none."""
        payload = _json_object(response)
        messages = payload.get("messages")
        if messages is None and "resultSizeEstimate" in payload:
            return Lookup(found=False, detail=f"{self.display_name} has no sent message for {message.idempotency_key}")
        if not isinstance(messages, list):
            return Lookup(found=None, detail=f"{self.display_name} answered the lookup without a messages list")
        for item in messages:
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
                return Lookup(found=True, provider_message_id=item["id"], raw_status=SENT_LABEL)
        return Lookup(found=False, detail=f"{self.display_name} has no sent message for {message.idempotency_key}")

    async def transmit(self, request: HttpRequest) -> httpx.Response:
        """A lookup (GET) goes with the read-only token; a send with the sending token."""
        if request.method != "GET":
            return await super().transmit(request)
        put = super(OAuthAdapter, self).transmit

        async def call(token: AccessToken) -> httpx.Response:
            return await put(self.authorize(request, token))

        return await authorized(self.lookup_tokens, call, should_refresh=self.refused)

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
