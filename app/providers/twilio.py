"""Twilio Programmable Messaging (SMS/MMS): one `OutboundMessage` → one `POST .../Messages.json`.

Public documentation: https://www.twilio.com/docs/messaging/api/message-resource

See docs/providers.md § A1. The payload builder and the response parser are pure; sending,
error translation and `repr` are `HttpAdapter`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status

# Form-encoded with PascalCase keys, not JSON (twilio-oai CreateMessage).
FORM_HEADERS: Mapping[str, str] = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}

# Message `status` at creation → our send status (enum: twilio-python MessageInstance.Status).
STATUS_MAP: Mapping[str, SendStatus] = {
    "queued": SendStatus.ACCEPTED,
    "accepted": SendStatus.ACCEPTED,  # initial status with a Messaging Service (PROVIDERS.md § A1)
    "scheduled": SendStatus.ACCEPTED,
    "sending": SendStatus.ACCEPTED,
    "sent": SendStatus.ACCEPTED,
    "delivered": SendStatus.DELIVERED,
    "read": SendStatus.DELIVERED,  # WhatsApp/RCS read receipt implies delivery
    "failed": SendStatus.REJECTED,
    "undelivered": SendStatus.REJECTED,
    "canceled": SendStatus.REJECTED,
}


class TwilioAdapter(HttpAdapter):
    """Sends SMS/MMS through Twilio's Messages resource (API version 2010-04-01).

    Credentials are HTTP Basic (Account SID : Auth Token). A sender is either a Twilio number
    (`from_number`) or a Messaging Service (`messaging_service_sid`); at least one is required.
    Twilio has no idempotency key for Messages, so retries rely on our own dedupe.
    """

    provider_id: ClassVar[str] = "twilio"
    display_name: ClassVar[str] = "Twilio"
    default_base_url: ClassVar[str] = "https://api.twilio.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.SMS,
        max_body_chars=1600,  # Body limit: https://www.twilio.com/docs/glossary/what-sms-character-limit
        supports_attachments=False,  # MMS needs public URLs (provider_extra["media_urls"]), not bytes
        supports_templates=False,
        supports_idempotency_key=False,  # no idempotency parameter on CreateMessage (twilio-oai spec)
        rate_per_sec=50.0,  # limit is account concurrency, unpublished; Twilio queues per sender
        delivery_receipts=True,  # StatusCallback, PROVIDERS.md § B10
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("auth_token", "Auth token"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("account_sid", "Account SID"),
        SettingField("from_number", "Sender number (E.164)", required=False),
        SettingField("messaging_service_sid", "Messaging Service SID", required=False),
        SettingField("status_callback", "Status callback URL", required=False),
        SettingField("base_url", "API base URL", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("account_sid", "base_url")
    callback_url_setting: ClassVar[str | None] = "status_callback"
    credential_check_doc: ClassVar[str | None] = "https://www.twilio.com/docs/iam/api/account#fetch-an-account-resource"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        base_url: str | None = None,
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ConfigurationError(
                f"{self.display_name}: missing from_number or messaging_service_sid. "
                "Set one of them in the settings file."
            )
        super().__init__(http, base_url=base_url)
        self._account_sid = account_sid
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._from_number = from_number or None
        self._messaging_service_sid = messaging_service_sid or None
        self._status_callback = status_callback or None

    def build_request(self, message: OutboundMessage) -> tuple[str, list[tuple[str, str]]]:
        """The path and the form fields (in order, repeated keys allowed) for one message."""
        self.check_channel(message)
        body = message.sms_body or message.text
        media_urls = [str(u) for u in message.provider_extra.get("media_urls") or ()]
        if message.attachments and not media_urls:
            raise UnsupportedFeature(
                f"{self.display_name} cannot upload attachments; give public URLs in provider_extra['media_urls']."
            )
        if not body and not media_urls:
            raise PermanentProviderError(f"{self.display_name}: the message has no SMS body and no media.")
        max_chars = self.capabilities.max_body_chars
        if body and max_chars is not None and len(body) > max_chars:
            raise UnsupportedFeature(f"{self.display_name} takes at most {max_chars} characters; got {len(body)}.")

        form: list[tuple[str, str]] = [("To", message.to)]
        if self._from_number:
            form.append(("From", self._from_number))
        if self._messaging_service_sid:
            form.append(("MessagingServiceSid", self._messaging_service_sid))
        if body:
            form.append(("Body", body))
        # MediaUrl repeats once per URL (twilio-python MessageList.create, media_url: List[str]).
        form.extend(("MediaUrl", url) for url in media_urls)
        if self._status_callback:
            form.append(("StatusCallback", self._status_callback))
        path = f"/2010-04-01/Accounts/{quote(self._account_sid, safe='')}/Messages.json"
        return path, form

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, form = self.build_request(message)
        content = urlencode(form).encode("ascii")
        return HttpRequest(self._base_url + path, content=content, headers=FORM_HEADERS, auth=self._auth)

    def credential_request(self) -> HttpRequest | None:
        """Fetch an Account (`GET /2010-04-01/Accounts/{AccountSid}.json`): answered only for the right Auth Token."""
        path = f"/2010-04-01/Accounts/{quote(self._account_sid, safe='')}.json"
        return HttpRequest(self._base_url + path, method="GET", headers={"Accept": "application/json"}, auth=self._auth)

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        payload = _json_object(response)
        raw = payload.get("status")
        raw_status = raw if isinstance(raw, str) else None
        sid = payload.get("sid")
        detail = payload.get("error_message")
        return SendResult(
            provider_message_id=sid if isinstance(sid, str) else None,
            status=STATUS_MAP.get(raw_status or "", SendStatus.UNKNOWN),
            raw_status=raw_status,
            detail=detail if isinstance(detail, str) else None,
        )

    def _error(self, response: httpx.Response) -> Exception:
        # Error body is {code, message, more_info, status} (PROVIDERS.md § A1; 20429 = too many requests).
        payload = _json_object(response)
        code = payload.get("code")
        text = payload.get("message")
        detail = text if isinstance(text, str) and text else (response.reason_phrase or "error")
        if code is not None:
            detail = f"{detail} (Twilio error {code})"
        return classify_status(self.display_name, response, detail, code=str(code) if code is not None else None)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON or not an object."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
