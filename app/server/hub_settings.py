"""A store's settings managed on the hub (served by `receiptdesk serve --hub`; docs/hub.md, "Store settings
from the hub").

`GET /v1/hub/settings/{store_id}` (scope `hub:sync` or `receipts:read`): `{"store_id", "version", "settings",
"updated_at", "updated_by"}`, `404` when the hub manages none for the store.
`PUT /v1/hub/settings/{store_id}` (scope `admin`) with `{"settings": {...}, "version": N}`: the next version,
`409` with `{"error", "version"}` when `version` is not the store's version now, `422` (one sentence) when the
settings fail the checks a lane's own file gets; nothing is written then.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from app.config.hub_settings import check_sections
from app.domain.clock import utcnow
from app.domain.errors import NotFound, ValidationFailed
from app.server.auth import PREFIX, client_of
from app.storage import hub_settings
from app.storage.database import Database, UnitOfWork
from app.support.json_limits import JsonRejected, loads

SETTINGS = f"{PREFIX}/hub/settings"
StoreId = Annotated[str, Path(min_length=1, max_length=64, description="The store's id ([store] id of its lanes)")]


def stale_words(store_id: str, current: int) -> str:
    return (
        f"The settings of {store_id} changed meanwhile (now version {current}): "
        "read them again and make your change over them."
    )


def hub_settings_router(db: Database) -> APIRouter:
    """Stores' settings kept in `db` (the hub's)."""
    router = APIRouter(tags=["hub"])

    @router.get(
        SETTINGS + "/{store_id}",
        summary="A store's settings managed on the hub (branding, routing, retention) and their version",
        responses={404: {"description": "The hub manages no settings for this store"}},
    )
    async def get_settings(store_id: StoreId) -> dict[str, Any]:
        found = await db.read(lambda s: hub_settings.current(s, store_id))
        if found is None:
            raise NotFound(
                f"The hub manages no settings for store {store_id}: set them with `receiptdesk hub settings set`."
            )
        return found.wire()

    @router.put(
        SETTINGS + "/{store_id}",
        summary="Change a store's settings: a new version, which its lanes pull",
        responses={
            409: {"description": "Another change came first: `version` is the store's version now"},
            422: {"description": "The settings fail the checks a lane's settings file gets (one sentence)"},
        },
    )
    async def put_settings(store_id: StoreId, request: Request) -> Response:
        try:
            payload = loads(await request.body())
        except JsonRejected as exc:
            return JSONResponse({"error": f"Body is not acceptable JSON: {exc.message}."}, status_code=422)
        if not isinstance(payload, dict):
            raise ValidationFailed('The body is not a JSON object: send {"settings": {...}, "version": N}.')
        replaces = payload.get("version")
        if replaces is not None and (isinstance(replaces, bool) or not isinstance(replaces, int) or replaces < 0):
            raise ValidationFailed("version is not a whole number from 0: give the version your change replaces.")
        sections = check_sections(payload.get("settings"))
        client = client_of(request)
        by = client.name if client is not None else "api"
        now = utcnow()

        def job(session: UnitOfWork) -> hub_settings.StoreSettingsVersion | hub_settings.Stale:
            return hub_settings.put(session, store_id, sections, replaces=replaces, by=by, now=now)

        result = await db.write(job)
        if isinstance(result, hub_settings.Stale):
            return JSONResponse(
                {"error": stale_words(store_id, result.current), "version": result.current}, status_code=409
            )
        return JSONResponse(result.wire())

    return router
