"""The provider contract (tests/providers/test_contract.py) run over the WhatsApp, chat and CRM adapters.

The contract's own test functions and `wire` fixture are imported and run here against
`CHAT_CRM_CASES`, through this module's `case` fixture. Only `test_success` differs: Slack's
incoming webhooks return no message id, so a case says whether it expects one (`has_id`).
To fold these into the main registry: `ADAPTER_CASES += [c.case for c in CHAT_CRM_CASES]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.message import OutboundMessage, SendStatus
from app.providers.freshdesk import FreshdeskAdapter
from app.providers.hubspot import HubSpotAdapter
from app.providers.slack import SlackAdapter
from app.providers.teams import TeamsAdapter
from app.providers.twilio_whatsapp import TwilioWhatsAppAdapter
from app.providers.zapier import ZapierAdapter
from app.providers.zendesk import ZendeskAdapter
from tests.providers.test_contract import (  # noqa: F401 - collected and run here with this module's `case`
    AdapterCase,
    send,
    test_5xx_is_transient,
    test_429_is_transient_with_retry_after,
    test_client_errors_are_permanent,
    test_declares_itself_as_data,
    test_missing_secret_fails_at_construction_naming_it,
    test_options_nobody_set_never_reach_the_wire,
    test_secrets_absent_from_logs_and_errors,
    test_transport_failures_are_transient,
    test_unknown_provider_status_is_unknown_never_an_error,
    wire,
)

META = {
    "receipt_id": "R-1",
    "sale_id": "S-1001",
    "delivery_id": "D-9",
    "store": "Demo Market",
    "total": "$42.17",
    "receipt_channel": "email",
    "state": "sent",
}


def _json(request: httpx.Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.content)
    return body


def _nested(body: dict[str, Any], *paths: str) -> set[str]:
    """Top-level keys plus `path.key` for each dotted path that leads to an object."""
    keys = set(body)
    for path in paths:
        node: Any = body
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node.get(part, {})
        keys |= {f"{path}.{k}" for k in node}
    return keys


def _form_keys(request: httpx.Request) -> set[str]:
    return {k for k, _ in parse_qsl(request.content.decode("ascii"))}


def _message(channel: Channel, to: str, **kwargs: Any) -> OutboundMessage:
    return OutboundMessage(channel, to=to, idempotency_key="k-" + channel, metadata=dict(META), **kwargs)


@dataclass(frozen=True)
class ChatCrmCase:
    case: AdapterCase
    has_id: bool = True


CHAT_CRM_CASES = [
    ChatCrmCase(
        AdapterCase(
            cls=TwilioWhatsAppAdapter,
            settings={
                "account_sid": "AC1234567890abcdef1234567890abcdef",
                "from_number": "+15005550006",
                "content_sid": "HX0123456789abcdef0123456789abcdef",
            },
            secrets={"auth_token": "contract-whatsapp-token-2c4"},
            message=_message(Channel.WHATSAPP, "+15558675310", sms_body="Receipt: $42.17"),
            wire_keys=_form_keys,
            unset_keys=frozenset({"StatusCallback", "MessagingServiceSid", "MediaUrl", "Body", "ValidityPeriod"}),
            ok=lambda: httpx.Response(201, json={"sid": "SM" + "0" * 32, "status": "queued"}),
            unknown_status=lambda: httpx.Response(201, json={"sid": "SM" + "1" * 32, "status": "teleported"}),
        )
    ),
    ChatCrmCase(
        AdapterCase(
            cls=SlackAdapter,
            settings={},
            secrets={"webhook_url": "https://hooks.slack.com/services/T0CONTRACT/B0CONTRACT/contractSlackHook55"},
            message=_message(Channel.CHAT, "ana@example.com"),
            wire_keys=lambda r: _nested(_json(r), "metadata", "metadata.event_payload"),
            unset_keys=frozenset(
                {"attachments", "unfurl_links", "unfurl_media", "response_type", "replace_original", "thread_ts"}
                | {"username", "icon_emoji", "icon_url", "channel", "metadata.event_payload.store"}
            ),
            ok=lambda: httpx.Response(200, text="ok"),
            unknown_status=lambda: httpx.Response(200, text="accepted-ish"),
        ),
        has_id=False,  # incoming webhooks answer "ok" and nothing else
    ),
    ChatCrmCase(
        AdapterCase(
            cls=TeamsAdapter,
            settings={},
            secrets={
                "workflow_url": "https://prod-01.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke"
                "?api-version=2016-06-01&sig=contractTeamsSig77"
            },
            message=_message(Channel.CHAT, "+15558675310"),
            wire_keys=lambda r: _nested(_json(r), "attachments.0", "attachments.0.content"),
            unset_keys=frozenset(
                {"summary", "text", "attachments.0.contentUrl", "attachments.0.content.actions"}
                | {"attachments.0.content.msteams", "attachments.0.content.selectAction"}
            ),
            ok=lambda: httpx.Response(202, headers={"x-ms-workflow-run-id": "08584600000000000000000000000CU00"}),
            unknown_status=lambda: httpx.Response(201),
        )
    ),
    ChatCrmCase(
        AdapterCase(
            cls=HubSpotAdapter,
            settings={"email_id": "123456789"},
            secrets={"access_token": "contract-hubspot-token-9a0"},
            message=_message(Channel.CRM, "ana@example.com"),
            wire_keys=lambda r: _nested(_json(r), "message"),
            unset_keys=frozenset({"contactProperties", "message.from", "message.cc", "message.bcc", "message.replyTo"}),
            ok=lambda: httpx.Response(200, json={"statusId": "st-1", "status": "PENDING"}),
            unknown_status=lambda: httpx.Response(200, json={"statusId": "st-2", "status": "TELEPORTED"}),
        )
    ),
    ChatCrmCase(
        AdapterCase(
            cls=FreshdeskAdapter,
            settings={"domain": "demo-market", "email_config_id": "5000000001"},
            secrets={"api_key": "contract-freshdesk-key-3e8"},
            message=_message(Channel.CRM, "ana@example.com", subject="Receipt", html="<p>$42.17</p>"),
            wire_keys=lambda r: set(_json(r)),
            unset_keys=frozenset(
                {"name", "cc_emails", "custom_fields", "type", "attachments", "group_id", "responder_id"}
            ),
            ok=lambda: httpx.Response(201, json={"id": 1042}),
            unknown_status=lambda: httpx.Response(200, json={"id": 1043}),
        )
    ),
    ChatCrmCase(
        AdapterCase(
            cls=ZendeskAdapter,
            settings={"subdomain": "demo-market", "email": "bot@demo-market.example"},
            secrets={"api_token": "contract-zendesk-token-6b1"},
            message=_message(Channel.CRM, "ana@example.com", subject="Receipt", html="<p>$42.17</p>"),
            wire_keys=lambda r: _nested(_json(r), "ticket", "ticket.requester"),
            unset_keys=frozenset(
                {"ticket.priority", "ticket.custom_fields", "ticket.type", "ticket.requester.name", "ticket.via"}
            ),
            ok=lambda: httpx.Response(201, json={"ticket": {"id": 35436}}),
            unknown_status=lambda: httpx.Response(200, json={"ticket": {"id": 35437}}),
        )
    ),
    ChatCrmCase(
        AdapterCase(
            cls=ZapierAdapter,
            settings={},
            secrets={"webhook_url": "https://hooks.zapier.com/hooks/catch/1234567/contractZapHook31/"},
            message=_message(Channel.CRM, "ana@example.com", html="<p>full receipt</p>"),
            wire_keys=lambda r: set(_json(r)),
            unset_keys=frozenset({"contact", "to", "html", "receipt_html", "text"}),
            ok=lambda: httpx.Response(200, json={"id": "z-1", "request_id": "z-r-1", "status": "success"}),
            unknown_status=lambda: httpx.Response(200, json={"status": "deferred"}),
        )
    ),
]
IDS = [c.case.cls.provider_id for c in CHAT_CRM_CASES]
EXPECTS_ID = {c.case.cls: c.has_id for c in CHAT_CRM_CASES}


@pytest.fixture(params=[c.case for c in CHAT_CRM_CASES], ids=IDS)
def case(request: pytest.FixtureRequest) -> AdapterCase:
    chosen: AdapterCase = request.param
    return chosen


async def test_success(case: AdapterCase, wire: Any) -> None:  # noqa: F811 - the imported fixture
    result = await send(case, wire)
    assert result.status is SendStatus.ACCEPTED
    if EXPECTS_ID[case.cls]:
        assert result.provider_message_id
    else:
        assert result.provider_message_id is None


def test_provider_ids_are_new_and_distinct() -> None:
    ids = [c.case.cls.provider_id for c in CHAT_CRM_CASES]
    assert ids == ["twilio_whatsapp", "slack", "teams", "hubspot", "freshdesk", "zendesk", "zapier"]
    assert len(set(ids)) == len(ids)
