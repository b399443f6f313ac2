"""A private PostgreSQL database, on a cluster of the test process's own in a temporary folder, for tests
about PostgreSQL."""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unavailable_reason() -> str | None:
    if not (find_bin("initdb") and find_bin("pg_ctl")):
        return "PostgreSQL server binaries (initdb, pg_ctl) not found; `make test` installs them as root"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser, and initdb refuses root"
    return None


_TEMPLATES: dict[str, Path] = {}
"""The data folder `initdb` made in this process, by initdb binary: every cluster starts as a copy of it."""


def _template(initdb: str, prefix: list[str]) -> Path:
    made = _TEMPLATES.get(initdb)
    if made is not None and made.exists():
        return made
    root = Path(tempfile.mkdtemp(prefix="receiptdesk-pg-template-"))
    if prefix:
        shutil.chown(root, "postgres")
    data = root / "data"
    subprocess.run(
        [*prefix, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    atexit.register(shutil.rmtree, root, True)
    _TEMPLATES[initdb] = data
    return data


def _start_cluster() -> str:
    """Start a throw-away cluster, stopped and deleted when this process exits; the URL of its `postgres` database."""
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    assert initdb and pg_ctl
    root = Path(tempfile.mkdtemp(prefix="receiptdesk-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb will not run as root: run the cluster as the postgres user
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    # A copy of a cluster this process made once: initdb takes about a second, a copy a twentieth.
    subprocess.run([*prefix, "cp", "-a", str(_template(initdb, prefix)), str(data)], check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off"
    subprocess.run(
        [*prefix, pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"],
        check=True,
        capture_output=True,
    )

    def stop() -> None:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


_CLUSTER: list[str] = []
"""The URL of this process's cluster, once started (see `private_cluster`)."""


@contextmanager
def private_cluster() -> Iterator[str]:
    """Yield the SQLAlchemy URL of a new, empty database that nothing else uses, and drop it afterwards.

    Its cluster is this process's own (each pytest worker has one), started on first use and stopped
    when the process exits: a test sees only its own database, and the suite starts a cluster per
    worker instead of one per test module (each start and stop takes about a second).
    """
    import psycopg

    if not _CLUSTER:
        _CLUSTER.append(_start_cluster())
    server = _CLUSTER[0]
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
