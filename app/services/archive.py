"""An archive for auditors: one zip of a date range that checks itself with nothing but the file.

The zip holds, as JSON lines (one record a line, UTF-8):
- `receipts.jsonl`: every receipt created in the range as sent (subject, text, HTML, SMS body, content
  hash), with its sale's key figures, its deliveries (recipients masked), their attempts and events;
- `consents.jsonl`: the consent ledger's rows recorded in the range (contacts masked);
- `audit.jsonl`: the audit chain's segment covering the range, entries with `prev_hash` and `hash`:
  each entry's hash recomputes (`app.domain.audit.entry_hash`), each links to the one before, and the
  first one's `prev_hash` anchors the segment in the store's full chain;
- `manifest.json`: the range, when it was made, the app's version, and the SHA-256, size and record
  count of every other file. The manifest's own SHA-256 is the zip's comment and is written in the
  audit log's `archive.exported` entry, so the store's chain vouches for the archive it made.

`verify_archive` finds every problem: a file changed, missing or added, a hash that does not
recompute, a link that does not hold. Export reads page by page and writes the zip as it goes, so a
range of any size is never held in memory. The export is audited (`archive.exported`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from app import __version__
from app.domain.audit import entry_hash
from app.domain.clock import Clock, utcnow
from app.domain.contacts import mask_contact
from app.domain.errors import ConfigurationError, ValidationFailed
from app.storage import audit, receipts, record_docs
from app.storage.database import Database, UnitOfWork

FORMAT = "receiptdesk-archive/1"
MANIFEST = "manifest.json"
RECEIPTS, CONSENTS, AUDIT = "receipts.jsonl", "consents.jsonl", "audit.jsonl"
FILES = (RECEIPTS, CONSENTS, AUDIT)
PAGE = 200
COMMENT_PREFIX = "ReceiptDesk archive; manifest.json SHA-256 "

Progress = Callable[[int, int], None]
"""Called as `progress(receipts_done, receipts_total)` (on the event loop)."""


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    path: Path
    receipts: int
    consents: int
    audit_entries: int
    manifest_sha256: str  # also the zip's comment, and in the audit log's `archive.exported` entry


async def export_archive(
    db: Database,
    out: Path,
    *,
    since: datetime,
    until: datetime,
    actor: str,
    progress: Progress | None = None,
    clock: Clock = utcnow,
    page: int = PAGE,
) -> ArchiveResult:
    """Write the archive of [since, until) to `out` (in place only when complete); audited."""
    if until <= since:
        raise ValidationFailed("The archive's range ends before it starts.", field="to")
    loop = asyncio.get_running_loop()
    report: Progress | None = None
    if progress is not None:
        callback = progress

        def report(done: int, total: int) -> None:
            loop.call_soon_threadsafe(callback, done, total)

    made_at = clock()
    result = await asyncio.to_thread(_write, db, out, since, until, made_at, report, page)
    detail = {
        "file": out.name,
        "from": since.isoformat(),
        "to": until.isoformat(),
        "receipts": result.receipts,
        "consents": result.consents,
        "audit_entries": result.audit_entries,
        "manifest_sha256": result.manifest_sha256,
    }
    await db.write(
        lambda s: audit.append(s, at=clock(), actor=actor, action="archive.exported", subject="archive", detail=detail)
    )
    return result


def verify_archive(path: Path) -> list[str]:
    """Every problem found in the archive at `path`, one sentence each; empty when it is whole."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        return [f"There is no file {path}."]
    except (zipfile.BadZipFile, OSError):
        return [f"{path.name} is not a zip archive."]
    with archive:
        names = archive.namelist()
        if MANIFEST not in names:
            return [f"{path.name} has no {MANIFEST}: it is not a ReceiptDesk archive, or it was cut short."]
        problems: list[str] = []
        comment = archive.comment.decode("ascii", "replace")
        if not comment.startswith(COMMENT_PREFIX):
            problems.append("The zip's comment, which holds the manifest's SHA-256, is missing or changed.")
        elif _sha256_member(archive, MANIFEST) != comment.removeprefix(COMMENT_PREFIX):
            problems.append(f"{MANIFEST} was changed: its SHA-256 does not match the one in the zip's comment.")
        try:
            manifest = json.loads(archive.read(MANIFEST))
            listed: dict[str, dict[str, Any]] = manifest["files"]
        except (ValueError, KeyError, TypeError, zipfile.BadZipFile):
            return [*problems, f"{MANIFEST} cannot be read, so no other file can be checked."]
        if manifest.get("format") != FORMAT:
            problems.append(f"{MANIFEST} names format {manifest.get('format')!r}, not {FORMAT}.")
        for name in names:
            if name != MANIFEST and name not in listed:
                problems.append(f"{name} is in the archive but not in the manifest (a file was added).")
        for name, expected in listed.items():
            if name not in names:
                problems.append(f"{name} is listed in the manifest but missing from the archive.")
                continue
            try:
                digest = _sha256_member(archive, name)
            except (zipfile.BadZipFile, OSError, ValueError):
                problems.append(f"{name} cannot be read (the zip is damaged).")
                continue
            if digest != expected.get("sha256"):
                problems.append(f"{name} was changed: its SHA-256 does not match the manifest.")
        if AUDIT in names and AUDIT in listed:
            problems += _audit_problems(archive, manifest.get("audit") or {})
        return problems


