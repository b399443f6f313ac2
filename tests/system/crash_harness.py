"""What the crash tests at each point of a send share: deployments of `serve`, the sandbox as a
process, the kill at a point, and the check of what each customer received against the records.

The points and what they mean are described in `test_crash_points.py`.
"""

from __future__ import annotations

import contextlib
import random
import signal
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.sandbox.pos import make_sale
from tests.storage.pg_cluster import private_cluster, unavailable_reason
from tests.system import processes

SALES = 2
SENDS = SALES * 2  # an email and a text per sale
POINTS = ("intent", "request", "response", "settle")
ASKABLE = frozenset({"sendgrid", "twilio"})
"""Providers whose sandbox stand-ins answer a lookup: the dispatcher can ask whether they took a message."""


@dataclass(frozen=True)
class Setup:
    """Where email goes and what happens to an email in doubt its provider cannot be asked about."""

    email: str
    email_in_doubt: str = "resend"

    @property
    def name(self) -> str:
        return f"{self.email}-{self.email_in_doubt}" if self.email not in ASKABLE else self.email


SETUPS = (Setup("sendgrid"), Setup("ses", "resend"), Setup("ses", "hold"))


@dataclass
class Deployment:
    """One database and the `serve` processes on it (one on SQLite, two on PostgreSQL)."""

    tmp: Path
    sandbox_url: str
    setup: Setup
    database_url: str | None = None
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    apis: list[str] = field(default_factory=list)
    auth: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.config = processes.dispatch_settings_file(
            self.tmp / "receiptdesk.toml",
            self.sandbox_url,
            email=self.setup.email,
            in_doubt={"email": self.setup.email_in_doubt},
            database_url=self.database_url,
        )

    def data(self, index: int) -> Path:
        return self.tmp / f"data-{index}"

    def start(self, index: int) -> None:
        """Start (or start again) process `index`, each with its own data folder."""
        args = ("--config", str(self.config), "--data-dir", str(self.data(index)), "serve")
        proc, api = processes.start_logged(*args, log=self.tmp / f"serve-{index}.log")
        while len(self.servers) <= index:
            self.servers.append(proc)
            self.apis.append(api)
        self.servers[index], self.apis[index] = proc, api
        if not self.auth:
            self.auth = processes.api_headers(config=self.config, data_dir=self.data(index))

    def kill(self, index: int) -> None:
        self.servers[index].send_signal(signal.SIGKILL)
        self.servers[index].wait(10)

    def stop_all(self) -> None:
        for proc in self.servers:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)

    def sqlite_file(self) -> Path:
        return self.data(0) / "receiptdesk.db"


class Sandbox:
    """The sandbox process's faults and records, over its inspection API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def faults(self) -> dict[str, Any]:
        state: dict[str, Any] = processes.HTTP.get(f"{self.url}/_sandbox/faults").json()
        return state

    def set(self, method: str, **settings: Any) -> None:
        processes.HTTP.request(method, f"{self.url}/_sandbox/faults", json=settings).raise_for_status()

    def clear(self) -> None:
        processes.HTTP.delete(f"{self.url}/_sandbox/faults").raise_for_status()

    def counts(self, provider: str) -> dict[str, int]:
        """Messages the provider recorded per recipient (every sale has its own address and number)."""
        params = {"provider": provider, "by": "to"}
        answer = processes.HTTP.get(f"{self.url}/_sandbox/messages/counts", params=params)
        counts: dict[str, int] = answer.json()["counts"]
        return counts

    def total(self) -> int:
        return int(processes.HTTP.get(f"{self.url}/_sandbox/messages?limit=1").json()["count"])


@contextlib.contextmanager
def running_sandbox() -> Iterator[Sandbox]:
    """The provider sandbox as a process of its own (a held request outlives a killed client)."""
    proc, url = processes.start("sandbox", "--port", "0")
    try:
        yield Sandbox(url)
    finally:
        with contextlib.suppress(httpx.HTTPError):
            processes.HTTP.delete(f"{url}/_sandbox/faults")  # a held request never outlives the test
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def pg_cluster() -> Iterator[str]:
    """A private PostgreSQL cluster's URL (the test is skipped where PostgreSQL is not installed)."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with private_cluster() as url:
        yield url


def fresh_database(server_url: str) -> str:
    """A new, empty database on the cluster; its SQLAlchemy URL."""
    import psycopg

    name = f"crash_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@contextlib.contextmanager
