"""The hub's profile changes: what other lanes learn of a customer's preferences, consents and opt-outs.

`app.storage.hub.apply` calls `record_profile_changes` right after it applies a lane's records of kinds
customers, contacts, channel_preferences, consents or opt_outs; lanes read the changes back, oldest
first, with `changes_after` (`GET /v1/hub/profiles`). Functions take the caller's session; it commits.

**Keys.** A lane's customer id means nothing elsewhere, so a change names its customer as
`app.storage.hub` does (the `hub:customer_key` entry it keeps per lane's customer): `loyalty:<id>`, else
the first contact the lane recorded, `phone:<E.164>` or `email:<address>`. A change also carries every
contact and the loyalty id of its customer, so a lane that does not know them yet can find or create
them. A consent is keyed by the contact it covers; an opt-out (and its lifting, `opt_in`) by the lane's
own key, `<group>|<SHA-256 of the contact>`, and never carries the contact itself: a lane matches the
digest against its own contacts and queued messages. A change of a customer the lane has recorded no
contact or loyalty id for yet is not handed out; the contact, when it arrives, hands out the customer
and their preferences.

**Stamps.** A change's hybrid-logical-clock stamp (`app.domain.hlc.Stamp`, node = the lane) is the time
the lane wrote the row (its `updated_at`, `recorded_at`, `since` or `created_at`; the feed entry's
`at` when given, for a delete), moved by the lane's measured clock skew when its clock is off
(`hlc.CLOCK_OFF_MS`), and never later than the hub's `now`: a change cannot have been made after the
hub received it, so a lane whose clock runs ahead cannot overrule the others by it. A lane's
changes to one record keep their order: a change that would not sort after the lane's previous change
to the same record gets that stamp's counter plus one (the lane's feed order is the truth). A change
with no time of its own (a delete, when the caller gives no `at`) follows the lane's previous change
to the record that way, or takes the hub's `now` when there is none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from app.domain.channels import Channel
from app.domain.hlc import Stamp, corrected_ms
from app.storage.models import HubProfileChangeRow, HubRecordRow

RECORDS: Table = HubRecordRow.__table__  # type: ignore[assignment]
CHANGES: Table = HubProfileChangeRow.__table__  # type: ignore[assignment]

CUSTOMER = "customer"
PREFERENCE = "preference"
CONSENT = "consent"
OPT_OUT = "opt_out"
OPT_IN = "opt_in"
KINDS = (CUSTOMER, PREFERENCE, CONSENT, OPT_OUT, OPT_IN)
"""The kinds of profile change (docs/hub.md, "Pull: hub -> lane")."""

CUSTOMER_KEY = "hub:customer_key"
"""The hub's entry per lane's customer naming them across lanes (kept by `app.storage.hub`)."""

PAGE = 500
"""The most changes one pull answers."""

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAMILY = {CUSTOMER: (CUSTOMER,), PREFERENCE: (PREFERENCE,), CONSENT: (CONSENT,), OPT_OUT: (OPT_OUT, OPT_IN)}
_FAMILY[OPT_IN] = _FAMILY[OPT_OUT]


@dataclass(frozen=True, slots=True)
class ProfileChange:
    """One change handed back to lanes, as the wire carries it."""

    seq: int
    origin_lane: str
    kind: str
    key: str
    hlc: str
    data: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "origin_lane": self.origin_lane,
            "kind": self.kind,
            "key": self.key,
            "hlc": self.hlc,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class LaneChange:
    """A lane record just applied, as `record_profile_changes` reads it (`data` None for a delete)."""

    kind: str
    key: str
    op: str
    data: dict[str, Any] | None
    at: datetime | None = None  # the feed entry's time at the lane (used for deletes, whose row is gone)


def record_profile_changes(
    session: Session, *, lane_id: str, changes: list[LaneChange], now: datetime, skew_ms: int = 0
) -> None:
    """Append what other lanes need of the lane records just applied (in feed order).

    `skew_ms` is the lane's clock minus the hub's, as its batch showed: a lane whose clock is off
    (`hlc.CLOCK_OFF_MS`) has its times moved by it before they are stamped.

    Everything the changes read (customers, their keys and contacts, preferences, the lane's previous
    stamps) is read for the whole list at once, and the changes are written in one statement: a few
    round trips per batch, not several per record.
    """
    lane = _Lane(session, lane_id, now, shift=timedelta(milliseconds=corrected_ms(-skew_ms)))
    lane.load(changes)
    for change in changes:
        lane.at = change.at
        kind, key, data = change.kind, change.key, change.data
        if kind == "customers":
            if change.op == "upsert" and data is not None:
                lane.customer(key)
        elif kind == "contacts":
            if change.op == "upsert" and data is not None and data.get("customer_id") is not None:
                customer = str(data["customer_id"])
                lane.customer(customer)
                lane.preference(customer, only_if_any=True)  # preferences set before the customer had a contact
        elif kind == "channel_preferences":
            lane.preference(key.split("|", 1)[0])
        elif kind == "consents":
            if change.op == "upsert" and data is not None:
                lane.consent(data)
        elif kind == "opt_outs":
            lane.opt(key, data if change.op == "upsert" else None)
    lane.flush()


def changes_after(session: Session, *, lane_id: str, after: int, limit: int = PAGE) -> list[ProfileChange]:
    """The changes made at lanes other than `lane_id` after `after`, oldest first, at most `limit`."""
    rows = session.execute(
        select(CHANGES.c.seq, CHANGES.c.origin_lane, CHANGES.c.kind, CHANGES.c.key, CHANGES.c.hlc, CHANGES.c.data)
        .where(CHANGES.c.seq > after, CHANGES.c.origin_lane != lane_id)
        .order_by(CHANGES.c.seq)
        .limit(max(1, min(limit, PAGE)))
    )
    return [ProfileChange(r.seq, r.origin_lane, r.kind, r.key, r.hlc, json.loads(r.data)) for r in rows]


def last_seq(session: Session) -> int:
    """The newest change's seq (0 with none)."""
    return int(session.execute(select(func.max(CHANGES.c.seq))).scalar() or 0)