def _write(
    db: Database, out: Path, since: datetime, until: datetime, made_at: datetime, progress: Progress | None, page: int
) -> ArchiveResult:
    partial = out.with_name(out.name + ".partial")
    try:
        archive = zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED)
    except OSError as exc:
        raise ConfigurationError(f"Cannot write {out.parent}: {exc.strerror}. Choose another folder.") from None
    try:
        with archive:
            files: dict[str, dict[str, Any]] = {}
            total = db.read_sync(lambda s: receipts.count_created(s, since=since, until=until))
            if progress is not None:
                progress(0, total)
            files[RECEIPTS] = _member(archive, RECEIPTS, _receipts(db, since, until, total, progress, page))
            files[CONSENTS] = _member(archive, CONSENTS, _consents(db, since, until, page))
            segment: list[dict[str, Any]] = []  # its first and last entries, as they pass
            files[AUDIT] = _member(archive, AUDIT, _audit(db, since, until, page * 10, segment))
            manifest = {
                "format": FORMAT,
                "app_version": __version__,
                "made_at": made_at.isoformat(),
                "from": since.isoformat(),
                "to": until.isoformat(),
                "files": files,
                "audit": {
                    "first_seq": segment[0]["seq"] if segment else None,
                    "first_prev_hash": segment[0]["prev_hash"] if segment else None,
                    "last_seq": segment[-1]["seq"] if segment else None,
                    "last_hash": segment[-1]["hash"] if segment else None,
                },
            }
            text = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
            archive.writestr(MANIFEST, text)
            manifest_hash = hashlib.sha256(text).hexdigest()
            archive.comment = f"{COMMENT_PREFIX}{manifest_hash}".encode("ascii")
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ArchiveResult(
        out, files[RECEIPTS]["records"], files[CONSENTS]["records"], files[AUDIT]["records"], manifest_hash
    )  # fmt: skip


def _receipts(
    db: Database, since: datetime, until: datetime, total: int, progress: Progress | None, page: int
) -> Iterator[dict[str, Any]]:
    after: tuple[datetime, str] | None = None
    done = 0
    while True:

        def read(session: UnitOfWork, after: tuple[datetime, str] | None = after) -> list[dict[str, Any]]:
            return record_docs.receipts_page(session, since=since, until=until, after=after, limit=page)

        batch = db.read_sync(read)
        if not batch:
            return
        for doc in batch:
            for delivery in doc["deliveries"]:
                delivery["recipient"] = mask_contact(delivery["recipient"])
            yield doc
        done += len(batch)
        if progress is not None:
            progress(done, max(total, done))
        last = batch[-1]
        after = (datetime.fromisoformat(last["created_at"]), last["receipt_id"])


