"""Reading the audit log: who did what, when, newest first."""

from __future__ import annotations

from datetime import datetime

from app.domain.audit import AuditEntry
from app.storage import audit
from app.storage.database import Database


class AuditLog:
    """The tamper-evident log, for reading (`receiptdesk audit show`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def entries(
        self, *, since: datetime | None = None, action: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        """Entries newest first, at or after `since`, of `action` (`manager.*`: every `manager.` action)."""
        return await self._db.read(lambda s: audit.entries(s, since=since, action=action, limit=limit))
