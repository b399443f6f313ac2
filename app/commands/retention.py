"""`retention` and `holds`: what is kept how long, the purge, and legal holds."""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import TYPE_CHECKING

from app.commands.common import os_actor, with_database
from app.domain.errors import ValidationFailed
from app.domain.retention import count_words

if TYPE_CHECKING:
    from app.main.database_only import DatabaseRuntime
    from app.services.retention import HoldView, PurgeReport, RetentionOverview

PROGRESS_EVERY_S = 1.0
"""A long purge says where it stands at most this often (and at each new kind, and at each kind's end)."""


def retention_show(args: argparse.Namespace) -> int:
    async def body(r: DatabaseRuntime) -> tuple[RetentionOverview, PurgeReport]:
        service = r.retention
        return await service.overview(), await service.preview()

    overview, preview = with_database(args, body)
    print("What is kept, and for how long ([retention] in the settings file):")
    for period in overview.periods:
        years = f" ({period.days / 365:.4g} years)" if period.days >= 365 else ""
        print(f"  {period.what:<55} {period.days:>6,} days{years}")
    if overview.next_at is None:
        print("Daily purge: off ([retention] enabled = false); `receiptdesk retention purge` runs one.")
    else:
        print(f"Daily purge: next at {overview.next_at:%Y-%m-%d %H:%M %Z} (store time), while the app runs.")
    last = overview.last
    if last is None or last.finished_at is None:
        print("Last purge: never.")
    else:
        print(
            f"Last purge: {last.finished_at.astimezone():%Y-%m-%d %H:%M} by {last.actor}: {count_words(last.counts)}."
        )
    print(f"Legal holds: {len(overview.holds)} active (`receiptdesk holds list`); what they cover is kept.")
    print(f"The next purge would remove: {count_words(preview.counts)}.")
    return 0


def retention_purge(args: argparse.Namespace) -> int:
    last_kind, last_at = [""], [0.0]

    def progress(kind: str, done: int, total: int) -> None:
        now = time.monotonic()
        if kind != last_kind[0] or done >= total or now - last_at[0] >= PROGRESS_EVERY_S:
            print(f"  {kind}: {done:,} of {total:,}", flush=True)
            last_kind[0], last_at[0] = kind, now

    if not args.dry_run:
        print("Purging what retention says is due (legal holds keep what they cover)\u2026", flush=True)
    reports = with_database(
        args, lambda r: r.retention.purge(actor=os_actor(), progress=progress, dry_run=args.dry_run)
    )
    for report in reports:
        if report.dry_run:
            print(f"A purge now would remove: {count_words(report.counts)}. Nothing was changed.")
        elif report.carried_on:
            print(f"Purge {report.run_id}, cut short earlier, finished: removed {count_words(report.counts)}.")
        else:
            print(f"Purge {report.run_id} finished: removed {count_words(report.counts)}.")
    return 0


def holds_place(args: argparse.Namespace) -> int:
    from_day, to_day = _day(args.since, "from"), _day(args.until, "to")

    async def body(r: DatabaseRuntime) -> HoldView:
        return await r.retention.place_hold(
            reason=args.reason,
            actor=os_actor(),
            customer=args.customer,
            sale_id=args.sale,
            from_day=from_day,
            to_day=to_day,
        )

    view = with_database(args, body)
    print(f"Hold {view.hold.id} placed on {view.covers}: the purge keeps it until the hold is released.")
    return 0


def holds_list(args: argparse.Namespace) -> int:
    views = with_database(args, lambda r: r.retention.holds())
    if not views:
        print("No active legal holds.")
        return 0
    print(f"{'id':>4}  {'placed':<16}  {'by':<16}  {'covers':<36}  reason")
    for v in views:
        h = v.hold
        print(
            f"{h.id:>4}  {h.placed_at.astimezone():%Y-%m-%d %H:%M}  {h.placed_by[:16]:<16}  {v.covers:<36}  {h.reason}"
        )
    return 0


def holds_release(args: argparse.Namespace) -> int:
    with_database(args, lambda r: r.retention.release_hold(args.hold_id, actor=os_actor(), reason=args.reason or ""))
    print(f"Hold {args.hold_id} released: the next purge removes what it kept, where that is due.")
    return 0


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(f"--{name}: {value!r} is not a date; write it as YYYY-MM-DD.") from None
