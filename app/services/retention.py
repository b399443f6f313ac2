"""Retention: the daily purge, what it would remove, and legal holds.

A purge takes each kind of record in turn (`app.domain.retention.Kind`), in batches of `batch` records,
each batch its own transaction: it loads the run's state (`purge_runs`), removes the next due records
after where the run stands, advances the run's counts and digests and saves them with the removal. A
crash between batches leaves the run unfinished; the next purge carries it on with the run's own
cutoffs (so the digests stay over ascending ids), finishes it, then starts its own. The finishing
transaction appends `retention.purged` (counts per table, a digest per kind, the cutoffs) to the audit
log. The audit log itself is never purged: its entries hold no contact (recipients are masked).

An active legal hold keeps what it covers, read afresh for each batch: a customer (their sales and
everything of them, their texts, their contact details), a sale, or the sales in a range of dates.
Contact details are erased by `app.storage.erasure` (customers whose every consent was revoked more
than `contacts_after_revocation_days` ago, or whose last visit is older than `contacts_idle_days`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from app.domain.clock import Clock, utcnow
from app.domain.contacts import mask_contact, normalise_email, normalise_phone
from app.domain.errors import NotFound, ValidationFailed
from app.domain.retention import DIGEST_START, Cutoffs, Kind, Period, chain, cutoffs, next_purge, receipt_line
from app.services.background import BackgroundTasks
from app.storage import audit, customers, erasure, legal_holds, retention
from app.storage.database import Database, UnitOfWork
from app.storage.legal_holds import LegalHold

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Told after each batch: the kind, how many of it are done in this run, and how many were due at the start."""

ACTOR = "retention"
"""Who the audit log names for the daily purge."""

STEPS: tuple[tuple[str, Kind], ...] = (
    ("receipts", Kind.RECEIPTS),
    ("bare_sales", Kind.RECEIPTS),
    ("loose", Kind.RECEIPTS),
    *((f"payload.{part}", Kind.PAYLOADS) for part in retention.PAYLOAD_PARTS),
    ("captures", Kind.CAPTURES),
    ("inbound_messages", Kind.INBOUND),
    ("contacts", Kind.CONTACTS),
)
"""The purge's steps in order, each with the kind whose digest and progress it feeds."""


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """One purge (or, `dry_run`, what one would remove now)."""

    counts: dict[str, int]
    digests: dict[str, str] = field(default_factory=dict)
    run_id: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    actor: str | None = None
    dry_run: bool = False
    carried_on: bool = False  # the run a crash cut short, finished now

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class HoldView:
    """A hold and what it covers, in words (`customer (***) ***-4567`, `sale S-1001`, `sales of 2025-03-01 to …`)."""

    hold: LegalHold
    covers: str


@dataclass(frozen=True, slots=True)
class RetentionOverview:
    periods: list[Period]
    enabled: bool
    next_at: datetime | None
    last: PurgeReport | None
    holds: list[HoldView]


class Periods(Protocol):
    """How long each kind is kept and when the daily purge runs: `[retention]` of the settings."""

    @property
    def enabled(self) -> bool: ...
    @property
    def purge_at(self) -> time: ...
    @property
    def receipts_days(self) -> int: ...
    @property
    def contacts_after_revocation_days(self) -> int: ...
    @property
    def contacts_idle_days(self) -> int: ...
    @property
    def provider_payloads_days(self) -> int: ...
    @property
    def captures_days(self) -> int: ...
    @property
    def inbound_messages_days(self) -> int: ...


