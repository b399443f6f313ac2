"""Resend requests on the hub (`docs/hub.md`, "Requests: a resend carried out by the lane that owns the
receipt"), served by `receiptdesk serve --hub`:

- `POST /v1/hub/requests` (scope `receipts:resend`): `202` with the request as `GET` shows it; `404` when
  the hub has no such receipt of that lane; `422` with one sentence on bad input (nothing written).
- `GET /v1/hub/requests/{id}` (scope `receipts:read`): the request, its contact masked as the manager
  window masks it.
- `GET /v1/hub/requests?lane_id=LANE` (scope `hub:sync`): the lane's pending requests, oldest first, at
  most 100, contacts unmasked (the lane sends to them).
- `POST /v1/hub/requests/{id}/outcome` (scope `hub:sync`): the lane says how it went; a repeated outcome
  changes nothing.

The contact is normalised as the lane stores it (E.164 phone numbers, checked email addresses); a reason
or a name holding a card number is refused, as the lane's own resend refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.domain.cards import contains_card_number
from app.domain.channels import Channel
from app.domain.clock import Clock, utcnow
from app.domain.contacts import mask_contact, normalise_email, normalise_phone
from app.domain.errors import NotFound, ValidationFailed
from app.domain.tokens import Scope
from app.server.auth import PREFIX, client_of
from app.storage import hub_requests
from app.storage.database import Database
from app.storage.hub_requests import HubRequest
from app.support.json_limits import JsonRejected, loads

REQUESTS = f"{PREFIX}/hub/requests"
CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.PRINT)
"""What a request may resend by: the channels of a manager's resend at a lane."""
MAX_PENDING = 100
MAX_REASON = 500
MAX_DETAIL = 500
MAX_ID = 2**31 - 1  # the table's integer key


class RequestOut(BaseModel):
    id: int
    lane_id: str
    receipt_id: str
    kind: str
    channel: str | None
    to: str
    reason: str
    requested_by: str
    requested_at: str
    state: str
    detail: str | None
    updated_at: str

    @classmethod
    def of(cls, r: HubRequest, *, masked: bool = True) -> RequestOut:
        contact = r.contact or ""
        return cls(
            id=r.id,
            lane_id=r.lane_id,
            receipt_id=r.receipt_id,
            kind=r.kind,
            channel=r.channel,
            to=mask_contact(contact) if masked and contact else contact,
            reason=r.reason,
            requested_by=r.requested_by,
            requested_at=r.requested_at.astimezone(UTC).isoformat(),
            state=r.state,
            detail=r.detail,
            updated_at=r.updated_at.astimezone(UTC).isoformat(),
        )


@dataclass(frozen=True, slots=True)
class NewRequest:
    lane_id: str
    receipt_id: str
    channel: Channel
    contact: str | None  # None for a reprint
    reason: str
    requested_by: str


def _object(body: bytes) -> Mapping[str, Any]:
    try:
        payload = loads(body)
    except JsonRejected as exc:
        raise ValidationFailed(f"The body is not acceptable JSON: {exc.message}.") from None
    if not isinstance(payload, Mapping):
        raise ValidationFailed("The body must be a JSON object.")
    return payload


def _text(payload: Mapping[str, Any], name: str, *, most: int, required: bool = True) -> str:
    value = payload.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"Give {name} as text.", field=name)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"Give {name}: it may not be empty.", field=name)
    if len(value) > most:
        raise ValidationFailed(f"{name} is too long: at most {most} characters.", field=name)
    if "\x00" in value:  # PostgreSQL text cannot hold it (a query string may carry it)
        raise ValidationFailed(f"{name} holds a character text cannot hold.", field=name)
    return value


def _no_card(value: str, name: str) -> str:
    if contains_card_number(value):
        raise ValidationFailed(f"The {name} looks like it holds a card number: write it without the number.", name)
    return value


def parse_request(payload: Mapping[str, Any]) -> NewRequest:
    """A new request's fields, checked and normalised as the lane would; `ValidationFailed` (one sentence)."""
    lane_id = _text(payload, "lane_id", most=80)
    receipt_id = _text(payload, "receipt_id", most=36)
    name = _text(payload, "channel", most=16).lower()
    channel = next((c for c in CHANNELS if c.value == name), None)
    if channel is None:
        allowed = ", ".join(c.value for c in CHANNELS)
        raise ValidationFailed(f"A request resends by one of {allowed}; {name!r} is none of them.", "channel")
    to = _text(payload, "to", most=320, required=False)
    if channel is Channel.PRINT:
        if to:
            raise ValidationFailed("A reprint goes to the owning lane's printer: leave to empty.", field="to")
        contact = None
    elif not to:
        raise ValidationFailed(f"Give to: the {'email address' if channel is Channel.EMAIL else 'number'}.", "to")
    else:
        contact = normalise_email(to) if channel is Channel.EMAIL else normalise_phone(to)
    reason = _no_card(_text(payload, "reason", most=MAX_REASON), "reason")
    requested_by = _no_card(_text(payload, "requested_by", most=64), "requested_by")
    if not requested_by.isprintable():
        raise ValidationFailed("requested_by is a name on one line.", field="requested_by")
    return NewRequest(lane_id, receipt_id, channel, contact, reason, requested_by)


