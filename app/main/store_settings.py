"""The store's settings from the hub on a lane: in use from the start (the version last pulled), and a newer
version put to use as soon as it is pulled, as far as the running parts allow.

- `[retention]` takes effect at once: the purge reads its periods at each run, and its daily schedule is
  restarted for a new time or an on/off switch.
- `[store]` (the store's details on receipts, e-mails and texts) and `[routing]` are read by the services
  when they are built: a new version of them takes effect at the next start, and health says so.
- A `[routing]` naming a provider this lane's own file does not set up is not used: the lane keeps its own
  routing (it could not send through that provider), and health says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.config.hub_settings import check_sections, providers_not_set_up, with_hub_sections
from app.config.settings import Settings
from app.domain.errors import ValidationFailed
from app.services.hub_settings_pull import StoreSettingsPull
from app.storage import hub_settings
from app.storage.database import Database

if TYPE_CHECKING:
    from app.main.runtime import Runtime

log = logging.getLogger(__name__)


def effective(file: Settings, sections: Mapping[str, Any], version: int) -> tuple[Settings, str | None]:
    """The lane's `file` settings with the hub's `sections` in place of its own, and a sentence for what of
    them this lane cannot use (then its own is kept)."""
    missing = providers_not_set_up(file, sections)
    note = None
    if missing:
        sections = {k: v for k, v in sections.items() if k != "routing"}
        note = (
            f"Store settings version {version} from the hub route through {', '.join(missing)}, which this lane "
            "does not set up: it keeps its own routing."
        )
    return with_hub_sections(file, sections), note


def at_start(file: Settings, db: Database) -> tuple[Settings, int | None, str | None]:
    """The settings a lane with a hub starts with: its file with the version it last pulled (the hub may be away)."""
    if not file.hub.url:
        return file, None, None
    pulled = db.read_sync(lambda s: hub_settings.pulled(s, file.store.id))
    if pulled is None:
        return file, None, None
    try:
        settings, note = effective(file, pulled.settings, pulled.version)
    except ValidationFailed as exc:  # kept by an older ReceiptDesk, refused by this one
        log.warning("store settings version %d from the hub are not used: %s", pulled.version, exc.message)
        return file, None, None
    return settings, pulled.version, note


class InUse:
    """Puts a newly pulled version to use in the running lane (`StoreSettingsPull`'s `apply`)."""

    def __init__(self, runtime: Runtime, file: Settings) -> None:
        self._runtime = runtime
        self._file = file
        self._started = runtime.settings  # what the services were built with

    async def __call__(self, sections: Mapping[str, Any], version: int) -> str | None:
        rt = self._runtime
        new, note = effective(self._file, sections, version)
        retention = rt.retention
        if retention is not None:
            old, retention.settings = retention.settings, new.retention  # the periods: at the next purge
            if (old.enabled, old.purge_at) != (new.retention.enabled, new.retention.purge_at):
                scheduled = rt.dispatcher.running  # the daily purge runs once the lane has started its work
                await retention.stop()  # (a purge cut short carries on at the next one)
                if scheduled:
                    retention.start()
        if rt.hub_push is not None:
            rt.hub_push.settings_version = version
        rt.settings = new
        if new.store != self._started.store or new.routing != self._started.routing:
            waits = f"Store settings version {version} from the hub take effect at the next start"
            return f"{waits} (the store's details and routing); {note}" if note else f"{waits}."
        return note


def store_settings_pull(
    runtime: Runtime, file: Settings, *, token: str | None, version: int | None, note: str | None
) -> StoreSettingsPull:
    """The pull of the store's settings with each pull of `runtime`'s lane (same hub, same token)."""
    assert file.hub.url is not None
    if runtime.hub_push is not None:
        runtime.hub_push.settings_version = version
    settings_pull = StoreSettingsPull(
        runtime.db,
        runtime.http,
        url=file.hub.url,
        store_id=file.store.id,
        token=lambda: token,
        check=check_sections,
        apply=InUse(runtime, file),
        version=version,
    )
    settings_pull.waiting = note
    return settings_pull
