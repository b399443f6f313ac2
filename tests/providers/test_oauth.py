"""The OAuth token sources and cache of app/providers/oauth.py.

Oracle: google-auth (installed with google-api-python-client / firebase-admin) builds its own
service-account assertion and verifies ours. The RSA key pair is generated per run, test-only.
No network: httpx.MockTransport is the token endpoint.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from google.auth import jwt as google_jwt
from google.oauth2 import service_account

from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError
from app.providers.oauth import (
    GOOGLE_TOKEN_URI,
    JWT_BEARER_GRANT,
    AccessToken,
    ClientCredentialsGrant,
    ServiceAccountJwtGrant,
    ServiceAccountKey,
    TokenCache,
    authorized,
    bearer,
)
from app.sandbox.oauth_tokens import new_service_account

INFO, PRIVATE_KEY = new_service_account("sender@test-project.iam.gserviceaccount.com", "test-project")
KEY_JSON = json.dumps(INFO)
PUBLIC_PEM = PRIVATE_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
SCOPE = "https://www.googleapis.com/auth/gmail.send"
MAILBOX = "receipts@demo-market.example"
NOW = 1_790_000_000.0
MS_SECRET = "ms-client-secret-value-Zq8~"


class FakeClock:
    """An injectable clock, moved by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class TokenEndpoint:
    """A token endpoint on a MockTransport: counts requests, answers with `reply(n)`."""

    reply: Callable[[int], httpx.Response] = lambda n: httpx.Response(
        200, json={"access_token": f"tok-{n}", "expires_in": 3600, "token_type": "Bearer"}
    )
    delay: float = 0.0
    requests: list[httpx.Request] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.reply(len(self.requests))


def google_grant(subject: str | None = MAILBOX, token_uri: str | None = None) -> ServiceAccountJwtGrant:
    key = ServiceAccountKey.from_json(KEY_JSON, provider="Test")
    return ServiceAccountJwtGrant(key, [SCOPE], label="Test token endpoint", subject=subject, token_uri=token_uri)


def ms_grant() -> ClientCredentialsGrant:
    return ClientCredentialsGrant(
        "https://login.example/tenant-1/oauth2/v2.0/token",
        "client-1",
        MS_SECRET,
        scope="https://graph.microsoft.com/.default",
        label="Graph token endpoint",
    )


# --- service-account key file ---------------------------------------------------------------------


def test_key_file_is_parsed() -> None:
    key = ServiceAccountKey.from_json(KEY_JSON, provider="Gmail")
    assert key.client_email == INFO["client_email"]
    assert key.private_key_id == INFO["private_key_id"]
    assert key.project_id == "test-project"
    assert key.token_uri == GOOGLE_TOKEN_URI
    assert INFO["private_key"] not in repr(key)


def _pem(body: str) -> str:
    """A PEM-shaped string that holds no key at all."""
    kind = "PRIVATE" + " KEY"
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        (json.dumps({**INFO, "type": "authorized_user"}), "not a service-account key"),
        (json.dumps({k: v for k, v in INFO.items() if k != "client_email"}), "no client_email"),
        (json.dumps({**INFO, "private_key": _pem("AAAA")}), "PEM"),
    ],
)
def test_bad_key_file_names_the_field_and_never_echoes_it(text: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match="service_account_json") as info:
        ServiceAccountKey.from_json(text, provider="Gmail")
    assert problem in str(info.value)
    assert info.value.__cause__ is None
    assert "PRIVATE KEY" not in str(info.value)


# --- the JWT assertion, against google-auth ---------------------------------------------------------


def test_assertion_verifies_with_google_auth_and_matches_its_claims() -> None:
    ours = google_grant().assertion(NOW)
    claims = google_jwt.decode(ours, certs=PUBLIC_PEM, audience=GOOGLE_TOKEN_URI, clock_skew_in_seconds=10**10)

    oracle_creds = service_account.Credentials.from_service_account_info(INFO, scopes=[SCOPE], subject=MAILBOX)
    theirs = oracle_creds._make_authorization_grant_assertion()
    oracle = google_jwt.decode(theirs, certs=PUBLIC_PEM, verify=False)

    assert set(claims) == set(oracle) == {"iss", "scope", "aud", "iat", "exp", "sub"}
    for name in ("iss", "scope", "aud", "sub"):
        assert claims[name] == oracle[name]
    assert claims["iat"] == int(NOW)
    assert claims["exp"] - claims["iat"] == oracle["exp"] - oracle["iat"] == 3600
    assert pyjwt.get_unverified_header(ours) == pyjwt.get_unverified_header(theirs)  # alg, typ, kid


