"""A lane carrying out the resend requests its hub holds for it (`docs/hub.md`, "Requests").

With each pull (`HubPullService.also`), the lane asks `GET /v1/hub/requests?lane_id=LANE` and, for each
pending request, in order:

1. **Once.** A request this lane has not carried out yet goes through `ReceiptService.resend`, exactly as
   a manager's resend here (providers, consent, text limits), as `"<requested_by> (via hub)"` with the
   reason given; the request's id goes into `sync_requests` in the same unit of work as the delivery. A
   refusal (`ValidationFailed`, `ConsentRefused`, `TextRefused`, `NotFound`, `ConfigurationError`) is
   recorded as `failed` with its one sentence: the consent a text needs is asked at a lane, not through
   the hub.
2. **Reported.** `POST /v1/hub/requests/{id}/outcome` with the state, detail and delivery id kept in
   `sync_requests`, and `reported_at` set once the hub answers. A request already in `sync_requests` (the
   lane was stopped between queueing and reporting) is only reported again, never sent again.

A hub that cannot be reached is asked again on the next pull; health says so once it has failed
`WARN_AFTER` pulls in a row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx

from app.domain.channels import Channel
from app.domain.clock import Clock, utcnow
from app.domain.errors import ConfigurationError, NotFound, ValidationFailed
from app.services.receipts import ReceiptService
from app.storage import hub_requests
from app.storage.database import Database
from app.storage.hub_requests import Carried

log = logging.getLogger(__name__)

PATH = "/v1/hub/requests"
WARN_AFTER = 3
"""Pulls in a row whose requests could not be had or reported before health says so."""


class RequestsFailed(Exception):
    """The hub could not be asked or told: one sentence to act on."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A pending request as the hub lists it to the owning lane (`to` unmasked; empty for a reprint)."""

    id: int
    receipt_id: str
    channel: str
    to: str
    reason: str
    requested_by: str


@dataclass
class RequestsReport:
    """What one round did."""

    listed: int = 0
    carried: int = 0  # carried out now (done or failed)
    reported: int = 0


class HubRequestService:
    """Carries out this lane's requests from the hub, each at most once, and tells the hub how they went."""

    def __init__(
        self,
        db: Database,
        receipts: ReceiptService,
        http: httpx.AsyncClient,
        *,
        url: str,
        lane_id: str,
        token: Callable[[], str | None],
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._receipts = receipts
        self._http = http
        self._url = url.rstrip("/")
        self.lane_id = lane_id
        self._token = token
        self._clock = clock
        self.failures = 0  # rounds in a row that failed
        self.last_error: str | None = None

    async def after_pull(self) -> None:
        """One round, with each pull; a failure is logged and counted, and the next pull tries again."""
        try:
            await self.run()
        except RequestsFailed as exc:
            log.warning("hub requests: %s", exc)

    def warning(self) -> str | None:
        """What health shows: one sentence once rounds keep failing, else None."""
        if self.failures < WARN_AFTER or self.last_error is None:
            return None
        return f"Resend requests from the hub are not being answered: {self.last_error}"

    async def run(self) -> RequestsReport:
        """Carry out and report every pending request the hub lists for this lane (`RequestsFailed`)."""
        report = RequestsReport()
        try:
            headers = self._headers()
            listed = await self._pending(headers)
            report.listed = len(listed)
            for request in listed:
                done = await self._db.read(partial(hub_requests.carried, request_id=request.id))
                if done is None:
                    done = await self._carry_out(request)
                    report.carried += 1
                await self._report(done, headers)
                report.reported += 1
        except RequestsFailed as exc:
            self.failures += 1
            self.last_error = str(exc)
            raise
        self.failures = 0
        self.last_error = None
        return report

    async def _carry_out(self, request: Pending) -> Carried:
        """The request carried out here (once), or refused with the lane's sentence."""
        try:
            channel = Channel(request.channel)
        except ValueError:
            return await self._failed(request, f"This lane cannot send receipts by {request.channel}.")
        try:
            delivery_id = await self._receipts.resend(
                request.receipt_id,
                channel,
                request.to,
                reason=request.reason,
                actor=f"{request.requested_by} (via hub)",
                request_id=request.id,
            )
        except (ValidationFailed, NotFound, ConfigurationError) as exc:  # ConsentRefused, TextRefused among them
            return await self._failed(request, exc.message)
        return Carried(request.id, request.receipt_id, hub_requests.DONE, None, delivery_id, None)

    async def _failed(self, request: Pending, words: str) -> Carried:
        now = self._clock()
        await self._db.write(
            lambda s: hub_requests.record_carried(
                s,
                request.id,
                receipt_id=request.receipt_id,
                state=hub_requests.FAILED,
                detail=words,
                delivery_id=None,
                now=now,
            )
        )
        log.info("hub request %d refused: %s", request.id, words)
        return Carried(request.id, request.receipt_id, hub_requests.FAILED, words, None, None)

    # -- the wire --------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        token = self._token()
        if not token:
            raise RequestsFailed("No hub token is set: store one with `receiptdesk secrets set hub token`.")
        return {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, f"{self._url}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise RequestsFailed(f"The hub at {self._url} cannot be reached ({type(exc).__name__}).") from None
        if response.status_code in (401, 403):
            raise RequestsFailed("The hub refused this lane's token: give the lane a token with the hub:sync scope.")
        return response

    async def _pending(self, headers: dict[str, str]) -> list[Pending]:
        response = await self._call("GET", PATH, params={"lane_id": self.lane_id}, headers=headers)
        if response.status_code == 404:  # a hub of a version before requests: none to carry out
            log.debug("the hub at %s takes no requests", self._url)
            return []
        if response.status_code != 200:
            raise RequestsFailed(f"The hub answered {response.status_code} when asked for requests: see its log.")
        try:
            return [_pending(item) for item in response.json()]
        except (ValueError, KeyError, TypeError) as exc:
            raise RequestsFailed(f"The hub's list of requests cannot be read: {exc}.") from None

    async def _report(self, done: Carried, headers: dict[str, str]) -> None:
        body = {"lane_id": self.lane_id, "state": done.state, "detail": done.detail, "delivery_id": done.delivery_id}
        response = await self._call("POST", f"{PATH}/{done.request_id}/outcome", json=body, headers=headers)
        if response.status_code == 404:  # the hub no longer has it (restored from a backup): nothing to tell
            log.warning("the hub has no request %d any more; its outcome stays here", done.request_id)
        elif response.status_code != 200:
            raise RequestsFailed(f"The hub answered {response.status_code} to a request's outcome: see its log.")
        now = self._clock()
        await self._db.write(lambda s: hub_requests.mark_reported(s, done.request_id, now=now))


def _pending(item: Mapping[str, Any]) -> Pending:
    """One request of the wire (`ValueError`, `KeyError` or `TypeError` when malformed)."""
    return Pending(
        int(item["id"]),
        str(item["receipt_id"]),
        str(item["channel"]),
        str(item.get("to") or ""),
        str(item["reason"]),
        str(item["requested_by"]),
    )
