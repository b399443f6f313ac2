"""The store's settings managed on the hub (branding, routing, retention), pulled by the lane with each pull.

`GET /v1/hub/settings/{store_id}` answers the store's settings and their version (docs/hub.md, "Store settings
from the hub"). A version newer than the one the lane has is checked as the lane checks its own file
(`check`), kept in `sync_settings` (so the lane starts with it while the hub is away) and handed to `apply`,
which puts it to use and says, in one sentence, what waits for the next start. A version that fails the
check is not kept: the lane keeps the one it has and health says why. `404` (the hub manages none for the
store) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

import httpx

from app.domain.clock import Clock, utcnow
from app.domain.errors import ValidationFailed
from app.storage import hub_settings
from app.storage.database import Database

log = logging.getLogger(__name__)

PATH = "/v1/hub/settings"

Check = Callable[[object], dict[str, Any]]
"""The sections as the lane's own file would be checked; `ValidationFailed` in one sentence."""
Apply = Callable[[Mapping[str, Any], int], Awaitable[str | None]]
"""Put a version to use; what waits for the next start, in one sentence, or None."""


class SettingsPullFailed(Exception):
    """The hub could not be asked for the store's settings, or its answer could not be read."""


class StoreSettingsPull:
    """Pulls the store's settings from the hub; `version` is the one this lane has (None: its own file only)."""

    def __init__(
        self,
        db: Database,
        http: httpx.AsyncClient,
        *,
        url: str,
        store_id: str,
        token: Callable[[], str | None],
        check: Check,
        apply: Apply,
        version: int | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._http = http
        self._url = url.rstrip("/")
        self.store_id = store_id
        self._token = token
        self._check = check
        self._apply = apply
        self._clock = clock
        self.version = version
        self.waiting: str | None = None  # what of the version in use waits for the next start
        self.refused: str | None = None  # why the hub's newest version is not used here

    async def pull(self) -> int | None:
        """Ask the hub once; the version now in use when it is new, else None."""
        answer = await self._get()
        if answer is None:
            return None
        version, settings = answer
        if self.version is not None and version <= self.version:
            return None
        try:
            sections = self._check(settings)
        except ValidationFailed as exc:
            kept = f"version {self.version}" if self.version is not None else "its own settings file"
            self.refused = (
                f"Store settings version {version} from the hub cannot be used here ({exc.message.rstrip('.')}); "
                f"this lane keeps {kept}."
            )
            log.warning("%s", self.refused)
            return None
        await self._db.write(
            partial(
                hub_settings.keep_pulled, store_id=self.store_id, version=version, settings=sections, at=self._clock()
            )
        )
        self.version, self.refused = version, None
        self.waiting = await self._apply(sections, version)
        log.info(
            "store settings version %d from the hub in use%s", version, f"; {self.waiting}" if self.waiting else ""
        )
        return version

    async def after_pull(self) -> None:
        """With each pull of the lane (`HubPullService.also`): the hub away, the lane goes on with what it has."""
        try:
            await self.pull()
        except SettingsPullFailed as exc:  # the profiles' pull says the hub is away, in health
            log.info("store settings: %s", exc)

    def warning(self) -> str | None:
        """What health shows: a version refused, or what of the version in use waits for the next start."""
        return self.refused or self.waiting

    async def _get(self) -> tuple[int, object] | None:
        token = self._token()
        if not token:
            raise SettingsPullFailed("No hub token is set: store one with `receiptdesk secrets set hub token`.")
        try:
            response = await self._http.get(
                f"{self._url}{PATH}/{self.store_id}", headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise SettingsPullFailed(f"The hub at {self._url} cannot be reached ({type(exc).__name__}).") from None
        if response.status_code == 404:
            return None  # the hub manages none for this store: the lane's file alone
        if response.status_code != 200:
            raise SettingsPullFailed(f"The hub answered {response.status_code} when asked for the store's settings.")
        try:
            body = response.json()
            version = body["version"]
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise ValueError("version is not a positive whole number")
            return version, body["settings"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SettingsPullFailed(f"The hub's store settings cannot be read: {exc}.") from None
