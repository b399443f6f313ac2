"""A lane reading its hub (docs/hub.md, "Reading across lanes" and "Requests"): the lanes' sync state, the
store's receipts, one receipt of any lane, and resends carried out by the lane that owns the receipt.

The manager window's Store tab and `receiptdesk receipts list|show --hub` both go through `HubClient`.
Every failure is one sentence a manager can act on: no hub set, no token, the token refused, the hub
unreachable, or the hub's own one-line answer; httpx's errors are translated here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from app.domain.errors import ConfigurationError, NotFound, Unavailable, ValidationFailed

TIMEOUT_SECONDS = 10.0

NO_HUB = "This lane has no hub: set [hub] url in its settings file to see the whole store's receipts."
NO_CREDENTIAL = (
    "This lane has no token for its hub: create one on the hub with the hub:sync and receipts:read scopes and "
    "set it here with `receiptdesk secrets set hub token`."
)


_TLS: ssl.SSLContext | None = None
"""The certificates to check a hub's with, loaded once (some 20 ms) and off the event loop."""


async def _tls() -> ssl.SSLContext:
    global _TLS
    if _TLS is None:
        _TLS = await asyncio.to_thread(httpx.create_ssl_context)
    return _TLS


class HubAnswerError(Unavailable):
    """The hub answered with something other than what docs/hub.md promises."""


@dataclass(frozen=True, slots=True)
class LaneState:
    """A lane as the hub sees it (`GET /v1/hub/lanes`)."""

    lane_id: str
    last_seen_at: datetime
    backlog: int
    parked: int
    version: str | None
    skew_ms: int | None
    quiet: bool


@dataclass(frozen=True, slots=True)
class StoreReceipt:
    """A receipt of any lane (`GET /v1/hub/receipts`); `raw` is the hub's JSON for it."""

    lane_id: str
    receipt_id: str
    sale_id: str
    lane: str | None
    occurred_at: datetime
    total: Decimal
    card_last4: str | None
    state: str | None
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class HubRequestState:
    """A request made through the hub and how the owning lane says it went (`GET /v1/hub/requests/{id}`)."""

    id: int
    lane_id: str
    receipt_id: str
    channel: str | None
    to: str | None  # masked
    requested_by: str | None
    state: str  # pending, done or failed
    detail: str | None
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StoreReceiptDetail:
    """One receipt of any lane with its deliveries (recipients masked) and requests (`raw`: the hub's JSON)."""

    receipt: StoreReceipt
    deliveries: list[Mapping[str, Any]]
    requests: list[HubRequestState]
    raw: Mapping[str, Any]


