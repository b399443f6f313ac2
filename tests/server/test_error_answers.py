"""Every error answer keeps the keep-alive connection usable: 500s, 413s, 422s and 429s, over real HTTP.

Each test talks to the embedded uvicorn through one `httpx.AsyncClient` limited to one connection and
checks, by the client's own port, that the next request rides the same TCP connection.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.main import Runtime
from app.server.errors import UnexpectedErrors
from app.server.limits import BodyLimitMiddleware
from app.server.rate_limit import OTHER, SourceBudget, WebhookRateLimit
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised

LIMIT = 1000


class Named(BaseModel):
    name: str


class Clock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def port(response: httpx.Response) -> int:
    """The client's own port: the same number means the same TCP connection."""
    address: tuple[str, int] = response.extensions["network_stream"].get_extra_info("client_addr")
    return address[1]


def small_app(*, clock: Clock | None = None, per_minute: int = 3) -> tuple[FastAPI, dict[str, int]]:
    """Routes that fail in each way, behind the API's own middlewares, and a count of bodies read."""
    app = FastAPI()
    reads = {"count": 0}

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a bug in a route")

    @app.get("/typed")
    async def typed(n: int) -> dict[str, int]:
        return {"n": n}

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.post("/model")
    async def model(body: Named) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/half")
    async def half() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"first part"
            raise RuntimeError("a bug after the answer started")

        return StreamingResponse(chunks())

    @app.post("/webhooks/{source}")
    @app.post("/webhooks/{source}/events")
    async def webhook(source: str, request: Request) -> dict[str, str]:
        await request.body()
        reads["count"] += 1
        return {"source": source}

    app.add_middleware(BodyLimitMiddleware, max_bytes=LIMIT)
    app.add_middleware(
        WebhookRateLimit,
        budget=SourceBudget(per_minute, clock=clock or Clock()),
        sources=["/webhooks/shopify", "/webhooks/sendgrid/events"],
    )
    app.add_middleware(UnexpectedErrors)
    return app, reads


@pytest.fixture
async def served() -> AsyncIterator[tuple[httpx.AsyncClient, Clock, dict[str, int]]]:
    clock = Clock()
    app, reads = small_app(clock=clock)
    server = await start_asgi_server(app, name="errors")
    async with httpx.AsyncClient(base_url=server.url, limits=httpx.Limits(max_connections=1)) as client:
        yield client, clock, reads
    await server.stop()


