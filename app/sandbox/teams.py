"""Teams Workflows webhook stand-in: `POST /_hooks/teams/workflows/{id}/triggers/manual/paths/invoke?...&sig=`.

Like a Power Automate "When a Teams webhook request is received" trigger (PROVIDERS.md A9): the
URL's `sig` is the only credential, the body is a `message` activity with Adaptive Card
attachments, and an accepted post answers 202 with the run id in `x-ms-workflow-run-id`. Use
`SANDBOX_WEBHOOK_PATH` (on the sandbox's URL) as the workflow URL.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Faults
from app.sandbox.stand_ins import NO_RATE_LIMIT, SandboxAccount
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "teams"
SANDBOX_WORKFLOW_ID = "0sandbox0000000000000000000000000"
SANDBOX_SIG = "sandbox-teams-signature"
SANDBOX_WEBHOOK_PATH = (
    f"/_hooks/teams/workflows/{SANDBOX_WORKFLOW_ID}/triggers/manual/paths/invoke"
    f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SANDBOX_SIG}"
)
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 28 * 1024  # posts above about 28 KB are refused with 413 (§ A9)


def logic_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """A Logic Apps error: JSON `{"error": {"code", "message"}}`."""
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status, headers, media_type="application/json")


def validate(payload: Any) -> str | None:
    """Why this body is not a message activity with Adaptive Cards, or None when it is."""
    if not isinstance(payload, dict) or payload.get("type") != "message":
        return "The body must be a JSON object with type 'message'."
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "The message must have at least one attachment."
    for index, attachment in enumerate(attachments):
        if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_CONTENT_TYPE:
            return f"attachments[{index}].contentType must be '{CARD_CONTENT_TYPE}'."
        card = attachment.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            return f"attachments[{index}].content must be an AdaptiveCard."
        if not isinstance(card.get("version"), str) or not isinstance(card.get("body"), list):
            return f"attachments[{index}].content needs a version and a body."
        for element in card["body"]:
            if not isinstance(element, dict) or not isinstance(element.get("type"), str):
                return f"attachments[{index}].content.body holds an element without a type."
    return None


def _card_text(card: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The TextBlock texts (joined) and the FactSet facts of one card."""
    texts: list[str] = []
    facts: dict[str, str] = {}
    for element in card.get("body") or ():
        if element.get("type") == "TextBlock" and isinstance(element.get("text"), str):
            texts.append(element["text"])
        elif element.get("type") == "FactSet":
            for fact in element.get("facts") or ():
                if isinstance(fact, dict):
                    facts[str(fact.get("title"))] = str(fact.get("value"))
    return "\n".join(texts), facts


class TeamsWorkflow:
    """The workflow trigger endpoint, bound to a store, a fault set and the accepted signature."""

    def __init__(
        self, store: MessageStore, faults: Faults, workflow_id: str = SANDBOX_WORKFLOW_ID, sig: str = SANDBOX_SIG
    ) -> None:
        self.store = store
        self.faults = faults
        self._workflow_id = workflow_id
        self._sig = sig.encode()

    async def invoke(self, request: Request) -> Response:
        """`POST /_hooks/teams/workflows/{workflow_id}/triggers/manual/paths/invoke`."""
        if request.path_params["workflow_id"] != self._workflow_id:
            return logic_error(404, "WorkflowNotFound", "The workflow could not be found.")
        sig = request.query_params.get("sig", "")
        if not sig:
            return logic_error(401, "DirectApiAuthorizationRequired", "The request must be authenticated.")
        if not hmac.compare_digest(sig.encode("utf-8", "replace"), self._sig):
            return logic_error(401, "DirectApiInvalidAuthorizationSignature", "The provided signature is invalid.")
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            code = "WorkflowRequestsThrottled" if fault.status == 429 else "ServiceUnavailable"
            return logic_error(fault.status, code, fault.phrase, headers)
        raw = await request.body()
        if len(raw) > MAX_BYTES:
            return logic_error(413, "RequestEntityTooLarge", "Request Entity too large")
        try:
            payload = json.loads(raw)
        except ValueError:
            return logic_error(400, "InvalidRequestContent", "The request content is not valid JSON.")
        problem = validate(payload)
        if problem is not None:
            return logic_error(400, "InvalidRequestContent", problem)
        run_id = "08584" + secrets.token_hex(12).upper()
        text, facts = _card_text(payload["attachments"][0]["content"])
        reference = text.rsplit("Reference ", 1)[-1].strip() if "Reference " in text else None
        self.store.add(
            MessageRecord(
                provider=PROVIDER_ID,
                id=run_id,
                to=(self._workflow_id,),
                from_=None,
                body=text,
                custom_args=facts,
                idempotency_key=reference,
            )
        )
        headers = {"x-ms-workflow-run-id": run_id, "x-ms-correlation-id": secrets.token_hex(16)}
        return Response(status_code=202, headers=headers)


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The Teams stand-in's routes for the sandbox app."""
    workflow = TeamsWorkflow(store, faults)
    path = "/_hooks/teams/workflows/{workflow_id}/triggers/manual/paths/invoke"
    return [Route(path, workflow.invoke, methods=["POST"])]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Teams adapter's secret: the sandbox's workflow trigger URL."""
    return SandboxAccount(dict(NO_RATE_LIMIT), {"workflow_url": sandbox_url + SANDBOX_WEBHOOK_PATH})
