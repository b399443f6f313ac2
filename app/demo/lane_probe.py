"""What the lanes demo reads in a lane's own database while the lane runs, and the one thing it writes.

A lane shows no customer's choices over its API, so the demo looks where the lane keeps them (its SQLite
file; readers never wait on the lane's writer). The write is the customer screen's "remember my choice",
which a headless lane has no screen for: the preference with auto-send, as the kiosk's sending service
records it (`app.services.kiosk.sending`). The lane's change-feed triggers carry it to the hub as any
change made there.
"""

from __future__ import annotations

from pathlib import Path

from app.domain.channels import Channel
from app.domain.clock import utcnow
from app.domain.consent import ChannelGroup
from app.storage import consents, customers
from app.storage.database import Database, UnitOfWork


class LaneProbe:
    """Reads (and the customer screen's one write) in one lane's database."""

    def __init__(self, url: str) -> None:
        self._db = Database(url)

    @classmethod
    def of_folder(cls, data: Path) -> LaneProbe:
        from app.demo.lane_setup import sqlite_url

        return cls(sqlite_url(data))

    def close(self) -> None:
        self._db.close()

    async def remember(self, loyalty_id: str, channels: tuple[Channel, ...]) -> None:
        """The customer asks the lane to send their receipts this way from now on, with no tap."""

        def write(session: UnitOfWork) -> None:
            found = customers.find(session, loyalty_id=loyalty_id, email=None, phone=None)
            if found is None:
                raise LookupError(f"the lane has no customer {loyalty_id}")
            customers.set_preferences(session, found, channels, auto_send=True, now=utcnow())

        await self._db.write(write)

    async def sends_without_asking(self, loyalty_id: str) -> tuple[Channel, ...]:
        """The channels this lane sends the customer's receipts on with no tap (none when it does not know them)."""

        def read(session: UnitOfWork) -> tuple[Channel, ...]:
            found = customers.find(session, loyalty_id=loyalty_id, email=None, phone=None)
            if found is None:
                return ()
            known = customers.load(session, found)
            return known.preferred if known.auto_send else ()

        return await self._db.read(read)

    async def texts_stopped(self, phone: str) -> bool:
        """Whether this lane holds an opt-out of texts for `phone` (E.164)."""
        return await self._db.read(lambda s: consents.opted_out(s, ChannelGroup.TEXT, phone))
