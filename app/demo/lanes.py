"""`receiptdesk demo --headless --lanes N`: a hub and N lanes as separate processes, with the figures.

In a temporary folder: the provider sandbox (`receiptdesk sandbox`), a hub (`receiptdesk serve --hub` on
SQLite) and N lanes (`receiptdesk serve`, each its own data folder and hub token), lane 2 reaching its hub
through a relay the demo can cut. Then, over loopback HTTP as a POS would:

1. every lane rings its sales at a steady pace;
2. a customer chooses texts at lane 1 and is recognised at lane 2: their receipt goes by text with no tap;
3. the same customer texts STOP to lane 3 (the sandbox's signed Twilio webhook): texts stop at every lane;
4. lane 2 loses its hub while it rings a third of its sales, then gets it back and catches up.

Figures: sales per lane against receipts on the hub per lane, lane-to-hub p50/p99 while online, the
catch-up, how long the preference and the STOP took to reach the other lanes, parked records and each
lane's backlog at the end (0). Every process is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.demo import lane_setup
from app.demo.hub_watch import HubWatch
from app.demo.lane_figures import figures_of
from app.demo.lane_options import LanesOptions
from app.demo.lane_probe import LaneProbe
from app.demo.lane_story import Story
from app.demo.processes import Child, log_tail, stop_all
from app.demo.relay import Relay
from app.demo.waiting import until
from app.domain.errors import Unavailable
from app.sandbox.pos import make_sale

OFFLINE_LANE = 2
PHONE = "+13125550142"
LOYALTY = "LM-DEMO-0142"


@dataclass
class LaneRun:
    """A running lane: its plan, process, API client and database probe."""

    plan: lane_setup.LanePlan
    child: Child
    client: httpx.AsyncClient
    probe: LaneProbe
    sales: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def lane_id(self) -> str:
        return self.plan.lane_id

    async def ring(self, sale: dict[str, Any], watch: HubWatch) -> dict[str, Any]:
        """Post one sale; count it and note it for the hub's watch when the lane took it."""
        answer = await self.client.post("/v1/sales", json=sale)
        if answer.status_code != 202:
            self.errors.append(f"{self.lane_id} answered {answer.status_code}: {answer.text[:200]}")
            return {}
        self.sales += 1
        watch.rang(self.lane_id, sale["sale_id"], datetime.fromisoformat(sale["occurred_at"]))
        body: dict[str, Any] = answer.json()
        return body

    async def sync(self) -> dict[str, Any]:
        """The lane's push as its health shows it: acked_seq, backlog, parked, last_error."""
        answer = await self.client.get("/v1/health")
        hub: dict[str, Any] = answer.json().get("hub") or {}
        return hub


@contextlib.asynccontextmanager
async def _store(
    folder: Path, lanes: int, hub_database: str | None = None
) -> AsyncIterator[tuple[list[LaneRun], httpx.AsyncClient, Relay, list[Child]]]:
    """Sandbox, hub, relay and lanes up (started together); everything stopped on the way out."""
    children: list[Child] = []
    relay: Relay | None = None
    runs: list[LaneRun] = []
    try:
        sandbox = Child("sandbox", ["sandbox", "--port", "0"], log=folder / "sandbox.log", env=lane_setup.child_env())
        children.append(sandbox)
        sandbox.spawn()
        hub_plan, hub_tokens = await lane_setup.plan_hub(folder / "hub", lanes, database=hub_database)
        hub = Child("hub", hub_plan.args(), log=folder / "hub.log", env=lane_setup.child_env())
        children.append(hub)
        hub.spawn()
        plans = [await lane_setup.plan_lane(folder / f"lane{n}", n, hub_tokens[n - 1]) for n in range(1, lanes + 1)]
        sandbox_url = await sandbox.ready()
        hub_url = await hub.ready()
        host, port = hub_url.removeprefix("http://").rsplit(":", 1)
        relay = Relay(host, int(port))
        relay_url = await relay.start()
        for plan in plans:
            lane_setup.write_lane_settings(plan, sandbox_url, relay_url if plan.number == OFFLINE_LANE else hub_url)
            child = Child(
                f"lane {plan.number}",
                plan.args(),
                log=plan.folder / "lane.log",
                env=lane_setup.child_env(sandbox_url, plan.hub_token),
            )
            children.append(child)
            child.spawn()
        for plan, child in zip(plans, children[2:], strict=True):
            url = await child.ready()
            client = httpx.AsyncClient(base_url=url, timeout=30, headers={"Authorization": f"Bearer {plan.pos_token}"})
            runs.append(LaneRun(plan, child, client, LaneProbe.of_folder(plan.data)))
        async with httpx.AsyncClient(
            base_url=hub_url, timeout=30, headers={"Authorization": f"Bearer {hub_plan.reader_token}"}
        ) as hub_client:
            yield runs, hub_client, relay, children
    finally:
        for run in runs:
            await run.client.aclose()
            run.probe.close()
        if relay is not None:
            await relay.stop()
        await asyncio.to_thread(stop_all, list(reversed(children)))


