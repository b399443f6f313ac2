"""The hub's routes (served by `receiptdesk serve --hub` only), as `docs/hub.md` describes them.

`POST /v1/hub/batches` (scope `hub:sync`) takes a lane's batch: `200` with `{"acked", "parked", "hub_time"}`,
`409` with `{"acked"}` when the batch starts beyond what the hub has, `422` (one line) when it is malformed,
`413` beyond `BATCH_MAX_BYTES`.
`GET /v1/hub/lanes` (scope `receipts:read`) lists the lanes: last seen, acknowledged seq, backlog, parked
records, version, clock skew.
`GET /v1/hub/receipts?q=&since=&until=&lane=&limit=` (scope `receipts:read`) lists receipts of every lane,
newest first: today's (the store's day) by default, or those whose sale id, card's last four, phone or email
is `q`; `422` (one line) on a bad parameter.
`GET /v1/hub/receipts/{receipt_id}?lane_id=` (scope `receipts:read`) answers one receipt with its sale,
deliveries and requests, recipients masked; `404` when the hub has none, `409` when two lanes have it and
`lane_id` is missing.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.domain.clock import utcnow
from app.domain.tokens import Scope
from app.server.auth import PREFIX, client_of
from app.server.hub_requests import RequestOut
from app.services.hub import AmbiguousReceipt, HubService, LaneHealth, lane_warnings
from app.storage.hub import Conflict, Refused
from app.storage.hub_detail import HubDelivery, HubReceiptDetail
from app.storage.hub_search import HubReceipt
from app.support.json_limits import JsonRejected, loads

if TYPE_CHECKING:
    from app.server.schemas import HealthOut

BATCHES = f"{PREFIX}/hub/batches"
BATCH_MAX_BYTES = 32 * 1024 * 1024
"""A batch's body, at most: a lane's records include its receipts as rendered (some 20 KB each), so a
batch of a few hundred records is larger than the API's other bodies (`[api] max_body_bytes`)."""
LANES = f"{PREFIX}/hub/lanes"
RECEIPTS = f"{PREFIX}/hub/receipts"


class LaneOut(BaseModel):
    lane_id: str
    store_id: str
    last_seen_at: str
    acked_seq: int
    backlog: int
    parked: int
    version: str | None
    skew_ms: int | None
    quiet: bool
    settings_version: int | None = None  # the store settings' version the lane pulled from the hub

    @classmethod
    def of(cls, lane: LaneHealth) -> LaneOut:
        return cls(
            lane_id=lane.lane_id,
            store_id=lane.store_id,
            last_seen_at=lane.last_seen_at.isoformat(),
            acked_seq=lane.acked_seq,
            backlog=lane.backlog,
            parked=lane.parked,
            version=lane.version,
            skew_ms=lane.skew_ms,
            quiet=lane.quiet,
            settings_version=lane.settings_version,
        )


class HubReceiptOut(BaseModel):
    lane_id: str
    receipt_id: str
    store_id: str
    sale_id: str
    lane: str | None
    occurred_at: str
    total: str
    card_last4: str | None
    state: str | None

    @classmethod
    def of(cls, r: HubReceipt) -> HubReceiptOut:
        return cls(
            lane_id=r.lane_id,
            receipt_id=r.receipt_id,
            store_id=r.store_id,
            sale_id=r.sale_id,
            lane=r.lane,
            occurred_at=r.occurred_at.astimezone(UTC).isoformat(),
            total=f"{r.total:.2f}",
            card_last4=r.card_last4,
            state=r.state,
        )


class HubDeliveryOut(BaseModel):
    id: str
    channel: str
    recipient: str
    state: str
    attempts: int
    updated_at: str | None

    @classmethod
    def of(cls, d: HubDelivery) -> HubDeliveryOut:
        return cls(
            id=d.id,
            channel=d.channel,
            recipient=d.recipient,
            state=d.state,
            attempts=d.attempts,
            updated_at=d.updated_at,
        )


class HubReceiptDetailOut(HubReceiptOut):
    sale: dict[str, Any]
    deliveries: list[HubDeliveryOut]
    requests: list[RequestOut]

    @classmethod
    def of_detail(cls, d: HubReceiptDetail) -> HubReceiptDetailOut:
        return cls(
            **HubReceiptOut.of(d.receipt).model_dump(),
            sale=d.sale,
            deliveries=[HubDeliveryOut.of(x) for x in d.deliveries],
            requests=[RequestOut.of(x) for x in d.requests],  # contacts masked
        )


class ParkedOut(BaseModel):
    seq: int
    reason: str


class BatchApplied(BaseModel):
    acked: int
    parked: list[ParkedOut]
    hub_time: str


class BatchConflict(BaseModel):
    acked: int