def stamp_of(when: datetime, node: str) -> Stamp:
    """The stamp of a change made at `when` (timezone-aware) by `node`, counter 0."""
    return Stamp((when.astimezone(UTC) - _EPOCH) // timedelta(milliseconds=1), 0, node)


def parse_time(value: Any) -> datetime | None:
    """A row's time as the feed sends it (ISO 8601; UTC when it names no offset); None when it is not one."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def contact_key(contact: str) -> str:
    """`email:<address>` or `phone:<number>`: how a change names the contact it covers."""
    return f"email:{contact}" if "@" in contact else f"phone:{contact}"


class _Lane:
    """The records of one lane the hub holds, read once per batch to build that lane's changes."""

    def __init__(self, session: Session, lane_id: str, now: datetime, *, shift: timedelta) -> None:
        self.session = session
        self.lane_id = lane_id
        self.now = now
        self.shift = shift  # added to the lane's times to make them the hub's
        self.at: datetime | None = None
        self._customers: dict[str, dict[str, Any]] = {}
        self._keys: dict[str, dict[str, Any]] = {}
        self._contacts: dict[str, list[dict[str, Any]]] = {}
        self._preferences: dict[str, list[dict[str, Any]]] = {}
        self._previous: dict[tuple[str, str], Stamp] = {}  # (family's first kind, key) -> the lane's last stamp
        self._rows: list[dict[str, Any]] = []

    def load(self, changes: list[LaneChange]) -> None:
        """Read what `changes` will need: their customers' records, keys, contacts and preferences."""
        customers: set[str] = set()
        for c in changes:
            if c.kind in ("customers", "channel_preferences"):
                customers.add(c.key.split("|", 1)[0])
            elif c.kind in ("contacts", "consents") and c.data is not None and c.data.get("customer_id") is not None:
                customers.add(str(c.data["customer_id"]))
        wanted = sorted(customers)
        self._customers = self._datas("customers", wanted)
        self._keys = self._datas(CUSTOMER_KEY, wanted)
        self._contacts = contacts_of(self.session, self.lane_id, wanted)
        choices = [f"{c}|{channel.value}" for c in wanted for channel in Channel]
        for key, row in self._datas("channel_preferences", choices).items():
            self._preferences.setdefault(key.split("|", 1)[0], []).append(row)

    # -- the kinds ---------------------------------------------------------------------------------

    def customer(self, customer: str) -> None:
        row = self._customers.get(customer)
        if row is not None and row.get("forgotten_at"):
            return  # an erased customer's details go nowhere
        who = self._who(customer, row)
        if who is None:
            return  # resolved when a contact arrives
        key, identity = who
        row = row or {}
        times = [parse_time(row.get("updated_at"))]
        times += [parse_time(c.get("created_at")) for c in self._contacts.get(customer, [])]
        data = {"name": row.get("name"), "language": row.get("language"), **identity}
        self._append(CUSTOMER, key, data, times)

    def preference(self, customer: str, *, only_if_any: bool = False) -> None:
        who = self._who(customer, self._customers.get(customer))
        if who is None:
            return
        key, identity = who
        rows = self._preferences.get(customer, [])
        if only_if_any and not rows:
            return
        channels = sorted({str(r["channel"]) for r in rows if r.get("channel")})
        times = [parse_time(r.get("updated_at")) for r in rows] or [self.at]
        data = {"channels": channels, "auto_send": any(_truthy(r.get("auto_send")) for r in rows), **identity}
        self._append(PREFERENCE, key, data, times)

    def consent(self, row: Mapping[str, Any]) -> None:
        customer = None if row.get("customer_id") is None else str(row["customer_id"])
        identity: dict[str, Any] = {"contacts": [], "loyalty_id": None}
        if customer is not None:
            who = self._who(customer, self._customers.get(customer))
            if who is not None:
                identity = who[1]
        contact = row.get("contact")
        if not isinstance(contact, str) or not contact:  # a row older than the ledger: its owner's contact
            wanted = "email" if row.get("channel") == "email" else "phone"
            contact = next((c["value"] for c in identity["contacts"] if c["kind"] == wanted), None)
            if contact is None:
                return
        fields = ("channel", "purpose", "granted", "text_shown", "text_version", "language", "source", "staff")
        data = {name: row.get(name) for name in fields}
        data.update(granted=_truthy(row.get("granted")), contact=contact, recorded_at=row.get("recorded_at"))
        data.update(identity)
        self._append(CONSENT, contact_key(contact), data, [parse_time(row.get("recorded_at"))])

    def opt(self, key: str, row: Mapping[str, Any] | None) -> None:
        group, _, digest = key.partition("|")
        if not group or not digest:
            return
        data: dict[str, Any] = {"channel_group": group, "contact_digest": digest}
        if row is None:
            self._append(OPT_IN, key, data, [self.at])
        else:
            data.update(since=row.get("since"), via=row.get("via"))
            self._append(OPT_OUT, key, data, [parse_time(row.get("since"))])

    # -- reading the lane's records ----------------------------------------------------------------

    def _who(self, customer: str, row: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]] | None:
        """The customer's key across lanes and what identifies them; None while they have neither."""
        contacts = [
            {"kind": str(c["kind"]), "value": str(c["value"])}
            for c in sorted(self._contacts.get(customer, []), key=lambda c: int(c.get("id") or 0))
            if c.get("kind") in ("phone", "email") and c.get("value")
        ]
        loyalty = None if row is None else row.get("loyalty_id") or None
        entry = self._keys.get(customer)
        key = None if entry is None else entry.get("key")
        if not isinstance(key, str):
            if loyalty:
                key = f"loyalty:{loyalty}"
            elif contacts:
                key = f"{contacts[0]['kind']}:{contacts[0]['value']}"
            else:
                return None
        return key, {"contacts": contacts, "loyalty_id": loyalty}

    def _datas(self, kind: str, keys: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(keys, 500):
            rows = self.session.execute(
                select(RECORDS.c.key, RECORDS.c.data).where(
                    RECORDS.c.lane_id == self.lane_id, RECORDS.c.kind == kind, RECORDS.c.key.in_(chunk)
                )
            )
            for key, text in rows:
                if isinstance(value := json.loads(text), dict):
                    out[key] = value
        return out

    def _previous_stamps(self) -> None:
        """The lane's last stamp of each record the changes name (its changes to one record keep their order)."""
        keys = sorted({row["key"] for row in self._rows})
        for chunk in _chunks(keys, 500):
            rows = self.session.execute(
                select(CHANGES.c.kind, CHANGES.c.key, CHANGES.c.hlc)
                .where(CHANGES.c.kind.in_(KINDS), CHANGES.c.key.in_(chunk), CHANGES.c.origin_lane == self.lane_id)
                .order_by(CHANGES.c.seq)
            )
            for kind, key, hlc in rows:
                self._previous[(_FAMILY[kind][0], key)] = Stamp.parse(hlc)

    # -- writing -----------------------------------------------------------------------------------

    def _append(self, kind: str, key: str, data: dict[str, Any], times: list[datetime | None]) -> None:
        known = [t + self.shift for t in times if t is not None]
        self._rows.append(
            {
                "origin_lane": self.lane_id,
                "kind": kind,
                "key": key[:160],
                "wall": min(max(known), self.now) if known else None,
                "data": json.dumps(data, separators=(",", ":"), default=str),
                "at": self.now,
            }
        )

    def flush(self) -> None:
        """Stamp the changes, in order, after the lane's earlier ones to the same record, and write them."""
        if not self._rows:
            return
        self._previous_stamps()
        for row in self._rows:
            wall = row.pop("wall")
            stamp = stamp_of(wall or _EPOCH, self.lane_id)
            family = (_FAMILY[row["kind"]][0], row["key"])
            before = self._previous.get(family)
            if before is not None:
                if before >= stamp:
                    stamp = Stamp(before.wall_ms, before.counter + 1, self.lane_id)
            elif wall is None:
                stamp = stamp_of(self.now, self.lane_id)
            self._previous[family] = stamp
            row["hlc"] = stamp.text
        self.session.execute(insert(CHANGES), self._rows)  # one executemany, in order
        self._rows = []


def contacts_of(session: Session, lane_id: str, customers: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The lane's contacts of each of `customers` (read from their JSON: a lane has few per customer)."""
    data = RECORDS.c.data
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB  # loaded with the dialect: only a PostgreSQL hub needs it

        owner = func.cast(data, JSONB)["customer_id"].astext
    else:
        owner = func.cast(func.json_extract(data, "$.customer_id"), RECORDS.c.key.type)
    out: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks(customers, 500):
        rows = session.execute(
            select(owner, data).where(RECORDS.c.lane_id == lane_id, RECORDS.c.kind == "contacts", owner.in_(chunk))
        )
        for customer, text in rows:
            if isinstance(value := json.loads(text), dict):
                out.setdefault(str(customer), []).append(value)
    return out


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _truthy(value: Any) -> bool:
    """A boolean column as JSON carries it: true/false, 1/0, or their text."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes")
    return bool(value)
