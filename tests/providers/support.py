"""What every provider test shares: the recorded payloads, and a client that must not reach the network."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"


def fixture(name: str) -> Any:
    """A recorded provider payload from `tests/fixtures/providers/`."""
    return json.loads((FIXTURES / name).read_text())


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected request {request.url}")


OFFLINE = httpx.AsyncClient(transport=httpx.MockTransport(_no_network))
"""For building adapters in tests that never send: any request fails the test."""


@dataclass
class Wire:
    """The outside world of one test: records every request and answers from `replies` in turn (the
    last one repeats); an exception among them is raised as the transport's failure."""

    http: httpx.AsyncClient
    replies: list[httpx.Response | Exception]
    requests: list[httpx.Request] = field(default_factory=list)

    @property
    def reply(self) -> httpx.Response | Exception:
        return self.replies[-1]

    @reply.setter
    def reply(self, value: httpx.Response | Exception) -> None:
        self.replies = [value]


@asynccontextmanager
async def open_wire(*replies: httpx.Response | Exception) -> AsyncIterator[Wire]:
    """A client whose transport is a `Wire` answering `replies` (set more on the wire as the test goes)."""
    holder: list[Wire] = []

    def handler(request: httpx.Request) -> httpx.Response:
        wire = holder[0]
        wire.requests.append(request)
        reply = wire.replies[min(len(wire.requests), len(wire.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        holder.append(Wire(http, list(replies)))
        yield holder[0]
