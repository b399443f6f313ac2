"""The hash chain of the audit log: each entry's hash covers its content and the hash before it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def canonical_detail(detail: dict[str, Any]) -> str:
    """The one JSON spelling of an entry's detail (sorted keys, no spaces)."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, detail: str) -> str:
    """SHA-256 over the previous hash and every field of the entry, unambiguously separated."""
    digest = hashlib.sha256()
    for part in (prev_hash, str(seq), at.isoformat(timespec="microseconds"), actor, action, subject, detail):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the whole chain."""

    entries: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str | None = None
