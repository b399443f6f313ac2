"""Pull: the customers' preferences, consents and opt-outs other lanes recorded, from the hub to this lane.

Every `[hub] pull_every_seconds` (15 s: a STOP at one lane reaches every online lane within a minute)
the lane asks `GET /v1/hub/profiles?after=<pulled seq>&lane_id=<lane>` and applies each page in one
unit of work, then moves `sync_state.pulled_seq` to the page's last change (so a crash applies a page
again from its start, never half of it). The rules (`app.domain.hlc.later`):

- `customer`: the customer found by loyalty id or contact is updated (name, language, new contacts), or
  created; the later change wins.
- `preference`: the channels and auto-send replace the customer's here when the change is later than the
  newest applied to it and than the customer's own preferences changed here, so a returning customer
  is recognised with zero taps.
- `consent`: the ledger row is appended as given (source and wording), its lane the lane it came from,
  so the send gate finds the grant for that contact here too. A revocation the ledger already holds
  (an opt-out applied just before wrote it) is not appended twice.
- `opt_out`: the contact stops here too: `app.services.consent.revoke_and_cancel` for each contact of
  this lane with that digest (cancelling its queued and held messages, published after the commit), or
  the opt-out by digest alone when this lane never saw the contact. `opt_in` lifts it when later than
  every opt-out of that contact applied or made here; a revocation wins a tie (`hlc.SAME_MOMENT_MS`).

Nothing applied from the hub goes back to it as this lane's own change: the feed is paused inside the
applying transaction (`app.storage.lane_profiles.feed_paused`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

import httpx

from app.domain.channels import Channel, Language
from app.domain.clock import Clock, utcnow
from app.domain.consent import ChannelGroup, ConsentSource, Purpose
from app.domain.hlc import Stamp, corrected_ms, later
from app.services import consent as consent_service
from app.services.background import BackgroundTasks
from app.services.bus import EventBus
from app.services.consent import Revocation
from app.storage import audit, change_feed, consents, customers, lane_profiles
from app.storage.consents import Grant
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)

PATH = "/v1/hub/profiles"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PullFailed(Exception):
    """The hub could not be asked, or its answer could not be read: one sentence to act on."""


class WithEachPull(Protocol):
    """Work a lane does with each pull beside the profiles (its requests from the hub): `after_pull` runs once
    per pull, whether or not the profiles came, and keeps its own failures; `warning` says them for health."""

    async def after_pull(self) -> None: ...

    def warning(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    origin_lane: str
    kind: str
    key: str
    stamp: Stamp
    data: Mapping[str, Any]


@dataclass
class PullReport:
    """What one pull did."""

    pulled: int = 0  # changes read
    applied: int = 0  # changes that took effect (the rest lost to a later one, or changed nothing)
    cancelled: int = 0  # queued messages an opt-out cancelled
    revocations: list[Revocation] = field(default_factory=list)


class HubPullService:
    """Pulls other lanes' profile changes from the hub and applies them here."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        http: httpx.AsyncClient,
        *,
        url: str,
        lane_id: str,
        token: Callable[[], str | None],
        every: timedelta = timedelta(seconds=15),
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._bus = bus
        self._http = http
        self._url = url.rstrip("/")
        self.lane_id = lane_id
        self._token = token
        self.every = every
        self._clock = clock
        self._tasks = BackgroundTasks("hub pull")
        self.last_error: str | None = None  # the last pull's failure, in memory (the push keeps its own)
        self.last_pull_at: datetime | None = None
        self.also: list[WithEachPull] = []  # run after each pull of the loop, in order
        self.heard: list[Callable[[], None]] = []  # told after each pull the hub answered (the push's retry)

    @property
    def running(self) -> bool:
        return len(self._tasks) > 0

    def start(self) -> None:
        if not self.running:
            self._tasks.start(self._loop(), "hub-pull")

    async def stop(self) -> None:
        await self._tasks.cancel_all()

    async def _loop(self) -> None:
        while True:
            try:
                await self.pull()
            except PullFailed as exc:
                log.warning("hub pull: %s", exc)
            except Exception:  # a storage hiccup must not end the pull
                log.exception("a pull from the hub failed")
                self.last_error = "Applying them on this lane failed; see the log."
            for extra in self.also:
                try:
                    await extra.after_pull()
                except Exception:  # its own failure is its own: the pull goes on
                    log.exception("work done with a pull from the hub failed")
            await asyncio.sleep(self.every.total_seconds())

    async def pull(self) -> PullReport:
        """Pull and apply every change the hub has for this lane, a page at a time."""
        report = PullReport()
        try:
            while True:
                after = await self._db.read(lane_profiles.pulled_seq)
                changes, last = await self._page(after)
                now = self._clock()
                page = await self._db.write(
                    partial(apply_page, changes=changes, last=last, lane_id=self.lane_id, at=now)
                )
                for revocation in page.revocations:
                    consent_service.announce(self._bus, revocation)
                report.pulled += page.pulled
                report.applied += page.applied
                report.cancelled += page.cancelled
                if len(changes) < 500 or last <= after:
                    break
        except PullFailed as exc:
            self.last_error = str(exc)
            raise
        self.last_error = None
        self.last_pull_at = self._clock()
        for tell in self.heard:
            tell()
        return report

    def warning(self) -> str | None:
        """What health shows of the pull: its last failure, in one sentence, or None (then the first of the
        work done with each pull that has one)."""
        if self.last_error is None:
            return next((w for w in (extra.warning() for extra in self.also) if w is not None), None)
        return f"Customers' choices from other lanes are not arriving: {self.last_error}"

    async def _page(self, after: int) -> tuple[list[Change], int]:
        token = self._token()
        if not token:
            raise PullFailed("No hub token is set: store one with `receiptdesk secrets set hub token`.")
        try:
            response = await self._http.get(
                f"{self._url}{PATH}",
                params={"after": after, "lane_id": self.lane_id},
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise PullFailed(f"The hub at {self._url} cannot be reached ({type(exc).__name__}).") from None
        if response.status_code in (401, 403):
            raise PullFailed("The hub refused this lane's token: give the lane a token with the hub:sync scope.")
        if response.status_code != 200:
            raise PullFailed(f"The hub answered {response.status_code} to a pull: see the hub's log.")
        try:
            body = response.json()
            changes = [parse_change(item) for item in body["changes"]]
            return changes, int(body["last"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PullFailed(f"The hub's answer to a pull cannot be read: {exc}.") from None


def parse_change(item: Mapping[str, Any]) -> Change:
    """One change of the wire (`ValueError`, `KeyError` or `TypeError` when malformed)."""
    data = item["data"]
    if not isinstance(data, Mapping):
        raise ValueError("a change without its data")
    return Change(
        int(item["seq"]), str(item["origin_lane"]), str(item["kind"]), str(item["key"]), Stamp.parse(item["hlc"]), data
    )


# -- applying ---------------------------------------------------------------------------------------


def apply_page(session: UnitOfWork, *, changes: list[Change], last: int, lane_id: str, at: datetime) -> PullReport:
    """Apply `changes` in order and move the pulled seq to `last`, in the caller's unit of work."""
    report = PullReport(pulled=len(changes))
    with lane_profiles.feed_paused(session):
        for change in changes:
            if change.origin_lane == lane_id:
                continue  # our own, handed back: nothing to learn
            try:
                with session.begin_nested():
                    applied = _apply(session, change, lane_id, at, report)
            except (ValueError, KeyError, TypeError) as exc:  # one change we cannot read never blocks the rest
                log.warning("hub pull: change %s (%s) skipped: %s", change.seq, change.kind, exc)
                continue
            report.applied += applied
        lane_profiles.record_pull(session, max([last, *(c.seq for c in changes)]), at=at)
    return report


def _apply(session: UnitOfWork, change: Change, lane_id: str, now: datetime, report: PullReport) -> bool:
    kind = change.kind
    if kind == "customer":
        return _customer(session, change)
    if kind == "preference":
        return _preference(session, change, lane_id)
    if kind == "consent":
        return _consent(session, change)
    if kind == "opt_out":
        return _opt_out(session, change, lane_id, report)
    if kind == "opt_in":
        return _opt_in(session, change, lane_id, now)
    return False  # a kind a newer hub knows: nothing this lane can do with it


def _wins(change: Change, revokes: bool, *others: tuple[Stamp | None, bool]) -> bool:
    return all(stamp is None or later(change.stamp, revokes, stamp, other) for stamp, other in others)


def _time(stamp: Stamp) -> datetime:
    return _EPOCH + timedelta(milliseconds=stamp.wall_ms)


def _when(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return fallback


def _contacts(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (str(c["kind"]), str(c["value"]))
        for c in data.get("contacts") or ()
        if isinstance(c, Mapping) and c.get("kind") in ("phone", "email") and c.get("value")
    ]


def _language(value: Any) -> Language | None:
    try:
        return Language(value) if value else None
    except ValueError:
        return None


def _find(session: UnitOfWork, data: Mapping[str, Any]) -> int | None:
    loyalty = data.get("loyalty_id") or None
    found = customers.find(session, loyalty_id=loyalty, email=None, phone=None) if loyalty else None
    for kind, value in _contacts(data):
        if found is not None:
            break
        found = customers.find(
            session, loyalty_id=None, email=value if kind == "email" else None, phone=value if kind == "phone" else None
        )
    return found


def _ensure(session: UnitOfWork, data: Mapping[str, Any], when: datetime, *, details: bool = False) -> int:
    """The customer the change is about, found by loyalty id or contact, created with its contacts if new.

    A customer (or contact) created here is this lane's own record from then on, so it goes to the hub like
    any other: without it the hub could not name this lane's later changes of that customer.
    """
    contacts = _contacts(data)
    customer = _find(session, data)
    if customer is None:  # this lane's own customer from now on: fed, so the hub can name this lane's changes
        with lane_profiles.feed_resumed(session):
            customer = _create(session, data, contacts, when, details=details)
    elif details:
        customer = _create(session, data, contacts, when, details=True)
    for kind, value in contacts:  # the rest of their contacts, those nobody here has
        email, phone = (value, None) if kind == "email" else (None, value)
        if customers.find(session, loyalty_id=None, email=email, phone=phone) is None:
            with lane_profiles.feed_resumed(session):
                customers.attach_contact(session, customer, kind, value, now=when)
    return customer


def _create(
    session: UnitOfWork, data: Mapping[str, Any], contacts: list[tuple[str, str]], when: datetime, *, details: bool
) -> int:
    email = next((v for k, v in contacts if k == "email"), None)
    phone = next((v for k, v in contacts if k == "phone"), None)
    name = data.get("name") if details else None
    customer = customers.upsert(
        session,
        now=when,
        name=name if isinstance(name, str) and name else None,
        loyalty_id=data.get("loyalty_id") or None,
        language=_language(data.get("language")) if details else None,
        email=email,
        phone=phone,
    )
    return customer


def _customer(session: UnitOfWork, change: Change) -> bool:
    if not _wins(change, False, (lane_profiles.clock(session, "customer", change.key), False)):
        return False
    _ensure(session, change.data, _time(change.stamp), details=True)
    lane_profiles.set_clock(session, "customer", change.key, change.stamp)
    return True


def _preference(session: UnitOfWork, change: Change, lane_id: str) -> bool:
    existing = _find(session, change.data)
    here = None if existing is None else lane_profiles.preferences_changed_at(session, existing)
    mine = None if here is None else _local(session, here, lane_id)
    if not _wins(change, False, (lane_profiles.clock(session, "preference", change.key), False), (mine, False)):
        return False
    channels = []
    for name in change.data.get("channels") or ():
        try:
            channels.append(Channel(name))
        except ValueError:
            continue  # a channel this lane does not know
    when = _time(change.stamp)
    customer = existing if existing is not None else _ensure(session, change.data, when)
    auto_send = bool(change.data.get("auto_send")) and bool(channels)
    customers.set_preferences(session, customer, tuple(channels), auto_send=auto_send, now=when)
    lane_profiles.set_clock(session, "preference", change.key, change.stamp)
    return True


def _local(session: UnitOfWork, when: datetime, node: str) -> Stamp:
    """The stamp a change made here at `when` (this lane's clock) has at the hub: moved by the clock skew the
    last push measured when the clock is off (`hlc.CLOCK_OFF_MS`), as the hub moves it, so a lane whose clock
    runs ahead does not keep its own change over a later one from another lane."""
    hub_when = when.astimezone(UTC) + timedelta(milliseconds=corrected_ms(change_feed.skew_ms(session)))
    return Stamp((hub_when - _EPOCH) // timedelta(milliseconds=1), 0, node)


def _consent(session: UnitOfWork, change: Change) -> bool:
    data = change.data
    contact = str(data["contact"])
    channel = Channel(data["channel"])
    purpose = Purpose(data.get("purpose") or Purpose.RECEIPTS.value)
    granted = bool(data.get("granted"))
    when = _when(data.get("recorded_at"), _time(change.stamp))
    if not granted and consents.latest(session, channel, contact, purpose=purpose) is False:
        return False  # this lane's ledger says so already (the opt-out applied just before wrote it)
    identity = {**data, "contacts": [*data.get("contacts", ()), {"kind": _kind_of(contact), "value": contact}]}
    customer = _ensure(session, identity, when)
    grant = Grant(
        customer,
        channel,
        contact,
        str(data.get("text_shown") or ""),
        str(data.get("source") or ConsentSource.STAFF.value),
        purpose=purpose,
        text_version=data.get("text_version"),
        language=data.get("language"),
        lane=change.origin_lane[:64],
        staff=data.get("staff"),
    )
    consents.record(session, grant, granted=granted, now=when)
    return True


def _kind_of(contact: str) -> str:
    return "email" if "@" in contact else "phone"


def _opt_states(
    session: UnitOfWork, change: Change, lane_id: str
) -> tuple[ChannelGroup, str, list[tuple[Stamp | None, bool]]]:
    group = ChannelGroup(change.data["channel_group"])
    digest = str(change.data["contact_digest"])
    since = lane_profiles.opted_out_since(session, group, digest)
    local = None if since is None else _local(session, since, lane_id)
    states = [
        (lane_profiles.clock(session, "opt_out", change.key), True),
        (lane_profiles.clock(session, "opt_in", change.key), False),
        (local, True),
    ]
    return group, digest, states


def _opt_out(session: UnitOfWork, change: Change, lane_id: str, report: PullReport) -> bool:
    group, digest, states = _opt_states(session, change, lane_id)
    if not _wins(change, True, *states):
        return False
    since = _when(change.data.get("since"), _time(change.stamp))
    via_text = str(change.data.get("via") or ConsentSource.STAFF.value)
    try:
        via = ConsentSource(via_text)
    except ValueError:
        via = ConsentSource.STAFF
    contacts = lane_profiles.contacts_with_digest(session, group, digest)
    for contact in contacts:
        revocation = consent_service.revoke_and_cancel(
            session, contact, group, via=via, actor=f"hub:{change.origin_lane}", now=since
        )
        report.revocations.append(revocation)
        report.cancelled += len(revocation.cancelled)
    if not contacts:
        lane_profiles.opt_out_digest(session, group, digest, via=via_text, since=since)
    lane_profiles.set_clock(session, "opt_out", change.key, change.stamp)
    return True


def _opt_in(session: UnitOfWork, change: Change, lane_id: str, now: datetime) -> bool:
    group, digest, states = _opt_states(session, change, lane_id)
    if not _wins(change, False, *states):
        return False
    lifted = lane_profiles.opt_in_digest(session, group, digest)
    if lifted:
        detail = {"group": group.value, "via": "hub", "origin_lane": change.origin_lane, "lifted": True}
        audit.append(
            session,
            at=now,
            actor=f"hub:{change.origin_lane}",
            action="consent.restored",
            subject=f"opt_out:{group.value}",
            detail=detail,
        )
    lane_profiles.set_clock(session, "opt_in", change.key, change.stamp)
    return True
