"""`customers find|export|forget` (a customer's rights) and `archive export|verify` (an auditor's archive)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands.common import os_actor, with_database
from app.domain.errors import ValidationFailed

if TYPE_CHECKING:
    from app.main.database_only import DatabaseRuntime
    from app.services.customer_rights import CustomerRightsService


def rights(runtime: DatabaseRuntime) -> CustomerRightsService:
    from app.services.customer_rights import CustomerRightsService

    return CustomerRightsService(runtime.db, store_name=runtime.settings.store.name)


def customers_find(args: argparse.Namespace) -> int:
    found = with_database(args, lambda r: rights(r).find(args.contact, actor=os_actor()))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "customer_id": c.customer_id,
                        "name": c.name,
                        "contacts": [{"kind": k.kind, "value": k.masked} for k in c.contacts],
                        "sales": c.sales,
                        "last_sale_at": c.last_sale_at.isoformat() if c.last_sale_at else None,
                        "legal_holds": [{"id": h.id, "reason": h.reason} for h in c.holds],
                    }
                    for c in found
                ],
                indent=2,
            )
        )
        return 0
    if not found:
        print("No customer is recorded with that contact.")
        return 0
    for c in found:
        last = f"last sale {c.last_sale_at.astimezone():%Y-%m-%d}" if c.last_sale_at else "no sale"
        contacts = ", ".join(k.masked for k in c.contacts) or "no contact"
        print(f"customer {c.customer_id}  {c.name or '(no name)'}  {contacts}  {c.sales} sale(s), {last}")
        for h in c.holds:
            print(f"  under legal hold {h.id}: {h.reason}")
    return 0


def customers_export(args: argparse.Namespace) -> int:
    done = with_database(args, lambda r: rights(r).export(args.contact, Path(args.out), actor=os_actor()))
    print(f"Wrote {done.json_path} and {done.html_path}: {done.receipts} receipt(s) of {done.customers} customer(s).")
    return 0


def customers_forget(args: argparse.Namespace) -> int:
    done = with_database(args, lambda r: rights(r).forget(args.contact, reason=args.reason, actor=os_actor()))
    counts = ", ".join(f"{table} {n}" for table, n in sorted(done.counts.items()))
    who = ", ".join(str(i) for i in done.customer_ids)
    print(f"Forgot customer {who}: contact details and name erased; receipts kept without them ({counts}).")
    return 0


def archive_export(args: argparse.Namespace) -> int:
    from app.services.archive import export_archive

    since, until = day_start(args.since, "from"), day_start(args.until, "to", end=True)
    shown = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if shown:
            print(f"\rArchiving receipts: {done} of {total}", end="", file=sys.stderr, flush=True)

    result = with_database(
        args,
        lambda r: export_archive(r.db, Path(args.out), since=since, until=until, actor=os_actor(), progress=progress),
    )
    if shown:
        print(file=sys.stderr)
    print(
        f"Wrote {result.path}: {result.receipts} receipt(s), {result.consents} consent record(s), "
        f"{result.audit_entries} audit entr{'y' if result.audit_entries == 1 else 'ies'}."
    )
    return 0


def archive_verify(args: argparse.Namespace) -> int:
    from app.services.archive import verify_archive

    problems = verify_archive(Path(args.file))
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{Path(args.file).name} is whole: every file matches its manifest and the audit segment's chain holds.")
    return 0


def day_start(value: str, name: str, *, end: bool = False) -> datetime:
    """A date (`2026-11-01`, the store's local midnight; with `end`, the midnight after it, so the day is in)
    or a date and time (ISO 8601, as it is)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + (timedelta(days=1) if end else timedelta())
            return datetime.combine(day, time(0)).astimezone()
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"--{name}: {value!r} is not a date (2026-11-01) or an ISO 8601 time.") from None
    return parsed if parsed.tzinfo else parsed.astimezone()
