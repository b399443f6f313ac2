"""Status callbacks: replay windows on signed timestamps, and odd bodies as `ValueError`, never a crash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from app.domain.errors import SignatureRejected
from app.domain.inbound import InboundRequest
from app.providers.mailgun_events import MailgunCallbacks
from app.providers.mandrill_events import MandrillCallbacks
from app.providers.mandrill_events import signature as mandrill_signature
from app.providers.postmark_events import PostmarkCallbacks
from app.providers.sendgrid_events import MAX_AGE_S, SendGridCallbacks
from app.sandbox.callbacks import SENDGRID_SIGNING_KEY, SENDGRID_WEBHOOK_PUBLIC_KEY
from app.support.json_limits import JsonRejected

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
URL = "https://lane3.store.example/webhooks/x/events"
MAILGUN_KEY = "mailgun-signing-key"
MANDRILL_KEY = "mandrill-key"


def inbound(body: bytes, headers: dict[str, str] | None = None, *, at: datetime = NOW) -> InboundRequest:
    return InboundRequest(URL, {k.lower(): v for k, v in (headers or {}).items()}, body, at)


def sendgrid_signed(body: bytes, sent: datetime) -> dict[str, str]:
    timestamp = str(int(sent.timestamp()))
    signature = SENDGRID_SIGNING_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


@pytest.mark.parametrize(
    ("skew", "accepted"),
    [
        (timedelta(0), True),
        (timedelta(seconds=MAX_AGE_S), True),
        (-timedelta(seconds=MAX_AGE_S), True),
        (timedelta(seconds=MAX_AGE_S + 1), False),
        (timedelta(days=2), False),  # a batch signed two days ago is a replay
        (-timedelta(seconds=MAX_AGE_S + 1), False),  # and one signed in the future is not ours to trust
    ],
)
def test_sendgrid_refuses_a_signed_batch_outside_its_replay_window(skew: timedelta, accepted: bool) -> None:
    callbacks = SendGridCallbacks(webhook_public_key=SENDGRID_WEBHOOK_PUBLIC_KEY)
    body = b'[{"event": "delivered", "sg_event_id": "e1", "timestamp": 1}]\r\n'
    request = inbound(body, sendgrid_signed(body, NOW - skew))
    if accepted:
        callbacks.verify(request)
        assert [e.event_id for e in callbacks.parse(request)] == ["e1"]
    else:
        with pytest.raises(SignatureRejected, match="timestamp"):
            callbacks.verify(request)


@pytest.mark.parametrize("timestamp", ["", "soon", "1e9", "-5", "９９", "1" * 40])
def test_sendgrid_refuses_a_timestamp_that_is_not_epoch_seconds(timestamp: str) -> None:
    callbacks = SendGridCallbacks(webhook_public_key=SENDGRID_WEBHOOK_PUBLIC_KEY)
    body = b"[]"
    signature = SENDGRID_SIGNING_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }
    with pytest.raises(SignatureRejected):
        callbacks.verify(inbound(body, headers))


@pytest.mark.parametrize(
    "body",
    [b"[" * 1000 + b"]" * 1000, b'[{"a": 1, "a": 2}]', b"[NaN]", b'[{"event": "\\ud800"}]', b"\xff\xfe[]"],
)
def test_sendgrid_refuses_a_signed_body_the_bounded_loader_refuses(body: bytes) -> None:
    callbacks = SendGridCallbacks(webhook_public_key=SENDGRID_WEBHOOK_PUBLIC_KEY)
    request = inbound(body, sendgrid_signed(body, NOW))
    callbacks.verify(request)
    with pytest.raises(JsonRejected):
        callbacks.parse(request)


def test_sendgrid_reads_odd_event_fields_without_failing() -> None:
    callbacks = SendGridCallbacks(webhook_public_key=SENDGRID_WEBHOOK_PUBLIC_KEY)
    body = json.dumps(
        [
            {"event": "delivered", "sg_event_id": "e1", "timestamp": 10**30},
            {"event": ["x"], "sg_event_id": {"a": 1}, "timestamp": -(10**20), "receiptdesk_key": 5},
            "not an event",
        ]
    ).encode()
    request = inbound(body, sendgrid_signed(body, NOW))
    callbacks.verify(request)
    assert len(callbacks.parse(request)) == 2


def mailgun_body(timestamp: str, event_data: Any, *, key: str = MAILGUN_KEY) -> bytes:
    token = "t" * 50
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    block = {"timestamp": timestamp, "token": token, "signature": signature}
    return json.dumps({"signature": block, "event-data": event_data}).encode()


@pytest.mark.parametrize("timestamp", ["nan", "NaN", "inf", "-inf", "1e400", str(int(NOW.timestamp()) - 301)])
def test_mailgun_refuses_a_timestamp_outside_the_window_even_when_signed(timestamp: str) -> None:
    callbacks = MailgunCallbacks(webhook_signing_key=MAILGUN_KEY)
    with pytest.raises(SignatureRejected):
        callbacks.verify(inbound(mailgun_body(timestamp, {"event": "delivered"})))


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"signature": {"timestamp": "1"}, "signature": {"timestamp": "2"}}',
        b'{"signature": NaN}',
        b"\xef\xbb",
        b"",
    ],
)
def test_mailgun_parses_inside_the_body_boundedly_and_a_bad_body_is_unsigned(body: bytes) -> None:
    with pytest.raises(SignatureRejected):
        MailgunCallbacks(webhook_signing_key=MAILGUN_KEY).verify(inbound(body))


@pytest.mark.parametrize(
    "event_data",
    [
        {"event": "delivered", "message": "not an object"},
        {"event": "delivered", "message": {"headers": ["x"]}, "user-variables": [1]},
        {"event": "failed", "delivery-status": "x", "timestamp": "yesterday"},
        {"event": "delivered", "timestamp": 1e300},
        {"event": "delivered", "timestamp": {"nested": True}},
        "not an object",
    ],
)
def test_mailgun_odd_event_data_is_a_value_error(event_data: Any) -> None:
    callbacks = MailgunCallbacks(webhook_signing_key=MAILGUN_KEY)
    request = inbound(mailgun_body(str(int(NOW.timestamp())), event_data))
    callbacks.verify(request)
    try:
        [event] = callbacks.parse(request)
    except ValueError:
        return
    assert event.provider == "mailgun"  # read with what it could; nothing else may come out of parse


def mandrill_request(events: str) -> InboundRequest:
    params = [("mandrill_events", events)]
    headers = {"X-Mandrill-Signature": mandrill_signature(MANDRILL_KEY, URL, params)}
    return inbound(urlencode(params).encode(), headers)


@pytest.mark.parametrize(
    "events",
    [
        "[" * 1000,
        '[{"event": "send", "ts": 1e400}]',
        '[{"event": "send", "ts": "soon"}]',
        '[{"event": "send", "ts": 99999999999999}]',
        '[{"event": "send", "msg": "text", "ts": 1}]',
        '[{"event": "send", "msg": {"metadata": [1]}, "ts": 1}]',
        '{"not": "a list"}',
    ],
)
def test_mandrill_odd_events_are_read_or_a_value_error(events: str) -> None:
    callbacks = MandrillCallbacks(webhook_key=MANDRILL_KEY)
    request = mandrill_request(events)
    callbacks.verify(request)
    try:
        parsed = callbacks.parse(request)
    except ValueError:
        return
    assert all(e.provider == "mandrill" for e in parsed)


@pytest.mark.parametrize(
    "body",
    [
        b'{"RecordType": "Delivery", "MessageID": "m1", "Metadata": "text"}',
        b'{"RecordType": "Delivery", "MessageID": "m1", "Metadata": [1, 2]}',
        b'{"RecordType": "Bounce", "MessageID": "m1", "Type": ["list"], "BouncedAt": 5}',
        b'{"RecordType": "Delivery", "MessageID": "m1", "RecordType": "Bounce"}',
        b"[" * 1000,
    ],
)
def test_postmark_odd_bodies_are_read_or_a_value_error(body: bytes) -> None:
    callbacks = PostmarkCallbacks(webhook_username="u", webhook_password="p")
    request = inbound(body, {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()})
    callbacks.verify(request)
    try:
        [event] = callbacks.parse(request)
    except ValueError:
        return
    assert event.provider_message_id == "m1"
