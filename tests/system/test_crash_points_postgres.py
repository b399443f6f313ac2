"""Two `receiptdesk serve` processes sharing PostgreSQL, one killed with SIGKILL at each point of a
send (see `test_crash_points.py`): the survivor takes its sends over, and each customer gets one
message, or a second one recorded as a possible duplicate."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system import processes
from tests.system.crash_harness import (
    SENDS,
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
    fresh_database,
    pg_cluster,
    queue_sales,
    running_sandbox,
)

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    with pg_cluster() as url:
        yield url


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


# In every run: the answer heard by the killed process with nobody to record it, its sends taken over.
EVERYDAY_POSTGRES = {("settle", "sendgrid")}


@pytest.mark.parametrize(("point", "setup"), cases(SETUPS[:2], EVERYDAY_POSTGRES))
def test_postgresql_two_processes_one_killed(
    point: str, setup: Setup, tmp_path: Path, sandbox: Sandbox, pg_server: str
) -> None:
    deployment = Deployment(tmp_path, sandbox.url, setup, database_url=fresh_database(pg_server))
    try:
        deployment.start(0)
        sandbox.set("PUT", **faults_for(point))
        queued = queue_sales(deployment, f"pg-{point}-{setup.name}")
        # Process 0 has claimed every send (they wait at the sandbox) before process 1 starts: the
        # survivor takes the victim's sends over once their leases run out.
        if point == "response":
            processes.wait_for("not every answer was held", lambda: sandbox.faults()["answers_held"] == SENDS)
        else:
            processes.wait_for("not every send reached the hold", lambda: sandbox.faults()["held"] == SENDS)
        deployment.start(1)
        crash(point, deployment, sandbox, victim=0)
        sandbox.clear()
        processes.wait_for("the survivor did not drain the queue", drained(deployment, 1), timeout=120)
        deployment.start(0)  # the victim comes back to a settled queue
        processes.wait_for("the queue is not drained", drained(deployment, 0), timeout=120)
        check_outcome(point, deployment, sandbox, queued, deployment.apis[1])
        audit_verifies(deployment)
    finally:
        deployment.stop_all()
