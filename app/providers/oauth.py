"""OAuth 2.0 access tokens for provider adapters, and the one 401 → refresh → retry rule.

Two token sources, both "two-legged" (no user in the loop):

- `ServiceAccountJwtGrant`: Google's service-account flow (RFC 7523 JWT bearer grant). An RS256
  JWT signed with the service account's private key is exchanged at `token_uri`; `sub` names the
  mailbox to impersonate under domain-wide delegation.
- `ClientCredentialsGrant`: RFC 6749 § 4.4. Form-encoded for the Microsoft identity platform
  (`{login}/{tenant}/oauth2/v2.0/token`), JSON for Salesforce Marketing Cloud (`/v2/token`), whose
  answer also names the tenant's REST base URL (`rest_instance_url`).

`TokenCache` keeps one token per adapter, refreshes it before it expires and lets only one refresh
run at a time; `authorized` retries a request once with a fresh token when the API says the token
was refused. `OAuthAdapter` is the one place an adapter's request gets its token, through both.
Token values never reach a log line, an error message or a repr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError
from app.providers.base import CredentialCheck, HttpAdapter, HttpRequest, classify_status, translate_http_errors

log = logging.getLogger(__name__)

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a password
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"  # RFC 7523 § 2.1
ASSERTION_LIFETIME_S = 3600  # Google accepts at most one hour between iat and exp
DEFAULT_EXPIRES_IN_S = 3600  # used only when a token answer omits expires_in (RFC 6749 § 5.1 makes it optional)
DEFAULT_REFRESH_MARGIN_S = 300.0
_DETAIL_LIMIT = 300

Clock = Callable[[], float]
"""Seconds since the epoch; `time.time` except in tests."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token and when it stops working (epoch seconds). The value is never shown in a repr."""

    value: str = field(repr=False)
    issued_at: float
    expires_at: float
    instance_url: str | None = None  # SFMC: the tenant's REST base URL that came with the token


class TokenSource(Protocol):
    """Fetches a new access token; raises `TransientProviderError` or `PermanentProviderError`."""

    label: str

    async def fetch(self, http: httpx.AsyncClient, now: float) -> AccessToken: ...


@dataclass(frozen=True, slots=True)
class ServiceAccountKey:
    """The parts of a Google service-account key file (JSON) the JWT grant needs."""

    client_email: str
    private_key: RSAPrivateKey = field(repr=False)
    private_key_id: str | None = None
    token_uri: str = GOOGLE_TOKEN_URI
    project_id: str | None = None

    @classmethod
    def from_json(cls, text: str, *, provider: str, field_name: str = "service_account_json") -> ServiceAccountKey:
        """Parse a key file; every failure is a `ConfigurationError` naming `field_name`, never echoing the key."""

        def bad(problem: str) -> ConfigurationError:
            return ConfigurationError(f"{provider}: {field_name} {problem}.")

        try:
            info = json.loads(text)
        except (TypeError, ValueError):
            raise bad("is not valid JSON (paste the whole key file)") from None
        if not isinstance(info, dict):
            raise bad("must be a JSON object")
        if info.get("type", "service_account") != "service_account":
            raise bad("is not a service-account key (its type is not service_account)")
        for name in ("client_email", "private_key"):
            if not isinstance(info.get(name), str) or not info[name]:
                raise bad(f"has no {name}")
        try:
            key = serialization.load_pem_private_key(info["private_key"].encode("utf-8"), password=None)
        except (TypeError, ValueError):
            raise bad("has a private_key that is not an unencrypted PEM key") from None
        if not isinstance(key, RSAPrivateKey):
            raise bad("has a private_key that is not an RSA key")
        return cls(
            client_email=info["client_email"],
            private_key=key,
            private_key_id=_opt_str(info.get("private_key_id")),
            token_uri=_opt_str(info.get("token_uri")) or GOOGLE_TOKEN_URI,
            project_id=_opt_str(info.get("project_id")),
        )