class HubClient:
    """This lane's hub, read with the token the lane pushes with.

    `token` is asked for on each call (off the event loop: a keyring may block), so a token set while the
    window is open is used at once. `http` is the app's client, or None for one per call (a client costs
    little once the certificates are loaded, and nothing is left open between calls).
    """

    def __init__(
        self,
        url: str | None,
        token: Callable[[], str | None],
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.url = url.rstrip("/") if url else None
        self._token = token
        self._http = http
        self._timeout = timeout

    async def lanes(self) -> list[LaneState]:
        """Every lane the hub serves, with its sync state."""
        body = await self._get("/v1/hub/lanes", {})
        try:
            return [_lane(x) for x in _list(body)]
        except (KeyError, TypeError, ValueError):
            raise self._unexpected("the lanes") from None

    async def receipts(
        self,
        q: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        lane: str | None = None,
        limit: int = 200,
    ) -> list[StoreReceipt]:
        """The store's receipts, newest first: today's by default, or those `q` finds (sale id, last four,
        phone or email), between `since` and `until` when given."""
        params = {"limit": str(limit)}
        for name, value in (("q", q), ("since", since), ("until", until), ("lane", lane)):
            if value:
                params[name] = value.isoformat() if isinstance(value, datetime) else value
        body = await self._get("/v1/hub/receipts", params)
        try:
            return [_receipt(x) for x in _list(body)]
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise self._unexpected("the receipts") from None

    async def receipt(self, receipt_id: str, lane_id: str | None = None) -> StoreReceiptDetail:
        """One receipt of any lane: its deliveries and the requests made for it through the hub."""
        params = {"lane_id": lane_id} if lane_id else {}
        body = await self._get(f"/v1/hub/receipts/{urllib.parse.quote(receipt_id, safe='')}", params)
        try:
            return StoreReceiptDetail(
                _receipt(body),
                [dict(d) for d in body.get("deliveries", [])],
                [_request(r) for r in body.get("requests", [])],
                body,
            )
        except (AttributeError, KeyError, TypeError, ValueError, InvalidOperation):
            raise self._unexpected("the receipt") from None

    async def request_resend(
        self, lane_id: str, receipt_id: str, *, channel: str, to: str, reason: str, requested_by: str
    ) -> HubRequestState:
        """Ask the lane that owns the receipt to send it again (`to` empty for a reprint at its printer)."""
        payload = {
            "lane_id": lane_id,
            "receipt_id": receipt_id,
            "channel": channel,
            "to": to,
            "reason": reason,
            "requested_by": requested_by,
        }
        async with self._client() as (http, headers):
            answer = await self._send(http.post(self._at("/v1/hub/requests"), json=payload, headers=headers))
        return self._request_of(self._checked(answer, ok=(200, 202), what="resend"))

    async def request(self, request_id: int) -> HubRequestState:
        """A request as the hub knows it now: pending, done (queued at the lane) or failed (the lane's sentence)."""
        return self._request_of(await self._get(f"/v1/hub/requests/{request_id}", {}))

    # -- the wire --------------------------------------------------------------------------------

    def _at(self, path: str) -> str:
        assert self.url is not None
        return self.url + path

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
        if not self.url:
            raise ConfigurationError(NO_HUB)
        token = await asyncio.to_thread(self._token)
        if not token:
            raise ConfigurationError(NO_CREDENTIAL)
        headers = {"Authorization": f"Bearer {token}"}
        if self._http is not None:
            yield self._http, headers
            return
        async with httpx.AsyncClient(timeout=self._timeout, verify=await _tls()) as http:
            yield http, headers

    async def _send(self, pending: Any) -> httpx.Response:
        try:
            answer: httpx.Response = await pending
        except httpx.HTTPError:
            raise Unavailable(
                f"The hub at {self.url} did not answer: check that it is running and that this lane can reach it."
            ) from None
        return answer

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        async with self._client() as (http, headers):
            answer = await self._send(http.get(self._at(path), params=params, headers=headers))
        return self._checked(answer, ok=(200,), what="read")

    def _checked(self, answer: httpx.Response, *, ok: tuple[int, ...], what: str) -> Any:
        try:
            body = answer.json()
        except ValueError:
            body = None
        said = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
        status = answer.status_code
        resend = what == "resend"
        if status in (401, 403):
            doing, scope = (
                ("asking for resends", "receipts:resend") if resend else ("reading receipts", "receipts:read")
            )
            raise ConfigurationError(
                f"The hub at {self.url} refused this lane's token for {doing}: on the hub, make one with the "
                f"hub:sync and {scope} scopes and set it here with `receiptdesk secrets set hub token`."
            )
        if status == 404 and said:
            raise NotFound(said)
        if status in (409, 422) and said:
            raise ValidationFailed(f"The hub refused the {'resend' if resend else 'search'}: {said}")
        if status not in ok:
            raise Unavailable(
                f"The hub at {self.url} could not do that just now (HTTP {status}): try again in a minute."
            )
        return body

    def _request_of(self, body: Any) -> HubRequestState:
        try:
            return _request(body)
        except (AttributeError, KeyError, TypeError, ValueError):
            raise self._unexpected("the request") from None

    def _unexpected(self, what: str) -> HubAnswerError:
        return HubAnswerError(
            f"The hub at {self.url} answered with something other than {what}: is it the same version as this lane?"
        )


def _list(body: Any) -> list[Any]:
    if not isinstance(body, list):
        raise TypeError("not a list")
    return body


def _lane(x: Mapping[str, Any]) -> LaneState:
    skew = x.get("skew_ms")
    return LaneState(
        str(x["lane_id"]),
        _when(x["last_seen_at"]),
        int(x.get("backlog") or 0),
        int(x.get("parked") or 0),
        x.get("version"),
        None if skew is None else int(skew),
        bool(x.get("quiet")),
    )


def _receipt(x: Mapping[str, Any]) -> StoreReceipt:
    return StoreReceipt(
        str(x["lane_id"]),
        str(x["receipt_id"]),
        str(x["sale_id"]),
        x.get("lane"),
        _when(x["occurred_at"]),
        Decimal(str(x["total"])),
        x.get("card_last4"),
        x.get("state"),
        x,
    )


def _request(x: Mapping[str, Any]) -> HubRequestState:
    return HubRequestState(
        int(x["id"]),
        str(x["lane_id"]),
        str(x["receipt_id"]),
        x.get("channel"),
        x.get("to"),
        x.get("requested_by"),
        str(x["state"]),
        x.get("detail"),
        x,
    )


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("a time without its offset")
    return value
