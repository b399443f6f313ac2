"""Salesforce Marketing Cloud transactional e-mail stand-in: `POST /messaging/v1/email/messages/{messageKey}`.

Same path, Bearer auth (tokens from the sandbox `/v2/token`), validation and answer (202,
`{requestId, errorcode, responses: [{messageKey}]}`) as the documented API (PROVIDERS.md A12;
`sendMessageSingleRecipient`), so a real adapter works against it unchanged. A messageKey is
refused when reused (72 h window, best-practices page). UNVERIFIED, sandbox's own choice: the
error bodies (`{message, errorcode, documentation}`, the general SFMC REST shape) and their codes.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import OrderedDict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Fault, Faults
from app.sandbox.oauth_tokens import SFMC_DEFINITION_KEY, TOKENS, TokenRegistry, TokenRejected, adapter_account
from app.sandbox.stand_ins import SandboxAccount
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "sfmc"
IDEMPOTENCY_ATTRIBUTE = "receiptdesk_key"
MAX_MESSAGE_KEY = 100
MESSAGE_KEY_MEMORY = 100_000
"""How many recent messageKeys are remembered to refuse duplicates."""
DOCUMENTATION = "https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm"
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}")


def sfmc_error(status: int, message: str, errorcode: int = 0, headers: dict[str, str] | None = None) -> JSONResponse:
    """An SFMC REST error answer."""
    body = {"message": message, "errorcode": errorcode, "documentation": DOCUMENTATION}
    return JSONResponse(body, status_code=status, headers=headers)


def fault_response(fault: Fault) -> JSONResponse:
    """How SFMC answers an injected failure (429 with Retry-After)."""
    headers = {"Retry-After": str(fault.retry_after or 0)} if fault.status == 429 else None
    return sfmc_error(fault.status, fault.phrase, headers=headers)


def validate(payload: Any, definitions: frozenset[str]) -> JSONResponse | None:
    """The error for this single-recipient send body, or None when it is valid."""
    if not isinstance(payload, dict):
        return sfmc_error(400, "MCMS_UTM_Validation_InvalidRequest: the body must be a JSON object.", 10001)
    if "recipients" in payload:
        return sfmc_error(
            400, "MCMS_UTM_Validation_UnknownFieldName: Unrecognized email field name 'recipients'", 10001
        )
    definition = payload.get("definitionKey")
    if not isinstance(definition, str) or not definition:
        return sfmc_error(400, "MCMS_UTM_Validation_MissingField: definitionKey is required.", 10001)
    if definition not in definitions:
        return sfmc_error(400, f"MCMS_UTM_Validation_DefinitionNotFound: no active definition '{definition}'.", 10001)
    recipient = payload.get("recipient")
    if not isinstance(recipient, dict):
        return sfmc_error(400, "MCMS_UTM_Validation_MissingField: recipient is required.", 10001)
    if not isinstance(recipient.get("contactKey"), str) or not recipient["contactKey"]:
        return sfmc_error(400, "MCMS_UTM_Validation_MissingField: recipient.contactKey is required.", 10001)
    to = recipient.get("to")
    if not isinstance(to, str) or not _EMAIL.fullmatch(to):
        return sfmc_error(400, "MCMS_UTM_Validation_InvalidEmailAddress: recipient.to is not an e-mail address.", 10001)
    attributes = recipient.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        return sfmc_error(400, "MCMS_UTM_Validation_InvalidField: recipient.attributes must be an object.", 10001)
    return None


def record_of(message_key: str, payload: dict[str, Any]) -> MessageRecord:
    """The store record of a validated send."""
    recipient: dict[str, Any] = payload["recipient"]
    attributes: dict[str, Any] = dict(recipient.get("attributes") or {})
    key = attributes.get(IDEMPOTENCY_ATTRIBUTE, message_key)
    return MessageRecord(
        provider=PROVIDER_ID,
        id=message_key,
        to=(recipient["to"],),
        from_=None,
        template_id=payload["definitionKey"],
        custom_args={"contactKey": recipient["contactKey"], **attributes},
        idempotency_key=str(key),
    )


class SfmcApi:
    """Single-recipient transactional send, bound to a store, a fault set and a token registry."""

    def __init__(
        self,
        store: MessageStore,
        faults: Faults,
        tokens: TokenRegistry = TOKENS,
        definitions: frozenset[str] = frozenset({SFMC_DEFINITION_KEY}),
    ) -> None:
        self.store = store
        self.faults = faults
        self.tokens = tokens
        self.definitions = definitions
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def send(self, request: Request) -> Response:
        """`POST /messaging/v1/email/messages/{messageKey}`."""
        try:
            self.tokens.verify(request.headers.get("authorization"), "sfmc")
        except TokenRejected:
            return sfmc_error(401, "Not Authorized")
        message_key = request.path_params["message_key"]
        if len(message_key) > MAX_MESSAGE_KEY:
            return sfmc_error(400, "MCMS_UTM_Validation_InvalidField: messageKey is longer than 100 characters.", 10001)
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            return fault_response(fault)
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return sfmc_error(400, "MCMS_UTM_Validation_InvalidRequest: the body is not JSON.", 10001)
        error = validate(payload, self.definitions)
        if error is not None:
            return error
        if message_key in self._seen:
            return sfmc_error(
                400, f"MCMS_UTM_Validation_DuplicateMessageKey: messageKey '{message_key}' was used.", 10001
            )
        self._seen[message_key] = None
        while len(self._seen) > MESSAGE_KEY_MEMORY:
            self._seen.popitem(last=False)
        self.store.add(record_of(message_key, payload))
        body = {"requestId": str(uuid.uuid4()), "errorcode": 0, "responses": [{"messageKey": message_key}]}
        return JSONResponse(body, status_code=202)


def routes(
    store: MessageStore, faults: Faults, tokens: TokenRegistry = TOKENS, *, callbacks: CallbackSender | None = None
) -> list[Route]:
    """The SFMC transactional send route, recording into `store`."""
    api = SfmcApi(store, faults, tokens)
    return [Route("/messaging/v1/email/messages/{message_key}", api.send, methods=["POST"])]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The adapter's settings (its API and token endpoint at `sandbox_url`) and its OAuth client secret."""
    return adapter_account(PROVIDER_ID, sandbox_url)
