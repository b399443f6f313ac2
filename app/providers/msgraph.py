"""Microsoft Graph `sendMail` (v1.0, app-only): one `OutboundMessage` → one `POST /users/{sender}/sendMail`.

Public documentation: https://learn.microsoft.com/en-us/graph/api/user-sendmail

See docs/providers.md § A6 (microsoft-graph-docs-contrib `user-sendmail.md`). The payload
builder and the response parser are pure; sending, the token and `repr` are `OAuthAdapter`'s.

Verified here: 202 Accepted with an empty body and no message id (user-sendmail page); custom
`internetMessageHeaders` must be named `x-…` (message resource page). From PROVIDERS.md, not
re-checked: the ~4 MB JSON request limit [S] and Exchange Online sending limits (UNVERIFIED).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx

from app.domain.channels import Channel
from app.domain.doubt import Lookup
from app.domain.errors import PermanentProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers import mime
from app.providers.base import Capabilities, HttpRequest, classify_status
from app.providers.oauth import ClientCredentialsGrant, Clock, OAuthAdapter

SCOPE = "https://graph.microsoft.com/.default"  # app-only: the permissions granted to the app (Mail.Send)
DEFAULT_LOGIN_BASE_URL = "https://login.microsoftonline.com"
IDEMPOTENCY_HEADER = "x-receiptdesk-key"
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # larger mail needs a draft + upload session (PROVIDERS.md § A6 [S])

# sendMail answers 202 with no body; that status is all there is.
STATUS_MAP: Mapping[int, SendStatus] = {202: SendStatus.ACCEPTED}


class MsGraphAdapter(OAuthAdapter):
    """Sends e-mail from an Exchange Online mailbox through Microsoft Graph `sendMail`.

    Auth is the client-credentials grant at `{login}/{tenant}/oauth2/v2.0/token` with application
    permission Mail.Send. Graph returns no message id and has no idempotency key, so our key
    travels as the `x-receiptdesk-key` Internet header and stands in as the provider message id.
    A Graph message has one body: HTML when the message has one, else text.
    """

    provider_id: ClassVar[str] = "msgraph"
    display_name: ClassVar[str] = "Microsoft Graph"
    default_base_url: ClassVar[str] = "https://graph.microsoft.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.EMAIL,
        max_body_chars=None,
        supports_attachments=True,  # fileAttachment inline in the JSON, whole request < 4 MB
        supports_templates=False,
        supports_idempotency_key=False,
        rate_per_sec=0.5,  # Exchange Online ~30 messages/min per mailbox (PROVIDERS.md § A6, UNVERIFIED)
        delivery_receipts=False,
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("client_secret", "Client secret"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("tenant_id", "Directory (tenant) ID"),
        SettingField("client_id", "Application (client) ID"),
        SettingField("sender", "Sending mailbox (user id or principal name)"),
        SettingField("reply_to", "Reply-to address", required=False),
        SettingField("base_url", "Graph base URL", required=False),
        SettingField("login_base_url", "Identity platform base URL", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("sender", "base_url")
    # The token grant is the check (OAuthAdapter.check_credentials).
    credential_check_doc: ClassVar[str | None] = (
        "https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#get-a-token"
    )
    lookup_doc: ClassVar[str | None] = "https://learn.microsoft.com/en-us/graph/api/mailfolder-list-messages"
    """Needs the application permission Mail.ReadBasic.All (or Mail.Read) besides Mail.Send; without it
    Graph answers 403 and the lookup cannot tell. Only messages saved to Sent Items can be found."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        sender: str,
        reply_to: str | None = None,
        base_url: str | None = None,
        login_base_url: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        login = (login_base_url or DEFAULT_LOGIN_BASE_URL).rstrip("/")
        grant = ClientCredentialsGrant(
            f"{login}/{quote(tenant_id, safe='')}/oauth2/v2.0/token",
            client_id,
            client_secret,
            scope=SCOPE,
            label=f"{self.display_name} token endpoint",
        )
        super().__init__(http, grant, base_url=base_url, clock=clock)
        self._sender = sender
        self._reply_to = reply_to or None

    def refused(self, response: httpx.Response) -> bool:
        # 403 too: an app-only token minted before admin consent lacks the Mail.Send role until re-issued.
        return response.status_code in (401, 403)

    def build_request(self, message: OutboundMessage) -> tuple[str, dict[str, Any]]:
        """The path and the JSON body for one message."""
        self.check_channel(message)
        if message.html:
            body = {"contentType": "HTML", "content": message.html}
        elif message.text:
            body = {"contentType": "Text", "content": message.text}
        else:
            raise PermanentProviderError(f"{self.display_name}: the message has no text or html body.")
        mail: dict[str, Any] = {}
        if message.subject:
            mail["subject"] = message.subject
        mail["body"] = body
        mail["toRecipients"] = [{"emailAddress": {"address": message.to}}]
        if self._reply_to:
            mail["replyTo"] = [{"emailAddress": {"address": self._reply_to}}]
        if message.attachments:
            mail["attachments"] = [
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "name": a.filename,
                    "contentType": a.content_type,
                    "contentBytes": base64.b64encode(a.content).decode("ascii"),
                    # An inline image: isInline and contentId, shown by <img src="cid:<contentId>"> (docs:
                    # https://learn.microsoft.com/en-us/graph/api/resources/fileattachment).
                    **({"isInline": True, "contentId": a.content_id} if a.content_id else {}),
                }
                for a in message.attachments
            ]
        # Only `x-` headers may be set here ("internetMessageHeaders ... must begin with x-",
        # https://learn.microsoft.com/en-us/graph/api/resources/message): List-Unsubscribe cannot travel
        # through sendMail's JSON, so a Graph e-mail's way out is the footer's line (docs/providers.md).
        mail["internetMessageHeaders"] = [{"name": IDEMPOTENCY_HEADER, "value": message.idempotency_key}]
        # The same Message-ID on every attempt of one delivery: internetMessageId is writable while the
        # message is a draft, as a message handed to sendMail is (docs: resources/message).
        mail["internetMessageId"] = mime.message_id(message.idempotency_key, self._sender)
        # Saved to Sent Items, where the lookup finds it.
        payload = {"message": mail, "saveToSentItems": True}
        size = len(json.dumps(payload).encode("utf-8"))
        if size > MAX_REQUEST_BYTES:
            raise UnsupportedFeature(
                f"{self.display_name}: the request is {size} bytes; sendMail takes at most {MAX_REQUEST_BYTES}."
            )
        return f"/v1.0/users/{quote(self._sender, safe='@')}/sendMail", payload

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, body = self.build_request(message)
        return HttpRequest(self._base_url + path, json=body, headers={"Accept": "application/json"})

    def lookup_request(self, message: OutboundMessage, *, sent_after: datetime) -> HttpRequest | None:
        """List messages in Sent Items (`GET /users/{id}/mailFolders/sentitems/messages`) whose
        `internetMessageId` is the delivery's (`$filter` with `eq`, a string literal in single quotes,
        docs above and graph/filter-query-parameter)."""
        msgid = mime.message_id(message.idempotency_key, self._sender).replace("'", "''")
        query = urlencode(
            {
                "$filter": f"internetMessageId eq '{msgid}'",
                "$select": "id,internetMessageId,sentDateTime",
                "$top": "10",
            },
            safe="$,'",
        )
        path = f"/v1.0/users/{quote(self._sender, safe='@')}/mailFolders/sentitems/messages"
        return HttpRequest(f"{self._base_url}{path}?{query}", method="GET", headers={"Accept": "application/json"})

    def parse_lookup(self, response: httpx.Response, message: OutboundMessage) -> Lookup:
        """Found when `value` lists a message; its `id` is kept (the send itself gave none)."""
        payload = _json_object(response)
        items = payload.get("value")
        if not isinstance(items, list):
            return Lookup(found=None, detail=f"{self.display_name} answered the lookup without a value list")
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
                return Lookup(found=True, provider_message_id=item["id"], raw_status="sentitems")
        return Lookup(found=False, detail=f"{self.display_name} has no sent message for {message.idempotency_key}")

    def parse_response(self, response: httpx.Response, *, idempotency_key: str | None = None) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other.

        Graph gives no message id, so the id is our own key (the `x-receiptdesk-key` header).
        """
        if not response.is_success:
            raise self._error(response)
        status = STATUS_MAP.get(response.status_code, SendStatus.UNKNOWN)
        return SendResult(
            provider_message_id=idempotency_key,
            status=status,
            raw_status=str(response.status_code),
            detail=None if status is SendStatus.ACCEPTED else f"answered {response.status_code}, not 202",
        )

    def result(self, response: httpx.Response, message: OutboundMessage) -> SendResult:
        return self.parse_response(response, idempotency_key=message.idempotency_key)

    def _error(self, response: httpx.Response) -> Exception:
        # Graph error body: {"error": {"code", "message", "innerError": {"request-id", "date"}}}.
        # 429 comes with Retry-After (seconds; Graph throttling guidance); classify_status reads it.
        error = _json_object(response).get("error")
        error = error if isinstance(error, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), str) else None
        text = error.get("message")
        detail = text if isinstance(text, str) and text else (response.reason_phrase or "error")
        if code:
            detail = f"{detail} ({code})"
        return classify_status(self.display_name, response, detail, code=code)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON or not an object."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
