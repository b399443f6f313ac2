"""Who may call `/v1`: tokens, scopes, revocation, the budget per token, and what the health tells
a caller without one. Over real loopback HTTP, with tokens made in the test's own database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.main import Runtime
from app.server.api import create_api
from app.server.auth import RequestBudget, bearer_token, is_json, needed_scope
from app.services.tokens import TokenService
from app.storage import audit
from app.storage.database import Database
from app.storage.models import ApiTokenRow, SaleRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import bearer

Payload = Callable[..., dict[str, Any]]


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def serving(runtime: Runtime, clock: Callable[[], float] | None = None, **api: Any) -> AsyncIterator[str]:
    """The runtime's API (with `[api]` settings changed by `api`) on a loopback port; its URL."""
    settings = runtime.settings.api.model_copy(update=api)
    app = create_api(
        runtime.checkout,
        runtime.receipts,
        runtime.health,
        tokens=runtime.tokens,
        settings=settings,
        callbacks=runtime.callbacks,
        intake=runtime.intake,
        **({"clock": clock} if clock is not None else {}),
    )
    server = await start_asgi_server(app, name="api")
    try:
        yield server.url
    finally:
        await server.stop()


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    server = await start_asgi_server(runtime.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client
    await server.stop()


async def token(runtime: Runtime, name: str, *scopes: str) -> str:
    return (await runtime.tokens.create(name, scopes, actor="tests")).token


async def sale_count(runtime: Runtime) -> int:
    return int(await runtime.db.read(lambda s: s.scalar(select(func.count()).select_from(SaleRow))))


ROUTES = [("POST", "/v1/sales"), ("GET", "/v1/receipts/R-1"), ("GET", "/v1/other"), ("DELETE", "/v1/sales")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_v1_route_but_the_health_needs_a_token(
    api: httpx.AsyncClient, runtime: Runtime, sale_payload: Payload, method: str, path: str
) -> None:
    body = sale_payload() if method == "POST" else None
    for headers in ({}, bearer("rd_not-a-token"), {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = await api.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "receiptdesk tokens create" in response.json()["error"] or "not valid" in response.json()["error"]
    assert await sale_count(runtime) == 0


async def test_without_a_token_the_health_says_only_whether_it_is_ok(api: httpx.AsyncClient, runtime: Runtime) -> None:
    bare = await api.get("/v1/health")
    assert bare.status_code == 503 and bare.json() == {"ok": False}  # nothing dispatches yet
    selling = await api.get("/v1/health", headers=bearer(await token(runtime, "till", "sales:write")))
    assert selling.json() == {"ok": False}  # a token without receipts:read sees no more
    monitor = await api.get("/v1/health", headers=bearer(await token(runtime, "monitor", "receipts:read")))
    assert monitor.status_code == 503 and {"queue_depth", "providers", "dispatcher_running"} <= set(monitor.json())
    forged = await api.get("/v1/health", headers=bearer("rd_forged"))
    assert forged.status_code == 401  # a token that is sent must be a live one

    runtime.start_dispatching()
    assert (await api.get("/v1/health")).json() == {"ok": True}
    assert (await api.get("/v1/health")).status_code == 200


async def test_a_token_without_the_scope_is_403_and_admin_may_do_everything(
    api: httpx.AsyncClient, runtime: Runtime, sale_payload: Payload
) -> None:
    reader = bearer(await token(runtime, "reader", "receipts:read"))
    refused = await api.post("/v1/sales", json=sale_payload(), headers=reader)
    assert refused.status_code == 403 and refused.json() == {
        "error": "The API token of reader may not do this: it needs the sales:write scope."
    }
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert await sale_count(runtime) == 0

    till = bearer(await token(runtime, "till"))  # sales:write by default
    accepted = await api.post("/v1/sales", json=sale_payload(), headers=till)
    assert accepted.status_code == 202
    receipt = f"/v1/receipts/{accepted.json()['receipt_id']}"
    assert (await api.get(receipt, headers=till)).status_code == 403
    assert (await api.get(receipt, headers=reader)).status_code == 200

    admin = bearer(await token(runtime, "office", "admin"))
    assert (await api.get(receipt, headers=admin)).status_code == 200
    assert (await api.post("/v1/sales", json=sale_payload("S-2"), headers=admin)).status_code == 202
    assert (await api.get("/v1/other", headers=till)).status_code == 403  # unlisted routes need admin
    assert (await api.get("/v1/other", headers=admin)).status_code == 404


async def test_a_revoked_token_is_refused_at_once_and_both_changes_are_audited(
    api: httpx.AsyncClient, runtime: Runtime, sale_payload: Payload
) -> None:
    secret = await token(runtime, "till-2", "sales:write")
    assert (await api.post("/v1/sales", json=sale_payload(), headers=bearer(secret))).status_code == 202

    client, revoked = await runtime.tokens.revoke("till-2", actor="manager")
    assert revoked and client.revoked_at is not None
    refused = await api.post("/v1/sales", json=sale_payload("S-2"), headers=bearer(secret))
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert await sale_count(runtime) == 1
    assert (await runtime.tokens.revoke("till-2", actor="manager"))[1] is False  # again: nothing changes

    entries = await runtime.db.read(lambda s: audit.recent(s, 10))
    changes = [(e.action, e.subject, e.actor, e.detail) for e in entries if e.action.startswith("token.")]
    assert changes == [
        ("token.revoked", "till-2", "manager", {"scopes": ["sales:write"]}),
        ("token.created", "till-2", "tests", {"scopes": ["sales:write"]}),
    ]
    digest = await runtime.db.read(lambda s: s.get(ApiTokenRow, "till-2").token_hash)  # type: ignore[union-attr]
    assert secret not in str([e.detail for e in entries]) and digest not in str([e.detail for e in entries])


async def test_each_token_has_its_own_budget_and_429_says_when_to_come_back(
    runtime: Runtime, sale_payload: Payload
) -> None:
    clock = Ticks()
    first, second = bearer(await token(runtime, "lane-1", "admin")), bearer(await token(runtime, "lane-2", "admin"))
    async with serving(runtime, clock, requests_per_minute=2) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/v1/receipts/nope", headers=first)).status_code == 404
        assert (await client.post("/v1/sales", json=sale_payload(), headers=first)).status_code == 202
        limited = await client.post("/v1/sales", json=sale_payload("S-2"), headers=first)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "30"
        assert "try again in 30 s" in limited.json()["error"]
        assert await sale_count(runtime) == 1
        assert (await client.get("/v1/receipts/nope", headers=second)).status_code == 404  # not lane-1's budget
        assert (await client.get("/v1/health")).status_code in (200, 503)  # no token: no budget to spend

        clock.now += 29
        assert (await client.get("/v1/receipts/nope", headers=first)).headers["retry-after"] == "1"
        clock.now += 1
        assert (await client.post("/v1/sales", json=sale_payload("S-2"), headers=first)).status_code == 202


def test_the_budget_refills_at_its_rate_up_to_a_minute_of_requests() -> None:
    clock = Ticks()
    budget = RequestBudget(60, clock=clock)
    assert all(budget.take("a") == 0 for _ in range(60))
    assert budget.take("a") == pytest.approx(1.0)
    clock.now += 0.5
    assert budget.take("a") == pytest.approx(0.5)
    clock.now += 3600
    assert sum(budget.take("a") == 0 for _ in range(100)) == 60


async def test_last_use_is_written_at_most_once_a_minute(db: Database) -> None:
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

    def clock() -> datetime:
        return now

    tokens = TokenService(db, clock=clock)
    secret = (await tokens.create("till", ["sales:write"], actor="tests")).token

    async def last_used() -> datetime | None:
        return (await tokens.list())[0].last_used_at

    assert await last_used() is None
    assert (await tokens.authenticate(secret)) is not None
    assert await last_used() == now
    first = now
    now += timedelta(seconds=30)
    await tokens.authenticate(secret)
    assert await last_used() == first  # not written again within the minute
    now += timedelta(seconds=31)
    await tokens.authenticate(secret)
    assert await last_used() == now
    now += timedelta(seconds=5)
    await tokens.authenticate(secret)
    await tokens.flush()  # at shutdown: the last use not written yet
    assert await last_used() == now
    assert await tokens.authenticate(secret + "x") is None
    assert await tokens.authenticate("") is None


async def test_names_and_scopes_are_checked_and_a_name_is_never_reused(db: Database) -> None:
    from app.domain.errors import NotFound, ValidationFailed

    tokens = TokenService(db)
    issued = await tokens.create("pos-1", ["receipts:read", "sales:write", "sales:write"], actor="tests")
    assert issued.token.startswith("rd_") and len(issued.token) > 40
    assert [s.value for s in issued.client.scopes] == ["sales:write", "receipts:read"]
    with pytest.raises(ValidationFailed, match="already exists"):
        await tokens.create("pos-1", actor="tests")
    await tokens.revoke("pos-1", actor="tests")
    with pytest.raises(ValidationFailed, match="a revoked client keeps its name"):
        await tokens.create("pos-1", actor="tests")
    with pytest.raises(ValidationFailed, match="is not a scope"):
        await tokens.create("pos-2", ["everything"], actor="tests")
    with pytest.raises(ValidationFailed, match="cannot name an API client"):
        await tokens.create("pos 2; drop", actor="tests")
    with pytest.raises(NotFound, match="There is no API client named pos-9"):
        await tokens.revoke("pos-9", actor="tests")
    stored = await db.read(lambda s: s.get(ApiTokenRow, "pos-1"))
    assert stored is not None and issued.token not in repr(vars(stored))
    assert len(stored.token_hash) == 64 and stored.scopes == "sales:write receipts:read"


async def test_the_openapi_document_declares_the_bearer_scheme(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    paths = spec["paths"]
    assert paths["/v1/sales"]["post"]["security"] == [{"bearer": ["sales:write"]}]
    assert paths["/v1/receipts/{receipt_id}"]["get"]["security"] == [{"bearer": ["receipts:read"]}]
    assert paths["/v1/health"]["get"]["security"] == [{}, {"bearer": []}]
    assert {"401", "403", "415", "429"} <= set(paths["/v1/sales"]["post"]["responses"])
    webhooks = [op for path, ops in paths.items() if path.startswith("/webhooks") for op in ops.values()]
    assert webhooks and not any("security" in op for op in webhooks)


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/v1/sales", "sales:write"),
        ("POST", "/v1/sales/", "sales:write"),
        ("GET", "/v1/receipts/abc", "receipts:read"),
        ("HEAD", "/v1/receipts/abc", "receipts:read"),
        ("GET", "/v1/health", None),
        ("POST", "/v1/health", "admin"),
        ("GET", "/v1/sales", "admin"),
        ("GET", "/v1/receipts", "admin"),
        ("PUT", "/v1/receipts/abc", "admin"),
    ],
)
def test_the_scope_each_route_needs(method: str, path: str, scope: str | None) -> None:
    needed = needed_scope(method, path)
    assert (needed.value if needed is not None else None) == scope


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer rd_abc", "rd_abc"),
        ("bearer   rd_abc ", "rd_abc"),
        ("Bearer", None),
        ("Basic rd_abc", None),
        (None, None),
    ],
)
def test_bearer_tokens_are_read_from_the_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("application/json", True),
        ("Application/JSON; charset=UTF-8", True),
        ('application/json; charset="utf-8"', True),
        ("application/json; charset=latin-1", False),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("application/jsonp", False),
        (None, False),
    ],
)
def test_only_json_bodies_are_taken(content_type: str | None, ok: bool) -> None:
    assert is_json(content_type) is ok
