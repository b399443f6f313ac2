"""HubSpot transactional single-send: one `OutboundMessage` → one `POST .../single-email/send`.

Public documentation: https://developers.hubspot.com/docs/api-reference/marketing-single-send-v4/single-send/post-marketing-v4-email-single-send

See docs/providers.md § A11. Path and models as in HubSpot's own client
(HubSpot/hubspot-api-python `marketing/transactional/api/single_send_api.py`, `EmailSendStatusView`).
The payload builder and the response parser are pure; sending, error translation and `repr`
are `HttpAdapter`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status

PATH = "/marketing/v3/transactional/single-email/send"

# `status` of the send request (EmailSendStatusView.status enum).
STATUS_MAP: Mapping[str, SendStatus] = {
    "PENDING": SendStatus.ACCEPTED,
    "PROCESSING": SendStatus.ACCEPTED,
    "CANCELED": SendStatus.REJECTED,
    # COMPLETE is decided by `sendResult` (SEND_RESULT_MAP).
}
# `sendResult` once COMPLETE (EmailSendStatusView.send_result enum). Not listed → REJECTED: every
# other value names a reason the email was not sent (INVALID_TO_ADDRESS, PREVIOUSLY_BOUNCED, ...).
SEND_RESULT_MAP: Mapping[str, SendStatus] = {
    "SENT": SendStatus.ACCEPTED,  # handed to the mail servers, not yet delivered
    "QUEUED": SendStatus.ACCEPTED,
    # A repeated sendId is ignored: the first send stands ("no more than one email per sendId").
    "IDEMPOTENT_IGNORE": SendStatus.ACCEPTED,
}
SEND_RESULTS_KNOWN = frozenset(
    {
        *SEND_RESULT_MAP,
        "IDEMPOTENT_FAIL", "THROTTLED", "EMAIL_DISABLED", "PORTAL_SUSPENDED", "INVALID_TO_ADDRESS",
        "BLOCKED_DOMAIN", "PREVIOUSLY_BOUNCED", "EMAIL_UNCONFIRMED", "PREVIOUS_SPAM",
        "PREVIOUSLY_UNSUBSCRIBED_MESSAGE", "PREVIOUSLY_UNSUBSCRIBED_PORTAL", "INVALID_FROM_ADDRESS",
        "CAMPAIGN_CANCELLED", "VALIDATION_FAILED", "MTA_IGNORE", "BLOCKED_ADDRESS", "PORTAL_OVER_LIMIT",
        "PORTAL_EXPIRED", "PORTAL_MISSING_MARKETING_SCOPE", "MISSING_TEMPLATE_PROPERTIES",
        "MISSING_REQUIRED_PARAMETER", "PORTAL_AUTHENTICATION_FAILURE", "MISSING_CONTENT", "CORRUPT_INPUT",
        "TEMPLATE_RENDER_EXCEPTION", "GRAYMAIL_SUPPRESSED", "UNCONFIGURED_SENDING_DOMAIN", "UNDELIVERABLE",
        "CANCELLED_ABUSE", "QUARANTINED_ADDRESS", "ADDRESS_ONLY_ACCEPTED_ON_PROD",
        "PORTAL_NOT_AUTHORIZED_FOR_APPLICATION", "ADDRESS_LIST_BOMBED", "ADDRESS_OPTED_OUT",
        "RECIPIENT_FATIGUE_SUPPRESSED", "TOO_MANY_RECIPIENTS", "PREVIOUSLY_UNSUBSCRIBED_BRAND",
        "NON_MARKETABLE_CONTACT", "PREVIOUSLY_UNSUBSCRIBED_BUSINESS_UNIT",
    }
)  # fmt: skip


class HubSpotAdapter(HttpAdapter):
    """Has HubSpot e-mail the customer a published transactional template, filled with the receipt.

    Channel is `CRM`, not `EMAIL`: HubSpot renders its own template (`email_id`), records the send
    on the customer's contact and takes receipt fields as `customProperties`; our rendered HTML is
    not sent. Auth is a private-app (or OAuth) Bearer token with the `transactional-email` scope.
    Our idempotency key is the `sendId`: HubSpot sends at most one e-mail per sendId.
    """

    provider_id: ClassVar[str] = "hubspot"
    display_name: ClassVar[str] = "HubSpot"
    default_base_url: ClassVar[str] = "https://api.hubapi.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.CRM,
        max_body_chars=None,
        supports_attachments=False,
        supports_templates=True,
        supports_idempotency_key=True,  # message.sendId
        rate_per_sec=10.0,  # 100-190 requests per 10 s per app depending on tier (§ A11, [S])
        delivery_receipts=False,  # the status API must be polled by statusId; not done here
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("access_token", "Private app access token"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("email_id", "Transactional email ID"),
        SettingField("from_email", "Sender address override", required=False),
        SettingField("base_url", "API base URL", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("email_id", "base_url")
    credential_check_doc: ClassVar[str | None] = (
        "https://developers.hubspot.com/docs/api-reference/legacy/account/account-information/get-account-details"
    )

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        access_token: str,
        email_id: str | int,
        from_email: str | None = None,
        base_url: str | None = None,
    ) -> None:
        # emailId is an integer (§ A11); the settings file may give it as a string.
        if not str(email_id).strip().isdigit():
            raise ConfigurationError(f"{self.display_name}: email_id must be the numeric ID of the email.")
        super().__init__(http, base_url=base_url)
        self._headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        self._email_id = int(str(email_id).strip())
        self._from_email = from_email or None

    def build_request(self, message: OutboundMessage) -> tuple[str, dict[str, Any]]:
        """The path and the JSON body for one message."""
        self.check_channel(message)
        if message.attachments:
            raise UnsupportedFeature(f"{self.display_name} single-send cannot carry attachments.")
        envelope: dict[str, Any] = {"to": message.to, "sendId": message.idempotency_key}
        if self._from_email:
            envelope["from"] = self._from_email
        body: dict[str, Any] = {"emailId": self._email_id, "message": envelope}
        extra = message.provider_extra
        contact = extra.get("contact_properties")
        if contact:
            # v3 takes maps, not the legacy v1 [{name, value}] lists (§ A11).
            body["contactProperties"] = {str(k): str(v) for k, v in dict(contact).items()}
        custom = {**message.metadata, **{str(k): v for k, v in dict(extra.get("custom_properties") or {}).items()}}
        if custom:
            body["customProperties"] = custom  # the template reads {{ custom.<name> }}
        return PATH, body

    def credential_request(self) -> HttpRequest | None:
        """Retrieve account details (`GET /account-info/v3/details`): any valid token may read them."""
        return HttpRequest(self._base_url + "/account-info/v3/details", method="GET", headers=self._headers)

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, body = self.build_request(message)
        return HttpRequest(self._base_url + path, json=body, headers=self._headers)

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer (and a 409 on a repeated sendId); raises for any other."""
        if response.status_code == 409:
            # A repeated sendId may answer 409 rather than IDEMPOTENT_IGNORE: the first send stands (UNVERIFIED).
            return SendResult(None, SendStatus.ACCEPTED, raw_status="409", detail="sendId already used")
        if not response.is_success:
            raise self._error(response)
        payload = _json_object(response)
        raw, result = payload.get("status"), payload.get("sendResult")
        raw_status = raw if isinstance(raw, str) else None
        send_result = result if isinstance(result, str) else None
        if raw_status == "COMPLETE" and send_result in SEND_RESULTS_KNOWN:
            status = SEND_RESULT_MAP.get(send_result, SendStatus.REJECTED)
        else:
            status = STATUS_MAP.get(raw_status or "", SendStatus.UNKNOWN)
        status_id = payload.get("statusId")
        text = payload.get("message")
        return SendResult(
            provider_message_id=status_id[:128] if isinstance(status_id, str) and status_id else None,
            status=status,
            raw_status=f"{raw_status}/{send_result}" if raw_status and send_result else raw_status,
            detail=text[:200] if isinstance(text, str) and text else send_result,
        )

    def _error(self, response: httpx.Response) -> Exception:
        # Errors are {status: "error", message, correlationId, category, errors?} (HubSpot API error model).
        payload = _json_object(response)
        text, category = payload.get("message"), payload.get("category")
        detail = text[:300] if isinstance(text, str) and text else (response.reason_phrase or "error")
        code = category if isinstance(category, str) else None
        retry_after = None
        if response.status_code == 429 and not response.headers.get("Retry-After"):
            retry_after = rate_limit_wait(response.headers)
        return classify_status(self.display_name, response, detail, retry_after=retry_after, code=code)


def rate_limit_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds until the rate-limit window ends, from HubSpot's interval headers, or None.

    HubSpot documents `X-HubSpot-RateLimit-Interval-Milliseconds` and `-Remaining`, not Retry-After
    (changelog 2018-11-06); with nothing left, waiting one whole interval is the safe bound.
    """
    remaining = headers.get("X-HubSpot-RateLimit-Remaining")
    interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
    if remaining is None or interval is None or remaining.strip() != "0":
        return None
    try:
        return max(0.0, float(interval) / 1000.0)
    except ValueError:
        return None


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
