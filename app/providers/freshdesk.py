"""Freshdesk outbound e-mail: one `OutboundMessage` → one `POST /api/v2/tickets/outbound_email`.

Public documentation: https://developers.freshdesk.com/api/#outbound_email

See docs/providers.md § A13. Freshdesk e-mails the customer from a support mailbox
(`email_config_id`) and files the e-mail as a ticket, closed by default. The payload builder and
the response parser are pure; sending, error translation and `repr` are `HttpAdapter`'s.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status

PATH = "/api/v2/tickets/outbound_email"
TAG = "receiptdesk"
STATUS_CLOSED = 5  # 2 Open, 3 Pending, 4 Resolved, 5 Closed (outbound e-mail default: 5)
PRIORITY_LOW = 1  # 1 Low ... 4 Urgent
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

# Ticket create answers with an HTTP status and the ticket; the status is what tells us it took.
STATUS_MAP: Mapping[int, SendStatus] = {201: SendStatus.ACCEPTED}  # 201 Created (§ A13, [S])


class FreshdeskAdapter(HttpAdapter):
    """E-mails the receipt through Freshdesk and keeps it as a (closed) ticket on the customer.

    Auth is HTTP Basic with the agent's API key as user name and any password (by convention `X`).
    Freshdesk has no idempotency key: a retry after an ambiguous timeout can file a second ticket.
    """

    provider_id: ClassVar[str] = "freshdesk"
    display_name: ClassVar[str] = "Freshdesk"
    default_base_url: ClassVar[str] = "https://{domain}.freshdesk.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.CRM,
        max_body_chars=None,
        supports_attachments=False,  # needs multipart/form-data; not done here
        supports_templates=False,
        supports_idempotency_key=False,
        rate_per_sec=0.8,  # plan-based; about 3,000 calls/hour on the smallest current plan (§ A13, [S])
        delivery_receipts=False,
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("api_key", "API key"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("domain", "Helpdesk domain (the `acme` of acme.freshdesk.com)"),
        SettingField("email_config_id", "Support mailbox ID (email_config_id)"),
        SettingField("status", "Ticket status after sending (2-5, default 5 closed)", required=False),
        SettingField("base_url", "API base URL (overrides the domain)", required=False),
    )
    credential_check_doc: ClassVar[str | None] = "https://developers.freshdesk.com/api/#me"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        domain: str,
        email_config_id: str | int,
        status: str | int | None = None,
        base_url: str | None = None,
    ) -> None:
        host = domain.strip().lower().removesuffix(".freshdesk.com")
        if not _DOMAIN.fullmatch(host):
            raise ConfigurationError(f"{self.display_name}: domain must be the name before .freshdesk.com.")
        # email_config_id and status are numbers on the wire (§ A13); the settings file may give strings.
        self._email_config_id = _integer(email_config_id, "email_config_id", 1, 2**63 - 1)
        self._status = STATUS_CLOSED if status in (None, "") else _integer(status, "status", 2, 5)
        super().__init__(http, base_url=base_url or self.default_base_url.format(domain=host))
        self._auth = httpx.BasicAuth(api_key, "X")

    def build_request(self, message: OutboundMessage) -> tuple[str, dict[str, Any]]:
        """The path and the JSON body for one message."""
        self.check_channel(message)
        if message.attachments:
            raise UnsupportedFeature(f"{self.display_name}: attachments need multipart upload, not supported.")
        if message.html:
            description = message.html
        elif message.text:
            description = "<pre>" + html.escape(message.text) + "</pre>"  # description is HTML (§ A13)
        else:
            raise PermanentProviderError(f"{self.display_name}: the message has no html or text.")
        sale = message.metadata.get("sale_id")
        subject = message.subject or (f"Your receipt {sale}" if sale else "Your receipt")
        body: dict[str, Any] = {
            "email": message.to,
            "subject": subject,
            "description": description,
            "status": self._status,
            "priority": PRIORITY_LOW,
            "email_config_id": self._email_config_id,
            "tags": [TAG],
        }
        name = message.provider_extra.get("name")
        if name:
            body["name"] = str(name)
        return PATH, body

    def credential_request(self) -> HttpRequest | None:
        """View me (`GET /api/v2/agents/me`): the agent the API key belongs to."""
        return HttpRequest(
            self._base_url + "/api/v2/agents/me", method="GET", headers={"Accept": "application/json"}, auth=self._auth
        )

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, body = self.build_request(message)
        return HttpRequest(self._base_url + path, json=body, headers={"Accept": "application/json"}, auth=self._auth)

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        payload = _json_object(response)
        ticket_id = payload.get("id")
        status = STATUS_MAP.get(response.status_code, SendStatus.UNKNOWN)
        return SendResult(
            provider_message_id=str(ticket_id) if isinstance(ticket_id, int | str) and ticket_id else None,
            status=status,
            raw_status=str(response.status_code),
            detail=None if status is SendStatus.ACCEPTED else f"answered {response.status_code}, not 201",
        )

    def _error(self, response: httpx.Response) -> Exception:
        # {"description": "Validation failed", "errors": [{"field", "message", "code"}]} or {"code", "message"}.
        payload = _json_object(response)
        parts = []
        for err in payload.get("errors") or ():
            if isinstance(err, dict) and err.get("message"):
                field = err.get("field")
                parts.append(f"{field}: {err['message']}" if field else str(err["message"]))
        head = payload.get("description") or payload.get("message")
        detail = "; ".join(parts) or (head if isinstance(head, str) and head else response.reason_phrase or "error")
        if parts and isinstance(head, str):
            detail = f"{head}: {detail}"
        code = payload.get("code")
        return classify_status(self.display_name, response, detail[:400], code=code if isinstance(code, str) else None)


def _integer(value: str | int, name: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise ConfigurationError(f"Freshdesk: {name} must be a whole number from {low} to {high}.")
    return number


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
