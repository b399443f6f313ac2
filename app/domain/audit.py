"""The hash chain of the audit log: each entry's hash covers its content and the hash before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
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


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """An entry about to be appended (the chain gives it its seq and hashes)."""

    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


def changed_keys(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two nested mappings (added and removed ones too), sorted.

    Only names: what an audit entry about a settings change may say without holding any value.
    """
    keys: list[str] = []
    for key in sorted(set(before) | set(after), key=str):
        path = f"{prefix}{key}"
        old, new = before.get(key), after.get(key)
        if isinstance(old, Mapping | None) and isinstance(new, Mapping | None) and (old or new):
            keys += changed_keys(old or {}, new or {}, f"{path}.")
        elif old != new:
            keys.append(path)
    return keys


def short_detail(detail: Mapping[str, Any], width: int = 80) -> str:
    """An entry's detail on one line, `key=value` pairs, cut to `width` characters."""
    parts = []
    for key, value in sorted(detail.items()):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        parts.append(f"{key}={text}")
    line = " ".join(" ".join(parts).split())
    return line if len(line) <= width else line[: width - 1] + "\u2026"
