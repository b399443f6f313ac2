"""The lane's change feed, read for the hub: functions take the caller's session; the caller commits.

Triggers (migration 0012) append one `change_feed` row per insert, update or delete of a fed table
while `sync_feed.enabled` is 1. A push reads the entries after the hub's acknowledgement, keeps only
the newest entry of each record (so a record changed five times since the last push goes once, and a
delete after its upserts goes as the delete) and sends each record as its row is now: every column,
money as a decimal string, times in ISO 8601 with their offset. A record whose newest entry is an
upsert but whose row is gone by then goes as a delete.

Turning the feed on for a lane whose hub has acknowledged nothing first enqueues one upsert per
existing row of every fed table (the backfill), in the same transaction, so a lane's records from
before its hub reach the hub too, ahead of any change made after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, Table, Text, cast, delete, func, insert, literal, select, tuple_, update
from sqlalchemy.orm import Session

from app.storage.models import Base, ChangeFeedRow, SyncFeedRow, SyncParkedRow, SyncStateRow

HUB = "hub"
"""The `sync_state` row of the push to (and pull from) this lane's hub."""

FED: dict[str, tuple[str, ...]] = {
    "sales": ("id",),
    "customers": ("id",),
    "contacts": ("id",),
    "channel_preferences": ("customer_id", "channel"),
    "consents": ("id",),
    "opt_outs": ("channel_group", "contact_digest"),
    "receipts": ("id",),
    "deliveries": ("id",),
    "delivery_attempts": ("id",),
    "delivery_events": ("id",),
    "order_updates": ("id",),
    "audit_log": ("seq",),
}
"""Each fed table and the columns of its feed key, joined by `|` (the triggers' `FED` of migration 0012)."""

SEPARATOR = "|"
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """One record to push: its newest feed entry, and the row as it is now (`data` None for a delete)."""

    seq: int
    kind: str
    key: str
    op: str  # upsert | delete
    at: datetime
    data: dict[str, Any] | None

    def wire(self) -> dict[str, Any]:
        """The record as `POST /v1/hub/batches` carries it (docs/hub.md)."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "key": self.key,
            "op": self.op,
            "at": self.at.isoformat(timespec="milliseconds"),
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Parked:
    """A record the hub refused, and why."""

    seq: int
    kind: str
    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class LaneSync:
    """How far this lane's push got: what the hub has, what waits, what it refused, when it last answered."""

    enabled: bool
    acked_seq: int
    newest_seq: int
    backlog: int  # feed entries after the acknowledgement (several of one record count once each)
    parked: int
    last_push_at: datetime | None  # the hub's last acknowledgement
    last_error: str | None  # the last push's error; None once a push succeeds again
    skew_ms: int | None  # the hub's clock minus this lane's, at the last push


def table_of(kind: str) -> Table:
    return Base.metadata.tables[kind]


def key_of(kind: str, row: Any) -> str:
    """A row's feed key, as the triggers write it."""
    return SEPARATOR.join(str(getattr(row, column)) for column in FED[kind])


def _key_values(kind: str, key: str) -> tuple[Any, ...] | None:
    """The primary-key values a feed key names (None when it cannot name a row of `kind`)."""
    columns = FED[kind]
    parts = key.split(SEPARATOR, len(columns) - 1)
    if len(parts) != len(columns):
        return None
    table = table_of(kind)
    values: list[Any] = []
    for name, part in zip(columns, parts, strict=True):
        if table.c[name].type.python_type is int:
            try:
                values.append(int(part))
            except ValueError:
                return None
        else:
            values.append(part)
    return tuple(values)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def row_data(row: Any) -> dict[str, Any]:
    """Every column of a row (a `Row` of `select(table)`), ready for JSON."""
    return {name: _json_value(value) for name, value in row._mapping.items()}


# -- the switch --------------------------------------------------------------------------------------


def enabled(session: Session) -> bool:
    return bool(session.execute(select(SyncFeedRow.enabled).where(SyncFeedRow.id == 1)).scalar())


