"""The door to the manager screens: a manager's name and PIN, checked against its slow hash.

Wrong PINs are counted per name in the database, so a restart forgets nothing: after
`max_tries` wrong PINs in a row the name is locked, each further lockout twice as long as the
one before (up to a ceiling), and a right PIN wipes the count. A name that is no manager costs
the same hashing time and is counted and locked the same way, so trying names tells nothing.
Every try is written to the audit log in the same transaction as its count.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.audit import AuditDraft
from app.domain.clock import Clock, utcnow
from app.domain.errors import ReceiptDeskError
from app.domain.pins import (
    UNKNOWN_HASH,
    LockoutPolicy,
    describe_wait,
    hash_pin,
    lockout_subject,
    needs_rehash,
    verify_pin,
)
from app.domain.plugins import SecretField
from app.storage import audit, managers
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)

PIN_OWNER = "kiosk"
PIN_SECRET = SecretField("manager_pin", "Manager PIN (before named managers; adopted as manager 'manager')")
"""Where the single manager PIN of earlier versions was kept, in plain text: `kiosk manager_pin` in the keyring.

A kiosk that finds it there while no manager was ever added turns it into the manager called
`manager` (its hash only) and deletes it from the keyring (`ManagerService.adopt_legacy_pin`)."""

KIOSK = "kiosk"
"""The actor of a wrong try: someone at the kiosk, not (yet) anyone known."""


class AccessDenied(ReceiptDeskError):
    """A wrong name or PIN, or one locked after too many; `locked_until` says until when (None: not locked)."""

    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


@dataclass(frozen=True, slots=True)
class _Verdict:
    ok: bool
    message: str = ""
    locked_until: datetime | None = None


class ManagerLock:
    """Checks a manager's name and PIN; counts and locks wrong ones in the database."""

    def __init__(self, db: Database, policy: LockoutPolicy | None = None, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._policy = policy or LockoutPolicy()
        self._clock = clock

    def now(self) -> datetime:
        """The time lockouts are measured against."""
        return self._clock()

    async def names(self) -> list[str]:
        """The current managers' names, in order."""
        found = await self._db.read(lambda s: managers.list_managers(s))
        return [m.name for m in found]

    async def locked_until(self, name: str) -> datetime | None:
        """Until when `name` is locked, or None when a PIN may be tried now."""
        found = await self._db.read(lambda s: managers.lockout(s, lockout_subject(name)))
        now = self._clock()
        return found.locked_until if found and found.locked_until and found.locked_until > now else None

    async def unlock(self, name: str, pin: str) -> str:
        """The manager's name when `pin` is theirs; else `AccessDenied` in one sentence saying what is left."""
        subject = lockout_subject(name)

        def look(session: UnitOfWork) -> tuple[str | None, datetime | None]:
            found = managers.lockout(session, subject)
            return managers.pin_hash(session, name), found.locked_until if found else None

        stored, until = await self._db.read(look)
        if until is not None and until > self._clock():
            raise AccessDenied(_locked_message(until - self._clock()), locked_until=until)
        right = await asyncio.to_thread(verify_pin, pin, stored or UNKNOWN_HASH)
        verdict = await self._db.write(lambda s: self._settle(s, name, subject, stored, right))
        if not verdict.ok:
            raise AccessDenied(verdict.message, locked_until=verdict.locked_until)
        if stored is not None and needs_rehash(stored):  # the cost was raised since this PIN was set
            fresh = await asyncio.to_thread(hash_pin, pin)
            await self._db.write(lambda s: managers.set_pin(s, name, fresh))
        return name

    def _settle(self, session: UnitOfWork, name: str, subject: str, stored: str | None, right: bool) -> _Verdict:
        """Count the try and audit it, in one transaction; never raises, so the count is kept."""
        now = self._clock()
        found = managers.hold_lockout(session, subject, now=now)
        if found.locked_until is not None and found.locked_until > now:
            return _Verdict(False, _locked_message(found.locked_until - now), found.locked_until)  # locked meanwhile
        known = stored is not None and managers.pin_hash(session, name) == stored
        about = f"manager:{name}" if known else "manager:unknown"
        if right and known:
            managers.clear_lockout(session, subject)
            audit.append(session, at=now, actor=name, action="manager.unlocked", subject=about, detail={})
            return _Verdict(True)
        failures = found.failures + 1
        seconds = self._policy.lock_seconds(failures)
        until = now + timedelta(seconds=seconds) if seconds else None
        managers.save_lockout(session, subject, failures=failures, locked_until=until, now=now)
        left = self._policy.tries_left(failures)
        entries = [AuditDraft(now, KIOSK, "manager.pin_failed", about, {"failures": failures, "tries_left": left})]
        if seconds and until:
            lockout = {"seconds": seconds, "until": until.isoformat(), "lockout": failures // self._policy.max_tries}
            entries.append(AuditDraft(now, KIOSK, "manager.locked", about, lockout))
            log.warning("manager sign-in locked for %s after %d wrong PINs in a row", describe_wait(seconds), failures)
        audit.append_many(session, entries)
        if until is not None:
            return _Verdict(False, _locked_message(until - now), until)
        return _Verdict(False, f"Wrong PIN. {left} {'try' if left == 1 else 'tries'} left.")


def _locked_message(wait: timedelta) -> str:
    return f"Locked for {describe_wait(wait.total_seconds())} after too many wrong PINs."
