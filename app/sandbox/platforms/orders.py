"""What the sandbox platforms have "created": orders and events their list APIs answer from.

`receiptdesk sandbox fire` records each order here (`POST /_sandbox/platforms/{platform}/orders`)
before it sends the webhook, or instead of it (`--missed`), so a catch-up poll of the list APIs finds
it. `PUT /_sandbox/platforms/outage {"status": 503}` makes every platform API answer with that
status until `DELETE /_sandbox/platforms/outage`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.platforms import clover, shopify, square, stripe

PLATFORMS = ("shopify", "square", "stripe", "clover")


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PlatformStore:
    """In-memory orders (Shopify, Square, Clover: by id) and events (Stripe: oldest first)."""

    def __init__(self) -> None:
        self.shopify: dict[str, dict[str, Any]] = {}
        self.square: dict[str, dict[str, Any]] = {}
        self.clover: dict[str, dict[str, Any]] = {}
        self.stripe: list[dict[str, Any]] = []
        self.outage: int | None = None  # status every platform API answers with, while set
        self.requests: dict[str, int] = dict.fromkeys(PLATFORMS, 0)  # list/search calls, for tests

    def record(self, platform: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Keep `obj` (an order, or for Stripe an event); stamp `updated_at` as the platform would."""
        if platform == "stripe":
            self.stripe = [e for e in self.stripe if e.get("id") != obj.get("id")] + [obj]
            return obj
        if platform not in ("shopify", "square", "clover"):
            raise ValueError(f"the sandbox keeps orders of {', '.join(PLATFORMS)}, not {platform!r}")
        stamped = dict(obj)
        if platform != "clover":
            stamped["updated_at"] = _now_text()
        getattr(self, platform)[str(obj["id"])] = stamped
        return stamped

    def clear(self) -> None:
        self.shopify.clear()
        self.square.clear()
        self.clover.clear()
        self.stripe.clear()

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
        if platform not in PLATFORMS:
            return JSONResponse({"error": f"platform must be one of {list(PLATFORMS)}"}, 400)
        if request.method == "DELETE":
            store.clear()
            return Response(status_code=204)
        if request.method == "GET":
            held = store.stripe if platform == "stripe" else list(getattr(store, platform).values())
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
    return [
        *inspection_routes(store),
        *shopify.routes(store),
        *square.search_routes(store),
        *stripe.routes(store),
        *clover.routes(store.clover),
    ]