def enable(session: Session, *, at: datetime) -> int:
    """Turn the feed on; returns the records backfilled (0 when it was on already).

    When it was off, every existing row of the fed tables is enqueued as an upsert, ahead of any later
    change: the hub gets the records made before it (or, after a spell without one, everything again;
    the hub applies a record it has idempotently).
    """
    if enabled(session):
        return 0
    session.execute(update(SyncFeedRow).where(SyncFeedRow.id == 1).values(enabled=1))
    return backfill(session, at=at)


def disable(session: Session) -> None:
    """Turn the feed off (the lane left its hub): triggers stop writing, and what waited is dropped."""
    session.execute(update(SyncFeedRow).where(SyncFeedRow.id == 1).values(enabled=0))
    session.execute(delete(ChangeFeedRow))


def leave_hub(session: Session) -> None:
    """`disable`, when the feed is on: a lane whose `[hub] url` was removed stops writing a feed nobody reads."""
    if enabled(session):
        disable(session)


def backfill(session: Session, *, at: datetime) -> int:
    """Enqueue one upsert per existing row of each fed table (one statement per table, in key order)."""
    total = 0
    for kind, columns in FED.items():
        table = table_of(kind)
        rows = select(
            literal(kind, String()),
            _key_expression(table, columns),
            literal("upsert", String()),
            literal(at, ChangeFeedRow.at.type),
        ).order_by(*(table.c[c] for c in columns))
        result = session.execute(insert(ChangeFeedRow).from_select(["kind", "key", "op", "at"], rows))
        total += int(result.rowcount)  # type: ignore[attr-defined]
    return total


def _key_expression(table: Table, columns: Sequence[str]) -> Any:
    """The key as the triggers build it: `CAST(col AS TEXT)` of numbers, joined by `|`."""
    expression: Any = None
    for name in columns:
        column = table.c[name]
        part = column if column.type.python_type is str else cast(column, Text())
        expression = part if expression is None else expression.op("||")(literal(SEPARATOR)).op("||")(part)
    return expression


# -- reading a batch ---------------------------------------------------------------------------------


def next_batch(session: Session, after: int, limit: int) -> list[FeedRecord]:
    """The records changed after seq `after`, at most `limit`, in ascending seq of their newest entry.

    The window is the next `limit` feed entries; several entries of one record in it become its newest
    one, so the batch's last seq is the window's last and acknowledging it covers the whole window.
    """
    entries = session.execute(
        select(ChangeFeedRow.seq, ChangeFeedRow.kind, ChangeFeedRow.key, ChangeFeedRow.op, ChangeFeedRow.at)
        .where(ChangeFeedRow.seq > after)
        .order_by(ChangeFeedRow.seq)
        .limit(limit)
    ).all()
    newest: dict[tuple[str, str], Any] = {}
    for entry in entries:
        newest.pop((entry.kind, entry.key), None)  # re-inserted: the dict keeps seq order
        newest[(entry.kind, entry.key)] = entry
    rows = _current_rows(session, newest)
    batch: list[FeedRecord] = []
    for (kind, key), entry in newest.items():
        data = rows.get((kind, key)) if entry.op == "upsert" else None
        op = "upsert" if data is not None else "delete"
        batch.append(FeedRecord(entry.seq, kind, key, op, entry.at, data))
    return batch


