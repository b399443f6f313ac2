"""The hub's side of the lanes' change feeds: a batch applied once, in one transaction; functions take the
caller's session, which commits.

- **Once.** Each lane's row in `hub_lanes` is locked (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite has
  one writer at a time) before anything else, so two hub processes given batches of the same lane apply
  them one after the other; records at or below the lane's acknowledged seq are skipped, so a retried
  batch changes nothing.
- **Never blocked.** A record of an unknown kind, with malformed data or data that fails validation is
  parked (`hub_parked`, counted in `hub_lanes.parked`); the records behind it are applied.
- **Searchable.** A receipt, joined with its sale, is kept in `hub_receipts` for the lists and searches
  across lanes (sale id, last four digits, customer).

The customer key (`hub_receipts.customer_key`) names a customer the same way at every lane and store:
`loyalty:<loyalty id>` when the customer has a loyalty id, otherwise the first contact the lane recorded
for them, `phone:<E.164 number>` or `email:<address>` (lanes store contacts normalised). Lanes number
customers on their own, so the hub keeps, per lane, which key each lane's customer has: an entry of kind
`hub:customer_key` in `hub_records`, derived by the hub (no lane sends that kind). A contact deleted, or a
customer forgotten, takes their key off the lane's receipts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Table, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from app.storage import hub_profiles
from app.storage.models import HubLaneRow, HubParkedRow, HubReceiptRow, HubRecordRow

log = logging.getLogger(__name__)

LANES: Table = HubLaneRow.__table__  # type: ignore[assignment]
RECORDS: Table = HubRecordRow.__table__  # type: ignore[assignment]
RECEIPTS: Table = HubReceiptRow.__table__  # type: ignore[assignment]
PARKED: Table = HubParkedRow.__table__  # type: ignore[assignment]

KINDS = frozenset(
    {
        "sales",
        "customers",
        "contacts",
        "channel_preferences",
        "consents",
        "opt_outs",
        "receipts",
        "deliveries",
        "delivery_attempts",
        "delivery_events",
        "order_updates",
        "audit_log",
    }
)
"""The kinds a lane sends: the fed tables of migration 0012 (`FED`)."""

PROFILE_KINDS = frozenset({"customers", "contacts", "channel_preferences", "consents", "opt_outs"})
"""Kinds whose changes other lanes receive back (`app.storage.hub_profiles`)."""

CUSTOMER_KEY = "hub:customer_key"
"""The hub's own entry per lane's customer: the key that names them across lanes (`{"key": ...}`)."""

WAITING = "hub:receipts_waiting"
"""The hub's own entry per lane's sale not yet received: receipts that came before it (`{"receipts": [...]}`)."""

OPS = ("upsert", "delete")
MAX_REASON = 300


@dataclass(frozen=True, slots=True)
class Record:
    """One feed entry of a lane: the record `kind`/`key` as it was at push time (`data`, None for a delete)."""

    seq: int
    kind: str
    key: str
    op: str
    at: datetime
    data: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class Batch:
    lane_id: str
    store_id: str
    version: str | None
    sent_at: datetime
    after: int
    records: Sequence[Record]
    backlog: int | None = None  # feed entries the lane still holds beyond this batch, when it says


@dataclass(frozen=True, slots=True)
class Parked:
    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class Applied:
    acked: int
    parked: list[Parked] = field(default_factory=list)
    applied: int = 0  # records applied now (not skipped as already acknowledged, not parked)


@dataclass(frozen=True, slots=True)
class Conflict:
    """The batch starts beyond what the hub has: the lane resends from `acked + 1`."""

    acked: int


@dataclass(frozen=True, slots=True)
class Lane:
    lane_id: str
    store_id: str
    acked_seq: int
    first_seen_at: datetime
    last_seen_at: datetime
    version: str | None
    backlog: int
    parked: int
    skew_ms: int | None
    settings_version: int | None


class Unusable(ValueError):
    """A record the hub cannot apply; its message is the reason it is parked with."""


# -- applying ----------------------------------------------------------------------------------------


def apply(session: Session, batch: Batch, *, now: datetime) -> Applied | Conflict:
    """Apply `batch` (records in ascending seq) for its lane; the caller commits."""
    lane = _locked_lane(session, batch, now)
    acked = int(lane.acked_seq)
    skew = round((batch.sent_at - now).total_seconds() * 1000)
    seen: dict[str, Any] = {"last_seen_at": now, "version": batch.version, "skew_ms": skew}
    if batch.after > acked:
        session.execute(update(LANES).where(LANES.c.lane_id == batch.lane_id).values(**seen))
        return Conflict(acked)
    parked: list[Parked] = []
    applied = 0
    last = acked
    for record in batch.records:
        if record.seq <= acked:
            continue  # applied by an earlier copy of this batch
        last = max(last, record.seq)
        try:
            with session.begin_nested():
                _apply_one(session, batch.lane_id, batch.store_id, record, now)
            applied += 1
        except (Unusable, DataError, ValueError, TypeError, KeyError) as exc:
            reason = str(exc)[:MAX_REASON] if isinstance(exc, Unusable) else _refused(exc)
            if _park(session, batch.lane_id, record, reason, now):
                parked.append(Parked(record.seq, reason))
    values: dict[str, Any] = {**seen, "acked_seq": last, "parked": LANES.c.parked + len(parked)}
    if batch.backlog is not None:
        values["backlog"] = max(0, batch.backlog)
    session.execute(update(LANES).where(LANES.c.lane_id == batch.lane_id).values(**values))
    return Applied(last, parked, applied)


def _refused(exc: Exception) -> str:
    """The reason a record whose data the hub could not take is parked with (logged with its error)."""
    log.warning("a lane's record is parked: %s: %s", type(exc).__name__, str(exc)[:200])
    if isinstance(exc, DataError):
        return "the hub's database refused its data (a value too long or of the wrong type)"
    return f"its data is not what a record of its kind holds ({type(exc).__name__})"


def _insert(session: Session, table: Table) -> Any:
    """An INSERT that can say ON CONFLICT, in the session's dialect (PostgreSQL or SQLite)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _locked_lane(session: Session, batch: Batch, now: datetime) -> Any:
    """The lane's row, created at its first batch and locked until the caller's commit."""
    session.execute(
        _insert(session, LANES)
        .values(
            lane_id=batch.lane_id,
            store_id=batch.store_id,
            acked_seq=0,
            first_seen_at=now,
            last_seen_at=now,
            version=batch.version,
            backlog=0,
            parked=0,
        )
        .on_conflict_do_nothing(index_elements=["lane_id"])
    )
    return session.execute(select(LANES.c.acked_seq).where(LANES.c.lane_id == batch.lane_id).with_for_update()).one()