async def run_lanes(options: LanesOptions) -> dict[str, Any]:
    """Run the whole lanes demo and return its figures."""
    started = time.monotonic()
    since = datetime.now(UTC) - timedelta(minutes=1)  # the receipts on the hub are this run's (a new hub)
    _cancel_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="receiptdesk-lanes-") as tmp:
        async with _store(Path(tmp), options.lanes, options.hub_database) as (runs, hub_client, relay, children):
            watch = HubWatch(hub_client, [r.lane_id for r in runs])
            story = Story(runs, watch, relay, phone=PHONE, loyalty=LOYALTY)
            tasks = [asyncio.ensure_future(watch.run())]
            try:
                ringing = [asyncio.ensure_future(_ring(run, options, watch, story)) for run in runs]
                tasks += ringing
                await asyncio.gather(story.tell(), *ringing)  # the first failure ends the wait
                await until("Not every sale reached the hub", _async(watch.all_seen))
                ends: dict[str, dict[str, Any]] = {}

                async def all_pushed() -> bool:  # every lane's backlog 0 in one look (deliveries still change)
                    ends.update({run.lane_id: await run.sync() for run in runs})
                    return not any(end.get("backlog") for end in ends.values())

                await until("The lanes still had records for the hub", all_pushed)
                hub_lanes = (await hub_client.get("/v1/hub/lanes")).json()
                on_hub = {run.lane_id: await watch.count(run.lane_id, since) for run in runs}
            except httpx.TransportError as exc:
                raise await _ended(children, exc) from None
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            took = time.monotonic() - started
            return figures_of(runs, watch, story, hub_lanes, on_hub, ends, seconds=took, rate=options.rate)


async def _ended(children: list[Child], exc: httpx.TransportError) -> Unavailable:
    """The error to show when a demo process stopped answering: which one ended (given a moment to be seen
    ended, as its connections drop first), with the end of its log."""
    deadline = time.monotonic() + 3
    while True:
        for child in children:
            if child.proc is not None and child.proc.poll() is not None:
                return Unavailable(
                    f"The {child.name} process ended during the demo (exit {child.proc.returncode}); "
                    f"the end of its log:\n{log_tail(child.log)}"
                )
        if time.monotonic() > deadline:
            return Unavailable(f"A process of the demo stopped answering ({type(exc).__name__}).")
        await asyncio.sleep(0.05)


async def _ring(run: LaneRun, options: LanesOptions, watch: HubWatch, story: Story) -> None:
    """`options.sales` sales at `options.rate` a second; the offline lane pauses at its thirds for the story."""
    rng = random.Random(options.seed * 100 + run.plan.number)
    store_id, lane = run.lane_id.split("/")
    began = time.monotonic()
    skipped = 0.0
    for i in range(options.sales):
        if run.plan.number == OFFLINE_LANE and i == options.sales // 3:
            paused = time.monotonic()
            await story.cut_now()  # the hub goes away once the story's customer is done (this lane keeps ringing)
            skipped += time.monotonic() - paused
        if run.plan.number == OFFLINE_LANE and i == 2 * options.sales // 3:
            story.may_restore()
        await asyncio.sleep(max(0.0, began + skipped + i / options.rate - time.monotonic()))
        sale = make_sale(rng, sale_id=f"D{lane}-{i + 1:05d}", store_id=store_id, lane=lane)
        await run.ring(sale, watch)
    if run.plan.number == OFFLINE_LANE:
        story.may_restore()


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def wrapped() -> bool:
        return check()

    return wrapped


def _cancel_on_sigterm() -> None:
    """SIGTERM ends the demo as Ctrl-C does: through its `finally`s, which stop every process it started."""
    task = asyncio.current_task()
    if task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows' loops take no signal handlers
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