def write_lock(deployment: Deployment) -> Iterator[None]:
    """Hold the database's write lock from outside the processes until the block ends."""
    if deployment.database_url is None:
        conn = sqlite3.connect(deployment.sqlite_file(), timeout=60, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(deployment.database_url.replace("postgresql+psycopg://", "postgresql://")) as pg:
        pg.execute("LOCK TABLE delivery_attempts IN EXCLUSIVE MODE")
        yield
        pg.rollback()


def queue_sales(deployment: Deployment, tag: str) -> list[tuple[str, str, str]]:
    """Post SALES sales, each to its own address and number; (receipt id, email, phone) of each."""
    rng = random.Random(7)
    queued = []
    for i in range(SALES):
        email, phone = f"{tag}{i}@example.com", f"+1217555{i:04d}"
        sale = make_sale(rng, sale_id=f"{tag}-{i:03d}", with_customer=False)
        sale["customer"] = {"email": email, "phone": phone, "channels": ["email", "sms"]}
        response = processes.HTTP.post(f"{deployment.apis[0]}/v1/sales", json=sale, timeout=30, headers=deployment.auth)
        assert response.status_code == 202, response.text
        queued.append((response.json()["receipt_id"], email, phone))
    return queued


def crash(point: str, deployment: Deployment, sandbox: Sandbox, *, victim: int = 0) -> None:
    """Bring every send to `point`, kill process `victim` there, and leave the sandbox as the point says."""
    if point == "response":
        processes.wait_for("not every answer was held", lambda: sandbox.faults()["answers_held"] == SENDS)
        assert sandbox.total() == SENDS  # the provider took every message
        deployment.kill(victim)
        sandbox.set("PATCH", hold_answers=False)  # to a client that is gone
        processes.wait_for("held answers not let go", lambda: sandbox.faults()["answers_held"] == 0)
        return
    processes.wait_for("not every send reached the hold", lambda: sandbox.faults()["held"] == SENDS)
    assert sandbox.total() == 0, sandbox.faults()
    if point == "intent":
        deployment.kill(victim)
        sandbox.set("PATCH", release="drop", hold=False)
        processes.wait_for(
            "held sends not dropped", lambda: (state := sandbox.faults())["held"] == 0 and state["dropped"] >= SENDS
        )
        assert sandbox.total() == 0  # the provider never got them
    elif point == "request":
        deployment.kill(victim)
        sandbox.set("PATCH", hold=False)
        processes.wait_for("held sends not handled", lambda: sandbox.total() == SENDS)
    else:  # settle: the answers reach the process, whose database write then waits on our lock
        with write_lock(deployment):
            answered = sandbox.faults()["answered"]
            sandbox.set("PATCH", hold=False)
            processes.wait_for("answers not sent", lambda: sandbox.faults()["answered"] >= answered + SENDS)
            assert sandbox.total() == SENDS
            deployment.kill(victim)


def drained(deployment: Deployment, index: int) -> Callable[[], bool]:
    def check() -> bool:
        health = processes.HTTP.get(f"{deployment.apis[index]}/v1/health", headers=deployment.auth, timeout=30).json()
        return bool(health["queue_depth"] == 0)

    return check


def check_outcome(
    point: str, deployment: Deployment, sandbox: Sandbox, queued: list[tuple[str, str, str]], api: str
) -> None:
    """What each customer received against what ReceiptDesk recorded of each delivery."""
    setup = deployment.setup
    received = {"email": sandbox.counts(setup.email), "sms": sandbox.counts("twilio")}
    for receipt_id, email, phone in queued:
        receipt = processes.HTTP.get(f"{api}/v1/receipts/{receipt_id}", headers=deployment.auth, timeout=30).json()
        assert {d["channel"] for d in receipt["deliveries"]} == {"email", "sms"}, receipt
        for delivery in receipt["deliveries"]:
            got = received[delivery["channel"]].get(email if delivery["channel"] == "email" else phone, 0)
            attempts = sorted(delivery["attempts"], key=lambda a: a["number"])
            where = (point, delivery["channel"], delivery["provider"], got, delivery["state"], attempts)
            assert attempts, where
            assert all(a["outcome"] != "sending" for a in attempts), where  # nothing left open
            assert all(a["outcome"] != "in_doubt" or a["settled_by"] for a in attempts), where  # no doubt left
            crashed = attempts[0]
            duplicates = [a for a in attempts if a["possible_duplicate"]]
            if delivery["provider"] in ASKABLE:
                # Asked, the provider settles it: exactly one message, nothing marked.
                assert delivery["state"] in ("sent", "delivered"), where
                assert got == 1, where
                expected = "lookup_not_found" if point == "intent" else "lookup_found"
                assert crashed["settled_by"] == expected, where
                assert not duplicates, where
            elif setup.email_in_doubt == "resend":
                # Not asked: sent again, the second attempt marked; the customer may have two.
                assert delivery["state"] in ("sent", "delivered"), where
                assert got == (1 if point == "intent" else 2), where
                assert crashed["settled_by"] == "resent_possible_duplicate", where
                assert [a["number"] for a in duplicates] == [2], where
            else:
                # Not asked, held: nothing goes out again until a manager decides.
                assert delivery["state"] == "held", where
                assert got == (0 if point == "intent" else 1), where
                assert crashed["settled_by"] == "held", where
                assert not duplicates and len(attempts) == 1, where


def audit_verifies(deployment: Deployment) -> None:
    verified = processes.run("audit", "verify", config=deployment.config, data_dir=deployment.data(0))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def faults_for(point: str) -> dict[str, Any]:
    return {"hold_answers": True} if point == "response" else {"hold": True}


def cases(setups: tuple[Setup, ...], everyday: set[tuple[str, str]]) -> list[Any]:
    """Every point × setup; those not in `everyday` run only with `-m exhaustive` (`make test-crash`)."""
    return [
        pytest.param(
            point,
            setup,
            id=f"{point}-{setup.name}",
            marks=() if (point, setup.name) in everyday else pytest.mark.exhaustive,
        )
        for setup in setups
        for point in POINTS
    ]
