"""What every provider test shares: the recorded payloads, and a client that must not reach the network."""

from __future__ import annotations

import json
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
