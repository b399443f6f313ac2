"""`POST /v1/sales` reads its body with the bounded loader: each refusal is a 422 that says why."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.demo.wiring import sandbox_secrets
from app.main import build_runtime
from app.sandbox.server import start_sandbox
from app.support.asgi_server import start_asgi_server
from tests.conftest import authorised, fast_settings, new_database

Payload = Callable[..., dict[str, Any]]

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """One served API for the module: a refused body changes nothing, and each accepted sale has an id of its own."""
    sandbox = await start_sandbox()
    data = tmp_path_factory.mktemp("sale-bodies")
    new_database(data)
    runtime = build_runtime(fast_settings(sandbox.url), data=data, secrets=sandbox_secrets(sandbox.url))
    headers = {**await authorised(runtime, "sales:write"), "content-type": "application/json"}
    server = await start_asgi_server(runtime.local_api(), name="api")
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
        yield client
    await server.stop()
    await runtime.close()
    await sandbox.stop()


def with_raw(payload: dict[str, Any], key: str, raw: str) -> bytes:
    """The payload with `key` written as the raw JSON text `raw` (what json.dumps would not write)."""
    body = json.dumps({k: v for k, v in payload.items() if k != key})
    return (body[:-1] + f', "{key}": {raw}}}').encode()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: b"[" * 1000 + b"]" * 1000, "too_deep"),
        (lambda p: b'{"a":' * 100_000, "too_deep"),
        (lambda p: (json.dumps(p)[:-1] + ', "total": "0.01"}').encode(), "duplicate_key"),
        (lambda p: with_raw(p, "total", "NaN"), "not_a_number"),
        (lambda p: with_raw(p, "total", "1" + "0" * 100), "number_too_long"),
        (lambda p: with_raw(p, "total", "1e999999999"), "number_out_of_range"),
        (lambda p: json.dumps(p).encode("utf-16"), "not_utf8"),
        (lambda p: json.dumps(p).encode("latin-1", "replace") + b"\xe9", "not_utf8"),
        (lambda p: with_raw(p, "lane", '"\\ud800"'), "lone_surrogate"),
        (lambda p: with_raw(p, "lane", '"1\\u0000"'), "nul_character"),
        (lambda p: b"", "empty"),
    ],
)
async def test_a_body_the_loader_refuses_is_a_422_saying_why(
    api: httpx.AsyncClient, sale_payload: Payload, make: Callable[[dict[str, Any]], bytes], reason: str
) -> None:
    response = await api.post("/v1/sales", content=make(sale_payload()))
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body"] and problem["type"] == reason and problem["msg"]


@pytest.mark.parametrize("raw", ["1e308", '"1e308"', str(10**40), '"-0"', '"Infinity"', '"sNaN"', '"1e999999999"'])
async def test_an_odd_total_is_a_422_naming_the_total(api: httpx.AsyncClient, sale_payload: Payload, raw: str) -> None:
    response = await api.post("/v1/sales", content=with_raw(sale_payload(), "total", raw))
    assert response.status_code == 422, response.text
    assert ["body", "total"] in [d["loc"] for d in response.json()["detail"]]


async def test_money_written_as_json_numbers_keeps_its_cents(api: httpx.AsyncClient, sale_payload: Payload) -> None:
    payload = sale_payload("S-NUMBERS")
    response = await api.post("/v1/sales", content=with_raw(payload, "total", payload["total"]))
    assert response.status_code == 202, response.text


async def test_a_utf8_byte_order_mark_is_ignored(api: httpx.AsyncClient, sale_payload: Payload) -> None:
    response = await api.post("/v1/sales", content=b"\xef\xbb\xbf" + json.dumps(sale_payload("S-BOM")).encode())
    assert response.status_code == 202, response.text
