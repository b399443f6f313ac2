"""FcmAdapter: body against firebase-admin's encoder and the discovery document; errors against firebase-admin.

Oracles: `firebase_admin.messaging._MessagingService.encode_message` (private classmethod, 7.x)
for the message JSON, `firebase_admin._utils.handle_platform_error_from_httpx` with
`_MessagingService._build_fcm_error_httpx` for the error → exception mapping, and
google-api-python-client's bundled `fcm.v1.json` for URL, method, scopes and field names.
Recorded answers in tests/fixtures/providers/fcm_*.json are written by hand from the FCM
ErrorCode reference and its error-codes guide. No network: httpx.MockTransport.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import googleapiclient
import httpx
import jwt
import pytest
from firebase_admin import _utils as firebase_utils
from firebase_admin import exceptions as firebase_exceptions
from firebase_admin import messaging
from googleapiclient.discovery import build_from_document
from googleapiclient.http import HttpMock

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.fcm import SCOPE, FcmAdapter
from app.sandbox.oauth_tokens import new_service_account
from tests.providers.support import fixture

DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "fcm.v1.json"
PROJECT = "receiptdesk-demo"
INFO, _KEY = new_service_account(f"fcm-sender@{PROJECT}.iam.gserviceaccount.com", PROJECT)
KEY_JSON = json.dumps(INFO)
DEVICE = "fGw0qy4TGgk:APA91bGkq1hnK1uvD7jzL6x0pQ3Vv0Wm8xR2cT5nY9bA4eS7dF1gH3jK6lM0oP2qR5tU8wZ"
RETRYABLE = (
    firebase_exceptions.UnavailableError,
    firebase_exceptions.InternalError,
    firebase_exceptions.ResourceExhaustedError,  # QuotaExceededError derives from it
    firebase_exceptions.DeadlineExceededError,
)


TOKEN = fixture("gmail_token.json")["access_token"]  # same Google token endpoint answer


def push(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.PUSH,
        "to": DEVICE,
        "idempotency_key": "dlv-42-push",
        "push_payload": {"title": "Demo Market receipt", "body": "Total $12.40", "receipt_id": "R-1001"},
        "metadata": {"store": "tx-07"},
    }
    return OutboundMessage(**(values | overrides))


def make(http: httpx.AsyncClient, **settings: Any) -> FcmAdapter:
    return FcmAdapter(http, **({"service_account_json": KEY_JSON} | settings))


@dataclass
class Wire:
    """Token endpoint + FCM: records requests, answers API calls from `replies` (last one repeats)."""

    http: httpx.AsyncClient
    replies: list[httpx.Response | Exception] = field(
        default_factory=lambda: [httpx.Response(200, json=fixture("fcm_message_sent.json"))]
    )
    token_requests: list[httpx.Request] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    holder: list[Wire] = []

    def handler(request: httpx.Request) -> httpx.Response:
        w = holder[0]
        if request.url.path == "/token":
            w.token_requests.append(request)
            return httpx.Response(200, json=fixture("gmail_token.json"))
        w.requests.append(request)
        reply = w.replies[min(len(w.requests), len(w.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        holder.append(Wire(http))
        yield holder[0]


# --- the body, against firebase-admin and the discovery document ----------------------------------


def oracle_message(target: str = "token", **extra: Any) -> dict[str, Any]:
    message = messaging.Message(
        **{target: DEVICE},
        notification=messaging.Notification(title="Demo Market receipt", body="Total $12.40"),
        data={"store": "tx-07", "receipt_id": "R-1001", "receiptdesk_key": "dlv-42-push"},
        **extra,
    )
    encoded: dict[str, Any] = messaging._MessagingService.encode_message(message)
    return encoded


@pytest.mark.filterwarnings("ignore:Message.token is deprecated:DeprecationWarning")
def test_body_equals_firebase_admin_encoding() -> None:
    _, body = make(httpx.AsyncClient()).build_request(push())
    assert body == {"message": oracle_message()}


def test_fid_target_equals_firebase_admin_encoding() -> None:
    _, body = make(httpx.AsyncClient(), target="fid").build_request(push())
    assert body == {"message": oracle_message("fid")}
    with pytest.raises(ConfigurationError, match="target"):
        make(httpx.AsyncClient(), target="topic")


@pytest.mark.filterwarnings("ignore:Message.token is deprecated:DeprecationWarning")
def test_platform_overrides_pass_through_only_when_set() -> None:
    android = messaging.AndroidConfig(priority="high", ttl=3600, collapse_key="receipts")
    apns = messaging.APNSConfig(
        headers={"apns-priority": "10"}, payload=messaging.APNSPayload(aps=messaging.Aps(sound="default"))
    )
    expected = oracle_message(android=android, apns=apns)
    extra = {"android": expected["android"], "apns": expected["apns"]}
    _, body = make(httpx.AsyncClient()).build_request(push(provider_extra=extra))
    assert body == {"message": expected}

    _, plain = make(httpx.AsyncClient()).build_request(push())
    assert set(plain["message"]) == {"token", "notification", "data"}  # no android/apns/webpush/fcm_options


def test_request_matches_the_discovery_document() -> None:
    adapter = make(httpx.AsyncClient(), project_id=PROJECT)
    path, body = adapter.build_request(push())
    doc = json.loads(DISCOVERY.read_text())
    service = build_from_document(doc, http=HttpMock(None, {"status": "200"}))
    oracle = service.projects().messages().send(parent=f"projects/{PROJECT}", body=body)
    assert (oracle.method, oracle.uri.split("?")[0]) == ("POST", FcmAdapter.default_base_url + path)
    method = doc["resources"]["projects"]["resources"]["messages"]["methods"]["send"]
    assert SCOPE in method["scopes"]
    schemas = doc["schemas"]
    assert set(body) <= set(schemas["SendMessageRequest"]["properties"])
    assert set(body["message"]) <= set(schemas["Message"]["properties"])
    assert set(body["message"]["notification"]) <= set(schemas["Notification"]["properties"])
    assert all(isinstance(v, str) for v in body["message"]["data"].values())  # map<string, string>


def test_data_only_message_and_fallback_texts() -> None:
    adapter = make(httpx.AsyncClient())
    _, data_only = adapter.build_request(push(push_payload={"data": {"kind": "receipt"}}, metadata={}))
    assert "notification" not in data_only["message"]
    assert data_only["message"]["data"] == {"kind": "receipt", "receiptdesk_key": "dlv-42-push"}
    _, fallback = adapter.build_request(push(push_payload=None, subject="Receipt", sms_body="Total $1"))
    assert fallback["message"]["notification"] == {"title": "Receipt", "body": "Total $1"}


def test_numbers_become_strings_other_values_are_refused() -> None:
    adapter = make(httpx.AsyncClient())
    _, body = adapter.build_request(push(push_payload={"data": {"items": 3, "total": Decimal("12.40")}}))
    assert body["message"]["data"]["items"] == "3"
    assert body["message"]["data"]["total"] == "12.40"
    for bad in ({"flag": True}, {"nested": {"a": 1}}, {"from": "x"}, {"google.c.a.e": "1"}):
        with pytest.raises(UnsupportedFeature):
            adapter.build_request(push(push_payload={"data": bad}))


def test_limits_and_unsupported_features() -> None:
    adapter = make(httpx.AsyncClient())
    with pytest.raises(UnsupportedFeature, match="4096"):
        adapter.build_request(push(push_payload={"body": "x" * 4096}))
    with pytest.raises(UnsupportedFeature):
        adapter.build_request(push(attachments=(Attachment("a.pdf", "application/pdf", b"x"),)))
    with pytest.raises(UnsupportedFeature):
        adapter.build_request(push(channel=Channel.EMAIL))


# --- sending -------------------------------------------------------------------------------------


async def test_send_uses_a_messaging_token_and_returns_the_message_name(wire: Wire) -> None:
    result = await make(wire.http).send(push())
    assert result.status is SendStatus.ACCEPTED
    assert result.provider_message_id == fixture("fcm_message_sent.json")["name"]
    (token_request,) = wire.token_requests
    claims = jwt.decode(
        dict(parse_qsl(token_request.content.decode()))["assertion"], options={"verify_signature": False}
    )
    assert claims["scope"] == SCOPE
    assert "sub" not in claims
    (request,) = wire.requests
    assert request.url.path == f"/v1/projects/{PROJECT}/messages:send"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-GOOG-API-FORMAT-VERSION"] == "2"


async def test_success_without_a_name_is_unknown(wire: Wire) -> None:
    wire.replies = [httpx.Response(200, json={})]
    result = await make(wire.http).send(push())
    assert (result.status, result.raw_status) == (SendStatus.UNKNOWN, "200")


FCM_ERRORS = [
    ("fcm_error_invalid_argument.json", 400, False, "INVALID_ARGUMENT", firebase_exceptions.InvalidArgumentError),
    ("fcm_error_unregistered.json", 404, False, "UNREGISTERED", messaging.UnregisteredError),
    ("fcm_error_sender_id_mismatch.json", 403, False, "SENDER_ID_MISMATCH", messaging.SenderIdMismatchError),
    ("fcm_error_third_party_auth.json", 401, False, "THIRD_PARTY_AUTH_ERROR", messaging.ThirdPartyAuthError),
    ("fcm_error_quota_exceeded.json", 429, True, "QUOTA_EXCEEDED", messaging.QuotaExceededError),
    ("fcm_error_unavailable.json", 503, True, "UNAVAILABLE", firebase_exceptions.UnavailableError),
    ("fcm_error_internal.json", 500, True, "INTERNAL", firebase_exceptions.InternalError),
    ("fcm_error_bad_data_value.json", 400, False, "INVALID_ARGUMENT", firebase_exceptions.InvalidArgumentError),
]


def firebase_verdict(status: int, body: dict[str, Any]) -> firebase_exceptions.FirebaseError:
    """What firebase-admin raises for this answer."""
    request = httpx.Request("POST", f"https://fcm.googleapis.com/v1/projects/{PROJECT}/messages:send")
    response = httpx.Response(status, json=body, request=request)
    error = httpx.HTTPStatusError("fcm error", request=request, response=response)
    return firebase_utils.handle_platform_error_from_httpx(error, messaging._MessagingService._build_fcm_error_httpx)


@pytest.mark.parametrize(
    ("name", "status", "transient", "code", "oracle_type"), FCM_ERRORS, ids=[e[0] for e in FCM_ERRORS]
)
async def test_errors_are_classified_as_firebase_admin_does(
    wire: Wire, name: str, status: int, transient: bool, code: str, oracle_type: type[Exception]
) -> None:
    body = fixture(name)
    verdict = firebase_verdict(status, body)
    assert isinstance(verdict, oracle_type)
    assert isinstance(verdict, RETRYABLE) is transient  # firebase-admin's class agrees with our verdict

    wire.replies = [httpx.Response(status, json=body, headers={"Retry-After": "30"})]
    with pytest.raises((TransientProviderError, PermanentProviderError)) as info:
        await make(wire.http).send(push())
    assert isinstance(info.value, TransientProviderError) is transient
    assert (info.value.status_code, info.value.code) == (status, code)
    if transient:
        assert isinstance(info.value, TransientProviderError) and info.value.retry_after == 30.0
    assert len(wire.token_requests) == 1  # THIRD_PARTY_AUTH_ERROR's 401 is not about our token


async def test_401_for_our_token_refreshes_once_then_is_permanent(wire: Wire) -> None:
    wire.replies = [httpx.Response(401, json=fixture("fcm_error_unauthenticated.json"))]
    with pytest.raises(PermanentProviderError) as info:
        await make(wire.http).send(push())
    assert (info.value.status_code, info.value.code) == (401, "UNAUTHENTICATED")
    assert (len(wire.token_requests), len(wire.requests)) == (2, 2)


# --- configuration and secrets -------------------------------------------------------------------


def test_project_id_comes_from_settings_or_the_key_file() -> None:
    assert "receiptdesk-demo" in repr(FcmAdapter.create(httpx.AsyncClient(), {}, {"service_account_json": KEY_JSON}))
    other = FcmAdapter.create(httpx.AsyncClient(), {"project_id": "other"}, {"service_account_json": KEY_JSON})
    assert other.build_request(push())[0] == "/v1/projects/other/messages:send"
    keyless = json.dumps({k: v for k, v in INFO.items() if k != "project_id"})
    with pytest.raises(ConfigurationError, match="project_id"):
        FcmAdapter.create(httpx.AsyncClient(), {}, {"service_account_json": keyless})
    with pytest.raises(ConfigurationError, match="service_account_json"):
        FcmAdapter.create(httpx.AsyncClient(), {"project_id": PROJECT}, {})


async def test_no_secret_in_logs_reprs_or_errors(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make(wire.http)
    texts = [repr(adapter), repr(adapter.tokens)]
    await adapter.send(push())
    for reply in (httpx.Response(401), httpx.Response(429), httpx.ReadTimeout("slow")):
        wire.replies = [reply]
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await adapter.send(push())
        texts += [str(info.value), repr(info.value)]
    for secret in (TOKEN, INFO["private_key"].splitlines()[1], INFO["private_key_id"]):
        assert secret not in caplog.text
        assert all(secret not in text for text in texts)
