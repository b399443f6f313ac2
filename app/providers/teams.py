"""Microsoft Teams Workflows webhook: one receipt audit summary → one Adaptive Card `POST`.

Public documentation: https://learn.microsoft.com/connectors/teams/

See docs/providers.md § A9. Office 365 connectors ("Incoming Webhook") are retired; this
posts to a Workflows (Power Automate) flow started by "When a Teams webhook request is received".
The payload builder and the response parser are pure; sending, error translation and `repr` (the
flow's host only: the URL is the credential) are `HttpAdapter`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from app.domain.channels import Channel
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status
from app.providers.slack import DAILY_SUMMARY, audit_facts, audit_title, parse_webhook_url, webhook_origin

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"  # Teams renders up to 1.5 on desktop; 1.4 is the safe floor for mobile (§ A9)
RUN_ID_HEADER = "x-ms-workflow-run-id"

# A flow trigger answers 202 (run queued) unless the flow has a Response action (then usually 200).
STATUS_MAP: Mapping[int, SendStatus] = {
    202: SendStatus.ACCEPTED,
    200: SendStatus.ACCEPTED,
}


class TeamsAdapter(HttpAdapter):
    """Posts an internal audit summary of one receipt as an Adaptive Card to a Teams channel.

    The workflow URL carries its own SAS signature (`sig=` in the query) and no auth header, so it
    is a secret. A 2xx only means the flow run started, not that the card was posted. `message.to`
    is the customer's contact the summary is about, shown masked only; the receipt never leaves.
    """

    provider_id: ClassVar[str] = "teams"
    display_name: ClassVar[str] = "Microsoft Teams"
    default_base_url: ClassVar[str] = "https://prod-00.westus.logic.azure.com"  # each flow has its own host
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.CHAT,
        max_body_chars=None,  # the whole post must stay under about 28 KB (§ A9)
        supports_attachments=False,
        supports_templates=False,
        supports_idempotency_key=False,
        rate_per_sec=4.0,  # webhooks are throttled above 4 requests/s (§ A9; flow run quotas UNVERIFIED)
        delivery_receipts=False,
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("workflow_url", "Workflow webhook URL"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()

    def __init__(self, http: httpx.AsyncClient, *, workflow_url: str) -> None:
        self._url = parse_webhook_url(workflow_url, self.display_name, "workflow_url")
        super().__init__(http, base_url=webhook_origin(self._url))

    def build_request(self, message: OutboundMessage) -> dict[str, Any]:
        """The JSON body: a Bot Framework `message` activity with one Adaptive Card attachment."""
        self.check_channel(message)
        if message.metadata.get("kind") == DAILY_SUMMARY:
            body: list[dict[str, Any]] = [
                {"type": "TextBlock", "text": message.subject or "End of day", "weight": "Bolder", "size": "Medium"},
                {"type": "TextBlock", "text": message.text or "", "wrap": True},
            ]
            card = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
            return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}]}
        body = [
            {"type": "TextBlock", "text": audit_title(message), "weight": "Bolder", "size": "Medium", "wrap": True},
        ]
        facts = audit_facts(message)
        if facts:
            body.append({"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in facts]})
        body.append(
            {
                "type": "TextBlock",
                "text": f"Reference {message.idempotency_key}",
                "isSubtle": True,
                "size": "Small",
                "wrap": True,
            }
        )
        card = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
        # The "Post to a channel when a webhook request is received" template posts attachments[*].content.
        return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}]}

    def request(self, message: OutboundMessage) -> HttpRequest:
        return HttpRequest(str(self._url), json=self.build_request(message))

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        status = STATUS_MAP.get(response.status_code, SendStatus.UNKNOWN)
        # Logic Apps / Power Automate triggers name the run in a header; absent → no id.
        run_id = response.headers.get(RUN_ID_HEADER) or None
        return SendResult(
            provider_message_id=run_id[:128] if run_id else None,
            status=status,
            raw_status=str(response.status_code),
            detail=None if status is SendStatus.ACCEPTED else f"answered {response.status_code}, not 202",
        )

    def _error(self, response: httpx.Response) -> Exception:
        # Logic Apps errors are {"error": {"code", "message"}} (e.g. DirectApiInvalidAuthorizationSignature).
        code: str | None = None
        detail = response.reason_phrase or "error"
        try:
            payload = response.json()
        except ValueError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            code = error.get("code") if isinstance(error.get("code"), str) else None
            message = error.get("message")
            detail = code or detail
            if isinstance(message, str) and message:
                detail = f"{detail}: {message[:200]}"
        return classify_status(self.display_name, response, detail, code=code)
