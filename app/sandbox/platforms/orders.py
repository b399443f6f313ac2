"""What the sandbox platforms have "created": orders and events their list APIs answer from.

`receiptdesk sandbox fire` records each order here (`POST /_sandbox/platforms/{platform}/orders`)
before it sends the webhook, or instead of it (`--missed`), so a catch-up poll of the list APIs finds
it. `PUT /_sandbox/platforms/outage {"status": 503}` makes every platform API answer with that
status until `DELETE /_sandbox/platforms/outage`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from app.sandbox.platforms.base import PlatformStandIn


def _stand_ins() -> dict[str, type[PlatformStandIn]]:
    # imported here: the registry imports every module of this package, this one included
    from app.sandbox.platforms.registry import STAND_INS

    return STAND_INS


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PlatformStore:
    """In-memory orders (for Stripe: events) by id, oldest first, of each platform whose stand-in keeps them."""

    def __init__(self) -> None:
        self._stand_ins = {name: s for name, s in _stand_ins().items() if s.keeps_orders}
        self._kept: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self._stand_ins}
        self.outage: int | None = None  # status every platform API answers with, while set
        self.requests: dict[str, int] = dict.fromkeys(self._kept, 0)  # list/search calls, for tests

    @property
    def platforms(self) -> tuple[str, ...]:
        """The platforms whose orders are kept."""
        return tuple(self._kept)

    def kept(self, platform: str) -> dict[str, dict[str, Any]]:
        """The orders (events) of `platform` by id, oldest first; the same dict for the store's lifetime."""
        return self._kept[platform]

    def record(self, platform: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Keep `obj` (an order, or for Stripe an event), replacing one with its id; stamp `updated_at`
        where the platform would."""
        stand_in = self._stand_ins.get(platform)
        if stand_in is None:
            raise ValueError(f"the sandbox keeps orders of {', '.join(self.platforms)}, not {platform!r}")
        stamped = dict(obj, updated_at=_now_text()) if stand_in.stamps_updates else dict(obj)
        kept, key = self._kept[platform], str(obj.get("id"))
        kept.pop(key, None)  # an order recorded again moves last, as the newest
        kept[key] = stamped
        return stamped

    def clear(self) -> None:
        for kept in self._kept.values():
            kept.clear()

    def failure(self, platform: str) -> Response | None:
        """The outage answer, if one is set (counts the call either way)."""
        self.requests[platform] = self.requests.get(platform, 0) + 1
        if self.outage is None:
            return None
        return JSONResponse({"errors": "sandbox outage"}, self.outage)


def inspection_routes(store: PlatformStore) -> list[Route]:
    """`/_sandbox/platforms/{platform}/orders` (POST records, GET lists, DELETE clears) and `/outage`."""

    async def orders(request: Request) -> Response:
        platform = request.path_params["platform"]
        if platform not in store.platforms:
            return JSONResponse({"error": f"platform must be one of {list(store.platforms)}"}, 400)
        if request.method == "DELETE":
            store.clear()
            return Response(status_code=204)
        if request.method == "GET":
            held = list(store.kept(platform).values())
            return JSONResponse({"count": len(held), "data": held})
        try:
            obj = json.loads(await request.body())
            if not isinstance(obj, dict) or "id" not in obj:
                raise ValueError("body must be a JSON object with an id")
            recorded = store.record(platform, obj)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(recorded, 201)

    async def outage(request: Request) -> Response:
        if request.method == "DELETE":
            store.outage = None
            return Response(status_code=204)
        try:
            status = json.loads(await request.body() or b"{}").get("status", 503)
            if not isinstance(status, int) or not 400 <= status <= 599:
                raise ValueError
        except (ValueError, AttributeError):
            return JSONResponse({"error": 'body must be {"status": 400..599}'}, 400)
        store.outage = status
        return JSONResponse({"status": status})

    return [
        Route("/_sandbox/platforms/outage", outage, methods=["PUT", "DELETE"]),
        Route("/_sandbox/platforms/{platform}/orders", orders, methods=["GET", "POST", "DELETE"]),
    ]


def routes(store: PlatformStore) -> list[Route]:
    """Every platform API the sandbox plays, over `store`, plus its inspection routes."""
    return [*inspection_routes(store), *(route for s in _stand_ins().values() for route in s.api_routes(store))]
