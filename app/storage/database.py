"""Engines, and the one place database work leaves the event loop.

Writes go through a single writer thread that group-commits: jobs queued while a commit is in
flight run together in the next transaction, each inside its own SAVEPOINT, so every job is atomic
on its own (a failing job rolls back alone) while the disk sees one fsync for the whole group.
Reads run on a few reader threads. The asyncio loop (and with it the Qt UI) never waits on SQL.

SQLite's write-ahead log is checkpointed by a thread of its own (`CHECKPOINT_EVERY`), never by the
writer: a checkpoint copies the log into the database file and syncs it, and a sale whose commit
happened to run one would wait for all of that. Every commit is still synced to the log before its
caller hears of it; a checkpoint only moves what is already durable.

Both hand work over the same light way, with no executor in between: the job goes on a queue, and its
thread settles the caller's future with one `call_soon_threadsafe` (a token check reads on every API
request, so each hop counts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
T = TypeVar("T")

UnitOfWork: TypeAlias = Session
"""What a job given to `Database.write` or `Database.read` receives: one transaction (a savepoint of
the group commit when writing) that the repositories of `app.storage` run their statements in.
Services name it by this type, hand it to repositories, and never run SQL on it themselves."""

_STOP = object()
CHECKPOINT_EVERY = 32
"""Group commits between two checkpoints of SQLite's write-ahead log (a passive one: it waits for nobody)."""


@dataclass(slots=True)
class _Job:
    fn: Callable[[Session], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int, autocheckpoint: bool = True) -> Engine:
    engine = create_engine(url, pool_size=pool_size, max_overflow=0, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; take control
        # (SQLAlchemy docs, SQLite dialect: "Serializable isolation / Savepoints / Transactional DDL").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        if not autocheckpoint:  # the checkpoint thread does it
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # The writer takes the write lock up front so two processes never deadlock upgrading.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """A database at `url`: `await write(fn)` and `await read(fn)` run `fn(session)` off the loop."""

    def __init__(self, url: str, *, batch_max: int = 256, readers: int = 2) -> None:
        self.url = url
        self._checkpoints: Engine | None = None
        if url.startswith("sqlite"):
            on_file = make_url(url).database not in (None, "", ":memory:")
            self.write_engine = _sqlite_engine(url, immediate=True, pool_size=1, autocheckpoint=not on_file)
            self.read_engine = _sqlite_engine(url, immediate=False, pool_size=readers)
            if on_file:
                self._checkpoints = _sqlite_engine(url, immediate=False, pool_size=1)
        else:
            self.write_engine = create_engine(url, pool_size=2, pool_pre_ping=True)
            self.read_engine = self.write_engine
        self._commits = 0
        self._checkpoint_due = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if self._checkpoints is not None:
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="db-checkpoint", daemon=True)
            self._checkpointer.start()
        self.dialect = self.write_engine.dialect.name
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._read_queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._readers = [
            threading.Thread(target=self._reader_loop, name=f"db-read_{n}", daemon=True) for n in range(readers)
        ]
        for reader in self._readers:
            reader.start()
        self._thread = threading.Thread(target=self._writer_loop, name="db-writer", daemon=True)
        self._thread.start()
        self._closed = False

    async def write(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run `fn` in its own savepoint of the next group commit; return once it is durable."""
        if self._closed:
            raise RuntimeError("database is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, future, loop))
        return await future

    async def read(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run `fn` with a read-only session on the reader pool."""
        if self._closed:
            raise RuntimeError("database is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._read_queue.put(_Job(fn, future, loop))
        return await future

    def read_sync(self, fn: Callable[[UnitOfWork], T]) -> T:
        with Session(self.read_engine, expire_on_commit=False) as session, session.begin():
            return fn(session)

    def close(self) -> None:
        """Finish queued writes, then release every connection."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        if self._checkpointer is not None:
            self._checkpoint_due.set()  # a last one, then the thread ends (it sees `_closed`)
            self._checkpointer.join()
        if self._checkpoints is not None:
            self._checkpoints.dispose()
        for _ in self._readers:
            self._read_queue.put(_STOP)
        for reader in self._readers:
            reader.join()
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()

    # -- reader threads ----------------------------------------------------------------------

    def _reader_loop(self) -> None:
        while (job := self._read_queue.get()) is not _STOP:
            try:
                value, error = self.read_sync(job.fn), None
            except Exception as exc:
                value, error = None, exc
            with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody is waiting
                job.loop.call_soon_threadsafe(_settle, job.future, value, error)

    # -- checkpoint thread -------------------------------------------------------------------

    def _checkpoint_loop(self) -> None:
        assert self._checkpoints is not None
        while True:
            self._checkpoint_due.wait()
            self._checkpoint_due.clear()
            try:
                raw = self._checkpoints.raw_connection()
                try:
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # type: ignore[union-attr]
                finally:
                    raw.close()
            except Exception:  # the log only grows until the next one: a figure, not a fault
                log.warning("could not checkpoint the database's write-ahead log", exc_info=True)
            if self._closed:
                return

    def _committed(self) -> None:
        self._commits += 1
        if self._checkpointer is not None and self._commits >= CHECKPOINT_EVERY:
            self._commits = 0
            self._checkpoint_due.set()

    # -- writer thread -----------------------------------------------------------------------

    def _writer_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self._batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                jobs.append(nxt)
            self._run_batch(jobs)
            if stop:
                return

    def _run_batch(self, jobs: list[_Job]) -> None:
        for attempt in range(3):
            try:
                outcomes = self._commit_group(jobs)
                self._committed()
                break
            except OperationalError as exc:  # e.g. "database is locked" beyond busy_timeout
                if attempt == 2:
                    outcomes = [(None, exc)] * len(jobs)
                    break
                log.warning("group commit failed (%s); trying again", exc.orig)
            except Exception as exc:
                log.exception("group commit failed")
                outcomes = [(None, exc)] * len(jobs)
                break
        # One wake-up of each waiting loop for the whole group, rather than one per job.
        settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        for job, (value, error) in zip(jobs, outcomes, strict=True):
            settled.setdefault(job.loop, []).append((job.future, value, error))
        for loop, results in settled.items():
            with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody is waiting
                loop.call_soon_threadsafe(_settle_all, results)

    def _commit_group(self, jobs: list[_Job]) -> list[tuple[Any, BaseException | None]]:
        outcomes: list[tuple[Any, BaseException | None]] = []
        with Session(self.write_engine, expire_on_commit=False, autoflush=True) as session, session.begin():
            for job in jobs:
                outcomes.append(_run_job(session, job))
        return outcomes


def _run_job(session: Session, job: _Job) -> tuple[Any, BaseException | None]:
    """Run one job in its own savepoint; a unique key another process took between the job's check and its
    insert (a webhook retried to two hub processes at once) runs the job once more, when its check sees it."""
    for attempt in (1, 2):
        try:
            with session.begin_nested():
                return job.fn(session), None
        except OperationalError:
            raise
        except IntegrityError as exc:
            if attempt == 2:
                return None, exc
            log.info("a unique key was taken by another writer meanwhile; running the job again")
        except Exception as exc:
            return None, exc
    raise AssertionError("unreachable")


def _settle_all(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in results:
        _settle(future, value, error)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