class ServiceAccountJwtGrant:
    """Google service-account token: POST `token_uri` with an RS256 JWT assertion (RFC 7523).

    Claims as google-auth's `service_account.Credentials` makes them: iss = client_email,
    scope = space-separated scopes, aud = Google's token endpoint, iat/exp one hour apart, sub
    for delegation.
    """

    def __init__(
        self,
        key: ServiceAccountKey,
        scopes: Sequence[str],
        *,
        label: str,
        subject: str | None = None,
        token_uri: str | None = None,
    ) -> None:
        self.label = label
        self._key = key
        self._scopes = tuple(scopes)
        self._subject = subject or None
        self.token_uri = token_uri or key.token_uri

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_email={self._key.client_email!r}, token_uri={self.token_uri!r})"

    def assertion(self, now: float) -> str:
        """The signed JWT for `now` (pure apart from the signature)."""
        issued = int(now)
        claims: dict[str, Any] = {
            "iss": self._key.client_email,
            "scope": " ".join(self._scopes),
            # Always Google's endpoint, even when token_uri points elsewhere (server-to-server guide;
            # google-auth does the same).
            "aud": GOOGLE_TOKEN_URI,
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME_S,
        }
        if self._subject:
            claims["sub"] = self._subject  # domain-wide delegation: the mailbox we act as
        headers = {"kid": self._key.private_key_id} if self._key.private_key_id else None
        return jwt.encode(claims, self._key.private_key, algorithm="RS256", headers=headers)

    async def fetch(self, http: httpx.AsyncClient, now: float) -> AccessToken:
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion(now)}
        with translate_http_errors(self.label):
            response = await http.post(self.token_uri, data=form, headers={"Accept": "application/json"})
        return parse_token_response(response, now=now, label=self.label)


class ClientCredentialsGrant:
    """OAuth 2.0 client-credentials token (RFC 6749 § 4.4), form-encoded or JSON.

    Microsoft identity platform v2: form body with `scope` (`{resource}/.default`). SFMC `/v2/token`:
    JSON body, optional `account_id` (the business unit's MID); the answer adds `rest_instance_url`.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        label: str,
        scope: str | None = None,
        account_id: str | None = None,
        json_body: bool = False,
    ) -> None:
        self.label = label
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope or None
        self._account_id = account_id or None
        self._json_body = json_body

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self._client_id!r}, token_url={self.token_url!r})"

    def request_body(self) -> dict[str, str]:
        """The token request fields; options nobody set are left out."""
        body = {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._client_secret}
        if self._scope:
            body["scope"] = self._scope
        if self._account_id:
            body["account_id"] = self._account_id
        return body

    async def fetch(self, http: httpx.AsyncClient, now: float) -> AccessToken:
        headers = {"Accept": "application/json"}
        with translate_http_errors(self.label):
            if self._json_body:
                response = await http.post(self.token_url, json=self.request_body(), headers=headers)
            else:
                response = await http.post(self.token_url, data=self.request_body(), headers=headers)
        return parse_token_response(response, now=now, label=self.label, secrets=(self._client_secret,))


def parse_token_response(
    response: httpx.Response, *, now: float, label: str, secrets: Sequence[str] = ()
) -> AccessToken:
    """An `AccessToken` from a token endpoint's answer; raises the classified error otherwise.

    Errors are RFC 6749 § 5.2 `{"error", "error_description"}`: 400/401 (invalid_grant,
    invalid_client, unauthorized_client, invalid_scope) are permanent, 429/5xx transient.
    """
    payload = _json_object(response)
    if not response.is_success:
        code = _opt_str(payload.get("error"))
        description = _opt_str(payload.get("error_description"))
        detail = ": ".join(part for part in (code, description) if part) or response.reason_phrase or "error"
        detail = f"token request refused ({_scrub(detail, secrets)[:_DETAIL_LIMIT]})"
        raise classify_status(label, response, detail, code=code)
    value = payload.get("access_token")
    if not isinstance(value, str) or not value:
        raise PermanentProviderError(f"{label}: token answer has no access_token.", status_code=response.status_code)
    token_type = payload.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise PermanentProviderError(f"{label}: token type {token_type!r} is not Bearer.")
    expires_in = _seconds(payload.get("expires_in"))  # Azure AD v1 sent it as a string; accept both
    instance_url = _opt_str(payload.get("rest_instance_url"))
    return AccessToken(value=value, issued_at=now, expires_at=now + expires_in, instance_url=instance_url)


class TokenCache:
    """One adapter's access token: fetched on first use, refreshed ahead of expiry, one refresh at a time.

    A token is reused until `refresh_margin` seconds before it expires (at most half its lifetime
    early). Callers that find it stale queue on one `asyncio.Lock`; the first refreshes, the others
    get its token. A fetch that fails leaves nothing cached, so the next call tries again.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        source: TokenSource,
        *,
        clock: Clock = time.time,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN_S,
    ) -> None:
        self._http = http
        self.source = source
        self.clock = clock
        """The clock deciding freshness; tests replace it."""
        self._margin = refresh_margin
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.refreshes = 0
        """How many tokens were fetched (tests and health checks read it)."""

    def __repr__(self) -> str:
        state = "empty" if self._token is None else f"expires_at={self._token.expires_at:.0f}"
        return f"{type(self).__name__}({self.source!r}, {state})"

    def _fresh(self, token: AccessToken, now: float) -> bool:
        margin = min(self._margin, (token.expires_at - token.issued_at) / 2)
        return now < token.expires_at - margin

    async def get(self) -> AccessToken:
        """A token that is good for at least the refresh margin."""
        token = self._token
        if token is not None and self._fresh(token, self.clock()):
            return token
        async with self._lock:
            token = self._token
            if token is not None and self._fresh(token, self.clock()):  # refreshed while we waited
                return token
            token = await self.source.fetch(self._http, self.clock())
            self.refreshes += 1
            self._token = token
            log.debug("%s: new access token, expires in %.0f s", self.source.label, token.expires_at - token.issued_at)
            return token

    def invalidate(self, stale: AccessToken) -> None:
        """Forget `stale` (the API refused it); a newer token fetched meanwhile is kept."""
        if self._token is stale:
            self._token = None


