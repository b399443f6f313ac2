"""Retention: what the daily purge removes, when it runs, and the digest that proves what it removed.

Each kind of record is kept for its own period (`[retention]`); the purge removes what is older,
except what an active legal hold covers. The purge's audit entry (`retention.purged`) carries, per
kind, a digest of what was removed: a SHA-256 chain over the removed records' lines in ascending id
(`purged_digest`), the same rule as the audit log's own chain, so it can be carried from one
batch to the next (and across a crash) in 64 characters. An auditor recomputes it from the ids the
earlier audit entries name (a receipt's line is its id and its content hash, as `receipt.created`
recorded them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum


class Kind(StrEnum):
    """The kinds of record the purge handles, in the order it handles them."""

    RECEIPTS = "receipts"  # receipts as sent, with their sales, deliveries, attempts, events, updates, codes
    PAYLOADS = "payloads"  # raw provider payloads: blanked, the event itself kept
    CAPTURES = "captures"  # print streams captured from a legacy POS
    INBOUND = "inbound_messages"  # texts customers sent the store
    CONTACTS = "contacts"  # a customer's contact details (erased, the customer's records kept)


DIGEST_START = "0" * 64
"""The digest of nothing removed."""


def chain(digest: str, line: str) -> str:
    """The digest after one more removed record's line."""
    return hashlib.sha256(f"{digest}\x1f{line}".encode()).hexdigest()


def purged_digest(lines: Iterable[str]) -> str:
    """The digest of a kind's removed records: the chain over their lines in the order given (the auditor's side).

    The purge takes each kind in ascending id (numeric ids as numbers): receipts by id (`receipt_line`),
    payloads as `event ID` lines, then `attempt ID`, then `delivery ID`, captures, texts and customers by id.
    """
    digest = DIGEST_START
    for line in lines:
        digest = chain(digest, line)
    return digest


def receipt_line(receipt_id: str, content_hash: str) -> str:
    """A removed receipt's line: its id and the content hash `receipt.created` recorded."""
    return f"{receipt_id} {content_hash}"


@dataclass(frozen=True, slots=True)
class Period:
    """How long one kind of record is kept, in words for the manager and the command line."""

    kind: str
    days: int
    what: str


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Records older than these (UTC) are due; contacts by revocation and by the last visit."""

    receipts: datetime
    payloads: datetime
    captures: datetime
    inbound_messages: datetime
    contacts_revoked: datetime
    contacts_idle: datetime

    def as_json(self) -> dict[str, str]:
        return {name: getattr(self, name).isoformat() for name in self.__slots__}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Cutoffs:
        return cls(**{name: datetime.fromisoformat(data[name]) for name in cls.__slots__})


def cutoffs(
    now: datetime,
    *,
    receipts_days: int,
    provider_payloads_days: int,
    captures_days: int,
    inbound_messages_days: int,
    contacts_after_revocation_days: int,
    contacts_idle_days: int,
) -> Cutoffs:
    return Cutoffs(
        receipts=now - timedelta(days=receipts_days),
        payloads=now - timedelta(days=provider_payloads_days),
        captures=now - timedelta(days=captures_days),
        inbound_messages=now - timedelta(days=inbound_messages_days),
        contacts_revoked=now - timedelta(days=contacts_after_revocation_days),
        contacts_idle=now - timedelta(days=contacts_idle_days),
    )


@dataclass
class PurgeCounts:
    """What a purge removed (or would remove): records per table or kind, and per kind its digest."""

    counts: dict[str, int] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, n: int) -> None:
        if n:
            self.counts[name] = self.counts.get(name, 0) + n

    @property
    def total(self) -> int:
        return sum(self.counts.values())


COUNT_WORDS: dict[str, tuple[str, str]] = {
    "receipts": ("receipt", "receipts"),
    "sales": ("sale", "sales"),
    "deliveries": ("delivery", "deliveries"),
    "attempts": ("delivery attempt", "delivery attempts"),
    "delivery_events": ("delivery event", "delivery events"),
    "order_updates": ("order update", "order updates"),
    "text_in_codes": ("text-in code", "text-in codes"),
    "inbound_events": ("webhook event id", "webhook event ids"),
    "payloads": ("raw provider payload", "raw provider payloads"),
    "captures": ("captured print stream", "captured print streams"),
    "inbound_messages": ("text from a customer", "texts from customers"),
    "contacts": ("customer's contact details", "customers' contact details"),
}


def count_words(counts: dict[str, int]) -> str:
    """`12 receipts, 1 captured print stream`, or `nothing` (in the order of `COUNT_WORDS`)."""
    parts = []
    for name in sorted(counts, key=lambda k: (list(COUNT_WORDS).index(k) if k in COUNT_WORDS else len(COUNT_WORDS), k)):
        n = counts[name]
        if n:
            one, many = COUNT_WORDS.get(name, (name.replace("_", " "),) * 2)
            parts.append(f"{n:,} {one if n == 1 else many}")
    return ", ".join(parts) or "nothing"


def next_purge(now: datetime, at: time, zone: tzinfo) -> datetime:
    """The next time after `now` that the store's clock (in `zone`) reads `at` (aware, in `zone`)."""
    local = now.astimezone(zone)
    day: date = local.date()
    for _ in range(3):
        due = datetime.combine(day, at, tzinfo=zone)
        if due > local:
            return due
        day += timedelta(days=1)
    raise AssertionError("unreachable: a day later is always later")
