"""Salesforce Marketing Cloud transactional e-mail: one `OutboundMessage` → one `POST .../messages/{messageKey}`.

Public documentation: https://developer.salesforce.com/docs/marketing/marketing-cloud/references/mc_rest_transactional_messaging_email/sendMessageSingleRecipient.html

See docs/providers.md § A12. The payload builder and the response parser are pure; sending,
the token and `repr` are `OAuthAdapter`'s.

Verified here (developer.salesforce.com `sendMessageSingleRecipient`, read 2026): 202 Accepted with
`requestId` and `responses[].messageKey` — PROVIDERS.md had the status as UNVERIFIED; 400/401/403/500
documented; a per-recipient `errorcode` marks a message that failed. Still UNVERIFIED: the error
body (`{message, errorcode, documentation}` is the general SFMC REST shape [S]), 429 and rate limits,
and what a reused messageKey answers (documented only as "rejected").
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities, HttpRequest, classify_status
from app.providers.oauth import AccessToken, ClientCredentialsGrant, Clock, OAuthAdapter

AUTH_URL_TEMPLATE = "https://{subdomain}.auth.marketingcloudapis.com"
IDEMPOTENCY_ATTRIBUTE = "receiptdesk_key"
MAX_MESSAGE_KEY = 100  # messageKey path parameter, "up to 100 characters"

STATUS_MAP: Mapping[int, SendStatus] = {202: SendStatus.ACCEPTED}  # sendMessageSingleRecipient responses


class SfmcAdapter(OAuthAdapter):
    """Hands a receipt to Salesforce Marketing Cloud as a transactional e-mail (the CRM hand-off).

    Channel is e-mail, but the content comes from the send definition (`definition_key`) in
    Marketing Cloud: only receipt fields travel, as `recipient.attributes`. Our idempotency key is
    the `messageKey`, which SFMC refuses to reuse for 72 hours (best-practices page), and is also
    sent as the `receiptdesk_key` attribute. The token answer names the tenant's REST base URL.
    """

    provider_id: ClassVar[str] = "sfmc"
    display_name: ClassVar[str] = "Salesforce Marketing Cloud"
    default_base_url: ClassVar[str] = AUTH_URL_TEMPLATE  # {subdomain} from the settings; REST URL from the token
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.EMAIL,
        max_body_chars=None,
        supports_attachments=False,  # the send definition owns the content
        supports_templates=True,  # the send definition is the template
        supports_idempotency_key=True,  # messageKey, unique per business unit
        rate_per_sec=None,  # UNVERIFIED: no published limit in the sources read
        delivery_receipts=False,  # Event Notification Service webhooks exist, not wired here
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("client_secret", "Client secret"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("client_id", "Installed package client ID"),
        SettingField("definition_key", "Transactional send definition key"),
        SettingField("subdomain", "Tenant subdomain (the {subdomain} of the auth URL)", required=False),
        SettingField("auth_base_url", "Auth base URL (instead of subdomain)", required=False),
        SettingField("account_id", "Business unit MID", required=False),
        SettingField("rest_base_url", "REST base URL (default: rest_instance_url of the token)", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("client_id", "base_url")
    # The token grant is the check (OAuthAdapter.check_credentials).
    credential_check_doc: ClassVar[str | None] = (
        "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/access-token-s2s.html"
    )

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: str,
        definition_key: str,
        subdomain: str | None = None,
        auth_base_url: str | None = None,
        account_id: str | None = None,
        rest_base_url: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        if not auth_base_url:
            if not subdomain:
                raise ConfigurationError(
                    f"{self.display_name}: missing subdomain (or auth_base_url). Set it in the settings file."
                )
            auth_base_url = AUTH_URL_TEMPLATE.format(subdomain=quote(subdomain, safe=""))
        grant = ClientCredentialsGrant(
            f"{auth_base_url.rstrip('/')}/v2/token",
            client_id,
            client_secret,
            account_id=account_id,
            json_body=True,  # /v2/token takes JSON, not a form (access-token-s2s page)
            label=f"{self.display_name} token endpoint",
        )
        # base_url is the auth host (see default_base_url); the REST host is the setting or the token's.
        super().__init__(http, grant, base_url=auth_base_url, clock=clock)
        self._client_id = client_id
        self._definition_key = definition_key
        self._rest_base_url = rest_base_url.rstrip("/") if rest_base_url else None

    def build_request(self, message: OutboundMessage) -> tuple[str, dict[str, Any]]:
        """The path (under the REST base URL) and the JSON body for one message."""
        self.check_channel(message)
        if message.attachments:
            raise UnsupportedFeature(f"{self.display_name} cannot carry attachments; the send definition owns content.")
        key = message.idempotency_key
        if not key or len(key) > MAX_MESSAGE_KEY:
            raise UnsupportedFeature(f"{self.display_name}: messageKey must be 1-{MAX_MESSAGE_KEY} characters.")
        extra = message.provider_extra
        attributes = {**message.metadata, **dict(extra.get("attributes") or {}), IDEMPOTENCY_ATTRIBUTE: key}
        recipient = {
            # contactKey may be the e-mail address: SFMC creates the contact at send time (send page).
            "contactKey": str(extra.get("contact_key") or message.to),
            "to": message.to,
            "attributes": attributes,
        }
        body = {"definitionKey": str(extra.get("definition_key") or self._definition_key), "recipient": recipient}
        return f"/messaging/v1/email/messages/{quote(key, safe='')}", body

    def request(self, message: OutboundMessage) -> HttpRequest:
        """The request with the path only: the REST base URL may come with the token (`authorize`)."""
        path, body = self.build_request(message)
        return HttpRequest(path, json=body, headers={"Accept": "application/json"})

    def authorize(self, request: HttpRequest, token: AccessToken) -> HttpRequest:
        """The request under the REST base URL (the setting, else the token's), with the token."""
        base = self._rest_base_url or (token.instance_url or "").rstrip("/")
        if not base:
            raise PermanentProviderError(
                f"{self.display_name}: the token answer named no rest_instance_url; set rest_base_url."
            )
        # rest_instance_url ends with "/" (access-token-s2s page); joined without doubling it.
        return super().authorize(replace(request, url=base + request.url), token)

    def parse_response(self, response: httpx.Response, *, message_key: str | None = None) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        payload = _json_object(response)
        responses = [r for r in payload.get("responses") or () if isinstance(r, dict)]
        first = responses[0] if responses else {}
        key = first.get("messageKey") if isinstance(first.get("messageKey"), str) else message_key
        errorcode = first.get("errorcode")
        if errorcode not in (None, "", 0):
            # A per-recipient errorcode means this message failed although the request was taken.
            text = first.get("message")
            return SendResult(
                provider_message_id=key,
                status=SendStatus.REJECTED,
                raw_status=str(errorcode),
                detail=str(text) if text else f"SFMC error code {errorcode}",
            )
        status = STATUS_MAP.get(response.status_code, SendStatus.UNKNOWN) if responses else SendStatus.UNKNOWN
        request_id = payload.get("requestId")
        return SendResult(
            provider_message_id=key,
            status=status,
            raw_status=str(response.status_code),
            detail=f"requestId {request_id}" if isinstance(request_id, str) else "answer carries no responses",
        )

    def result(self, response: httpx.Response, message: OutboundMessage) -> SendResult:
        return self.parse_response(response, message_key=message.idempotency_key)

    def _error(self, response: httpx.Response) -> Exception:
        payload = _json_object(response)
        code = payload.get("errorcode")
        text = payload.get("message")
        for item in payload.get("responses") or ():
            if isinstance(item, dict) and item.get("errorcode") is not None:
                code, text = item.get("errorcode"), item.get("message") or text
                break
        detail = str(text) if text else (response.reason_phrase or "error")
        if code is not None:
            detail = f"{detail} (SFMC error {code})"
        return classify_status(self.display_name, response, detail, code=str(code) if code is not None else None)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON or not an object."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