def refused_token(response: httpx.Response) -> bool:
    """The default refresh trigger: the API answered 401 (RFC 6750 § 3.1 invalid_token)."""
    return response.status_code == 401


async def authorized(
    cache: TokenCache,
    call: Callable[[AccessToken], Awaitable[httpx.Response]],
    *,
    should_refresh: Callable[[httpx.Response], bool] = refused_token,
) -> httpx.Response:
    """Run `call` with the cached token; if the API refuses the token, refresh once and run it again.

    The second answer is returned whatever it is, so a token refused twice ends as the adapter's
    permanent 401 error instead of a loop.
    """
    token = await cache.get()
    response = await call(token)
    if not should_refresh(response):
        return response
    log.debug("%s: token refused with %s; refreshing once", cache.source.label, response.status_code)
    cache.invalidate(token)
    return await call(await cache.get())


def bearer(token: AccessToken) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token.value}"}


class OAuthAdapter(HttpAdapter):
    """An `HttpAdapter` whose API requests carry a bearer token from `tokens`.

    A subclass builds its grant (the `TokenSource`) in `__init__` and passes it up. `transmit` adds
    the cached token to each request and, when the API refuses it (`refused`), sends once more
    with a fresh one (`authorized`). `request` and `parse_response` stay free of tokens.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        source: TokenSource,
        *,
        base_url: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(http, base_url=base_url)
        self.tokens = TokenCache(http, source, clock=clock)

    async def check_credentials(self) -> CredentialCheck | None:
        """Obtaining an access token is the check: the token endpoint takes or refuses our credentials.

        A fresh token is asked for, whatever the cache holds. Raises `TransientProviderError` when the
        token endpoint cannot be reached.
        """
        source = self.tokens.source
        url = getattr(source, "token_uri", None) or getattr(source, "token_url", None)
        call = f"POST {urlsplit(url).path}" if isinstance(url, str) else "token request"
        try:
            await source.fetch(self._http, self.tokens.clock())
        except PermanentProviderError as exc:
            return CredentialCheck(False, exc.message, call)
        except TransientProviderError as exc:
            if exc.status_code is None:  # never answered: the caller says it could not be reached
                raise
            return CredentialCheck(None, exc.message, call)
        return CredentialCheck(True, f"The {source.label} issued an access token.", call)

    def refused(self, response: httpx.Response) -> bool:
        """Whether the API refused our token, so a fresh one is worth one more try (401 by default)."""
        return refused_token(response)

    def authorize(self, request: HttpRequest, token: AccessToken) -> HttpRequest:
        """`request` as sent with `token`: with its bearer header."""
        return replace(request, headers={**request.headers, **bearer(token)})

    async def transmit(self, request: HttpRequest) -> httpx.Response:
        """Send `request` with our token; once more with a fresh token if the API refused it."""
        put = super().transmit

        async def call(token: AccessToken) -> httpx.Response:
            return await put(self.authorize(request, token))

        return await authorized(self.tokens, call, should_refresh=self.refused)


def _json_object(response: httpx.Response) -> Mapping[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return float(DEFAULT_EXPIRES_IN_S)
    return seconds if seconds > 0 else float(DEFAULT_EXPIRES_IN_S)


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
