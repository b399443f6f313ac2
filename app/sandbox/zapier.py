"""Zapier Catch Hook stand-in: `POST /hooks/catch/{account_id}/{hook_key}/`.

Like `https://hooks.zapier.com/hooks/catch/<account>/<hook>/` (PROVIDERS.md B6): the URL is the
only credential, JSON or form bodies are taken as they come, and every accepted request answers
200 `{"attempt", "id", "request_id", "status": "success"}`. Use `SANDBOX_WEBHOOK_PATH` (on the
sandbox's URL) as the hook URL.
"""

from __future__ import annotations

import hmac
import json
import uuid
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Faults
from app.sandbox.stand_ins import NO_RATE_LIMIT, SandboxAccount
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "zapier"
SANDBOX_ACCOUNT = "000000"
SANDBOX_HOOK = "sandbox"
SANDBOX_WEBHOOK_PATH = f"/hooks/catch/{SANDBOX_ACCOUNT}/{SANDBOX_HOOK}/"
MAX_BYTES = 2 * 1024 * 1024  # Catch Raw Hook limit (§ B6)


def _record(request_id: str, data: dict[str, Any]) -> MessageRecord:
    key = data.get("idempotency_key")
    contact = data.get("contact_masked")
    return MessageRecord(
        provider=PROVIDER_ID,
        id=request_id,
        to=(contact,) if isinstance(contact, str) else (),
        from_=None,
        body=data.get("event") if isinstance(data.get("event"), str) else None,
        custom_args=data,
        idempotency_key=key if isinstance(key, str) else None,
    )


class CatchHook:
    """The Catch Hook endpoint, bound to a store, a fault set and the accepted hook."""

    def __init__(
        self, store: MessageStore, faults: Faults, account: str = SANDBOX_ACCOUNT, hook: str = SANDBOX_HOOK
    ) -> None:
        self.store = store
        self.faults = faults
        self._hook = f"{account}/{hook}".encode()

    async def catch(self, request: Request) -> Response:
        """`POST /hooks/catch/{account_id}/{hook_key}/` (trailing slash optional)."""
        hook = f"{request.path_params['account_id']}/{request.path_params['hook_key']}"
        if not hmac.compare_digest(hook.encode("utf-8", "replace"), self._hook):
            return JSONResponse({"status": "error", "message": "Hook not found."}, 404)
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            return JSONResponse({"status": "error", "message": fault.phrase}, fault.status, headers)
        raw = await request.body()
        if len(raw) > MAX_BYTES:
            return JSONResponse({"status": "error", "message": "Request too large."}, 413)
        data: dict[str, Any]
        try:
            if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                data = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            else:
                parsed = json.loads(raw) if raw.strip() else {}
                data = parsed if isinstance(parsed, dict) else {"items": parsed}
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"status": "error", "message": "Could not parse the body."}, 400)
        request_id = str(uuid.uuid4())
        self.store.add(_record(request_id, data))
        answer = {"attempt": str(uuid.uuid4()), "id": str(uuid.uuid4()), "request_id": request_id, "status": "success"}
        return JSONResponse(answer)


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The Zapier stand-in's routes for the sandbox app."""
    hook = CatchHook(store, faults)
    path = "/hooks/catch/{account_id}/{hook_key}"
    return [Route(path + "/", hook.catch, methods=["POST"]), Route(path, hook.catch, methods=["POST"])]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Zapier adapter's secret: the sandbox's catch-hook URL."""
    return SandboxAccount(dict(NO_RATE_LIMIT), {"webhook_url": sandbox_url + SANDBOX_WEBHOOK_PATH})