class RetentionService:
    """The retention periods of `[retention]`, the purge, and legal holds."""

    def __init__(
        self,
        db: Database,
        settings: Periods,
        *,
        zone: tzinfo,
        store_id: str | None = None,
        clock: Clock = utcnow,
        batch: int = 500,
    ) -> None:
        self._db = db
        self.settings = settings
        self.zone = zone
        self._store_id = store_id
        self._clock = clock
        self._batch = batch
        self._running = asyncio.Lock()
        self._tasks = BackgroundTasks("retention")

    # -- the daily purge -----------------------------------------------------------------------

    def start(self) -> None:
        """Purge every day at `purge_at`, the store's time, while the app runs (nothing when not `enabled`)."""
        if self.settings.enabled and not self.running:
            self._tasks.start(self._daily(), "daily-purge")

    async def stop(self) -> None:
        await self._tasks.cancel_all()

    @property
    def running(self) -> bool:
        """Whether the daily purge is scheduled."""
        return len(self._tasks) > 0

    def next_at(self) -> datetime | None:
        return next_purge(self._clock(), self.settings.purge_at, self.zone) if self.settings.enabled else None

    async def _daily(self) -> None:
        while True:
            now = self._clock()
            due = next_purge(now, self.settings.purge_at, self.zone)
            await asyncio.sleep(max(0.0, (due - now).total_seconds()))
            try:
                for report in await self.purge(actor=ACTOR):
                    log.info("daily purge: removed %d records", report.total)
            except Exception:  # a database hiccup tonight must not end tomorrow's purge
                log.exception("the daily purge failed; it carries on at the next one")

    # -- periods, overview, preview -------------------------------------------------------------

    def periods(self) -> list[Period]:
        s = self.settings
        return [
            Period(Kind.RECEIPTS.value, s.receipts_days, "Receipts as sent, their sales, deliveries and attempts"),
            Period(Kind.PAYLOADS.value, s.provider_payloads_days, "Raw provider payloads and error texts"),
            Period(Kind.CAPTURES.value, s.captures_days, "Print streams captured from the POS"),
            Period(Kind.INBOUND.value, s.inbound_messages_days, "Texts customers sent the store"),
            Period(
                "contacts_after_revocation",
                s.contacts_after_revocation_days,
                "Contact details after every consent was revoked",
            ),
            Period("contacts_idle", s.contacts_idle_days, "Contact details after the customer's last visit"),
        ]

    def cutoffs(self, now: datetime | None = None) -> Cutoffs:
        s = self.settings
        return cutoffs(
            now or self._clock(),
            receipts_days=s.receipts_days,
            provider_payloads_days=s.provider_payloads_days,
            captures_days=s.captures_days,
            inbound_messages_days=s.inbound_messages_days,
            contacts_after_revocation_days=s.contacts_after_revocation_days,
            contacts_idle_days=s.contacts_idle_days,
        )

    async def overview(self) -> RetentionOverview:
        """The periods, when the next purge runs, the last finished purge and the active holds."""

        def job(session: UnitOfWork) -> tuple[PurgeReport | None, list[HoldView]]:
            last = retention.last_finished(session)
            return (_report(last) if last else None), _views(session, legal_holds.active(session), self.zone)

        last, holds = await self._db.read(job)
        return RetentionOverview(self.periods(), self.settings.enabled, self.next_at(), last, holds)

    async def preview(self) -> PurgeReport:
        """What a purge now would remove (counts only; nothing changes)."""
        cut = self.cutoffs()

        def job(session: UnitOfWork) -> dict[str, int]:
            holds = legal_holds.active(session)
            counts = retention.preview(
                session,
                holds,
                receipts=cut.receipts,
                payloads=cut.payloads,
                captures=cut.captures,
                inbound_messages=cut.inbound_messages,
            )
            counts["contacts"] = len(_contacts_due(session, holds, cut))
            return counts

        return PurgeReport(await self._db.read(job), dry_run=True)

    # -- the purge ---------------------------------------------------------------------------------

    async def purge(self, *, actor: str, progress: Progress | None = None, dry_run: bool = False) -> list[PurgeReport]:
        """Remove what retention says is due, batch by batch; first finish a run a crash cut short.

        Returns the report of each run finished (the carried-on one first); `dry_run`: one report of what
        would be removed, and nothing changes.
        """
        if dry_run:
            return [await self.preview()]
        async with self._running:
            reports = []
            left = await self._db.read(retention.unfinished)
            if left is not None:
                log.info("carrying on purge %d, cut short at %s", left.id, left.started_at)
                await self._run(left.id, Cutoffs.from_json(left.state["cutoffs"]), actor, progress)
                reports.append(await self._finish(left.id, actor, carried_on=True))
            now = self._clock()
            cut = self.cutoffs(now)
            state: dict[str, Any] = {"cutoffs": cut.as_json(), "after": {}, "done": [], "counts": {}, "digests": {}}
            run_id = await self._db.write(lambda s: retention.open_run(s, actor=actor, now=now, state=state))
            await self._run(run_id, cut, actor, progress)
            reports.append(await self._finish(run_id, actor))
            return reports

    async def _run(self, run_id: int, cut: Cutoffs, actor: str, progress: Progress | None) -> None:
        totals = (await self.preview()).counts if progress is not None else {}
        due_contacts: list[int] | None = None
        done: dict[str, int] = {}
        for step, kind in STEPS:
            if step == "contacts":
                due_contacts = await self._db.read(lambda s: _contacts_due(s, legal_holds.active(s), cut))
            while True:
                job = _Batch(run_id, step, kind, cut, self._batch, self._clock(), due_contacts)
                n, finished = await self._db.write(job)
                if n:  # the steps that keep a kind's digest: one line per record of that kind
                    done[kind] = done.get(kind, 0) + n
                    if progress is not None:
                        progress(kind.value, done[kind], max(totals.get(kind.value, 0), done[kind]))
                if finished:
                    break

    async def _finish(self, run_id: int, actor: str, *, carried_on: bool = False) -> PurgeReport:
        now = self._clock()

        def job(session: UnitOfWork) -> PurgeReport:
            run = retention.locked(session, run_id)
            if run.finished_at is None:
                state = run.state
                detail = {
                    "run": run_id,
                    "counts": state["counts"],
                    "digests": state["digests"],
                    "cutoffs": state["cutoffs"],
                    "holds": len(legal_holds.active(session)),
                }
                audit.append(
                    session, at=now, actor=actor, action="retention.purged", subject=f"purge:{run_id}", detail=detail
                )
                retention.save(session, run_id, state, finished_at=now)
                run = retention.locked(session, run_id)
            return _report(run, carried_on=carried_on)

        return await self._db.write(job)

    # -- legal holds --------------------------------------------------------------------------------

    async def holds(self) -> list[HoldView]:
        return await self._db.read(lambda s: _views(s, legal_holds.active(s), self.zone))

    async def place_hold(
        self,
        *,
        reason: str,
        actor: str,
        customer: str | None = None,
        sale_id: str | None = None,
        from_day: date | None = None,
        to_day: date | None = None,
    ) -> HoldView:
        """Hold a customer's records (by their phone or email), one sale (the POS's id), or the sales of a range of
        days (the store's dates, both included; either end may be open). Audited (`hold.placed`)."""
        reason = " ".join(reason.split())
        scopes = sum(1 for given in (customer, sale_id, from_day or to_day) if given)
        if scopes == 0:
            raise ValidationFailed("Say what the hold covers: a customer, a sale, or a range of dates.")
        if scopes > 1:
            raise ValidationFailed("A hold covers one thing: a customer, a sale or a range of dates, not several.")
        if not reason:
            raise ValidationFailed("Give the reason for the hold: it is kept with it and in the audit log.")
        if from_day and to_day and to_day < from_day:
            raise ValidationFailed("The range of dates ends before it starts.")
        contact = _contact(customer) if customer else None
        for typed in {customer or "", contact or ""} - {""}:  # the contact stays out of the audit log
            reason = reason.replace(typed, mask_contact(typed))
        from_at = datetime.combine(from_day, time(0), tzinfo=self.zone) if from_day else None
        to_at = datetime.combine(to_day + timedelta(days=1), time(0), tzinfo=self.zone) if to_day else None
        now = self._clock()

        def job(session: UnitOfWork) -> HoldView:
            detail: dict[str, Any] = {"reason": reason}
            customer_id = sale_pk = None
            if contact is not None:
                email, phone = (contact, None) if "@" in contact else (None, contact)
                customer_id = customers.find(session, loyalty_id=None, email=email, phone=phone)
                if customer_id is None:
                    raise NotFound(f"No customer has the contact {mask_contact(contact)}.")
                detail |= {"scope": "customer", "customer_id": customer_id}
            elif sale_id is not None:
                sale_pk, store = self._sale(session, sale_id.strip())
                detail |= {"scope": "sale", "sale_id": sale_id.strip(), "store_id": store}
            else:
                detail |= {"scope": "dates", "from": from_at.isoformat() if from_at else None}
                detail["to"] = to_at.isoformat() if to_at else None
            hold_id = legal_holds.place(
                session,
                reason=reason,
                placed_by=actor,
                now=now,
                customer_id=customer_id,
                sale_pk=sale_pk,
                from_at=from_at,
                to_at=to_at,
            )
            audit.append(session, at=now, actor=actor, action="hold.placed", subject=f"hold:{hold_id}", detail=detail)
            hold = legal_holds.get(session, hold_id)
            assert hold is not None
            return _views(session, [hold], self.zone)[0]

        return await self._db.write(job)

    def _sale(self, session: UnitOfWork, sale_id: str) -> tuple[int, str]:
        found = legal_holds.sales_named(session, sale_id)
        ours = [f for f in found if f[1] == self._store_id]
        if len(found) == 1 or len(ours) == 1:
            return (ours or found)[0]
        if not found:
            raise NotFound(f"There is no sale {sale_id}.")
        raise ValidationFailed(f"Sale {sale_id} was made in several stores; hold it from that store's terminal.")

    async def release_hold(self, hold_id: int, *, actor: str, reason: str = "") -> None:
        """Release an active hold: the next purge removes what it kept, if due. Audited (`hold.released`)."""
        now = self._clock()

        def job(session: UnitOfWork) -> None:
            if not legal_holds.release(session, hold_id, released_by=actor, now=now):
                raise NotFound(f"There is no active hold {hold_id}; `receiptdesk holds list` shows them.")
            detail = {"reason": " ".join(reason.split())} if reason.strip() else {}
            audit.append(session, at=now, actor=actor, action="hold.released", subject=f"hold:{hold_id}", detail=detail)

        await self._db.write(job)


