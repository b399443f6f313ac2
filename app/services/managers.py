"""Who may unlock the manager screens: adding, listing, removing managers and setting their PINs.

Each change is audited (`manager.added`, `manager.removed`, `manager.pin_reset`) in the transaction
that makes it. PINs are hashed on a worker thread: the slow hash never holds up the event loop or
the database writer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from app.domain.clock import Clock, utcnow
from app.domain.errors import NotFound, ValidationFailed
from app.domain.pins import LEGACY_NAME, Manager, check_name, check_pin, hash_pin, lockout_subject
from app.storage import audit, managers
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ManagerState:
    """A manager as `managers list` shows them: wrong PINs in a row, and until when they are locked."""

    manager: Manager
    failures: int
    locked_until: datetime | None


class ManagerService:
    """The managers in the database."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def current(self) -> list[ManagerState]:
        """The current managers by name, each with their wrong tries and lockout."""

        def job(session: UnitOfWork) -> list[ManagerState]:
            locks = {lock.subject: lock for lock in managers.lockouts(session, "manager:")}
            out = []
            for manager in managers.list_managers(session):
                lock = locks.get(lockout_subject(manager.name))
                out.append(ManagerState(manager, lock.failures if lock else 0, lock.locked_until if lock else None))
            return out

        return await self._db.read(job)

    async def add(self, name: str, pin: str, *, actor: str, allow_weak: bool = False) -> Manager:
        """Add a manager with this PIN (`ValidationFailed` for a name in use or a PIN that will not do).

        `allow_weak` lets an easy PIN through: only the demo's own manager has one.
        """
        name = check_name(name)
        if not allow_weak:
            check_pin(pin)
        elif not pin.isdigit():
            raise ValidationFailed("A manager PIN is digits only.", field="pin")
        if await self._db.read(lambda s: managers.pin_hash(s, name)) is not None:
            raise ValidationFailed(f"There is already a manager called {name}.", field="name")
        stored = await asyncio.to_thread(hash_pin, pin)

        def job(session: UnitOfWork) -> Manager:
            if managers.pin_hash(session, name) is not None:
                raise ValidationFailed(f"There is already a manager called {name}.", field="name")
            now = self._clock()
            added = managers.add(session, name, stored, now=now)
            managers.clear_lockout(session, lockout_subject(name))
            audit.append(session, at=now, actor=actor, action="manager.added", subject=f"manager:{name}", detail={})
            return added

        return await self._db.write(job)

    async def remove(self, name: str, *, actor: str) -> None:
        """Remove the manager called `name` (`NotFound` when there is none); their PIN opens nothing after this."""

        def job(session: UnitOfWork) -> None:
            now = self._clock()
            if not managers.remove(session, name, now=now):
                raise NotFound(f"There is no manager called {name}; `receiptdesk managers list` shows who there is.")
            managers.clear_lockout(session, lockout_subject(name))
            audit.append(session, at=now, actor=actor, action="manager.removed", subject=f"manager:{name}", detail={})

        await self._db.write(job)

    async def reset_pin(self, name: str, pin: str, *, actor: str) -> None:
        """Give `name` a new PIN and lift their lockout (`NotFound`, `ValidationFailed`)."""
        check_pin(pin)
        if await self._db.read(lambda s: managers.pin_hash(s, name)) is None:
            raise NotFound(f"There is no manager called {name}; `receiptdesk managers list` shows who there is.")
        stored = await asyncio.to_thread(hash_pin, pin)

        def job(session: UnitOfWork) -> None:
            now = self._clock()
            if not managers.set_pin(session, name, stored):
                raise NotFound(f"There is no manager called {name}; `receiptdesk managers list` shows who there is.")
            managers.clear_lockout(session, lockout_subject(name))
            audit.append(session, at=now, actor=actor, action="manager.pin_reset", subject=f"manager:{name}", detail={})

        await self._db.write(job)

    async def adopt_legacy_pin(self, pin: str, *, actor: str) -> bool:
        """Turn the single PIN of earlier versions into the manager `manager`, when no manager was ever added.

        True when it was adopted (the caller then deletes the plain PIN where it was kept); False when
        managers exist already, and the old PIN opens nothing.
        """
        if not pin.isdigit() or await self._db.read(managers.any_recorded):
            return False
        stored = await asyncio.to_thread(hash_pin, pin)

        def job(session: UnitOfWork) -> bool:
            if managers.any_recorded(session):
                return False
            now = self._clock()
            managers.add(session, LEGACY_NAME, stored, now=now)
            audit.append(
                session,
                at=now,
                actor=actor,
                action="manager.added",
                subject=f"manager:{LEGACY_NAME}",
                detail={"from": "the single manager PIN of the keyring"},
            )
            return True

        adopted = await self._db.write(job)
        if adopted:
            log.warning(
                "the single manager PIN is now the manager %r; add each manager with "
                "`receiptdesk managers add NAME`, then `receiptdesk managers remove %s`",
                LEGACY_NAME,
                LEGACY_NAME,
            )
        return adopted
