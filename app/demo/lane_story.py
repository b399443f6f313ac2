"""The lanes demo's story: one customer's choice and STOP crossing the lanes, then a lane's hour without its hub.

1. At lane 1 the customer buys with their phone and loyalty card and chooses texts; on the customer
   screen they ask for texts from now on (`LaneProbe.remember`). The demo times how long until lane 2
   would text them with no tap, then rings them up at lane 2 with only their loyalty card: the receipt's
   deliveries show the channel lane 2 chose.
2. They text STOP to the last lane (the sandbox's signed Twilio webhook). The demo times how long until
   every other lane holds the opt-out, then rings them up at lane 1 again: no text.
3. Lane 2's way to the hub is cut (the relay) while it rings the middle third of its sales; then given
   back. The catch-up is the time from then until the hub acknowledges every record lane 2 held.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from app.demo.waiting import until
from app.domain.channels import Channel
from app.domain.errors import Unavailable
from app.sandbox.fire import fire_twilio_text
from app.sandbox.pos import make_sale

if TYPE_CHECKING:
    from app.demo.hub_watch import HubWatch
    from app.demo.lanes import LaneRun
    from app.demo.relay import Relay


@dataclass
class Outage:
    lane_id: str = ""
    cut_at: float = 0.0  # monotonic
    restored_at: float = 0.0
    first_ack_at: float = 0.0  # the hub's first answer after the restore (the lane waits out its back-off first)
    caught_up_at: float = 0.0
    sales_offline: int = 0
    records_waiting: int = 0


@dataclass
class StoryFigures:
    preference_reach_s: float | None = None
    zero_tap_channels: list[str] = field(default_factory=list)
    stop_lane: str = ""
    stop_reach_s: dict[str, float] = field(default_factory=dict)
    after_stop_channels: list[str] = field(default_factory=list)
    outage: Outage = field(default_factory=Outage)


class Story:
    def __init__(self, runs: list[LaneRun], watch: HubWatch, relay: Relay, *, phone: str, loyalty: str) -> None:
        self._runs = runs
        self._watch = watch
        self._relay = relay
        self._phone = phone
        self._loyalty = loyalty
        self._told = asyncio.Event()
        self._restore = asyncio.Event()
        self._rng = random.Random(42)
        self.figures = StoryFigures()

    async def tell(self) -> None:
        first, second, last = self._runs[0], self._runs[1], self._runs[-1]
        try:
            await self._choice(first, second)
            await self._stop(first, last)
        finally:
            self._told.set()
        await self._restore.wait()
        await self._bring_back(second)

    async def cut_now(self) -> None:
        """Called by the offline lane's POS at its first third: the hub goes away once the customer is done."""
        await self._told.wait()
        outage = self.figures.outage
        outage.lane_id = self._runs[1].lane_id
        outage.sales_offline = -self._runs[1].sales
        self._relay.pause()
        outage.cut_at = time.monotonic()

    def may_restore(self) -> None:
        """Called by the offline lane's POS at its second third (or its end): the hub may come back."""
        self._restore.set()

    def _sale(self, run: LaneRun, tag: str, customer: dict[str, Any]) -> dict[str, Any]:
        store_id, lane = run.lane_id.split("/")
        sale = make_sale(self._rng, sale_id=f"STORY-{tag}", store_id=store_id, lane=lane, with_customer=False)
        sale["customer"] = customer
        return sale

    async def _choice(self, first: LaneRun, second: LaneRun) -> None:
        customer = {"name": "Rosa Díaz", "phone": self._phone, "loyalty_id": self._loyalty, "channels": ["sms"]}
        await first.ring(self._sale(first, "choice", customer), self._watch)
        await first.probe.remember(self._loyalty, (Channel.SMS,))
        started = time.monotonic()
        await until(
            f"The customer's choice did not reach {second.lane_id}",
            partial(_has_sms, second, self._loyalty),
        )
        self.figures.preference_reach_s = round(time.monotonic() - started, 2)
        answer = await second.ring(self._sale(second, "recognised", {"loyalty_id": self._loyalty}), self._watch)
        self.figures.zero_tap_channels = [d["channel"] for d in answer.get("deliveries", [])]

    async def _stop(self, first: LaneRun, last: LaneRun) -> None:
        self.figures.stop_lane = last.lane_id
        async with httpx.AsyncClient(timeout=30) as client:
            _, ok = await fire_twilio_text(client, app_url=str(last.client.base_url), sender=self._phone, body="STOP")
        if not ok:
            raise Unavailable(f"{last.lane_id} did not take the customer's STOP; see its log.")
        started = time.monotonic()
        others = [run for run in self._runs if run is not last]
        for run in others:
            await until(f"The STOP did not reach {run.lane_id}", partial(run.probe.texts_stopped, self._phone))
            self.figures.stop_reach_s[run.lane_id] = round(time.monotonic() - started, 2)
        answer = await first.ring(self._sale(first, "after-stop", {"loyalty_id": self._loyalty}), self._watch)
        self.figures.after_stop_channels = [d["channel"] for d in answer.get("deliveries", [])]

    async def _bring_back(self, lane: LaneRun) -> None:
        outage = self.figures.outage
        if not outage.cut_at:
            return
        self._relay.resume()
        outage.restored_at = time.monotonic()
        outage.sales_offline += lane.sales
        sync = await lane.sync()
        target = int(sync.get("acked_seq", 0)) + int(sync.get("backlog", 0))
        outage.records_waiting = int(sync.get("backlog", 0))

        before = int(sync.get("acked_seq", 0))

        async def caught_up() -> bool:
            acked = int((await lane.sync()).get("acked_seq", 0))
            if acked > before and not outage.first_ack_at:
                outage.first_ack_at = time.monotonic()
            return acked >= target

        await until(f"{lane.lane_id} did not catch up with the hub", caught_up)
        outage.caught_up_at = time.monotonic()
        outage.first_ack_at = outage.first_ack_at or outage.caught_up_at


async def _has_sms(run: LaneRun, loyalty: str) -> bool:
    return Channel.SMS in await run.probe.sends_without_asking(loyalty)
