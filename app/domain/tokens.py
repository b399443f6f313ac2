"""API clients and what their tokens let them do.

A token is shown once, when it is made; only its SHA-256 digest is kept, and a request's token is
found by its digest, so no comparison ever runs over the secret itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.errors import ValidationFailed

TOKEN_PREFIX = "rd_"  # noqa: S105 (a prefix, not a secret)
"""Every token starts so: recognisable in a settings file of a POS, and to secret scanners."""

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Scope(StrEnum):
    SALES_WRITE = "sales:write"
    """Post sales (`POST /v1/sales`)."""
    RECEIPTS_READ = "receipts:read"
    """Read receipts and the full health (`GET /v1/receipts/...`, `GET /v1/health`)."""
    DEVICES_WRITE = "devices:write"
    """Register and unregister customers' app devices for push receipts (`/v1/customers/devices`)."""
    HUB_SYNC = "hub:sync"
    """A lane pushing its records to the hub and pulling customers' profiles from it (`/v1/hub/...`)."""
    RECEIPTS_RESEND = "receipts:resend"
    """Ask the hub for a resend of a receipt, carried out by the lane that owns it (`POST /v1/hub/requests`)."""
    ADMIN = "admin"
    """Everything the API offers."""


DEFAULT_SCOPES = (Scope.SALES_WRITE,)


@dataclass(frozen=True, slots=True)
class ApiClient:
    """Who a request's token belongs to, and what it may do."""

    name: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API client as listed: never its token."""

    name: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


def token_digest(token: str) -> str:
    """The SHA-256 hex digest a token is kept and found by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """Known scopes, in their canonical order, each once; `ValidationFailed` naming an unknown one."""
    chosen: set[Scope] = set()
    for value in values:
        try:
            chosen.add(Scope(value.strip().lower()))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ValidationFailed(f"{value!r} is not a scope: use {known}.", field="scope") from None
    return tuple(s for s in Scope if s in chosen)


def stored_scopes(text: str) -> tuple[Scope, ...]:
    """The scopes kept space-separated in a row; one this version does not know is left out."""
    words = set(text.split())
    return tuple(s for s in Scope if s.value in words)


def check_name(name: str) -> str:
    """A client's name as given, or `ValidationFailed` saying what a name may hold."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValidationFailed(
            f"{name!r} cannot name an API client: use 1 to 64 letters, digits, dots, dashes or underscores.",
            field="name",
        )
    return name
