"""The API's network guards over real loopback HTTP: host names (DNS rebinding), browser origins
(cross-site posts), JSON bodies, and TLS before listening beyond this machine."""

from __future__ import annotations

import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.config.settings import ApiSettings
from app.domain.errors import ConfigurationError
from app.main import Runtime
from app.main.local_api import Transport, start_local_api, transport_for
from app.server.api import create_api
from app.server.guards import NetworkPolicy, host_name, is_loopback, origin_of
from app.storage.models import SaleRow
from app.support.asgi_server import start_asgi_server
from tests.conftest import bearer
from tests.self_signed import self_signed

Payload = Callable[..., dict[str, Any]]
POS_PAGE = "https://pos.example"


@contextlib.asynccontextmanager
async def serving(runtime: Runtime, **api: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The runtime's API with `[api]` settings changed by `api`, webhooks included; a client of it."""
    settings = runtime.settings.api.model_copy(update=api)
    app = create_api(
        runtime.checkout,
        runtime.receipts,
        runtime.health,
        tokens=runtime.tokens,
        settings=settings,
        callbacks=runtime.callbacks,
        intake=runtime.intake,
    )
    server = await start_asgi_server(app, name="api")
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            yield client
    finally:
        await server.stop()


async def sale_count(runtime: Runtime) -> int:
    return int(await runtime.db.read(lambda s: s.scalar(select(func.count()).select_from(SaleRow))))


async def test_a_host_name_the_api_does_not_answer_to_is_refused_on_every_route(
    runtime: Runtime, api_token: str, sale_payload: Payload
) -> None:
    auth = bearer(api_token)
    async with serving(runtime, allowed_hosts=["till-hub.lan"], public_url="https://hub.example.com/rd") as client:
        for path in ("/v1/health", "/webhooks/twilio/status", "/webhooks/shopify", "/openapi.json"):
            refused = await client.get(path, headers={"Host": "attacker.example:8765"})
            assert refused.status_code == 421, path
            assert refused.json() == {
                "error": "This API does not answer to the host name attacker.example: if that is this server's "
                "name, add it to [api] allowed_hosts in the settings."
            }
        sale = await client.post("/v1/sales", json=sale_payload(), headers={**auth, "Host": "rebound.example"})
        assert sale.status_code == 421 and await sale_count(runtime) == 0

        for host in ("localhost:1234", "127.0.0.1", "[::1]:8765", "TILL-HUB.lan", "hub.example.com", "localhost."):
            assert (await client.get("/v1/health", headers={"Host": host})).status_code in (200, 503), host
        assert (await client.get("/v1/health", headers={"Host": "till-hub.lan.evil.example"})).status_code == 421


async def test_a_web_page_of_another_origin_cannot_post_a_sale(
    runtime: Runtime, api_token: str, sale_payload: Payload
) -> None:
    """What a page can send without a preflight: a text/plain POST. Refused, whether it has a token or not."""
    body = json.dumps(sale_payload()).encode()
    async with serving(runtime) as client:
        for headers in ({}, bearer(api_token)):
            response = await client.post(
                "/v1/sales",
                content=body,
                headers={**headers, "Origin": "https://evil.example", "Content-Type": "text/plain"},
            )
            assert response.status_code == 403
            assert response.json()["error"].startswith("Requests from web pages at https://evil.example are not")
        preflight = await client.options(
            "/v1/sales", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    assert await sale_count(runtime) == 0


async def test_an_allowed_origin_gets_cors_and_still_needs_a_token_and_json(
    runtime: Runtime, api_token: str, sale_payload: Payload
) -> None:
    async with serving(runtime, allowed_origins=[POS_PAGE + "/"]) as client:
        preflight = await client.options(
            "/v1/sales",
            headers={
                "Origin": POS_PAGE,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == POS_PAGE
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        unregister = await client.options(  # a web app removes its device
            "/v1/customers/devices/1",
            headers={"Origin": POS_PAGE, "Access-Control-Request-Method": "DELETE"},
        )
        assert unregister.status_code == 200 and "DELETE" in unregister.headers["access-control-allow-methods"]

        page = {"Origin": POS_PAGE}
        assert (await client.post("/v1/sales", json=sale_payload(), headers=page)).status_code == 401
        plain = await client.post(
            "/v1/sales",
            content=b'{"sale_id": "x"}',
            headers={**page, **bearer(api_token), "Content-Type": "text/plain"},
        )
        assert plain.status_code == 415 and plain.json() == {
            "error": "Send the body as JSON, with the header Content-Type: application/json."
        }
        assert await sale_count(runtime) == 0
        posted = await client.post("/v1/sales", json=sale_payload(), headers={**page, **bearer(api_token)})
        assert posted.status_code == 202 and posted.headers["access-control-allow-origin"] == POS_PAGE


async def test_v1_bodies_must_be_json_and_webhooks_keep_their_providers_types(
    runtime: Runtime, api_token: str, sale_payload: Payload
) -> None:
    body = json.dumps(sale_payload()).encode()
    async with serving(runtime) as client:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            refused = await client.post(
                "/v1/sales", content=body, headers={**bearer(api_token), "Content-Type": content_type}
            )
            assert refused.status_code == 415, content_type
        no_type = await client.post("/v1/sales", content=body, headers=bearer(api_token))
        assert no_type.status_code == 415
        assert await sale_count(runtime) == 0
        accepted = await client.post(
            "/v1/sales", content=body, headers={**bearer(api_token), "Content-Type": "application/json; charset=utf-8"}
        )
        assert accepted.status_code == 202
        # Twilio posts its status callbacks form-encoded: no token, no JSON, and it reaches the signature check.
        twilio = await client.post("/webhooks/twilio/status", data={"MessageSid": "SM1", "MessageStatus": "delivered"})
        assert twilio.status_code == 401 and twilio.content == b""  # unsigned: the bare refusal of a webhook


def test_host_names_and_origins_are_compared_as_browsers_send_them() -> None:
    assert host_name("LocalHost:8765") == "localhost"
    assert host_name("[::1]:8765") == "[::1]" and host_name("::1") == "[::1]"
    assert host_name("hub.lan.") == "hub.lan" and host_name("hub.lan:abc") == "hub.lan:abc"
    assert origin_of("HTTPS://POS.example:443/") == "https://pos.example"
    assert origin_of("http://pos.example:8080") == "http://pos.example:8080"
    assert origin_of("null") == "null"
    policy = NetworkPolicy.of(["Hub.LAN:8765"], ["https://pos.example/"], "https://user@hub.example.com:8443/x")
    assert policy.hosts == {"localhost", "127.0.0.1", "[::1]", "hub.lan", "hub.example.com"}
    assert policy.origins == {"https://pos.example"}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),  # noqa: S104 (a wildcard to be refused, not bound)
        ("::", False),
        ("192.168.1.20", False),
        ("till-hub.lan", False),
    ],
)
def test_what_counts_as_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_beyond_loopback_the_api_needs_tls_or_the_operators_word(tmp_path: Path) -> None:
    plain = ApiSettings()
    assert transport_for(plain, "127.0.0.1") == Transport()
    with pytest.raises(ConfigurationError) as refused:
        transport_for(plain, "0.0.0.0", flag="--insecure-lan")  # noqa: S104
    assert refused.value.message == (
        "The API would listen on 0.0.0.0, beyond this machine, without TLS: set [api] tls_cert and tls_key "
        "(a PEM certificate and its key), or start with --insecure-lan to accept plain HTTP on the store's "
        "network, or listen on 127.0.0.1 only."
    )
    with pytest.raises(ConfigurationError, match="without TLS") as kiosk:
        transport_for(plain, "192.168.1.20")
    assert "--insecure-lan" not in kiosk.value.message  # the kiosk has no such flag to offer
    assert transport_for(plain, "0.0.0.0", insecure_lan=True) == Transport(plain_lan=True)  # noqa: S104

    cert, key = self_signed(tmp_path)
    tls = ApiSettings(tls_cert=str(cert), tls_key=str(key))
    assert transport_for(tls, "0.0.0.0") == Transport(str(cert), str(key))  # noqa: S104
    with pytest.raises(ConfigurationError, match=r"\[api\] tls_cert is set but tls_key is not"):
        transport_for(ApiSettings(tls_cert=str(cert)), "0.0.0.0")  # noqa: S104
    with pytest.raises(ConfigurationError, match="are not a PEM certificate and its private key"):
        transport_for(ApiSettings(tls_cert=str(key), tls_key=str(cert)), "127.0.0.1")
    with pytest.raises(ConfigurationError, match="Cannot read the API's TLS certificate"):
        transport_for(ApiSettings(tls_cert=str(tmp_path / "gone.pem"), tls_key=str(key)), "127.0.0.1")


async def test_with_tls_the_api_speaks_https_only(runtime: Runtime, api_token: str, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    runtime.settings = runtime.settings.model_copy(
        update={"api": runtime.settings.api.model_copy(update={"tls_cert": str(cert), "tls_key": str(key)})}
    )
    transport = transport_for(runtime.settings.api, "127.0.0.1")
    server = await start_local_api(runtime, "127.0.0.1", 0, transport)
    try:
        assert server.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(base_url=server.url, verify=trusted) as client:
            health = await client.get("/v1/health", headers=bearer(api_token))
            assert health.status_code == 503 and "queue_depth" in health.json()
        async with httpx.AsyncClient(base_url=server.url) as untrusting:
            with pytest.raises(httpx.ConnectError):  # a client that does not trust the certificate stops
                await untrusting.get("/v1/health")
        async with httpx.AsyncClient() as plain:
            with pytest.raises(httpx.HTTPError):
                await plain.get(server.url.replace("https://", "http://") + "/v1/health")
    finally:
        await server.stop()