async def test_an_unexpected_exception_is_a_logged_json_500_and_the_connection_carries_on(
    served: tuple[httpx.AsyncClient, Clock, dict[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    client, _, _ = served
    first = await client.get("/ok")
    with caplog.at_level(logging.ERROR, logger="app.server.errors"):
        response = await client.get("/bug")
    assert response.status_code == 500
    reference = response.json()["reference"]
    assert reference in response.json()["error"] and "a bug in a route" not in response.text
    [record] = [r for r in caplog.records if reference in r.getMessage()]
    assert record.exc_info is not None and "a bug in a route" in str(record.exc_info[1])
    after = await client.get("/ok")
    assert after.status_code == 200 and port(first) == port(response) == port(after)


async def test_a_request_validation_error_stays_422(served: tuple[httpx.AsyncClient, Clock, dict[str, int]]) -> None:
    client, _, _ = served
    response = await client.get("/typed", params={"n": "not a number"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "n"]
    after = await client.get("/typed", params={"n": "7"})
    assert after.json() == {"n": 7} and port(response) == port(after)


async def chunked(size: int) -> AsyncIterator[bytes]:
    """A body without Content-Length: its size is known only once it is read."""
    for _ in range(size // 100):
        yield b"x" * 100


@pytest.mark.parametrize("path", ["/raw", "/model"])
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "chunked"])
async def test_a_body_over_the_limit_is_413_and_the_connection_carries_on(
    served: tuple[httpx.AsyncClient, Clock, dict[str, int]], path: str, declared: bool
) -> None:
    """`/model` is a route whose body FastAPI reads itself: a failed read there used to become its 400."""
    client, _, _ = served
    big = 100 * LIMIT
    content: Any = b"x" * big if declared else chunked(big)
    response = await client.post(path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.json()["detail"][0]["type"] == "too_large"
    again = await client.post("/model", json={"name": "next"})
    assert again.json() == {"name": "next"} and port(response) == port(again)


async def test_a_10_mb_body_is_413_and_the_connection_carries_on(
    served: tuple[httpx.AsyncClient, Clock, dict[str, int]],
) -> None:
    client, _, _ = served
    response = await client.post("/raw", content=b"{" * (10 * 1024 * 1024))
    assert response.status_code == 413
    after = await client.get("/ok")
    assert after.status_code == 200 and port(after) == port(response)


async def test_a_bug_after_the_answer_started_ends_that_connection_only(
    served: tuple[httpx.AsyncClient, Clock, dict[str, int]],
) -> None:
    """Half an answer cannot be taken back: the connection is closed, and the next request opens another."""
    client, _, _ = served
    first = port(await client.get("/ok"))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/half")
    after = await client.get("/ok")
    assert after.status_code == 200 and port(after) != first


async def test_a_webhook_source_beyond_its_budget_gets_429_before_its_body_is_read(
    served: tuple[httpx.AsyncClient, Clock, dict[str, int]],
) -> None:
    client, clock, reads = served
    statuses = [(await client.post("/webhooks/shopify", content=b"{}")).status_code for _ in range(3)]
    assert statuses == [200, 200, 200] and reads["count"] == 3
    refused = await client.post("/webhooks/shopify", content=b"x" * 500)
    assert refused.status_code == 429 and reads["count"] == 3  # nothing read, verified or stored
    assert refused.headers["retry-after"] == "20"  # 3 a minute: one more in 20 s
    assert "/webhooks/shopify" in refused.json()["error"]
    other_source = await client.post("/webhooks/sendgrid/events", content=b"{}")
    assert other_source.status_code == 200  # each source has its own budget
    clock.now += 19
    assert (await client.post("/webhooks/shopify", content=b"{}")).status_code == 429
    clock.now += 1
    back = await client.post("/webhooks/shopify", content=b"{}")
    assert back.status_code == 200 and port(back) == port(refused)


async def test_made_up_webhook_paths_share_one_budget_and_the_rest_of_the_api_has_none(
    served: tuple[httpx.AsyncClient, Clock, dict[str, int]],
) -> None:
    client, _, _ = served
    made_up = [(await client.post(f"/webhooks/made-up-{i}", content=b"{}")).status_code for i in range(4)]
    assert made_up == [200, 200, 200, 429]
    assert (await client.post("/webhooks/shopify", content=b"{}")).status_code == 200
    assert [(await client.get("/ok")).status_code for _ in range(10)] == [200] * 10


def test_budgets_are_per_source_and_address_and_the_table_is_bounded() -> None:
    clock = Clock()
    budget = SourceBudget(60, clock=clock, max_tracked=3)
    assert [budget.take(("/webhooks/shopify", "10.0.0.1")) for _ in range(60)] == [0.0] * 60
    assert budget.take(("/webhooks/shopify", "10.0.0.1")) == pytest.approx(1.0)
    assert budget.take(("/webhooks/shopify", "10.0.0.2")) == 0.0  # another address
    assert budget.take((OTHER, "10.0.0.1")) == 0.0  # another source
    clock.now += 0.5
    assert budget.take(("/webhooks/shopify", "10.0.0.1")) == pytest.approx(0.5)
    budget.take(("/webhooks/square", "10.0.0.9"))
    assert len(budget) == 3  # the longest idle was forgotten
    with pytest.raises(ValueError, match="at least 1"):
        SourceBudget(0)


async def test_the_api_keeps_the_connection_after_a_bug_in_a_service(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real API: a service that raises something nobody expected is a 500, and the POS carries on."""

    async def broken(receipt_id: str) -> Any:
        raise KeyError(receipt_id)

    headers = await authorised(runtime, "receipts:read")
    monkeypatch.setattr(runtime.receipts, "get", broken)
    server = await start_asgi_server(runtime.local_api(), name="api")
    try:
        async with httpx.AsyncClient(
            base_url=server.url, headers=headers, limits=httpx.Limits(max_connections=1)
        ) as client:
            response = await client.get("/v1/receipts/R-1")
            assert response.status_code == 500 and response.json()["reference"]
            health = await client.get("/v1/health")
            assert health.status_code in (200, 503) and port(health) == port(response)
    finally:
        await server.stop()