def _park(session: Session, lane_id: str, record: Record, reason: str, now: datetime) -> bool:
    data = None if record.data is None else _dumps(record.data)
    result = session.execute(
        _insert(session, PARKED)
        .values(
            lane_id=lane_id,
            seq=record.seq,
            kind=record.kind[:32],
            key=record.key[:128],
            reason=reason,
            data=data,
            parked_at=now,
        )
        .on_conflict_do_nothing(index_elements=["lane_id", "seq"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _apply_one(session: Session, lane_id: str, store_id: str, record: Record, now: datetime) -> None:
    if record.kind not in KINDS:
        raise Unusable(f"unknown kind {record.kind[:40]!r}")
    if record.op not in OPS:
        raise Unusable(f"unknown op {record.op[:20]!r}")
    if not record.key or len(record.key) > 128:
        raise Unusable("the key is empty or longer than 128 characters")
    if record.op == "delete":
        _delete(session, lane_id, record)
    else:
        if not isinstance(record.data, Mapping):
            raise Unusable("an upsert without its record's data")
        _validate(record)
        _upsert(session, lane_id, record.kind, record.key, record.seq, _dumps(record.data), now)
        _index(session, lane_id, store_id, record, now)
    if record.kind in PROFILE_KINDS:  # what other lanes take back of it (`GET /v1/hub/profiles`)
        hub_profiles.record_profile_change(
            session,
            lane_id=lane_id,
            kind=record.kind,
            key=record.key,
            op=record.op,
            data=None if record.data is None else dict(record.data),
            now=now,
            at=record.at,
        )


def _upsert(session: Session, lane_id: str, kind: str, key: str, seq: int, data: str, now: datetime) -> None:
    stmt = _insert(session, RECORDS).values(lane_id=lane_id, kind=kind, key=key, seq=seq, data=data, updated_at=now)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["lane_id", "kind", "key"],
            set_={"seq": stmt.excluded.seq, "data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at},
        )
    )


def _delete(session: Session, lane_id: str, record: Record) -> None:
    where = and_(RECORDS.c.lane_id == lane_id, RECORDS.c.kind == record.kind, RECORDS.c.key == record.key)
    if record.kind == "receipts":
        session.execute(delete(RECEIPTS).where(RECEIPTS.c.lane_id == lane_id, RECEIPTS.c.receipt_id == record.key))
    elif record.kind == "contacts":
        old = _data(session, lane_id, "contacts", record.key)
        if old is not None:
            _forget_key(session, lane_id, str(old.get("customer_id")), f"{old.get('kind')}:{old.get('value')}")
    elif record.kind == "customers":
        _forget_key(session, lane_id, record.key, None)
    session.execute(delete(RECORDS).where(where))


# -- validation and the search index -----------------------------------------------------------------

_REQUIRED: dict[str, tuple[str, ...]] = {
    "sales": ("id", "sale_id", "occurred_at", "total"),
    "receipts": ("id", "sale_pk"),
    "contacts": ("id", "customer_id", "kind", "value"),
    "customers": ("id",),
    "deliveries": ("id",),
}


def _validate(record: Record) -> None:
    data = record.data
    assert data is not None
    for name in _REQUIRED.get(record.kind, ()):
        if data.get(name) is None:
            raise Unusable(f"{record.kind} record without {name}")
    if record.kind == "sales":
        _when(data["occurred_at"], "occurred_at")
        _money(data["total"])
        if not isinstance(data["sale_id"], str) or not 0 < len(data["sale_id"]) <= 64:
            raise Unusable("sale_id is not text of 1 to 64 characters")
    if record.kind == "receipts" and (str(data["id"]) != record.key or len(record.key) > 36):
        raise Unusable("the receipt's id is not its key, or is longer than 36 characters")
    if record.kind == "contacts" and data["kind"] not in ("phone", "email"):
        raise Unusable("a contact is neither a phone nor an email")


def _when(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise Unusable(f"{name} is not an ISO 8601 date and time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Unusable(f"{name} is not an ISO 8601 date and time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)  # lanes keep UTC


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Unusable("total is not an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Unusable("total is not an amount") from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e15"):
        raise Unusable("total is not an amount")
    return amount.quantize(Decimal("0.01"))


def _index(session: Session, lane_id: str, store_id: str, record: Record, now: datetime) -> None:
    """Keep `hub_receipts` and the lane's customer keys in step with the record just applied."""
    data = record.data
    assert data is not None
    if record.kind == "receipts":
        sale = _data(session, lane_id, "sales", str(data["sale_pk"]))
        if sale is not None:
            _index_receipt(session, lane_id, store_id, record.key, sale)
        else:  # its sale comes later in the feed (a coalesced change): the sale fills the row then
            waiting = _data(session, lane_id, WAITING, str(data["sale_pk"])) or {}
            ids = sorted({*waiting.get("receipts", []), record.key})
            _upsert(session, lane_id, WAITING, str(data["sale_pk"]), record.seq, _dumps({"receipts": ids}), now)
    elif record.kind == "sales":
        for receipt_id in _receipts_of_sale(session, lane_id, record.key, str(data["sale_id"])):
            _index_receipt(session, lane_id, store_id, receipt_id, data)
    elif record.kind == "contacts":
        customer = str(data["customer_id"])
        if _customer_key(session, lane_id, customer) is None:
            _set_key(session, lane_id, customer, f"{data['kind']}:{data['value']}", record.seq, now)
    elif record.kind == "customers":
        if data.get("forgotten_at"):
            _forget_key(session, lane_id, record.key, None)
        elif isinstance(data.get("loyalty_id"), str) and data["loyalty_id"]:
            _set_key(session, lane_id, record.key, f"loyalty:{data['loyalty_id']}", record.seq, now)
    elif record.kind == "deliveries" and isinstance(data.get("receipt_id"), str):
        state = data.get("state")
        session.execute(
            update(RECEIPTS)
            .where(RECEIPTS.c.lane_id == lane_id, RECEIPTS.c.receipt_id == data["receipt_id"])
            .values(state=str(state)[:16] if state is not None else None)
        )


def _index_receipt(session: Session, lane_id: str, store_id: str, receipt_id: str, sale: Mapping[str, Any]) -> None:
    customer = sale.get("customer_id")
    key = None if customer is None else _customer_key(session, lane_id, str(customer))
    values = {
        "store_id": str(sale.get("store_id") or store_id)[:64],
        "sale_id": str(sale["sale_id"])[:64],
        "lane": None if sale.get("lane") is None else str(sale["lane"])[:64],
        "occurred_at": _when(sale["occurred_at"], "occurred_at"),
        "total": str(_money(sale["total"])),
        "card_last4": None if sale.get("card_last4") is None else str(sale["card_last4"])[:40],
        "customer_key": None if key is None else key[:80],
    }
    stmt = _insert(session, RECEIPTS).values(lane_id=lane_id, receipt_id=receipt_id, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["lane_id", "receipt_id"], set_=values))


def _receipts_of_sale(session: Session, lane_id: str, sale_pk: str, sale_id: str) -> list[str]:
    """The lane's receipts of the sale: those already searchable, and those that came before it."""
    known = session.execute(
        select(RECEIPTS.c.receipt_id).where(RECEIPTS.c.lane_id == lane_id, RECEIPTS.c.sale_id == sale_id)
    ).scalars()
    waiting = _data(session, lane_id, WAITING, sale_pk)
    if waiting is not None:
        session.execute(
            delete(RECORDS).where(RECORDS.c.lane_id == lane_id, RECORDS.c.kind == WAITING, RECORDS.c.key == sale_pk)
        )
    return sorted({*known, *(waiting or {}).get("receipts", [])})


def _data(session: Session, lane_id: str, kind: str, key: str) -> dict[str, Any] | None:
    text = session.execute(
        select(RECORDS.c.data).where(RECORDS.c.lane_id == lane_id, RECORDS.c.kind == kind, RECORDS.c.key == key)
    ).scalar_one_or_none()
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def _customer_key(session: Session, lane_id: str, customer: str) -> str | None:
    entry = _data(session, lane_id, CUSTOMER_KEY, customer)
    key = None if entry is None else entry.get("key")
    return key if isinstance(key, str) else None


def _set_key(session: Session, lane_id: str, customer: str, key: str, seq: int, now: datetime) -> None:
    _upsert(session, lane_id, CUSTOMER_KEY, customer, seq, _dumps({"key": key}), now)


def _forget_key(session: Session, lane_id: str, customer: str, only: str | None) -> None:
    """Take the customer's key off the lane's receipts (all of it, or only when it is `only`)."""
    key = _customer_key(session, lane_id, customer)
    if key is None or (only is not None and key != only):
        return
    session.execute(
        delete(RECORDS).where(RECORDS.c.lane_id == lane_id, RECORDS.c.kind == CUSTOMER_KEY, RECORDS.c.key == customer)
    )
    session.execute(
        update(RECEIPTS).where(RECEIPTS.c.lane_id == lane_id, RECEIPTS.c.customer_key == key).values(customer_key=None)
    )


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, default=str)


# -- reading ---------------------------------------------------------------------------------------


def lanes(session: Session, *, store_id: str | None = None) -> list[Lane]:
    """The lanes the hub serves (of one store, when given), by store and lane."""
    query = select(LANES).order_by(LANES.c.store_id, LANES.c.lane_id)
    if store_id is not None:
        query = query.where(LANES.c.store_id == store_id)
    return [
        Lane(
            r.lane_id,
            r.store_id,
            r.acked_seq,
            r.first_seen_at,
            r.last_seen_at,
            r.version,
            r.backlog,
            r.parked,
            r.skew_ms,
            r.settings_version,
        )
        for r in session.execute(query)
    ]


def parked(session: Session, lane_id: str, *, limit: int = 100) -> list[tuple[int, str, str, str]]:
    """A lane's parked records, newest first: (seq, kind, key, reason)."""
    rows = session.execute(
        select(PARKED.c.seq, PARKED.c.kind, PARKED.c.key, PARKED.c.reason)
        .where(PARKED.c.lane_id == lane_id)
        .order_by(PARKED.c.seq.desc())
        .limit(limit)
    )
    return [(r.seq, r.kind, r.key, r.reason) for r in rows]