def _request_id(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise NotFound(f"There is no request {text[:20]}.")
    return int(text)


_NEW_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["lane_id", "receipt_id", "channel", "reason", "requested_by"],
    "properties": {
        "lane_id": {"type": "string", "maxLength": 80},
        "receipt_id": {"type": "string", "maxLength": 36},
        "channel": {"type": "string", "enum": [c.value for c in CHANNELS]},
        "to": {"type": "string", "description": "An email address or phone number; empty for print"},
        "reason": {"type": "string", "maxLength": MAX_REASON},
        "requested_by": {"type": "string", "maxLength": 64},
    },
}
_OUTCOME_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["lane_id", "state"],
    "properties": {
        "lane_id": {"type": "string", "maxLength": 80},
        "state": {"type": "string", "enum": sorted(hub_requests.OUTCOMES)},
        "detail": {"type": ["string", "null"], "maxLength": MAX_DETAIL},
        "delivery_id": {"type": ["string", "null"], "maxLength": 36},
    },
}


async def _not_the_lane(db: Database, request: Request, lane_id: str) -> JSONResponse | None:
    """A 403 when the hub bound another token to `lane_id` (a lane reads and answers only its own requests)."""
    bound = await db.read(lambda s: hub_requests.lane_token(s, lane_id))
    client = client_of(request)
    if bound is None or client is None or client.name == bound or client.allows(Scope.ADMIN):
        return None
    words = f"The API token of {client.name} is not the one lane {lane_id} pushes with: use that lane's token."
    return JSONResponse({"error": words}, status_code=403)


def hub_requests_router(db: Database, *, clock: Clock = utcnow) -> APIRouter:
    """The resend requests kept in `db` (the hub's)."""
    router = APIRouter(tags=["hub"])
    bad: dict[int | str, dict[str, Any]] = {422: {"description": "Bad input (one sentence); nothing written"}}

    @router.post(
        REQUESTS,
        status_code=202,
        response_model=RequestOut,
        summary="Ask the lane that owns a receipt to resend it",
        responses={404: {"description": "The hub has no such receipt of that lane"}, **bad},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _NEW_BODY}}}},
    )
    async def post_request(request: Request) -> JSONResponse:
        new = parse_request(_object(await request.body()))
        now = clock()
        made = await db.write(
            lambda s: hub_requests.create(
                s,
                lane_id=new.lane_id,
                receipt_id=new.receipt_id,
                channel=new.channel.value,
                contact=new.contact,
                reason=new.reason,
                requested_by=new.requested_by,
                now=now,
            )
        )
        if made is None:
            raise NotFound(f"The hub has no receipt {new.receipt_id} of lane {new.lane_id}.")
        return JSONResponse(RequestOut.of(made).model_dump(), status_code=202)

    @router.get(
        REQUESTS,
        response_model=list[RequestOut],
        summary="A lane's pending requests, oldest first",
        responses={403: {"description": "Another token is bound to that lane"}, **bad},
    )
    async def get_pending(
        request: Request, lane_id: Annotated[str | None, Query(description="The lane asking")] = None
    ) -> Any:
        lane = _text({"lane_id": lane_id}, "lane_id", most=80)
        if (refused := await _not_the_lane(db, request, lane)) is not None:
            return refused
        rows = await db.read(lambda s: hub_requests.pending(s, lane, limit=MAX_PENDING))
        return [RequestOut.of(r, masked=False) for r in rows]

    @router.get(
        f"{REQUESTS}/{{request_id}}",
        response_model=RequestOut,
        summary="A request and how it went",
        responses={404: {"description": "No such request"}},
    )
    async def get_request(request_id: str) -> RequestOut:
        number = _request_id(request_id)
        found = await db.read(lambda s: hub_requests.get(s, number))
        if found is None:
            raise NotFound(f"There is no request {number}.")
        return RequestOut.of(found)

    @router.post(
        f"{REQUESTS}/{{request_id}}/outcome",
        response_model=RequestOut,
        summary="The owning lane says how a request went (repeating it changes nothing)",
        responses={
            403: {"description": "Another token is bound to that lane"},
            404: {"description": "The lane has no such request"},
            **bad,
        },
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _OUTCOME_BODY}}}},
    )
    async def post_outcome(request_id: str, request: Request) -> Any:
        number = _request_id(request_id)
        payload = _object(await request.body())
        lane_id = _text(payload, "lane_id", most=80)
        if (refused := await _not_the_lane(db, request, lane_id)) is not None:
            return refused
        state = _text(payload, "state", most=12)
        if state not in hub_requests.OUTCOMES:
            raise ValidationFailed("state is done or failed.", field="state")
        detail = _no_card(_text(payload, "detail", most=MAX_DETAIL, required=False), "detail") or None
        delivery_id = payload.get("delivery_id")
        if delivery_id is not None and not (isinstance(delivery_id, str) and len(delivery_id) <= 36):
            raise ValidationFailed("delivery_id is the delivery's id, or null.", field="delivery_id")
        now = clock()
        found = await db.write(
            lambda s: hub_requests.record_outcome(s, number, lane_id=lane_id, state=state, detail=detail, now=now)
        )
        if found is None:
            raise NotFound(f"Lane {lane_id} has no request {number}.")
        return RequestOut.of(found)

    return router
