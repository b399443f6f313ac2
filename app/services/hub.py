"""The hub: lanes' batches taken in (their JSON shape checked first: a malformed batch changes nothing),
and the lanes' state for health.

The protocol is `docs/hub.md`. A hub process keeps nothing of its own between requests: every lane's
progress is in the database, so several processes can share one PostgreSQL behind a load balancer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from app.domain.clock import Clock, utcnow
from app.domain.contacts import normalise_email, normalise_phone
from app.domain.errors import NotFound, ValidationFailed
from app.storage import hub, hub_detail, hub_search
from app.storage.database import Database, UnitOfWork

MAX_RECORDS = 10_000
"""Records in one batch, at most: the most a lane's `[hub] batch_size` allows."""

QUIET_AFTER = timedelta(minutes=15)
"""A lane not heard from for this long is named in health's warnings."""

SKEWED_MS = 60_000
"""A lane whose clock is further off than this (a minute) is named in health's warnings."""

MAX_LISTED = 500
"""Receipts in one answer of `GET /v1/hub/receipts`, at most (50 unless `limit` says)."""


@dataclass(frozen=True, slots=True)
class LaneHealth:
    lane_id: str
    store_id: str
    last_seen_at: datetime
    acked_seq: int
    backlog: int
    parked: int
    version: str | None
    skew_ms: int | None
    quiet: bool  # not heard from for `QUIET_AFTER`
    settings_version: int | None = None  # the store settings' version the lane last reported


class HubService:
    """Applies lanes' batches and reports their state; all of it through the database."""

    def __init__(self, db: Database, *, clock: Clock = utcnow, zone: tzinfo = UTC) -> None:
        self._db = db
        self._clock = clock
        self._zone = zone  # the store's (`[store] timezone`): where "today" begins and ends

    @property
    def db(self) -> Database:
        """The hub's database (its profile changes are read from it: `app.server.hub_profiles`)."""
        return self._db

    async def apply(self, payload: object, *, token: str | None = None) -> hub.Applied | hub.Conflict | hub.Refused:
        """Apply one batch (`POST /v1/hub/batches`) that came with the API token named `token` (None: an
        admin's); `ValidationFailed` (one line) when its shape is wrong."""
        batch = parse_batch(payload)
        now = self._clock()

        def job(session: UnitOfWork) -> hub.Applied | hub.Conflict | hub.Refused:
            return hub.apply(session, batch, now=now, token=token)

        return await self._db.write(job)

    async def lanes(self) -> list[LaneHealth]:
        """Every lane the hub serves: last seen, how far it got, its backlog, parked records, version, skew."""
        now = self._clock()
        rows = await self._db.read(hub.lanes)
        return [
            LaneHealth(
                r.lane_id,
                r.store_id,
                r.last_seen_at,
                r.acked_seq,
                r.backlog,
                r.parked,
                r.version,
                r.skew_ms,
                quiet=now - r.last_seen_at > QUIET_AFTER,
                settings_version=r.settings_version,
            )
            for r in rows
        ]

    async def receipts(self, params: Mapping[str, str]) -> list[hub_search.HubReceipt]:
        """`GET /v1/hub/receipts`: receipts of every lane, newest first (`parse_search`)."""
        what = parse_search(params, now=self._clock(), zone=self._zone)

        def job(session: UnitOfWork) -> list[hub_search.HubReceipt]:
            return hub_search.search(session, what)

        return await self._db.read(job)

    async def receipt(self, receipt_id: str, lane_id: str | None = None) -> hub_detail.HubReceiptDetail:
        """`GET /v1/hub/receipts/{id}`: one receipt with its sale, deliveries and requests, recipients masked.

        `NotFound` (one sentence) when the hub has no such receipt; `AmbiguousReceipt` when `lane_id` is
        left out and two lanes have that receipt id.
        """
        if not receipt_id or len(receipt_id) > 36:
            raise NotFound("The hub has no receipt with that id: copy it from the list of receipts.")
        if lane_id is not None and len(lane_id) > 80:
            raise ValidationFailed("lane_id is longer than 80 characters: give a lane id such as store-1/2.", "lane_id")

        def job(session: UnitOfWork) -> hub_detail.HubReceiptDetail | None:
            lane = lane_id
            if lane is None:
                lanes = hub_detail.lanes_with(session, receipt_id)
                if len(lanes) > 1:
                    raise AmbiguousReceipt(
                        f"Lanes {lanes[0]} and {lanes[1]} both have receipt {receipt_id}: say which with lane_id."
                    )
                lane = lanes[0] if lanes else None
            return None if lane is None else hub_detail.detail(session, lane, receipt_id)

        found = await self._db.read(job)
        if found is None:
            where = f" of lane {lane_id}" if lane_id else ""
            raise NotFound(f"The hub has no receipt {receipt_id}{where}: check the id and the lane.")
        return found


class AmbiguousReceipt(ValidationFailed):
    """Two lanes have a receipt with the id asked for, and the request did not say which (`409`)."""


def lane_warnings(lanes: list[LaneHealth]) -> list[str]:
    """One sentence per lane that needs a look: quiet, parked records, or a clock that is off."""
    out: list[str] = []
    for lane in lanes:
        if lane.quiet:
            out.append(
                f"Lane {lane.lane_id} has not reached the hub since {lane.last_seen_at:%Y-%m-%d %H:%M} UTC: "
                "check that it is on and online."
            )
        if lane.parked:
            out.append(
                f"Lane {lane.lane_id} has {lane.parked} record(s) the hub parked: "
                "see `receiptdesk health` on that lane for why."
            )
        if lane.skew_ms is not None and abs(lane.skew_ms) > SKEWED_MS:
            out.append(
                f"Lane {lane.lane_id}'s clock is {abs(lane.skew_ms) / 1000:.0f} s "
                f"{'ahead' if lane.skew_ms > 0 else 'behind'}: set it to synchronise its time (NTP)."
            )
    return out