def _consents(db: Database, since: datetime, until: datetime, page: int) -> Iterator[dict[str, Any]]:
    after: int | None = None
    while True:

        def read(session: UnitOfWork, after: int | None = after) -> list[dict[str, Any]]:
            return record_docs.consent_docs(session, since=since, until=until, after_id=after, limit=page)

        batch = db.read_sync(read)
        if not batch:
            return
        for doc in batch:
            yield {**doc, "contact": mask_contact(doc["contact"]) if doc["contact"] else None}
        after = batch[-1]["id"]


def _audit(
    db: Database, since: datetime, until: datetime, page: int, ends: list[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """The segment's entries, keeping its first and last in `ends`."""
    bounds = db.read_sync(lambda s: record_docs.audit_bounds(s, since=since, until=until))
    if bounds is None:
        return
    after, last = bounds[0] - 1, bounds[1]
    while True:

        def read(session: UnitOfWork, after: int = after) -> list[dict[str, Any]]:
            return record_docs.audit_page(session, after=after, last=last, limit=page)

        batch = db.read_sync(read)
        if not batch:
            return
        for entry in batch:
            if not ends:
                ends.append(entry)
            ends[1:] = [entry]
            yield entry
        after = batch[-1]["seq"]


def _member(archive: zipfile.ZipFile, name: str, records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Write `records` as JSON lines into `name`, hashing as it goes; the manifest's entry of the file."""
    digest, size, count = hashlib.sha256(), 0, 0
    with archive.open(name, "w", force_zip64=True) as handle:
        for record in records:
            line = (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
            handle.write(line)
            digest.update(line)
            size += len(line)
            count += 1
    return {"sha256": digest.hexdigest(), "bytes": size, "records": count}


def _sha256_member(archive: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with archive.open(name) as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _audit_problems(archive: zipfile.ZipFile, anchor: dict[str, Any]) -> list[str]:
    """Each entry's hash recomputes, each links to the one before, and the ends match the manifest."""
    problems: list[str] = []
    prev: dict[str, Any] | None = None
    first: dict[str, Any] | None = None
    try:
        with archive.open(AUDIT) as raw:
            for number, line in enumerate(_lines(raw), start=1):
                try:
                    entry = json.loads(line)
                    at = datetime.fromisoformat(entry["at"])
                    recomputed = entry_hash(
                        entry["prev_hash"], entry["seq"], at, entry["actor"], entry["action"], entry["subject"],
                        entry["detail"],
                    )  # fmt: skip
                except (ValueError, KeyError, TypeError):
                    problems.append(f"{AUDIT} line {number} is not an audit entry.")
                    continue
                if recomputed != entry["hash"]:
                    problems.append(f"Audit entry {entry['seq']} was altered: its hash does not recompute.")
                if prev is not None:
                    if entry["seq"] != prev["seq"] + 1:
                        problems.append(f"Audit entry {prev['seq'] + 1} is missing from the segment.")
                    elif entry["prev_hash"] != prev["hash"]:
                        problems.append(f"Audit entry {entry['seq']} does not follow entry {prev['seq']}.")
                first = first or entry
                prev = entry
    except (zipfile.BadZipFile, OSError):
        return [f"{AUDIT} cannot be read (the zip is damaged)."]
    if first is not None and anchor.get("first_prev_hash") not in (None, first["prev_hash"]):
        problems.append("The audit segment's first entry does not match the manifest's anchor.")
    if prev is not None and anchor.get("last_hash") not in (None, prev["hash"]):
        problems.append("The audit segment ends elsewhere than the manifest says (entries were cut).")
    if (first is None) != (anchor.get("first_seq") is None):
        problems.append("The audit segment is empty but the manifest lists entries, or the reverse.")
    return problems


def _lines(handle: IO[bytes]) -> Iterator[str]:
    for line in handle:
        text = line.decode("utf-8").strip()
        if text:
            yield text