@dataclass
class _Batch:
    """One batch of one step of a run, as one transaction: returns (records of the kind removed, step finished)."""

    run_id: int
    step: str
    kind: Kind
    cut: Cutoffs
    limit: int
    now: datetime
    due_contacts: list[int] | None

    def __call__(self, session: UnitOfWork) -> tuple[int, bool]:
        run = retention.locked(session, self.run_id)
        state = run.state
        if run.finished_at is not None or self.step in state["done"]:
            return 0, True
        holds = legal_holds.active(session)
        after = state["after"].get(self.step, "")
        lines, counts, last, finished = self._work(session, holds, after)
        digest = state["digests"].get(self.kind.value, DIGEST_START)
        for line in lines:
            digest = chain(digest, line)
        if lines:
            state["digests"][self.kind.value] = digest
        for name, n in counts.items():
            if n:
                state["counts"][name] = state["counts"].get(name, 0) + n
        if last is not None:
            state["after"][self.step] = last
        if finished:
            state["done"].append(self.step)
        retention.save(session, self.run_id, state)
        return len(lines), finished

    def _work(
        self, session: UnitOfWork, holds: list[LegalHold], after: Any
    ) -> tuple[list[str], dict[str, int], Any, bool]:
        cut, n = self.cut, self.limit
        if self.step == "receipts":
            found = retention.due_receipts(session, holds, before=cut.receipts, after=after or "", limit=n)
            counts = retention.remove_receipts(session, [r for r, _ in found])
            return [receipt_line(r, h) for r, h in found], counts, found[-1][0] if found else None, len(found) < n
        if self.step == "bare_sales":
            counts = retention.remove_bare_sales(session, holds, before=cut.receipts, limit=n)
            return [], counts, None, counts["sales"] < n
        if self.step == "loose":
            counts = retention.remove_loose(session, holds, before=cut.receipts, limit=n)
            return [], counts, None, max(counts.values()) < n
        if self.step.startswith("payload."):
            part = self.step.partition(".")[2]
            ids = retention.blank_payloads(session, part, holds, before=cut.payloads, after=after or "", limit=n)
            return [f"{part} {i}" for i in ids], {"payloads": len(ids)}, ids[-1] if ids else None, len(ids) < n
        if self.step == "captures":
            ids = retention.remove_captures(session, holds, before=cut.captures, after=after or "", limit=n)
            return ids, {"captures": len(ids)}, ids[-1] if ids else None, len(ids) < n
        if self.step == "inbound_messages":
            nums = retention.remove_inbound(session, holds, before=cut.inbound_messages, after=int(after or 0), limit=n)
            return [str(i) for i in nums], {"inbound_messages": len(nums)}, nums[-1] if nums else None, len(nums) < n
        return self._contacts(session, holds, int(after or 0))

    def _contacts(
        self, session: UnitOfWork, holds: list[LegalHold], after: int
    ) -> tuple[list[str], dict[str, int], Any, bool]:
        due = [c for c in self.due_contacts or [] if c > after]
        batch = due[: max(1, self.limit // 10)]  # an erasure touches many rows: smaller batches
        held = {h.customer_id for h in holds if h.customer_id is not None}
        held |= retention.customers_with_held_sales(session, holds, batch)
        erased: list[int] = []
        for customer_id in batch:
            if customer_id not in held:
                erasure.erase_customer(session, customer_id, now=self.now)
                erased.append(customer_id)
        last = batch[-1] if batch else None
        return [str(c) for c in erased], {"contacts": len(erased)}, last, len(due) <= len(batch)


def _contacts_due(session: UnitOfWork, holds: list[LegalHold], cut: Cutoffs) -> list[int]:
    """Customers whose contact details are due, none a hold covers (by customer, or through a held sale)."""
    due = erasure.customers_past_retention(session, revoked_before=cut.contacts_revoked, idle_before=cut.contacts_idle)
    held = {h.customer_id for h in holds if h.customer_id is not None}
    for i in range(0, len(due), 500):
        held |= retention.customers_with_held_sales(session, holds, due[i : i + 500])
    return [c for c in due if c not in held]


def store_zone(name: str | None) -> tzinfo:
    """The store's time zone (`[store] timezone`), or this computer's when none is set."""
    if name:
        return ZoneInfo(name)
    return datetime.now().astimezone().tzinfo or UTC


def _contact(raw: str) -> str:
    """A customer's phone number or email address, normalised as the checkout stored it."""
    raw = raw.strip()
    return normalise_email(raw) if "@" in raw else normalise_phone(raw)


def _report(run: retention.PurgeRun, *, carried_on: bool = False) -> PurgeReport:
    return PurgeReport(
        counts=dict(run.state.get("counts", {})),
        digests=dict(run.state.get("digests", {})),
        run_id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        actor=run.actor,
        carried_on=carried_on,
    )


def _views(session: UnitOfWork, holds: list[LegalHold], zone: tzinfo) -> list[HoldView]:
    names = legal_holds.sale_names(session, [h.sale_pk for h in holds if h.sale_pk is not None])
    views = []
    for h in holds:
        if h.sale_pk is not None:
            covers = f"sale {names.get(h.sale_pk, h.sale_pk)}"
        elif h.customer_id is not None:
            known = customers.load(session, h.customer_id)
            contact = known.phone or known.email
            covers = f"customer {mask_contact(contact)}" if contact else f"customer #{h.customer_id}"
        else:
            start = f"{h.from_at.astimezone(zone):%Y-%m-%d}" if h.from_at else None
            end = f"{(h.to_at.astimezone(zone) - timedelta(days=1)):%Y-%m-%d}" if h.to_at else None
            covers = (
                f"sales of {start} to {end}"
                if start and end
                else f"sales from {start} on"
                if start
                else f"sales up to {end}"
            )
        views.append(HoldView(h, covers))
    return views
