"""When each sale reached the hub: the lanes demo asks the hub's receipts (`GET /v1/hub/receipts`) every
`every` seconds, per lane, from the oldest sale the hub has not shown yet, and notes when it first sees
each sale id. A sale's lane-to-hub time is that moment less the moment its lane accepted it, so it is
measured to within `every`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import httpx

POLL_EVERY = 0.1
"""Seconds between two looks at the hub's receipts."""
PAGE = 500
MAX_PAGES = 20


class HubWatch:
    """Sales rung (sale id -> accepted at, monotonic) and seen on the hub (-> first seen), per lane."""

    def __init__(self, client: httpx.AsyncClient, lanes: list[str], *, every: float = POLL_EVERY) -> None:
        self._client = client
        self.every = every
        self.rung: dict[str, dict[str, float]] = {lane: {} for lane in lanes}
        self.rung_at: dict[str, dict[str, datetime]] = {lane: {} for lane in lanes}
        self.seen: dict[str, dict[str, float]] = {lane: {} for lane in lanes}
        self.errors: list[str] = []

    def rang(self, lane: str, sale_id: str, occurred_at: datetime) -> None:
        self.rung[lane][sale_id] = time.monotonic()
        self.rung_at[lane][sale_id] = occurred_at

    def missing(self, lane: str) -> set[str]:
        return set(self.rung[lane]) - set(self.seen[lane])

    def all_seen(self) -> bool:
        return not any(self.missing(lane) for lane in self.rung)

    async def run(self) -> None:
        """Look until cancelled."""
        while True:
            await asyncio.gather(*(self.look(lane) for lane in self.rung))
            await asyncio.sleep(self.every)

    async def count(self, lane: str, since: datetime) -> int:
        """The receipts the hub holds of `lane` since `since`, counted page by page (its own count, beside
        the sales the watch saw arrive)."""
        ids: set[str] = set()
        params = {"lane": lane, "since": since.isoformat(), "limit": str(PAGE)}
        while True:
            answer = await self._client.get("/v1/hub/receipts", params=params)
            answer.raise_for_status()
            page = answer.json()
            ids.update(str(r["receipt_id"]) for r in page)
            if len(page) < PAGE:
                return len(ids)
            params["until"] = page[-1]["occurred_at"]

    async def look(self, lane: str) -> None:
        waiting = self.missing(lane)
        if not waiting:
            return
        since = min(self.rung_at[lane][s] for s in waiting) - timedelta(seconds=1)
        params = {"lane": lane, "since": since.isoformat(), "limit": str(PAGE)}
        for _ in range(MAX_PAGES):  # newest first: page back while pages come full
            try:
                answer = await self._client.get("/v1/hub/receipts", params=params)
            except httpx.HTTPError as exc:
                self.errors.append(f"the hub did not answer ({type(exc).__name__})")
                return
            if answer.status_code != 200:
                self.errors.append(f"the hub answered {answer.status_code}: {answer.text[:200]}")
                return
            now = time.monotonic()
            page = answer.json()
            for receipt in page:
                sale_id = receipt.get("sale_id")
                if sale_id in waiting:
                    self.seen[lane].setdefault(sale_id, now)
            if len(page) < PAGE:
                return
            params["until"] = page[-1]["occurred_at"]