def test_assertion_without_delegation_has_no_sub_and_keeps_google_audience() -> None:
    grant = google_grant(subject=None, token_uri="http://127.0.0.1:9/token")
    claims = pyjwt.decode(grant.assertion(NOW), options={"verify_signature": False})
    assert "sub" not in claims
    assert claims["aud"] == GOOGLE_TOKEN_URI  # aud is Google's endpoint even when token_uri differs
    assert grant.token_uri == "http://127.0.0.1:9/token"


async def test_google_token_request_is_the_jwt_bearer_grant() -> None:
    endpoint = TokenEndpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        token = await google_grant().fetch(http, NOW)
    (request,) = endpoint.requests
    assert str(request.url) == GOOGLE_TOKEN_URI
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(parse_qsl(request.content.decode()))
    assert set(form) == {"grant_type", "assertion"}
    assert form["grant_type"] == JWT_BEARER_GRANT
    google_jwt.decode(form["assertion"], certs=PUBLIC_PEM, audience=GOOGLE_TOKEN_URI, clock_skew_in_seconds=10**10)
    assert (token.value, token.issued_at, token.expires_at) == ("tok-1", NOW, NOW + 3600)
    assert "tok-1" not in repr(token)


# --- client credentials -----------------------------------------------------------------------------


async def test_microsoft_client_credentials_is_form_encoded() -> None:
    endpoint = TokenEndpoint(
        lambda n: httpx.Response(
            200, json={"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "eyJ.ms"}
        )
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        token = await ms_grant().fetch(http, NOW)
    (request,) = endpoint.requests
    assert request.url.path == "/tenant-1/oauth2/v2.0/token"
    assert dict(parse_qsl(request.content.decode())) == {
        "grant_type": "client_credentials",
        "client_id": "client-1",
        "client_secret": MS_SECRET,
        "scope": "https://graph.microsoft.com/.default",
    }
    assert token.expires_at == NOW + 3599
    assert token.instance_url is None


@pytest.mark.parametrize("account_id", [None, "100001234"])
async def test_sfmc_client_credentials_is_json_and_brings_the_rest_url(account_id: str | None) -> None:
    answer = {
        "access_token": "sfmc-token",
        "token_type": "Bearer",
        "expires_in": 1079,
        "scope": "email_send",
        "soap_instance_url": "https://mc1.soap.marketingcloudapis.com/",
        "rest_instance_url": "https://mc1.rest.marketingcloudapis.com/",
    }
    endpoint = TokenEndpoint(lambda n: httpx.Response(200, json=answer))
    grant = ClientCredentialsGrant(
        "https://mc1.auth.marketingcloudapis.com/v2/token",
        "cid",
        "csecret",
        account_id=account_id,
        json_body=True,
        label="SFMC token endpoint",
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        token = await grant.fetch(http, NOW)
    (request,) = endpoint.requests
    assert request.headers["Content-Type"] == "application/json"
    expected = {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret"}
    if account_id:
        expected["account_id"] = account_id
    assert json.loads(request.content) == expected  # no scope, no account_id unless set
    assert token.instance_url == "https://mc1.rest.marketingcloudapis.com/"
    assert token.expires_at == NOW + 1079


# --- token endpoint failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "kind", "code"),
    [
        (
            httpx.Response(400, json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
            "p",
            "invalid_grant",
        ),
        (
            httpx.Response(401, json={"error": "invalid_client", "error_description": f"bad {MS_SECRET}"}),
            "p",
            "invalid_client",
        ),
        (httpx.Response(503, text="<html>down</html>"), "t", None),
        (httpx.Response(200, json={"token_type": "Bearer"}), "p", None),
        (httpx.Response(200, json={"access_token": "x", "token_type": "mac"}), "p", None),
    ],
    ids=["invalid-grant", "invalid-client", "503", "no-token", "not-bearer"],
)
async def test_token_endpoint_errors_are_classified_and_scrubbed(
    reply: httpx.Response, kind: str, code: str | None
) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: reply)) as http:
        with pytest.raises((PermanentProviderError, TransientProviderError)) as info:
            await ms_grant().fetch(http, NOW)
    assert isinstance(info.value, TransientProviderError) is (kind == "t")
    assert info.value.code == code
    assert "Graph token endpoint" in str(info.value)
    assert MS_SECRET not in str(info.value)


async def test_token_endpoint_429_carries_retry_after_and_connect_error_is_transient() -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(429, headers={"Retry-After": "7"}))
    ) as http:
        with pytest.raises(TransientProviderError) as info:
            await google_grant().fetch(http, NOW)
    assert info.value.retry_after == 7.0

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(TransientProviderError, match="token endpoint could not be reached"):
            await google_grant().fetch(http, NOW)


