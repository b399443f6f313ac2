"""Firebase Cloud Messaging HTTP v1: one `OutboundMessage` → one `POST /v1/projects/{id}/messages:send`.

Public documentation: https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send

See docs/providers.md § A15 (google-api-python-client 2.202.0 `fcm.v1.json`, revision
20261023; firebase-admin `messaging.py`). The payload builder and the response parser are pure;
sending, the token and `repr` are `OAuthAdapter`'s.

Push conventions: `message.to` is the device registration token, sent as `message.token`
(`target="fid"` sends it as `message.fid` instead: fcm.v1.json rev 20261023 marks `token`
deprecated in favour of `fid`, and `token` accepts both during the transition). Title and body come from
`push_payload["title"|"body"]`, else `subject` and `sms_body`/`text`; `data` is `metadata`, plus
`push_payload["data"]`, `push_payload["receipt_id"]` and our `receiptdesk_key`, all as strings.
`provider_extra["android"|"apns"]` (REST JSON objects) are passed through only when set.

Verified here: HTTP 400 INVALID_ARGUMENT, 404 UNREGISTERED, 500 INTERNAL (ErrorCode page); the
FcmError `details` shape and errorCode → exception table (firebase-admin). PROVIDERS.md's
UNVERIFIED 429/503/403/401 statuses are not relied on: the errorCode decides, the status is a fallback.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities, HttpRequest, classify_status, parse_retry_after
from app.providers.oauth import Clock, OAuthAdapter, ServiceAccountJwtGrant, ServiceAccountKey

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"  # fcm.v1.json send scopes
IDEMPOTENCY_KEY = "receiptdesk_key"
MAX_PAYLOAD_BYTES = 4096  # keys + values, token messages (ErrorCode page, "Message too big")
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
RESERVED_KEYS = frozenset({"from", "message_type"})
RESERVED_PREFIXES = ("google.", "gcm.notification.")  # fcm.v1.json Message.data description

# FcmError errorCode → transient? (ErrorCode page; firebase-admin FCM_ERROR_TYPES). Unknown codes fall
# back to the HTTP status.
ERROR_TRANSIENT: Mapping[str, bool] = {
    "INVALID_ARGUMENT": False,
    "UNREGISTERED": False,  # the device token is dead: drop it
    "SENDER_ID_MISMATCH": False,
    "THIRD_PARTY_AUTH_ERROR": False,  # APNs/web push credentials in the Firebase console
    "APNS_AUTH_ERROR": False,  # older name of THIRD_PARTY_AUTH_ERROR (firebase-admin)
    "QUOTA_EXCEEDED": True,
    "UNAVAILABLE": True,
    "INTERNAL": True,
}
TARGETS = ("token", "fid")
_THIRD_PARTY_AUTH = frozenset({"THIRD_PARTY_AUTH_ERROR", "APNS_AUTH_ERROR"})
# X-GOOG-API-FORMAT-VERSION 2 is what firebase-admin sends (FcmError details in errors).
HEADERS: Mapping[str, str] = {"Accept": "application/json", "X-GOOG-API-FORMAT-VERSION": "2"}


class FcmAdapter(OAuthAdapter):
    """Sends push notifications to one app instance through FCM HTTP v1.

    Auth is a service-account token (scope firebase.messaging). FCM has no idempotency key; ours
    travels in `data.receiptdesk_key`, which the app can use to drop a duplicate.
    """

    provider_id: ClassVar[str] = "fcm"
    display_name: ClassVar[str] = "Firebase Cloud Messaging"
    default_base_url: ClassVar[str] = "https://fcm.googleapis.com"  # fcm.v1.json rootUrl
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.PUSH,
        max_body_chars=None,  # the limit is 4,096 bytes of the whole payload, checked when building
        supports_attachments=False,
        supports_templates=False,
        supports_idempotency_key=False,
        rate_per_sec=None,  # per-project quota, not published as a rate; QUOTA_EXCEEDED tells us
        delivery_receipts=False,
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (
        SecretField("service_account_json", "Service-account key (JSON)"),
    )
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("project_id", "Firebase project ID (default: the key file's project_id)", required=False),
        SettingField("target", "Device id field: token (default) or fid", required=False),
        SettingField("base_url", "API base URL", required=False),
        SettingField("token_uri", "OAuth token endpoint (default: the key file's token_uri)", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("project_id", "base_url")
    # The token grant is the check (OAuthAdapter.check_credentials).
    credential_check_doc: ClassVar[str | None] = "https://firebase.google.com/docs/cloud-messaging/auth-server"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        service_account_json: str,
        project_id: str | None = None,
        target: str | None = None,
        base_url: str | None = None,
        token_uri: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        key = ServiceAccountKey.from_json(service_account_json, provider=self.display_name)
        project = project_id or key.project_id
        if not project:
            raise ConfigurationError(
                f"{self.display_name}: missing project_id. Set it in the settings file "
                "(the service-account key names none)."
            )
        if (target or "token") not in TARGETS:
            raise ConfigurationError(f"{self.display_name}: target must be one of {', '.join(TARGETS)}.")
        grant = ServiceAccountJwtGrant(key, [SCOPE], token_uri=token_uri, label=f"{self.display_name} token endpoint")
        super().__init__(http, grant, base_url=base_url, clock=clock)
        self._target = target or "token"
        self._project_id = project

    def refused(self, response: httpx.Response) -> bool:
        # A 401 THIRD_PARTY_AUTH_ERROR is about APNs/web-push credentials, not our token: no refresh.
        return response.status_code == 401 and google_error(response)[2] not in _THIRD_PARTY_AUTH

    def build_request(self, message: OutboundMessage) -> tuple[str, dict[str, Any]]:
        """The path and the JSON body (`{"message": {...}}`) for one message."""
        self.check_channel(message)
        if message.attachments:
            raise UnsupportedFeature(f"{self.display_name} cannot carry attachments.")
        if not message.to:
            raise PermanentProviderError(f"{self.display_name}: the message has no device token.")
        push = message.push_payload or {}
        notification: dict[str, str] = {}
        title = push.get("title") or message.subject
        body = push.get("body") or message.sms_body or message.text
        if title:
            notification["title"] = str(title)
        if body:
            notification["body"] = str(body)
        if push.get("image"):
            notification["image"] = str(push["image"])

        data = {**message.metadata, **dict(push.get("data") or {})}
        if push.get("receipt_id") is not None:
            data["receipt_id"] = push["receipt_id"]
        data[IDEMPOTENCY_KEY] = message.idempotency_key
        data = {str(k): self._data_value(str(k), v) for k, v in data.items()}

        fcm: dict[str, Any] = {self._target: message.to}
        if notification:
            fcm["notification"] = notification
        fcm["data"] = data
        for platform in ("android", "apns"):
            config = message.provider_extra.get(platform)
            if config:
                fcm[platform] = dict(config)
        size = sum(len(k.encode()) + len(v.encode()) for k, v in (*notification.items(), *data.items()))
        if size > MAX_PAYLOAD_BYTES:
            raise UnsupportedFeature(f"{self.display_name}: payload is {size} bytes; FCM takes {MAX_PAYLOAD_BYTES}.")
        return f"/v1/projects/{quote(self._project_id, safe='')}/messages:send", {"message": fcm}

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, body = self.build_request(message)
        return HttpRequest(self._base_url + path, json=body, headers=HEADERS)

    def _data_value(self, key: str, value: Any) -> str:
        # data is map<string, string>; reserved keys are refused by FCM with INVALID_ARGUMENT.
        if key in RESERVED_KEYS or key.startswith(RESERVED_PREFIXES):
            raise UnsupportedFeature(f"{self.display_name}: data key {key!r} is reserved by FCM.")
        if isinstance(value, str):
            return value
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return str(value)
        raise UnsupportedFeature(f"{self.display_name}: data value of {key!r} must be a string or a number.")

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        name = _json_object(response).get("name")
        # 200 {"name": "projects/{project}/messages/{id}"} (fcm.v1.json Message.name)
        if isinstance(name, str) and "/messages/" in name:
            return SendResult(
                provider_message_id=name, status=SendStatus.ACCEPTED, raw_status=str(response.status_code)
            )
        return SendResult(
            provider_message_id=None,
            status=SendStatus.UNKNOWN,
            raw_status=str(response.status_code),
            detail="answer carries no message name",
        )

    def _error(self, response: httpx.Response) -> Exception:
        status, text, fcm_code = google_error(response)
        detail = text or response.reason_phrase or "error"
        code = fcm_code or status
        if code:
            detail = f"{detail} ({code})"
        transient = ERROR_TRANSIENT.get(fcm_code or "")
        if transient is True:
            return TransientProviderError(
                f"{self.display_name} answered {response.status_code}: {detail}",
                status_code=response.status_code,
                code=code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if transient is False:
            return PermanentProviderError(
                f"{self.display_name} answered {response.status_code}: {detail}",
                status_code=response.status_code,
                code=code,
            )
        return classify_status(self.display_name, response, detail, code=code)


def google_error(response: httpx.Response) -> tuple[str | None, str | None, str | None]:
    """(status, message, FcmError errorCode) of `{"error": {code, message, status, details}}`."""
    error = _json_object(response).get("error")
    if not isinstance(error, dict):
        return None, None, None
    fcm_code = None
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and detail.get("@type") == FCM_ERROR_TYPE and detail.get("errorCode"):
            fcm_code = str(detail["errorCode"])
            break
    status = error.get("status")
    text = error.get("message")
    return (
        status if isinstance(status, str) and status else None,
        text if isinstance(text, str) and text else None,
        fcm_code,
    )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON or not an object."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