def _current_rows(session: Session, newest: dict[tuple[str, str], Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The rows now behind the upserted records, by (kind, key); keys of unknown kinds are left out."""
    wanted: dict[str, list[tuple[Any, ...]]] = {}
    for (kind, key), entry in newest.items():
        if entry.op != "upsert" or kind not in FED:
            continue
        values = _key_values(kind, key)
        if values is not None:
            wanted.setdefault(kind, []).append(values)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, keys in wanted.items():
        table = table_of(kind)
        columns = [table.c[c] for c in FED[kind]]
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            where = columns[0].in_([k[0] for k in chunk]) if len(columns) == 1 else tuple_(*columns).in_(chunk)
            for row in session.execute(select(table).where(where)):
                found[(kind, key_of(kind, row))] = row_data(row)
    return found


# -- acknowledgements --------------------------------------------------------------------------------


def _state(session: Session) -> SyncStateRow:
    row = session.get(SyncStateRow, HUB)
    if row is None:
        row = SyncStateRow(name=HUB, acked_seq=0, pulled_seq=0)
        session.add(row)
        session.flush()
    return row


def acked_seq(session: Session) -> int:
    return int(session.execute(select(SyncStateRow.acked_seq).where(SyncStateRow.name == HUB)).scalar() or 0)


def acknowledge(
    session: Session,
    acked: int,
    parked: Sequence[Parked] = (),
    *,
    at: datetime,
    skew_ms: int | None = None,
) -> None:
    """The hub has every record up to `acked` (`parked` ones it refused): record it and prune the feed."""
    state = _state(session)
    state.acked_seq = max(state.acked_seq or 0, acked)
    state.last_push_at = at
    state.last_error = None
    if skew_ms is not None:
        state.hub_skew_ms = skew_ms
    for p in parked:
        row = session.get(SyncParkedRow, p.seq)
        if row is None:
            session.add(SyncParkedRow(seq=p.seq, kind=p.kind, key=p.key, reason=p.reason[:MAX_REASON], parked_at=at))
        else:
            row.reason = p.reason[:MAX_REASON]
    prune(session, state.acked_seq)


def prune(session: Session, upto: int) -> int:
    """Drop the feed entries at or below `upto` (the hub has them); returns how many went."""
    result = session.execute(delete(ChangeFeedRow).where(ChangeFeedRow.seq <= upto))
    return int(result.rowcount)  # type: ignore[attr-defined]


def rewind(session: Session, acked: int, *, at: datetime) -> int:
    """The hub has only up to `acked` (it answered 409): resend from `acked + 1`.

    Entries this lane pruned after an acknowledgement the hub no longer has cannot be resent one by
    one, so every record is enqueued again (the backfill); returns how many were.
    """
    state = _state(session)
    lost = (state.acked_seq or 0) > acked
    state.acked_seq = acked
    return backfill(session, at=at) if lost else 0


def record_failure(session: Session, error: str) -> None:
    """The last push failed: `error` is shown until a push succeeds."""
    _state(session).last_error = error[:MAX_REASON]


def newest_seq(session: Session) -> int:
    """The newest feed entry's seq (0: none)."""
    return int(session.execute(select(func.max(ChangeFeedRow.seq))).scalar() or 0)


def record_skew(session: Session, skew_ms: int) -> None:
    _state(session).hub_skew_ms = skew_ms


def skew_ms(session: Session) -> int:
    """The hub's clock minus this lane's, as the last push measured it (0 before any)."""
    state = session.get(SyncStateRow, HUB)
    return int(state.hub_skew_ms or 0) if state is not None else 0


def status(session: Session) -> LaneSync:
    state = session.get(SyncStateRow, HUB)
    acked = state.acked_seq if state is not None else 0
    newest = session.execute(select(func.max(ChangeFeedRow.seq))).scalar()
    backlog = session.execute(select(func.count()).select_from(ChangeFeedRow).where(ChangeFeedRow.seq > acked))
    parked = session.execute(select(func.count()).select_from(SyncParkedRow)).scalar() or 0
    return LaneSync(
        enabled=enabled(session),
        acked_seq=acked,
        newest_seq=max(int(newest or 0), acked),
        backlog=int(backlog.scalar() or 0),
        parked=int(parked),
        last_push_at=state.last_push_at if state is not None else None,
        last_error=state.last_error if state is not None else None,
        skew_ms=state.hub_skew_ms if state is not None else None,
    )


def parked_records(session: Session, limit: int = 100) -> list[Parked]:
    rows = session.execute(select(SyncParkedRow).order_by(SyncParkedRow.seq.desc()).limit(limit)).scalars()
    return [Parked(r.seq, r.kind, r.key, r.reason) for r in rows]


__all__ = [
    "FED",
    "HUB",
    "FeedRecord",
    "LaneSync",
    "Parked",
    "acked_seq",
    "acknowledge",
    "backfill",
    "disable",
    "enable",
    "enabled",
    "next_batch",
    "parked_records",
    "prune",
    "record_failure",
    "rewind",
    "status",
]
