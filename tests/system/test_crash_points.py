"""`receiptdesk serve` killed with SIGKILL at each point of a send, started again: what the customer
received and what ReceiptDesk recorded.

The sandbox decides where each send stands when the process dies, so no step races the machine:

- after the intent: the attempt is recorded and its request is held at the sandbox; the process
  dies; the held request is dropped (the provider never got it);
- after the request: the request is held; the process dies; the request is then handled (the
  provider took the message, nobody heard the answer);
- after the response: the request is handled and recorded, its answer held; the process dies;
- before the settle: the answer reached the process, whose database write is blocked (the test
  holds the write lock: SQLite `BEGIN IMMEDIATE`, PostgreSQL `LOCK TABLE ... IN EXCLUSIVE MODE`);
  the process dies with the answer unrecorded.

After the restart, a provider that can be asked (SendGrid, Twilio) gives exactly one message per
delivery and every delivery is sent; one that cannot (SES) gives one message, or two with the second
attempt marked a possible duplicate (`resend`), or the delivery held for a manager (`hold`).
On PostgreSQL two `serve` processes share the database and one of them is killed.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system import processes
from tests.system.crash_harness import (
    SETUPS,
    Deployment,
    Sandbox,
    Setup,
    audit_verifies,
    cases,
    check_outcome,
    crash,
    drained,
    faults_for,
    queue_sales,
    running_sandbox,
)

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


# In every run: the message taken with nobody to hear the answer, where the provider can be asked and
# where it cannot (resend); the answer heard with nobody to record it runs every day on PostgreSQL
# (test_crash_points_postgres.py), and here with `make test-crash`. The policies' other paths are
# covered in-process (tests/services/test_in_doubt.py).
EVERYDAY_SQLITE = {("request", "sendgrid"), ("request", "ses-resend")}


@pytest.mark.parametrize(("point", "setup"), cases(SETUPS, EVERYDAY_SQLITE))
def test_sqlite_crash_at_each_point(point: str, setup: Setup, tmp_path: Path, sandbox: Sandbox) -> None:
    deployment = Deployment(tmp_path, sandbox.url, setup)
    try:
        deployment.start(0)
        sandbox.set("PUT", **faults_for(point))
        queued = queue_sales(deployment, f"{point}-{setup.name}")
        crash(point, deployment, sandbox)
        sandbox.clear()
        deployment.start(0)
        processes.wait_for("the queue did not drain after the restart", drained(deployment, 0), timeout=120)
        check_outcome(point, deployment, sandbox, queued, deployment.apis[0])
        audit_verifies(deployment)
    finally:
        deployment.stop_all()
