"""Exporting receipts of a date range to CSV, off the event loop, with progress.

One row per delivery (a receipt without deliveries gets one row with an empty channel). Contacts
are masked: the file leaves the till. The file appears under its name only when complete, and
then the audit log says who exported what (`records.exported`).
"""

from __future__ import annotations

import asyncio
import csv
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from app.domain.clock import Clock, utcnow
from app.domain.contacts import mask_contact
from app.domain.errors import ConfigurationError, ValidationFailed
from app.storage import audit, receipts
from app.storage.database import Database, UnitOfWork

HEADER = (
    "created_at",
    "sale_id",
    "receipt_id",
    "store_id",
    "lane",
    "total",
    "channel",
    "recipient",
    "state",
    "attempts",
    "last_error",
)
PAGE = 500

Progress = Callable[[int, int], None]
"""Called on the event loop as `progress(receipts_done, receipts_total)`."""

Row = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where the CSV went and what it holds."""

    path: Path
    receipts: int
    rows: int


async def export_receipts_csv(
    db: Database,
    path: Path,
    *,
    since: datetime,
    until: datetime,
    actor: str,
    progress: Progress | None = None,
    page: int = PAGE,
    clock: Clock = utcnow,
) -> ExportResult:
    """Write every receipt created in [since, until) to `path` as CSV, audit it, and return what was written.

    Reads page by page on the database reader threads and writes on a worker thread, so the
    event loop (and the kiosk UI) stays free. Raises `ValidationFailed` for an empty range and
    `ConfigurationError` when the file cannot be written.
    """
    if until <= since:
        raise ValidationFailed("The export range ends before it starts.", field="until")
    total = await db.read(lambda s: receipts.count_created(s, since=since, until=until))
    if progress is not None:
        progress(0, total)
    partial = path.with_name(path.name + ".partial")
    handle = await _open(partial)
    done = rows = 0
    after: tuple[datetime, str] | None = None
    try:
        writer = csv.writer(handle)
        await asyncio.to_thread(writer.writerow, HEADER)
        while True:
            batch = await db.read(functools.partial(_page, since=since, until=until, after=after, limit=page))
            if not batch:
                break
            lines = [line for _, _, receipt_lines in batch for line in receipt_lines]
            await asyncio.to_thread(writer.writerows, lines)
            done, rows = done + len(batch), rows + len(lines)
            after = (batch[-1][0], batch[-1][1])
            if progress is not None:
                progress(done, max(total, done))
        await asyncio.to_thread(_finish, handle, partial, path)
    except BaseException:
        await asyncio.to_thread(_discard, handle, partial)
        raise
    detail = {
        "file": path.name,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "receipts": done,
        "rows": rows,
    }
    now = clock()
    await db.write(
        lambda s: audit.append(s, at=now, actor=actor, action="records.exported", subject="receipts", detail=detail)
    )
    return ExportResult(path, done, rows)


async def _open(partial: Path) -> IO[str]:
    try:
        return await asyncio.to_thread(partial.open, "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"Cannot write {partial.parent}: {exc.strerror}. Choose another folder.") from None


def _finish(handle: IO[str], partial: Path, path: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(partial, path)


def _discard(handle: IO[str], partial: Path) -> None:
    handle.close()
    partial.unlink(missing_ok=True)


def _page(
    session: UnitOfWork, *, since: datetime, until: datetime, after: tuple[datetime, str] | None, limit: int
) -> list[tuple[datetime, str, list[Row]]]:
    """The next `limit` receipts after `after` (keyset order: created_at, id), each with its CSV lines."""
    out: list[tuple[datetime, str, list[Row]]] = []
    for receipt in receipts.created_page(session, since=since, until=until, after=after, limit=limit):
        base = (
            receipt.created_at.astimezone().isoformat(timespec="seconds"),
            receipt.sale_id,
            receipt.receipt_id,
            receipt.store_id,
            receipt.lane,
            f"{receipt.total:.2f}",
        )
        lines = [
            (*base, d.channel.value, mask_contact(d.recipient), d.state.value, str(d.attempts), d.last_error or "")
            for d in receipt.deliveries
        ] or [(*base, "", "", "", "", "")]
        out.append((receipt.created_at, receipt.receipt_id, [tuple(_cell(v) for v in line) for line in lines]))
    return out


def _cell(value: str) -> str:
    """Defuse spreadsheet formulas: a cell starting with = + - @ is read as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