# -- a search's words ------------------------------------------------------------------------------


def parse_search(params: Mapping[str, str], *, now: datetime, zone: tzinfo) -> hub_search.Search:
    """The search `params` ask for; `ValidationFailed` (one line) naming the first thing wrong.

    `q` is a sale id, the last four digits of a card, a phone number or an email address: a receipt
    matching any reading of it is found. Without `q`, `since` and `until`, the list is today's (the day
    in `zone`); with `q` alone, every day's.
    """
    q = (params.get("q") or "").strip()
    if len(q) > 64:
        raise ValidationFailed("q is longer than 64 characters: give a sale id, last four digits, phone or email.", "q")
    since = _search_time(params.get("since"), "since", zone)
    until = _search_time(params.get("until"), "until", zone)
    if since is not None and until is not None and until <= since:
        raise ValidationFailed("until is not after since: give a later until.", "until")
    if not q and since is None and until is None:
        start = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
        since, until = start, datetime.combine(start.date() + timedelta(days=1), time(), tzinfo=zone)
    lane = params.get("lane") or None
    if lane is not None and len(lane) > 80:
        raise ValidationFailed("lane is longer than 80 characters: give a lane id such as store-1/2.", "lane")
    raw_limit = params.get("limit") or "50"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LISTED:
        raise ValidationFailed(f"limit is not a whole number from 1 to {MAX_LISTED}.", "limit")
    return hub_search.Search(
        limit=int(raw_limit),
        since=since,
        until=until,
        lane_id=lane,
        sale_id=q or None,
        card_last4=q if len(q) == 4 and q.isdigit() else None,
        customer_key=_customer_key(q),
    )


def _customer_key(q: str) -> str | None:
    """The customer key (`app.storage.hub`) a phone number or email address in `q` names, if it is one."""
    if not q:
        return None
    try:
        return f"email:{normalise_email(q)}" if "@" in q else f"phone:{normalise_phone(q)}"
    except ValidationFailed:
        return None  # not a contact: a sale id or last four, then


def _search_time(value: str | None, name: str, zone: tzinfo) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{name} is not an ISO 8601 date or date and time.", name) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)  # a bare date: the store's


# -- the batch's shape ------------------------------------------------------------------------------


def parse_batch(payload: object) -> hub.Batch:
    """The batch `payload` (parsed JSON) describes; `ValidationFailed` naming the first thing wrong."""
    if not isinstance(payload, Mapping):
        raise ValidationFailed("The batch is not a JSON object.")
    lane_id = _text(payload, "lane_id", 80)
    store_id = _text(payload, "store_id", 64)
    version = payload.get("version")
    if version is not None and not (isinstance(version, str) and len(version) <= 40):
        raise ValidationFailed("version is not text of at most 40 characters.", "version")
    sent_at = _time(payload.get("sent_at"), "sent_at")
    after = _count(payload.get("after"), "after")
    backlog = payload.get("backlog")
    if backlog is not None:
        backlog = _count(backlog, "backlog")
    settings_version = payload.get("settings_version")
    if settings_version is not None:
        settings_version = _count(settings_version, "settings_version")
    raw = payload.get("records")
    if not isinstance(raw, list):
        raise ValidationFailed("records is not a list.", "records")
    if len(raw) > MAX_RECORDS:
        raise ValidationFailed(f"A batch holds at most {MAX_RECORDS} records; send fewer at a time.", "records")
    records = [_record(item, i) for i, item in enumerate(raw)]
    for i in range(1, len(records)):
        if records[i].seq <= records[i - 1].seq:
            raise ValidationFailed("Records are not in ascending seq.", f"records.{i}.seq")
    return hub.Batch(lane_id, store_id, version, sent_at, after, records, backlog, settings_version)


def _record(item: object, i: int) -> hub.Record:
    where = f"records.{i}"
    if not isinstance(item, Mapping):
        raise ValidationFailed(f"{where} is not a JSON object.", where)
    seq = _count(item.get("seq"), f"{where}.seq")
    if seq < 1:
        raise ValidationFailed(f"{where}.seq is not a positive whole number.", f"{where}.seq")
    kind, key, op = (_text(item, name, 200, where=where) for name in ("kind", "key", "op"))
    data = item.get("data")
    return hub.Record(
        seq,
        kind,
        key,
        op,
        _time(item.get("at"), f"{where}.at"),
        data if isinstance(data, Mapping) else None,  # a non-object is parked as an upsert without data
    )


def _text(source: Mapping[str, Any], name: str, longest: int, *, where: str | None = None) -> str:
    value = source.get(name)
    path = f"{where}.{name}" if where else name
    if not isinstance(value, str) or not 0 < len(value) <= longest:
        raise ValidationFailed(f"{path} is not text of 1 to {longest} characters.", path)
    return value


def _count(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ValidationFailed(f"{path} is not a whole number from 0.", path)
    return value


def _time(value: object, path: str) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise ValidationFailed(f"{path} is not an ISO 8601 date and time with its offset.", path)
