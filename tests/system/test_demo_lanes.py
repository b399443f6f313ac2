"""`receiptdesk demo --headless --lanes 3` as a user runs it: a real process that starts a hub, three lanes and
the sandbox as processes of their own, and prints figures that agree with each other. The hub runs on the
suite's private PostgreSQL cluster, as a store's does (on the demo's own SQLite where PostgreSQL is missing):
lanes offline with a backlog, a choice and a STOP crossing lanes, all on real processes."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys

from tests.storage.pg_cluster import private_cluster, unavailable_reason
from tests.system.processes import ROOT, env

SALES = 20


def test_the_lanes_demo_puts_every_sale_on_the_hub_and_carries_a_choice_and_a_stop_across_lanes() -> None:
    command = [sys.executable, "-m", "app", "demo", "--headless", "--lanes", "3", "--sales", str(SALES), "--json"]
    with contextlib.ExitStack() as stack:
        if unavailable_reason() is None:
            command += ["--hub-database", stack.enter_context(private_cluster())]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    lanes = ["store-0042/1", "store-0042/2", "store-0042/3"]
    # the story's customer buys twice at lane 1 (their choice, then after their STOP) and once at lane 2
    assert figures["sales_per_lane"] == dict(zip(lanes, [SALES + 2, SALES + 1, SALES], strict=True))
    assert figures["hub_receipts_per_lane"] == figures["sales_per_lane"]
    assert figures["backlog_at_end"] == dict.fromkeys(lanes, 0)
    assert figures["parked"] == 0
    assert figures["pos_errors"] == []
    assert figures["preference"]["lane_2_sent_without_a_tap"] == ["sms"]
    assert figures["preference"]["reached_lane_2_s"] is not None
    assert figures["stop"]["texted_to"] == "store-0042/3"
    assert set(figures["stop"]["reached_s"]) == {"store-0042/1", "store-0042/2"}
    assert "sms" not in figures["stop"]["next_sale_channels"]
    outage = figures["outage"]
    assert outage["lane"] == "store-0042/2"
    assert outage["sales_while_offline"] > 0
    assert outage["catch_up_records"] > 0  # what lane 2 rang while offline waited for the hub, then got there
    assert figures["lane_to_hub_online"]["sales"] > 0
