"""Twilio WhatsApp: one `OutboundMessage` → one `POST .../Messages.json` with `whatsapp:` addresses.

Public documentation: https://www.twilio.com/docs/whatsapp/api

See docs/providers.md § A1 (WhatsApp) and twilio.com/docs/content/send-templates-created-
with-the-content-template-builder. Same endpoint, auth, encoding and answer as Twilio SMS, so the
response parser, the error mapping and the request are `TwilioAdapter`'s; only the form differs.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from app.domain.channels import Channel
from app.domain.errors import PermanentProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities
from app.providers.twilio import TwilioAdapter, _json_object

log = logging.getLogger(__name__)

PREFIX = "whatsapp:"
OUTSIDE_WINDOW = 63016  # "Failed to send freeform message because you are outside the allowed window"
MAX_VARIABLES = 100  # ContentVariables: up to 100 key/value pairs (§ A1)


def whatsapp_address(number: str) -> str:
    """`+15551234567` → `whatsapp:+15551234567` (an address already prefixed is kept)."""
    number = number.strip()
    return number if number.startswith(PREFIX) else PREFIX + number


def content_variables(message: OutboundMessage) -> dict[str, str]:
    """Template variables: `provider_extra["content_variables"]`, else {"1": store or sale id, "2": total}."""
    given = message.provider_extra.get("content_variables")
    if given:
        return {str(k): str(v) for k, v in dict(given).items()}
    meta = message.metadata
    variables = {"1": meta.get("store") or meta.get("sale_id") or "", "2": meta.get("total") or ""}
    return {k: v for k, v in variables.items() if v}


class TwilioWhatsAppAdapter(TwilioAdapter):
    """Sends receipts over WhatsApp through Twilio's Messages resource.

    Outside the 24-hour customer-service window WhatsApp takes only an approved template, so
    unless `provider_extra["session_open"]` is true the message is the Content Template
    `content_sid` filled with `ContentVariables`; a free-form `Body` is sent inside the window.
    Twilio error 63016 (free-form outside the window) is permanent: resending cannot fix it.

    Without a `content_sid` a message outside the window still goes free-form, with a warning in the
    log that Twilio may refuse it (63016). Refusing it here would be worse for a store: ReceiptDesk
    knows the window only from the inbound webhook (`/webhooks/twilio_whatsapp/incoming`), which may
    not be set up or may have missed a message, while Twilio knows it for sure; when Twilio does refuse,
    the delivery fails with that reason on the receipt's timeline, and the store can add a template.

    A message in doubt is looked up as an SMS is (`TwilioAdapter.look_up`, on `whatsapp:` addresses):
    a free-form message by its text; a template's text is rendered by Twilio, not by us, so when
    anything went to the number since the attempt the lookup cannot tell (`found=None`).
    """

    provider_id: ClassVar[str] = "twilio_whatsapp"
    display_name: ClassVar[str] = "Twilio WhatsApp"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.WHATSAPP,
        max_body_chars=1600,  # the Body limit of the Messages resource (§ A1)
        supports_attachments=False,
        supports_templates=True,  # Content Templates (ContentSid + ContentVariables)
        supports_idempotency_key=False,  # no idempotency parameter on CreateMessage (twilio-oai spec)
        rate_per_sec=None,  # WhatsApp sender throughput is set per sender by Meta/Twilio; unpublished here
        delivery_receipts=True,  # StatusCallback, PROVIDERS.md § B10 (also read receipts)
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("auth_token", "Auth token"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("account_sid", "Account SID"),
        SettingField(
            "content_sid", "Approved Content Template SID (HX...), sent outside the 24-hour window", required=False
        ),
        SettingField("from_number", "WhatsApp sender number (E.164)", required=False),
        SettingField("messaging_service_sid", "Messaging Service SID", required=False),
        SettingField("status_callback", "Status callback URL", required=False),
        SettingField("base_url", "API base URL", required=False),
    )

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account_sid: str,
        auth_token: str,
        content_sid: str | None = None,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self._content_sid = content_sid
        super().__init__(
            http,
            account_sid=account_sid,
            auth_token=auth_token,
            from_number=whatsapp_address(from_number) if from_number else None,
            messaging_service_sid=messaging_service_sid,
            status_callback=status_callback,
            base_url=base_url,
        )

    def build_request(self, message: OutboundMessage) -> tuple[str, list[tuple[str, str]]]:
        """The path and the form fields for one message: a template, or free-form inside the window."""
        self.check_channel(message)
        if message.attachments or message.provider_extra.get("media_urls"):
            raise UnsupportedFeature(f"{self.display_name}: media is not supported for receipts.")
        form: list[tuple[str, str]] = [("To", whatsapp_address(message.to))]
        if self._from_number:
            form.append(("From", self._from_number))
        if self._messaging_service_sid:
            form.append(("MessagingServiceSid", self._messaging_service_sid))
        session = message.provider_extra.get("session_open") is True
        if not session and not self._content_sid:
            log.warning(
                "WhatsApp message %s goes free-form although the customer has not written in the last 24 hours "
                "(as far as ReceiptDesk knows) and no content_sid is set: Twilio may refuse it (error 63016)",
                message.idempotency_key,
            )
        if session or not self._content_sid:
            body = message.sms_body or message.text
            if not body:
                raise PermanentProviderError(f"{self.display_name}: the message has no body.")
            limit = self.capabilities.max_body_chars or len(body)
            if len(body) > limit:
                raise UnsupportedFeature(f"{self.display_name} takes at most {limit} characters; got {len(body)}.")
            form.append(("Body", body))
        else:
            form.append(("ContentSid", self._content_sid or ""))
            variables = content_variables(message)
            if len(variables) > MAX_VARIABLES:
                raise UnsupportedFeature(f"{self.display_name}: at most {MAX_VARIABLES} template variables.")
            if variables:
                # ContentVariables is one JSON-encoded string field, not one field per variable.
                form.append(("ContentVariables", json.dumps(variables, ensure_ascii=False, separators=(",", ":"))))
        if self._status_callback:
            form.append(("StatusCallback", self._status_callback))
        return f"/2010-04-01/Accounts/{quote(self._account_sid, safe='')}/Messages.json", form

    def _error(self, response: httpx.Response) -> Exception:
        error = super()._error(response)
        payload: dict[str, Any] = _json_object(response)
        if str(payload.get("code")) == str(OUTSIDE_WINDOW) and not isinstance(error, PermanentProviderError):
            # 63016 is never retryable, whatever the HTTP status (twilio.com/docs/api/errors/63016).
            return PermanentProviderError(str(error), status_code=response.status_code, code=str(OUTSIDE_WINDOW))
        return error
