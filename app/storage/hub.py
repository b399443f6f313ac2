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
`hub:customer_key` in `hub_records`, derived by the hub (no lane sends that kind). A customer who gets a
loyalty id is found by it, also by their earlier receipts at that lane; a contact deleted, or a customer
forgotten, takes their key off the lane's receipts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from sqlalchemy import Table, delete, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from app.storage import hub_profiles
from app.storage.dialect_insert import dialect_insert
from app.storage.models import (
    ApiTokenRow,
    HubCustomerAliasRow,
    HubLaneRow,
    HubParkedRow,
    HubReceiptRow,
    HubRecordRow,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

LANES: Table = HubLaneRow.__table__  # type: ignore[assignment]
RECORDS: Table = HubRecordRow.__table__  # type: ignore[assignment]
RECEIPTS: Table = HubReceiptRow.__table__  # type: ignore[assignment]
PARKED: Table = HubParkedRow.__table__  # type: ignore[assignment]
ALIASES: Table = HubCustomerAliasRow.__table__  # type: ignore[assignment]
TOKENS: Table = ApiTokenRow.__table__  # type: ignore[assignment]

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
    settings_version: int | None = None  # the store settings' version the lane pulled from the hub, when it says


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
class Refused:
    """The lane pushes with another token (`token`): the batch was not applied."""

    token: str


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


def apply(session: Session, batch: Batch, *, now: datetime, token: str | None = None) -> Applied | Conflict | Refused:
    """Apply `batch` (records in ascending seq) for its lane; the caller commits.

    `token` names the API token the batch came with: the first to push for a lane is bound to it
    (`hub_lanes.token_name`), and a batch with another token changes nothing (`Refused`) until the bound
    token is revoked; then the next token to push takes its place. None (an admin's token) neither binds
    nor is checked.

    The records are written set-wise (a few statements per batch, not per record). Should the database
    refuse one anyway, the batch is applied again record by record, and the one it refuses is parked.
    """
    lane = _locked_lane(session, batch, now)
    bound = lane.token_name
    if token is not None and bound is not None and bound != token and not _revoked(session, bound):
        return Refused(bound)
    acked = int(lane.acked_seq)
    skew = round((batch.sent_at - now).total_seconds() * 1000)
    seen: dict[str, Any] = {"last_seen_at": now, "version": batch.version, "skew_ms": skew}
    if token is not None and bound != token:  # the lane's first push, or its new token after the old one's revoking
        seen["token_name"] = token[:64]
    if batch.after > acked:
        session.execute(update(LANES).where(LANES.c.lane_id == batch.lane_id).values(**seen))
        return Conflict(acked)
    fresh = [r for r in batch.records if r.seq > acked]  # the rest was applied by an earlier copy of this batch
    refused: list[tuple[Record, str]] = []
    good: list[Record] = []
    for record in fresh:
        try:
            _check(record)
            good.append(record)
        except Unusable as exc:
            refused.append((record, str(exc)[:MAX_REASON]))
    try:
        with session.begin_nested():
            _apply_all(session, batch.lane_id, batch.store_id, good, now, skew)
    except REFUSALS as exc:
        log.warning("a lane's batch was refused as a whole (%s); applying it record by record", type(exc).__name__)
        for record in list(good):
            try:
                with session.begin_nested():
                    _apply_all(session, batch.lane_id, batch.store_id, [record], now, skew)
            except REFUSALS as one:
                good.remove(record)
                refused.append((record, _refused(one)))
    parked = [Parked(r.seq, reason) for r, reason in sorted(refused, key=lambda x: x[0].seq)]
    newly = sum(_park(session, batch.lane_id, r, reason, now) for r, reason in refused)
    last = max([acked, *(r.seq for r in fresh)])
    values: dict[str, Any] = {**seen, "acked_seq": last, "parked": LANES.c.parked + newly}
    if batch.backlog is not None:
        values["backlog"] = max(0, batch.backlog)
    if batch.settings_version is not None:
        values["settings_version"] = batch.settings_version
    session.execute(update(LANES).where(LANES.c.lane_id == batch.lane_id).values(**values))
    return Applied(last, parked, len(good))


REFUSALS = (DataError, IntegrityError, ValueError, TypeError, KeyError)
"""What applying a checked record can still meet: a value the database will not hold, or data whose shape
the profile changes cannot read. Anything else (a lost connection, a deadlock) fails the batch, to be retried."""


def _refused(exc: Exception) -> str:
    """The reason a record whose data the hub could not take is parked with (logged with its error)."""
    log.warning("a lane's record is parked: %s: %s", type(exc).__name__, str(exc)[:200])
    if isinstance(exc, DataError | IntegrityError):
        return "the hub's database refused its data (a value too long or of the wrong type)"
    return f"its data is not what a record of its kind holds ({type(exc).__name__})"


def _locked_lane(session: Session, batch: Batch, now: datetime) -> Any:
    """The lane's row, created at its first batch and locked until the caller's commit."""
    session.execute(
        dialect_insert(session, LANES)
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
    query = select(LANES.c.acked_seq, LANES.c.token_name).where(LANES.c.lane_id == batch.lane_id)
    return session.execute(query.with_for_update()).one()


def _revoked(session: Session, token: str) -> bool:
    """Whether the token named `token` is revoked (or gone): the lane it was bound to takes a new one."""
    revoked_at = session.execute(select(TOKENS.c.revoked_at).where(TOKENS.c.name == token)).one_or_none()
    return revoked_at is None or revoked_at[0] is not None


def _park(session: Session, lane_id: str, record: Record, reason: str, now: datetime) -> bool:
    data = None if record.data is None else _dumps(record.data)
    result = session.execute(
        dialect_insert(session, PARKED)
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


def _apply_all(
    session: Session, lane_id: str, store_id: str, records: list[Record], now: datetime, skew_ms: int = 0
) -> None:
    """Write checked `records` (ascending seq): each record's newest state, then what is derived from them."""
    newest = {(r.kind, r.key): r for r in records}  # a record twice in a batch: its later entry wins
    final = sorted(newest.values(), key=lambda r: r.seq)
    upserts = [r for r in final if r.op == "upsert"]
    deletes = [r for r in final if r.op == "delete"]
    gone_contacts = _datas(session, lane_id, "contacts", [r.key for r in deletes if r.kind == "contacts"])
    rows = [
        {
            "lane_id": lane_id,
            "kind": r.kind,
            "key": r.key,
            "seq": r.seq,
            "data": _dumps(r.data or {}),
            "updated_at": now,
        }
        for r in upserts
    ]
    _upsert_rows(session, RECORDS, rows, ("lane_id", "kind", "key"))
    for kind in {r.kind for r in deletes}:
        keys = [r.key for r in deletes if r.kind == kind]
        for chunk in _chunks(keys, 500):
            session.execute(
                delete(RECORDS).where(RECORDS.c.lane_id == lane_id, RECORDS.c.kind == kind, RECORDS.c.key.in_(chunk))
            )
            if kind == "receipts":
                session.execute(delete(RECEIPTS).where(RECEIPTS.c.lane_id == lane_id, RECEIPTS.c.receipt_id.in_(chunk)))
    _customer_keys(session, lane_id, final, gone_contacts, now)
    _index_receipts(session, lane_id, store_id, upserts, now)
    _delivery_states(session, lane_id, upserts)
    profile = [
        hub_profiles.LaneChange(r.kind, r.key, r.op, None if r.data is None else dict(r.data), r.at)
        for r in final
        if r.kind in PROFILE_KINDS
    ]
    if profile:  # what other lanes take back of them (`GET /v1/hub/profiles`)
        hub_profiles.record_profile_changes(session, lane_id=lane_id, changes=profile, now=now, skew_ms=skew_ms)


def _upsert_rows(session: Session, table: Table, rows: list[dict[str, Any]], keys: tuple[str, ...]) -> None:
    """Insert or update `rows` (all with the same columns) in one executemany: the statement is compiled
    once and its rows sent a page at a time (SQLAlchemy's "insertmanyvalues")."""
    if not rows:
        return
    stmt = dialect_insert(session, table)
    columns = [c for c in rows[0] if c not in keys]
    session.execute(
        stmt.on_conflict_do_update(index_elements=list(keys), set_={c: getattr(stmt.excluded, c) for c in columns}),
        rows,
    )


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- checks, customer keys and the search index ------------------------------------------------------

_REQUIRED: dict[str, tuple[str, ...]] = {
    "sales": ("id", "sale_id", "occurred_at", "total"),
    "receipts": ("id", "sale_pk"),
    "contacts": ("id", "customer_id", "kind", "value"),
    "customers": ("id",),
    "deliveries": ("id",),
}


def _check(record: Record) -> None:
    """`Unusable` when the record cannot be applied (so it is parked)."""
    if record.kind not in KINDS:
        raise Unusable(f"unknown kind {record.kind[:40]!r}")
    if record.op not in OPS:
        raise Unusable(f"unknown op {record.op[:20]!r}")
    if not record.key or len(record.key) > 128 or "\x00" in record.key:
        raise Unusable("the key is empty, longer than 128 characters, or holds a NUL character")
    if record.op == "delete":
        return
    data = record.data
    if not isinstance(data, Mapping):
        raise Unusable("an upsert without its record's data")
    for name in _REQUIRED.get(record.kind, ()):
        if data.get(name) is None:
            raise Unusable(f"{record.kind} record without {name}")
    if record.kind == "sales":
        _when(data["occurred_at"], "occurred_at")
        _money(data["total"])
        for name, longest in (("sale_id", 64), ("lane", 64), ("card_last4", 40), ("store_id", 64)):
            value = data.get(name)
            if value is None and name != "sale_id":
                continue
            if not isinstance(value, str) or not 0 < len(value) <= longest or "\x00" in value:
                raise Unusable(f"{name} is not text of 1 to {longest} characters")
        if data.get("customer_id") is not None and not isinstance(data["customer_id"], int | str):
            raise Unusable("customer_id is not a customer's id")
    if record.kind == "receipts" and (str(data["id"]) != record.key or len(record.key) > 36):
        raise Unusable("the receipt's id is not its key, or is longer than 36 characters")
    if record.kind == "contacts" and (
        data["kind"] not in ("phone", "email") or not isinstance(data["value"], str) or "\x00" in data["value"]
    ):
        raise Unusable("a contact is neither a phone nor an email")
    if record.kind == "customers" and not isinstance(data.get("loyalty_id") or "", str):
        raise Unusable("loyalty_id is not text")


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


def _customer_keys(
    session: Session, lane_id: str, final: list[Record], gone_contacts: dict[str, dict[str, Any]], now: datetime
) -> None:
    """Keep each customer's key across lanes (module docstring) as their records come, in feed order."""
    touched = [r for r in final if r.kind in ("customers", "contacts")]
    if not touched:
        return

    def owner(r: Record) -> str | None:
        if r.kind == "customers":
            return r.key
        data = r.data if r.op == "upsert" else gone_contacts.get(r.key)
        return None if data is None or data.get("customer_id") is None else str(data["customer_id"])

    owners = sorted({o for r in touched if (o := owner(r)) is not None})
    keys: dict[str, str | None] = {c: d.get("key") for c, d in _datas(session, lane_id, CUSTOMER_KEY, owners).items()}
    before = dict(keys)
    for r in touched:
        customer = owner(r)
        if customer is None:
            continue
        current = keys.get(customer)
        data = r.data or {}
        if r.kind == "contacts" and r.op == "upsert":
            if current is None:
                keys[customer] = f"{data['kind']}:{data['value']}"
        elif r.kind == "contacts":  # deleted: its key goes with it
            old = gone_contacts.get(r.key) or {}
            if current == f"{old.get('kind')}:{old.get('value')}":
                keys[customer] = None
        elif r.op == "delete" or data.get("forgotten_at"):
            keys[customer] = None
        elif data.get("loyalty_id"):
            keys[customer] = f"loyalty:{data['loyalty_id']}"
    _aliases(session, lane_id, owners, keys, before)
    changed = {c: k for c, k in keys.items() if k != before.get(c)}
    if not changed:
        return
    rows = [
        {"lane_id": lane_id, "kind": CUSTOMER_KEY, "key": c, "seq": 0, "data": _dumps({"key": k}), "updated_at": now}
        for c, k in changed.items()
        if k is not None
    ]
    _upsert_rows(session, RECORDS, rows, ("lane_id", "kind", "key"))
    dropped = [c for c, k in changed.items() if k is None]
    for chunk in _chunks(dropped, 500):
        session.execute(
            delete(RECORDS).where(
                RECORDS.c.lane_id == lane_id, RECORDS.c.kind == CUSTOMER_KEY, RECORDS.c.key.in_(chunk)
            )
        )
    for customer, key in changed.items():  # the lane's receipts follow: a new key (a loyalty id), or none
        given_up = before.get(customer)
        if given_up is not None:
            session.execute(
                update(RECEIPTS)
                .where(RECEIPTS.c.lane_id == lane_id, RECEIPTS.c.customer_key == given_up)
                .values(customer_key=None if key is None else key[:80])
            )


def _aliases(
    session: Session, lane_id: str, owners: list[str], keys: dict[str, str | None], before: dict[str, str | None]
) -> None:
    """Every key `owners` are known by (loyalty id, each contact) beside the key their receipts carry, anew."""
    stale = sorted({k[:80] for c in owners for k in (keys.get(c), before.get(c)) if k is not None})
    for chunk in _chunks(stale, 500):
        session.execute(delete(ALIASES).where(ALIASES.c.lane_id == lane_id, ALIASES.c.customer_key.in_(chunk)))
    customers = _datas(session, lane_id, "customers", owners)
    contacts = hub_profiles.contacts_of(session, lane_id, owners)
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for customer in owners:
        key = keys.get(customer)
        if key is None:
            continue
        loyalty = (customers.get(customer) or {}).get("loyalty_id")
        known = [f"loyalty:{loyalty}"] if loyalty else []
        known += [f"{c['kind']}:{c['value']}" for c in contacts.get(customer, []) if c.get("kind") and c.get("value")]
        for alias in known:
            rows[(alias[:330], key[:80])] = {"lane_id": lane_id, "alias": alias[:330], "customer_key": key[:80]}
    if rows:
        session.execute(dialect_insert(session, ALIASES).on_conflict_do_nothing(), list(rows.values()))


def _index_receipts(session: Session, lane_id: str, store_id: str, upserts: list[Record], now: datetime) -> None:
    """Fill `hub_receipts` for the receipts of this batch, and for earlier receipts of this batch's sales."""
    sales = {r.key: dict(r.data or {}) for r in upserts if r.kind == "sales"}
    receipts = {r.key: str((r.data or {})["sale_pk"]) for r in upserts if r.kind == "receipts"}
    if not sales and not receipts:
        return
    sales.update(_datas(session, lane_id, "sales", sorted(set(receipts.values()) - set(sales))))
    of_sale: dict[str, dict[str, Any]] = {}  # receipt id -> its sale
    waiting: dict[str, set[str]] = {}  # sale pk -> receipts that came before it
    for receipt_id, sale_pk in receipts.items():
        if sale_pk in sales:
            of_sale[receipt_id] = sales[sale_pk]
        else:  # its sale comes later in the feed (a coalesced change): the sale fills the row then
            waiting.setdefault(sale_pk, set()).add(receipt_id)
    batch_sales = [r.key for r in upserts if r.kind == "sales"]
    if batch_sales:
        by_sale_id = {str(sales[pk]["sale_id"]): pk for pk in batch_sales}
        for chunk in _chunks(sorted(by_sale_id), 500):
            known = session.execute(
                select(RECEIPTS.c.receipt_id, RECEIPTS.c.sale_id).where(
                    RECEIPTS.c.lane_id == lane_id, RECEIPTS.c.sale_id.in_(chunk)
                )
            )
            for receipt_id, sale_id in known:
                of_sale.setdefault(receipt_id, sales[by_sale_id[sale_id]])
        earlier = _datas(session, lane_id, WAITING, batch_sales)
        for pk, entry in earlier.items():
            for receipt_id in entry.get("receipts", []):
                of_sale.setdefault(str(receipt_id), sales[pk])
        for chunk in _chunks(sorted(earlier), 500):
            session.execute(
                delete(RECORDS).where(RECORDS.c.lane_id == lane_id, RECORDS.c.kind == WAITING, RECORDS.c.key.in_(chunk))
            )
    if waiting:
        for pk, entry in _datas(session, lane_id, WAITING, sorted(waiting)).items():
            waiting[pk].update(str(r) for r in entry.get("receipts", []))
        rows = [
            {
                "lane_id": lane_id,
                "kind": WAITING,
                "key": pk,
                "seq": 0,
                "updated_at": now,
                "data": _dumps({"receipts": sorted(ids)}),
            }
            for pk, ids in waiting.items()
        ]
        _upsert_rows(session, RECORDS, rows, ("lane_id", "kind", "key"))
    customers = sorted({str(s["customer_id"]) for s in of_sale.values() if s.get("customer_id") is not None})
    keys = {c: d.get("key") for c, d in _datas(session, lane_id, CUSTOMER_KEY, customers).items()}
    rows = []
    for receipt_id, sale in of_sale.items():
        key = keys.get(str(sale.get("customer_id")))
        rows.append(
            {
                "lane_id": lane_id,
                "receipt_id": receipt_id,
                "store_id": str(sale.get("store_id") or store_id)[:64],
                "sale_id": str(sale["sale_id"])[:64],
                "lane": None if sale.get("lane") is None else str(sale["lane"])[:64],
                "occurred_at": _when(sale["occurred_at"], "occurred_at"),
                "total": str(_money(sale["total"])),
                "card_last4": None if sale.get("card_last4") is None else str(sale["card_last4"])[:40],
                "customer_key": key[:80] if isinstance(key, str) else None,
            }
        )
    _upsert_rows(session, RECEIPTS, rows, ("lane_id", "receipt_id"))


def _delivery_states(session: Session, lane_id: str, upserts: list[Record]) -> None:
    """A receipt's state in the lists: its newest delivery's."""
    state_of: dict[str, str | None] = {}
    for r in upserts:
        data = r.data or {}
        if r.kind == "deliveries" and isinstance(data.get("receipt_id"), str):
            state = data.get("state")
            state_of[data["receipt_id"]] = None if state is None else str(state)[:16]
    for state in set(state_of.values()):
        ids = sorted(k for k, v in state_of.items() if v == state)
        for chunk in _chunks(ids, 500):
            session.execute(
                update(RECEIPTS)
                .where(RECEIPTS.c.lane_id == lane_id, RECEIPTS.c.receipt_id.in_(chunk))
                .values(state=state)
            )


def _datas(session: Session, lane_id: str, kind: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The lane's records of `kind` with these keys, as JSON objects, by key."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(keys)), 500):
        rows = session.execute(
            select(RECORDS.c.key, RECORDS.c.data).where(
                RECORDS.c.lane_id == lane_id, RECORDS.c.kind == kind, RECORDS.c.key.in_(chunk)
            )
        )
        for key, text in rows:
            value = json.loads(text)
            if isinstance(value, dict):
                out[key] = value
    return out


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
