"""Slack incoming-webhook stand-in: `POST /_hooks/slack/{team}/{channel}/{token}`.

Like `https://hooks.slack.com/services/T…/B…/<secret>` (PROVIDERS.md A8): the URL is the only
credential, the body is JSON (or form `payload=`), success is 200 with the plain-text body `ok` and
every error is a plain-text slug. Use `SANDBOX_WEBHOOK_PATH` (on the sandbox's URL) as the webhook.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Faults
from app.sandbox.stand_ins import NO_RATE_LIMIT, SandboxAccount
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "slack"
SANDBOX_TEAM = "T000"
SANDBOX_CHANNEL = "B000"
SANDBOX_TOKEN = "sandbox"  # noqa: S105 - opens only the local sandbox
SANDBOX_WEBHOOK_PATH = f"/_hooks/slack/{SANDBOX_TEAM}/{SANDBOX_CHANNEL}/{SANDBOX_TOKEN}"
MAX_BLOCKS = 50
MAX_TEXT_CHARS = 40_000  # longer text is truncated by Slack, not refused
_BLOCK_TYPES = frozenset(
    {"section", "header", "context", "divider", "image", "actions", "input", "rich_text", "file", "video"}
)
_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
# Per-element limits from Slack's Block Kit reference.
_SECTION_TEXT, _FIELD_TEXT, _HEADER_TEXT, _MAX_FIELDS, _MAX_CONTEXT = 3000, 2000, 150, 10, 10


def slack_error(status: int, slug: str, headers: dict[str, str] | None = None) -> Response:
    """A Slack webhook error: the slug as a plain-text body."""
    return PlainTextResponse(slug, status, headers)


def _text_object(value: Any, limit: int, *, plain_only: bool = False) -> bool:
    if not isinstance(value, dict) or value.get("type") not in _TEXT_TYPES:
        return False
    if plain_only and value.get("type") != "plain_text":
        return False
    text = value.get("text")
    return isinstance(text, str) and 0 < len(text) <= limit


def _valid_block(block: Any) -> bool:
    if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
        return False
    kind = block["type"]
    if kind == "header":
        return _text_object(block.get("text"), _HEADER_TEXT, plain_only=True)
    if kind == "section":
        fields, text = block.get("fields"), block.get("text")
        if text is None and fields is None:
            return False
        if text is not None and not _text_object(text, _SECTION_TEXT):
            return False
        if fields is not None:
            if not isinstance(fields, list) or not 0 < len(fields) <= _MAX_FIELDS:
                return False
            return all(_text_object(f, _FIELD_TEXT) for f in fields)
        return True
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= _MAX_CONTEXT:
            return False
        return all(
            _text_object(e, _SECTION_TEXT) or (isinstance(e, dict) and e.get("type") == "image") for e in elements
        )
    return True  # other block types are accepted as they come


def validate(payload: Any) -> str | None:
    """The error slug Slack would answer for this body, or None when it is valid."""
    if not isinstance(payload, dict):
        return "invalid_payload"
    text, blocks, attachments = payload.get("text"), payload.get("blocks"), payload.get("attachments")
    if text is not None and not isinstance(text, str):
        return "invalid_payload"
    if blocks is not None and (
        not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS or not all(_valid_block(b) for b in blocks)
    ):
        return "invalid_blocks"
    if attachments is not None and not isinstance(attachments, list):
        return "invalid_attachments"
    if not text and not blocks and not attachments:
        return "no_text"
    metadata = payload.get("metadata")
    if metadata is not None and not (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    ):
        return "invalid_metadata_format"
    return None


def _record(payload: dict[str, Any], team: str, channel: str) -> MessageRecord:
    metadata = payload.get("metadata") or {}
    event: dict[str, Any] = dict(metadata.get("event_payload") or {})
    key = event.get("idempotency_key")
    return MessageRecord(
        provider=PROVIDER_ID,
        id=secrets.token_hex(8),
        to=(f"{team}/{channel}",),
        from_=None,
        body=(payload.get("text") or "")[:MAX_TEXT_CHARS],
        custom_args={**event, "blocks": len(payload.get("blocks") or ())},
        idempotency_key=key if isinstance(key, str) else None,
    )


class SlackWebhook:
    """The incoming-webhook endpoint, bound to a store, a fault set and the accepted URL."""

    def __init__(
        self,
        store: MessageStore,
        faults: Faults,
        team: str = SANDBOX_TEAM,
        channel: str = SANDBOX_CHANNEL,
        token: str = SANDBOX_TOKEN,
    ) -> None:
        self.store = store
        self.faults = faults
        self._hook = f"{team}/{channel}/{token}".encode()

    async def post(self, request: Request) -> Response:
        """`POST /_hooks/slack/{team}/{channel}/{token}`."""
        params = request.path_params
        team, channel, token = params["team"], params["channel"], params["token"]
        if not hmac.compare_digest(f"{team}/{channel}/{token}".encode("utf-8", "replace"), self._hook):
            return slack_error(403, "invalid_token")
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            return slack_error(fault.status, "rate_limited" if fault.status == 429 else "rollup_error", headers)
        raw = await request.body()
        try:
            if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                payload = json.loads(parse_qs(raw.decode("utf-8")).get("payload", [""])[0])
            else:
                payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return slack_error(400, "invalid_payload")
        problem = validate(payload)
        if problem is not None:
            return slack_error(400, problem)
        self.store.add(_record(payload, team, channel))
        return PlainTextResponse("ok")


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The Slack stand-in's routes for the sandbox app."""
    hook = SlackWebhook(store, faults)
    return [Route("/_hooks/slack/{team}/{channel}/{token}", hook.post, methods=["POST"])]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Slack adapter's secret: the sandbox's incoming-webhook URL."""
    return SandboxAccount(dict(NO_RATE_LIMIT), {"webhook_url": sandbox_url + SANDBOX_WEBHOOK_PATH})