_BATCH_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["lane_id", "store_id", "sent_at", "after", "records"],
    "properties": {
        "lane_id": {"type": "string", "maxLength": 80},
        "store_id": {"type": "string", "maxLength": 64},
        "version": {"type": "string", "maxLength": 40},
        "sent_at": {"type": "string", "format": "date-time"},
        "after": {"type": "integer", "minimum": 0},
        "backlog": {"type": "integer", "minimum": 0, "description": "Feed entries the lane holds beyond this batch"},
        "records": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["seq", "kind", "key", "op", "at"],
                "properties": {
                    "seq": {"type": "integer", "minimum": 1},
                    "kind": {"type": "string"},
                    "key": {"type": "string", "maxLength": 128},
                    "op": {"type": "string", "enum": ["upsert", "delete"]},
                    "at": {"type": "string", "format": "date-time"},
                    "data": {"type": ["object", "null"]},
                },
            },
        },
    },
}


def hub_router(hub: HubService) -> APIRouter:
    """The lanes' batches and the lanes' state, over `hub`."""
    router = APIRouter(tags=["hub"])

    @router.post(
        BATCHES,
        response_model=BatchApplied,
        summary="Apply a lane's batch of changed records (idempotent by lane and seq)",
        responses={
            409: {"model": BatchConflict, "description": "The batch starts beyond what the hub has: resend"},
            422: {"description": "Malformed batch"},
        },
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _BATCH_BODY}}}},
    )
    async def post_batch(request: Request) -> Response:
        try:
            payload = loads(await request.body())
        except JsonRejected as exc:
            return JSONResponse({"error": f"Body is not acceptable JSON: {exc.message}."}, status_code=422)
        client = client_of(request)
        token = None if client is None or client.allows(Scope.ADMIN) else client.name
        result = await hub.apply(payload, token=token)
        if isinstance(result, Refused):
            lane = payload.get("lane_id") if isinstance(payload, dict) else None
            words = (
                f"Lane {lane} pushes with another API token: push with that lane's own token, or give it a new lane id."
            )
            return JSONResponse({"error": words}, status_code=403)
        if isinstance(result, Conflict):
            return JSONResponse(BatchConflict(acked=result.acked).model_dump(), status_code=409)
        body = BatchApplied(
            acked=result.acked,
            parked=[ParkedOut(seq=p.seq, reason=p.reason) for p in result.parked],
            hub_time=utcnow().isoformat(timespec="milliseconds"),
        )
        return JSONResponse(body.model_dump())

    @router.get(LANES, response_model=list[LaneOut], summary="The lanes this hub serves and their sync state")
    async def get_lanes() -> list[LaneOut]:
        return [LaneOut.of(lane) for lane in await hub.lanes()]

    @router.get(
        RECEIPTS,
        response_model=list[HubReceiptOut],
        summary="Receipts of every lane, newest first: today's, or found by sale id, last four, phone or email",
        responses={422: {"description": "A bad parameter (one line)"}},
    )
    async def get_receipts(request: Request) -> list[HubReceiptOut]:
        params = {k: v for k, v in request.query_params.items() if k in ("q", "since", "until", "lane", "limit")}
        return [HubReceiptOut.of(r) for r in await hub.receipts(params)]

    @router.get(
        RECEIPTS + "/{receipt_id}",
        response_model=HubReceiptDetailOut,
        summary="One receipt of any lane: its sale, deliveries (recipients masked) and the requests made for it",
        responses={
            404: {"description": "The hub has no such receipt (one line)"},
            409: {"description": "Two lanes have this receipt id: give lane_id"},
        },
    )
    async def get_receipt(receipt_id: str, lane_id: str | None = None) -> Response:
        try:
            found = await hub.receipt(receipt_id, lane_id or None)
        except AmbiguousReceipt as exc:
            return JSONResponse({"error": exc.message}, status_code=409)
        return JSONResponse(HubReceiptDetailOut.of_detail(found).model_dump())

    return router


async def with_lanes(body: HealthOut, hub: HubService) -> HealthOut:
    """The health `body` with the lanes the hub serves (none on a lane) and a warning for each that needs a look."""
    lanes = await hub.lanes()
    if not lanes:
        return body
    return body.model_copy(
        update={"lanes": [LaneOut.of(lane) for lane in lanes], "warnings": [*body.warnings, *lane_warnings(lanes)]}
    )


def lane_lines(body: HealthOut) -> list[str]:
    """One line per lane of the hub's health, for `receiptdesk health`."""
    lines = [f"Lanes: {len(body.lanes)} served by this hub." if body.lanes else ""]
    for lane in body.lanes:
        skew = "unknown" if lane.skew_ms is None else f"{lane.skew_ms:+,} ms"
        lines.append(
            f"Lane {lane.lane_id}: last seen {lane.last_seen_at[:19].replace('T', ' ')} UTC, "
            f"acknowledged up to {lane.acked_seq:,}, backlog {lane.backlog:,}, parked {lane.parked:,}, "
            f"version {lane.version or 'unknown'}, store settings {_settings(lane.settings_version)}, "
            f"clock skew {skew}{' (quiet)' if lane.quiet else ''}."
        )
    return [line for line in lines if line]


def _settings(version: int | None) -> str:
    return "the lane's own" if version is None else f"version {version} from the hub"
