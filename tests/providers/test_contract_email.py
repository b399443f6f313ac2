"""The adapter contract of test_contract.py, run over the e-mail adapters Mailgun, Mandrill, Postmark and SES.

The contract's test functions and its `wire` fixture are imported as they are; this module's
`case` fixture feeds them these `AdapterCase`s instead of test_contract's own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.message import OutboundMessage
from app.providers.mailgun import MailgunAdapter
from app.providers.mandrill import MandrillAdapter
from app.providers.postmark import PostmarkAdapter
from app.providers.ses import SesAdapter
from tests.providers.test_contract import (  # noqa: F401 - imported tests and fixture run here with our cases
    AdapterCase,
    test_5xx_is_transient,
    test_429_is_transient_with_retry_after,
    test_client_errors_are_permanent,
    test_declares_itself_as_data,
    test_missing_secret_fails_at_construction_naming_it,
    test_options_nobody_set_never_reach_the_wire,
    test_secrets_absent_from_logs_and_errors,
    test_success,
    test_transport_failures_are_transient,
    test_unknown_provider_status_is_unknown_never_an_error,
    wire,
)

MESSAGE = OutboundMessage(
    Channel.EMAIL, to="ana@example.com", idempotency_key="k-mail", subject="Receipt", text="Total 12.40"
)


def _nested_keys(body: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, value in body.items():
        keys.add(prefix + key)
        if isinstance(value, dict) and not key.endswith(("metadata", "Metadata", "TemplateModel")):
            keys |= _nested_keys(value, f"{prefix}{key}.")
    return keys


def _form_keys(request: httpx.Request) -> set[str]:
    return {k for k, _ in parse_qsl(request.content.decode("ascii"))}


def _json_keys(request: httpx.Request) -> set[str]:
    return _nested_keys(json.loads(request.content))


def _ses_keys(request: httpx.Request) -> set[str]:
    return _json_keys(request) | {f"header:{name.lower()}" for name in request.headers}


EMAIL_CASES = [
    AdapterCase(
        cls=MailgunAdapter,
        settings={"domain": "mg.demo-market.example", "from_email": "receipts@demo-market.example"},
        secrets={"api_key": "key-contract-mailgun-51c"},
        message=MESSAGE,
        wire_keys=_form_keys,
        unset_keys=frozenset(
            {"html", "o:tag", "h:Reply-To", "template", "t:variables", "t:version", "attachment", "inline"}
            | {"cc", "bcc", "o:testmode", "o:tracking", "o:deliverytime", "recipient-variables", "amp-html"}
        ),
        ok=lambda: httpx.Response(200, json={"id": "<20261128.1@mg.demo-market.example>", "message": "Queued."}),
        unknown_status=lambda: httpx.Response(202, json={"id": "<20261128.2@mg.demo-market.example>"}),
    ),
    AdapterCase(
        cls=MandrillAdapter,
        settings={"from_email": "receipts@demo-market.example"},
        secrets={"api_key": "md-contract-mandrill-9f2"},
        message=MESSAGE,
        wire_keys=_json_keys,
        unset_keys=frozenset(
            {"template_name", "template_content", "async", "ip_pool", "send_at"}
            | {"message.html", "message.from_name", "message.tags", "message.attachments"}
            | {"message.global_merge_vars", "message.merge_vars", "message.merge_language", "message.track_opens"}
        ),
        ok=lambda: httpx.Response(200, json=[{"email": "ana@example.com", "status": "sent", "_id": "a1" * 16}]),
        unknown_status=lambda: httpx.Response(
            200, json=[{"email": "ana@example.com", "status": "teleported", "_id": "b2" * 16}]
        ),
    ),
    AdapterCase(
        cls=PostmarkAdapter,
        settings={"from_email": "receipts@demo-market.example"},
        secrets={"server_token": "pm-contract-postmark-77d"},
        message=MESSAGE,
        wire_keys=_json_keys,
        unset_keys=frozenset(
            {"HtmlBody", "Tag", "ReplyTo", "Cc", "Bcc", "TrackOpens", "TrackLinks", "Attachments"}
            | {"TemplateId", "TemplateAlias", "TemplateModel", "InlineCss"}
        ),
        ok=lambda: httpx.Response(
            200, json={"To": "ana@example.com", "MessageID": "0a1b2c3d", "ErrorCode": 0, "Message": "OK"}
        ),
        unknown_status=lambda: httpx.Response(202, json={"MessageID": "4e5f", "ErrorCode": 0, "Message": "OK"}),
    ),
    AdapterCase(
        cls=SesAdapter,
        settings={"region": "us-east-1", "from_email": "receipts@demo-market.example"},
        secrets={"access_key_id": "AKIDCONTRACT00000001", "secret_access_key": "contract-ses-secret-e41"},
        message=MESSAGE,
        wire_keys=_ses_keys,
        unset_keys=frozenset(
            {"ReplyToAddresses", "ConfigurationSetName", "ListManagementOptions", "TenantName", "EndpointId"}
            | {"FeedbackForwardingEmailAddress", "FromEmailAddressIdentityArn", "Destination.CcAddresses"}
            | {"Destination.BccAddresses", "Content.Raw", "Content.Template", "Content.Simple.Body.Html"}
            | {"Content.Simple.Headers", "Content.Simple.Attachments", "header:x-amz-security-token"}
        ),
        ok=lambda: httpx.Response(200, json={"MessageId": "0100019abc-" + datetime.now(UTC).strftime("%Y%m%d")}),
        unknown_status=lambda: httpx.Response(202, json={"MessageId": "0100019abd"}),
    ),
]


@pytest.fixture(params=EMAIL_CASES, ids=[c.cls.provider_id for c in EMAIL_CASES])
def case(request: pytest.FixtureRequest) -> AdapterCase:
    chosen: AdapterCase = request.param
    return chosen
