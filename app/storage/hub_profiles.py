"""The hub's profile changes: what other lanes learn of a customer's preferences, consents and opt-outs.

`app.storage.hub.apply` calls `record_profile_change` right after it applies a lane's record of kind
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
`at` when given, for a delete), but never later than the hub's `now`: a change cannot have been made
after the hub received it, so a lane whose clock runs ahead cannot overrule the others by it. A lane's
changes to one record keep their order: a change that would not sort after the lane's previous change
to the same record gets that stamp's counter plus one (the lane's feed order is the truth). A change
with no time of its own (a delete, when the caller gives no `at`) follows the lane's previous change
to the record that way, or takes the hub's `now` when there is none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.domain.hlc import Stamp
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


def record_profile_change(
    session: Session,
    *,
    lane_id: str,
    kind: str,
    key: str,
    op: str,
    data: dict[str, Any] | None,
    now: datetime,
    at: datetime | None = None,
) -> None:
    """Append what other lanes need of the lane record just applied (`kind`/`key`, `data` None for a delete).

    `at` is the feed entry's time at the lane, when the caller has it (used for deletes, whose row is gone).
    """
    lane = _Lane(session, lane_id, now, at)
    if kind == "customers":
        if op == "upsert" and data is not None:
            lane.customer(key)
    elif kind == "contacts":
        if op == "upsert" and data is not None and data.get("customer_id") is not None:
            customer = str(data["customer_id"])
            lane.customer(customer)
            lane.preference(customer, only_if_any=True)  # preferences set before the customer had a contact
    elif kind == "channel_preferences":
        lane.preference(key.split("|", 1)[0])
    elif kind == "consents":
        if op == "upsert" and data is not None:
            lane.consent(data)
    elif kind == "opt_outs":
        lane.opt(key, data if op == "upsert" else None)


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
    """The records of one lane the hub holds, read to build that lane's changes."""

    def __init__(self, session: Session, lane_id: str, now: datetime, at: datetime | None) -> None:
        self.session = session
        self.lane_id = lane_id
        self.now = now
        self.at = at

    # -- the kinds ---------------------------------------------------------------------------------

    def customer(self, customer: str) -> None:
        row = self._data("customers", customer)
        if row is not None and row.get("forgotten_at"):
            return  # an erased customer's details go nowhere
        who = self._who(customer, row)
        if who is None:
            return  # resolved when a contact arrives
        key, identity = who
        row = row or {}
        times = [parse_time(row.get("updated_at"))]
        times += [parse_time(c.get("created_at")) for c in self._contacts(customer)]
        data = {"name": row.get("name"), "language": row.get("language"), **identity}
        self._append(CUSTOMER, key, data, times)

    def preference(self, customer: str, *, only_if_any: bool = False) -> None:
        who = self._who(customer, self._data("customers", customer))
        if who is None:
            return
        key, identity = who
        rows = list(self._rows_with_prefix("channel_preferences", f"{customer}|"))
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
            who = self._who(customer, self._data("customers", customer))
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
            for c in sorted(self._contacts(customer), key=lambda c: int(c.get("id") or 0))
            if c.get("kind") in ("phone", "email") and c.get("value")
        ]
        loyalty = None if row is None else row.get("loyalty_id") or None
        entry = self._data(CUSTOMER_KEY, customer)
        key = None if entry is None else entry.get("key")
        if not isinstance(key, str):
            if loyalty:
                key = f"loyalty:{loyalty}"
            elif contacts:
                key = f"{contacts[0]['kind']}:{contacts[0]['value']}"
            else:
                return None
        return key, {"contacts": contacts, "loyalty_id": loyalty}

    def _data(self, kind: str, key: str) -> dict[str, Any] | None:
        text = self.session.execute(
            select(RECORDS.c.data).where(
                RECORDS.c.lane_id == self.lane_id, RECORDS.c.kind == kind, RECORDS.c.key == key
            )
        ).scalar_one_or_none()
        value = None if text is None else json.loads(text)
        return value if isinstance(value, dict) else None

    def _rows_with_prefix(self, kind: str, prefix: str) -> Iterable[dict[str, Any]]:
        rows = self.session.execute(
            select(RECORDS.c.data).where(
                RECORDS.c.lane_id == self.lane_id, RECORDS.c.kind == kind, RECORDS.c.key.startswith(prefix)
            )
        )
        for (text,) in rows:
            value = json.loads(text)
            if isinstance(value, dict):
                yield value

    def _contacts(self, customer: str) -> list[dict[str, Any]]:
        """The lane's contacts of `customer` (read from their JSON: a lane has few per customer)."""
        data = RECORDS.c.data
        if self.session.get_bind().dialect.name == "postgresql":
            owner = func.cast(data, postgresql.JSONB)["customer_id"].astext
        else:
            owner = func.cast(func.json_extract(data, "$.customer_id"), RECORDS.c.key.type)
        rows = self.session.execute(
            select(data).where(RECORDS.c.lane_id == self.lane_id, RECORDS.c.kind == "contacts", owner == customer)
        )
        return [value for (text,) in rows if isinstance(value := json.loads(text), dict)]

    # -- writing -----------------------------------------------------------------------------------

    def _append(self, kind: str, key: str, data: dict[str, Any], times: list[datetime | None]) -> None:
        known = [t for t in times if t is not None]
        stamp = stamp_of(min(max(known), self.now) if known else _EPOCH, self.lane_id)
        previous = self.session.execute(
            select(CHANGES.c.hlc)
            .where(CHANGES.c.kind.in_(_FAMILY[kind]), CHANGES.c.key == key[:160], CHANGES.c.origin_lane == self.lane_id)
            .order_by(CHANGES.c.seq.desc())
            .limit(1)
        ).scalar_one_or_none()
        if previous is not None:
            before = Stamp.parse(previous)
            if before >= stamp:
                stamp = Stamp(before.wall_ms, before.counter + 1, self.lane_id)
        elif not known:
            stamp = stamp_of(self.now, self.lane_id)
        self.session.execute(
            insert(CHANGES).values(
                origin_lane=self.lane_id,
                kind=kind,
                key=key[:160],
                hlc=stamp.text,
                data=json.dumps(data, separators=(",", ":"), default=str),
                at=self.now,
            )
        )


def _truthy(value: Any) -> bool:
    """A boolean column as JSON carries it: true/false, 1/0, or their text."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes")
    return bool(value)
