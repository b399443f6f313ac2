"""Store settings managed on the hub (`hub_settings`), and the copy a lane last pulled (`sync_settings`).

Each change of a store's settings is a new version, numbered from 1. A change may name the version it
replaces: when another change came first it is refused (`Stale`) and nothing is written. On PostgreSQL
the store's row is locked (`SELECT ... FOR UPDATE`) while the next version is written, and the first
version is inserted with `ON CONFLICT DO NOTHING`, so two hub processes given changes at once number them
one after the other. Functions take the caller's session, which commits.

The settings are kept as JSON text: the sections as `app.config.hub_settings.check_sections` returned them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from app.storage.dialect_insert import dialect_insert
from app.storage.models import HubSettingsRow, SyncSettingsRow

HUB: Table = HubSettingsRow.__table__  # type: ignore[assignment]
PULLED: Table = SyncSettingsRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class StoreSettingsVersion:
    """One version of a store's settings, as the hub keeps it (and `GET /v1/hub/settings/{store_id}` shows)."""

    store_id: str
    version: int
    settings: dict[str, Any]
    updated_at: datetime
    updated_by: str

    def wire(self) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "version": self.version,
            "settings": self.settings,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True, slots=True)
class Stale:
    """The change named a version that is no longer the store's: `current` is (0 when there is none)."""

    current: int


@dataclass(frozen=True, slots=True)
class Pulled:
    """The store settings a lane last pulled from its hub."""

    store_id: str
    version: int
    settings: dict[str, Any]
    pulled_at: datetime


def _dumps(settings: Mapping[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


# -- on the hub ----------------------------------------------------------------------------------


def current(session: Session, store_id: str) -> StoreSettingsVersion | None:
    """The store's settings in their newest version; None when the hub manages none for it."""
    row = session.execute(select(HUB).where(HUB.c.store_id == store_id)).one_or_none()
    if row is None:
        return None
    return StoreSettingsVersion(row.store_id, row.version, _loads(row.settings), row.updated_at, row.updated_by)


def put(
    session: Session, store_id: str, settings: Mapping[str, Any], *, replaces: int | None, by: str, now: datetime
) -> StoreSettingsVersion | Stale:
    """Write `settings` as the store's next version; `Stale` (nothing written) when `replaces` is given and
    is not the store's version now (0: the store has none yet)."""
    text = _dumps(settings)
    row = session.execute(select(HUB.c.version).where(HUB.c.store_id == store_id).with_for_update()).one_or_none()
    if row is None:
        if replaces not in (None, 0):
            return Stale(0)
        first = dialect_insert(session, HUB).values(
            store_id=store_id, version=1, settings=text, updated_at=now, updated_by=by[:64]
        )
        if session.execute(first.on_conflict_do_nothing(index_elements=["store_id"])).rowcount:  # type: ignore[attr-defined]
            return StoreSettingsVersion(store_id, 1, dict(settings), now, by[:64])
        row = session.execute(select(HUB.c.version).where(HUB.c.store_id == store_id).with_for_update()).one()
    version = int(row.version)
    if replaces is not None and replaces != version:
        return Stale(version)
    session.execute(
        update(HUB)
        .where(HUB.c.store_id == store_id)
        .values(version=version + 1, settings=text, updated_at=now, updated_by=by[:64])
    )
    return StoreSettingsVersion(store_id, version + 1, dict(settings), now, by[:64])


# -- on a lane -----------------------------------------------------------------------------------


def pulled(session: Session, store_id: str) -> Pulled | None:
    """The settings this lane last pulled for `store_id`; None when it never pulled any."""
    row = session.execute(select(PULLED).where(PULLED.c.store_id == store_id)).one_or_none()
    if row is None:
        return None
    return Pulled(row.store_id, row.version, _loads(row.settings), row.pulled_at)


def keep_pulled(session: Session, store_id: str, version: int, settings: Mapping[str, Any], *, at: datetime) -> None:
    """Keep `settings` as the lane's copy of its store's settings (replacing the one it had)."""
    values = {"version": version, "settings": _dumps(settings), "pulled_at": at}
    stmt = dialect_insert(session, PULLED).values(store_id=store_id, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["store_id"], set_=values))
