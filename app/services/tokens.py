"""API clients: make a token (shown once), list, revoke, and tell who a request's token belongs to."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.clock import Clock, utcnow
from app.domain.errors import NotFound, ValidationFailed
from app.domain.tokens import (
    DEFAULT_SCOPES,
    TOKEN_PREFIX,
    ApiClient,
    ApiToken,
    check_name,
    parse_scopes,
    token_digest,
)
from app.storage import audit
from app.storage import tokens as token_rows
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)

TOUCH_EVERY = timedelta(minutes=1)
"""A client's `last_used_at` is written at most this often: a busy POS costs no write per sale."""

MAX_TOKEN_LENGTH = 200
"""Longer than any token this makes: such a header is not looked up at all."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new client and its token: the only time the token exists outside the client that keeps it."""

    client: ApiToken
    token: str


class TokenService:
    """The API's clients, each known by a token of which only the SHA-256 digest is kept."""

    def __init__(self, db: Database, *, clock: Clock = utcnow, touch_every: timedelta = TOUCH_EVERY) -> None:
        self._db = db
        self._clock = clock
        self._touch_every = touch_every
        self._seen: dict[str, datetime] = {}  # last use by client, not yet written
        self._written: dict[str, datetime] = {}  # when each client's last use was last written

    async def create(self, name: str, scopes: Iterable[str] = (), *, actor: str) -> IssuedToken:
        """A new client named `name` with `scopes` (default `sales:write`); its token is in the answer only."""
        check_name(name)
        chosen = parse_scopes(scopes) or DEFAULT_SCOPES
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)

        def job(session: UnitOfWork) -> ApiToken:
            if token_rows.exists(session, name):
                raise ValidationFailed(
                    f"An API client named {name} already exists: choose another name "
                    "(a revoked client keeps its name).",
                    field="name",
                )
            now = self._clock()
            client = token_rows.add(
                session, name=name, digest=token_digest(token), scopes=chosen, at=now, created_by=actor
            )
            audit.append(
                session,
                at=now,
                actor=actor,
                action="token.created",
                subject=name,
                detail={"scopes": [s.value for s in chosen]},
            )
            return client

        return IssuedToken(await self._db.write(job), token)

    async def list(self) -> list[ApiToken]:
        """Every client, oldest first, revoked ones too; never a token."""
        return await self._db.read(token_rows.list_all)

    async def revoke(self, name: str, *, actor: str) -> tuple[ApiToken, bool]:
        """Revoke the client's token; the client as it is now and whether this call revoked it.

        `NotFound` when there is no such client; one already revoked is left as it was.
        """

        def job(session: UnitOfWork) -> tuple[ApiToken, bool]:
            now = self._clock()
            changed = token_rows.revoke(session, name, at=now)
            client = token_rows.get(session, name)
            if client is None:
                raise NotFound(f"There is no API client named {name}: `receiptdesk tokens list` shows them.")
            if changed:
                audit.append(
                    session,
                    at=now,
                    actor=actor,
                    action="token.revoked",
                    subject=name,
                    detail={"scopes": [s.value for s in client.scopes]},
                )
            return client, changed

        return await self._db.write(job)

    async def authenticate(self, token: str) -> ApiClient | None:
        """The client whose live token this is; None for an unknown, malformed or revoked one."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        digest = token_digest(token)
        client = await self._db.read(lambda s: token_rows.active_by_digest(s, digest))
        if client is not None:
            await self._used(client.name)
        return client

    async def flush(self) -> None:
        """Write every client's last use not written yet (at shutdown)."""
        pending, self._seen = self._seen, {}
        if pending:
            await self._write(pending)

    async def _used(self, name: str) -> None:
        now = self._clock()
        self._seen[name] = now
        last = self._written.get(name)
        if last is not None and now - last < self._touch_every:
            return
        self._written[name] = now
        await self._write({name: self._seen.pop(name)})

    async def _write(self, used: dict[str, datetime]) -> None:
        try:
            await self._db.write(lambda s: token_rows.mark_used(s, used))
        except Exception:  # the request goes on: a missed last-use time is only a figure
            log.warning("could not record when API clients last used their tokens", exc_info=True)