# --- the cache --------------------------------------------------------------------------------------


async def test_token_is_reused_then_refreshed_before_expiry() -> None:
    endpoint, clock = TokenEndpoint(), FakeClock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        cache = TokenCache(http, ms_grant(), clock=clock, refresh_margin=300)
        first = await cache.get()
        clock.now = NOW + 3600 - 301  # still outside the margin
        assert await cache.get() is first
        clock.now = NOW + 3600 - 299  # inside the margin, not yet expired
        second = await cache.get()
    assert (first.value, second.value) == ("tok-1", "tok-2")
    assert cache.refreshes == len(endpoint.requests) == 2
    assert "tok-" not in repr(cache)


async def test_short_lived_token_is_refreshed_at_half_life() -> None:
    endpoint = TokenEndpoint(lambda n: httpx.Response(200, json={"access_token": f"t{n}", "expires_in": 120}))
    clock = FakeClock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        cache = TokenCache(http, ms_grant(), clock=clock, refresh_margin=300)
        await cache.get()
        clock.now = NOW + 59
        assert (await cache.get()).value == "t1"
        clock.now = NOW + 60
        assert (await cache.get()).value == "t2"


async def test_concurrent_callers_share_one_refresh() -> None:
    endpoint = TokenEndpoint(delay=0.02)
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        cache = TokenCache(http, google_grant())
        tokens = await asyncio.gather(*(cache.get() for _ in range(20)))
    assert len(endpoint.requests) == 1
    assert {t.value for t in tokens} == {"tok-1"}


async def test_failed_refresh_is_not_cached() -> None:
    replies = [httpx.Response(503), httpx.Response(200, json={"access_token": "ok", "expires_in": 3600})]
    endpoint = TokenEndpoint(lambda n: replies[n - 1])
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        cache = TokenCache(http, google_grant())
        with pytest.raises(TransientProviderError):
            await cache.get()
        assert (await cache.get()).value == "ok"


# --- 401 → one refresh → retry ----------------------------------------------------------------------


async def _run_authorized(
    api_statuses: list[int], *, concurrent: int = 1
) -> tuple[list[int], TokenEndpoint, list[str]]:
    endpoint = TokenEndpoint(delay=0.01)
    seen: list[str] = []
    statuses = iter(api_statuses)

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return await endpoint(request)
        seen.append(request.headers["Authorization"])
        await asyncio.sleep(0.01)
        return httpx.Response(next(statuses))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        cache = TokenCache(http, ms_grant())

        async def call(token: AccessToken) -> httpx.Response:
            return await http.post("https://api.example/send", headers=bearer(token))

        responses = await asyncio.gather(*(authorized(cache, call) for _ in range(concurrent)))
    return [r.status_code for r in responses], endpoint, seen


async def test_401_refreshes_once_and_retries_with_the_new_token() -> None:
    results, endpoint, seen = await _run_authorized([401, 202])
    assert results == [202]
    assert len(endpoint.requests) == 2
    assert seen == ["Bearer tok-1", "Bearer tok-2"]


async def test_401_twice_is_returned_not_looped() -> None:
    results, endpoint, seen = await _run_authorized([401, 401, 202])
    assert results == [401]
    assert len(endpoint.requests) == 2
    assert len(seen) == 2


async def test_concurrent_401s_share_one_refresh() -> None:
    results, endpoint, seen = await _run_authorized([401] * 5 + [202] * 5, concurrent=5)
    assert results == [202] * 5
    assert len(endpoint.requests) == 2  # the first token, then one refresh for all five
    assert seen[5:] == ["Bearer tok-2"] * 5


async def test_token_values_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await _run_authorized([401, 202])
    assert "tok-1" not in caplog.text and "tok-2" not in caplog.text
    assert "refreshing once" in caplog.text
