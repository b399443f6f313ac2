"""`GET /v1/hub/profiles?after=SEQ&lane_id=LANE` (scope `hub:sync`, served by `receiptdesk serve --hub`): the
customers' preference, consent and opt-out changes made at lanes other than `lane_id` after `SEQ`, oldest
first, at most 500 (`docs/hub.md`, "Pull: hub -> lane")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.server.auth import PREFIX
from app.storage import hub_profiles
from app.storage.database import Database

PROFILES = f"{PREFIX}/hub/profiles"


def hub_profiles_router(db: Database) -> APIRouter:
    """The profile changes lanes pull, read from `db` (the hub's)."""
    router = APIRouter(tags=["hub"])

    @router.get(PROFILES, summary="Customers' preference, consent and opt-out changes made at other lanes")
    async def get_profiles(
        lane_id: Annotated[str, Query(min_length=1, max_length=80, description="The lane asking")],
        after: Annotated[int, Query(ge=0, lt=2**31, description="The newest change the lane has applied")] = 0,
    ) -> dict[str, Any]:
        changes = await db.read(lambda s: hub_profiles.changes_after(s, lane_id=lane_id, after=after))
        last = changes[-1].seq if changes else after
        return {"changes": [c.wire() for c in changes], "last": last}

    return router
