"""API clients (`api_tokens`): each token kept only as its SHA-256 digest; functions take the caller's session."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain.tokens import ApiClient, ApiToken, Scope, stored_scopes
from app.storage.models import ApiTokenRow


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        row.name, stored_scopes(row.scopes), row.created_at, row.created_by, row.last_used_at, row.revoked_at
    )


def exists(session: Session, name: str) -> bool:
    """Whether a client of this name was ever made (revoked ones keep their name)."""
    return session.get(ApiTokenRow, name) is not None


def add(
    session: Session, *, name: str, digest: str, scopes: tuple[Scope, ...], at: datetime, created_by: str
) -> ApiToken:
    row = ApiTokenRow(
        name=name,
        token_hash=digest,
        scopes=" ".join(s.value for s in scopes),
        created_at=at,
        created_by=created_by[:64],
    )
    session.add(row)
    session.flush()
    return _token(row)


def list_all(session: Session) -> list[ApiToken]:
    """Every client, oldest first."""
    rows = session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.name))
    return [_token(row) for row in rows]


def get(session: Session, name: str) -> ApiToken | None:
    row = session.get(ApiTokenRow, name)
    return None if row is None else _token(row)


def revoke(session: Session, name: str, *, at: datetime) -> bool:
    """Revoke the client's token; False when it is unknown or already revoked."""
    done = session.execute(
        update(ApiTokenRow).where(ApiTokenRow.name == name, ApiTokenRow.revoked_at.is_(None)).values(revoked_at=at)
    )
    return bool(getattr(done, "rowcount", 0))


def active_by_digest(session: Session, digest: str) -> ApiClient | None:
    """The client whose live (not revoked) token has this digest."""
    row = session.execute(
        select(ApiTokenRow.name, ApiTokenRow.scopes).where(
            ApiTokenRow.token_hash == digest, ApiTokenRow.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else ApiClient(row.name, frozenset(stored_scopes(row.scopes)))


def mark_used(session: Session, used: Mapping[str, datetime]) -> None:
    """Record when each client last used its token (never moving a time backwards)."""
    for name, at in used.items():
        session.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.name == name)
            .where((ApiTokenRow.last_used_at.is_(None)) | (ApiTokenRow.last_used_at < at))
            .values(last_used_at=at)
        )
