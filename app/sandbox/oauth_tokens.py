"""Sandbox OAuth 2.0 token endpoints, the bearer tokens they issue, and the credentials they accept.

- Google `token_uri` (`POST /token`): JWT bearer grant (RFC 7523); the RS256 assertion is verified
  with the sandbox service account's public key, `aud` must be Google's token endpoint (as on the
  real one, wherever it is served), `exp - iat` at most one hour, `sub` (domain-wide delegation)
  only within `DELEGATED_DOMAIN`.
- Microsoft identity platform v2 (`POST /{tenant}/oauth2/v2.0/token`): form-encoded client
  credentials, scope `{resource}/.default`.
- Salesforce Marketing Cloud (`POST /v2/token`): JSON client credentials; the answer names the
  sandbox itself as `rest_instance_url`.

Error bodies follow RFC 6749 § 5.2 (`error`, `error_description`) with each issuer's wording.
The credentials below only open the local sandbox; the service-account key is generated at import.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.sandbox.stand_ins import NO_RATE_LIMIT, SandboxAccount

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"
GOOGLE_TOKEN_PATH = "/token"  # noqa: S105 - a path, not a password
GOOGLE_LIFETIME_S = 3599
MICROSOFT_LIFETIME_S = 3599
SFMC_LIFETIME_S = 1079  # SFMC answers ~1079-1080 s (PROVIDERS.md § A12)
MAX_ASSERTION_LIFETIME_S = 3600
CLOCK_SKEW_S = 60

# --- sandbox credentials (not secrets: they only open this sandbox) ------------------------------

GOOGLE_PROJECT_ID = "receiptdesk-sandbox"
GOOGLE_CLIENT_EMAIL = "receipts-sender@receiptdesk-sandbox.iam.gserviceaccount.com"
DELEGATED_DOMAIN = "demo-market.example"
GMAIL_SENDER = "receipts@demo-market.example"
MS_TENANT_ID = "5a4db0c0-7e57-4d0c-9a5e-000000000001"
MS_CLIENT_ID = "5a4db0c0-7e57-4d0c-9a5e-0000000000c1"
MS_CLIENT_SECRET = "sandbox-graph-client-secret"  # noqa: S105 - opens only the local sandbox
MS_SENDER = "receipts@demo-market.example"
SFMC_CLIENT_ID = "sandbox-sfmc-client-id"
SFMC_CLIENT_SECRET = "sandbox-sfmc-client-secret"  # noqa: S105 - opens only the local sandbox
SFMC_ACCOUNT_ID = "100001234"
SFMC_DEFINITION_KEY = "receipt-email"


def new_service_account(client_email: str, project_id: str) -> tuple[dict[str, str], rsa.RSAPrivateKey]:
    """A service-account key file (as Google's JSON) with a fresh 2048-bit RSA key, and that key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem.decode("ascii"),
        "client_email": client_email,
        "client_id": str(secrets.randbelow(10**21)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return info, key


SERVICE_ACCOUNT_VARIABLE = "RECEIPTDESK_SANDBOX_SERVICE_ACCOUNT"
"""A sandbox started as a child process takes its parent's service account from here, so that the
parent's Gmail and FCM adapters sign what the child verifies."""


def _service_account() -> tuple[dict[str, str], rsa.RSAPrivateKey]:
    given = os.environ.get(SERVICE_ACCOUNT_VARIABLE)
    if not given:
        return new_service_account(GOOGLE_CLIENT_EMAIL, GOOGLE_PROJECT_ID)
    info: dict[str, str] = json.loads(given)
    key = serialization.load_pem_private_key(info["private_key"].encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{SERVICE_ACCOUNT_VARIABLE} holds no RSA key")
    return info, key


SERVICE_ACCOUNT_INFO, _SERVICE_ACCOUNT_KEY = _service_account()
SERVICE_ACCOUNT_JSON = json.dumps(SERVICE_ACCOUNT_INFO)
"""The sandbox's service-account key file; point `token_uri` at the sandbox with the adapters' setting."""


def adapter_settings(base_url: str) -> dict[str, dict[str, str]]:
    """Settings that point each OAuth adapter at a sandbox served on `base_url`."""
    base = base_url.rstrip("/")
    return {
        "gmail": {"sender": GMAIL_SENDER, "base_url": base, "token_uri": base + GOOGLE_TOKEN_PATH},
        "fcm": {"project_id": GOOGLE_PROJECT_ID, "base_url": base, "token_uri": base + GOOGLE_TOKEN_PATH},
        "msgraph": {
            "tenant_id": MS_TENANT_ID,
            "client_id": MS_CLIENT_ID,
            "sender": MS_SENDER,
            "base_url": base,
            "login_base_url": base,
        },
        "sfmc": {
            "client_id": SFMC_CLIENT_ID,
            "definition_key": SFMC_DEFINITION_KEY,
            "account_id": SFMC_ACCOUNT_ID,
            "auth_base_url": base,
        },
    }


ADAPTER_SECRETS: dict[str, dict[str, str]] = {
    "gmail": {"service_account_json": SERVICE_ACCOUNT_JSON},
    "fcm": {"service_account_json": SERVICE_ACCOUNT_JSON},
    "msgraph": {"client_secret": MS_CLIENT_SECRET},
    "sfmc": {"client_secret": SFMC_CLIENT_SECRET},
}


def adapter_account(provider: str, sandbox_url: str) -> SandboxAccount:
    """The settings and secrets of an OAuth provider's adapter, for a sandbox served on `sandbox_url`."""
    return SandboxAccount({**adapter_settings(sandbox_url)[provider], **NO_RATE_LIMIT}, dict(ADAPTER_SECRETS[provider]))


# --- issued tokens -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """What a sandbox access token stands for."""

    issuer: str  # "google" | "microsoft" | "sfmc"
    client: str  # service-account e-mail or client id
    scopes: frozenset[str]
    subject: str | None
    expires_at: float


class TokenRejected(Exception):
    """A bearer token is missing, unknown, from another issuer, or expired (`reason`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenRegistry:
    """Bearer tokens the sandbox issued, bounded to `capacity` (the oldest are forgotten)."""

    def __init__(self, clock: Callable[[], float] = time.time, capacity: int = 10_000) -> None:
        self._clock = clock
        self._capacity = capacity
        self._tokens: dict[str, IssuedToken] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    def issue(
        self, issuer: str, client: str, scopes: frozenset[str], lifetime: float, subject: str | None = None
    ) -> str:
        """A new opaque token for `client`."""
        while len(self._tokens) >= self._capacity:
            del self._tokens[next(iter(self._tokens))]
        prefix = {"google": "ya29.sandbox-", "microsoft": "eyJ0eXAiOiJKV1Qi.sandbox-"}.get(issuer, "sandbox-")
        value = prefix + secrets.token_urlsafe(32)
        self._tokens[value] = IssuedToken(issuer, client, scopes, subject, self._clock() + lifetime)
        return value

    def verify(self, authorization: str | None, issuer: str) -> IssuedToken:
        """The token named by an `Authorization: Bearer ...` header; raises `TokenRejected`."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise TokenRejected("missing")
        token = self._tokens.get(value.strip())
        if token is None or token.issuer != issuer:
            raise TokenRejected("invalid")
        if self._clock() >= token.expires_at:
            raise TokenRejected("expired")
        return token

    def expire_all(self) -> None:
        """Make every issued token expired (tests: the next API call answers 401)."""
        now = self._clock()
        self._tokens = {value: _expired(token, now) for value, token in self._tokens.items()}


def _expired(token: IssuedToken, now: float) -> IssuedToken:
    return IssuedToken(token.issuer, token.client, token.scopes, token.subject, min(token.expires_at, now))


TOKENS = TokenRegistry()
"""The registry the provider stand-ins check by default."""


# --- token endpoints -----------------------------------------------------------------------------


def oauth_error(status: int, error: str, description: str, **extra: Any) -> JSONResponse:
    """An RFC 6749 § 5.2 error answer."""
    return JSONResponse({"error": error, "error_description": description, **extra}, status_code=status)


def _ms_error(status: int, error: str, code: int, text: str) -> JSONResponse:
    trace = str(uuid.uuid4())
    description = f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {uuid.uuid4()} Timestamp: {_now_iso()}"
    return oauth_error(status, error, description, error_codes=[code], trace_id=trace)


def _now_iso() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())


class TokenEndpoints:
    """The three token endpoints, bound to a registry and the credentials they accept."""

    def __init__(
        self,
        tokens: TokenRegistry,
        *,
        google_keys: Mapping[str, tuple[str, rsa.RSAPublicKey]] | None = None,
        microsoft_clients: Mapping[str, str] | None = None,
        sfmc_clients: Mapping[str, str] | None = None,
    ) -> None:
        self.tokens = tokens
        default_key = (SERVICE_ACCOUNT_INFO["private_key_id"], _SERVICE_ACCOUNT_KEY.public_key())
        self._google_keys = google_keys if google_keys is not None else {GOOGLE_CLIENT_EMAIL: default_key}
        self._ms_clients = microsoft_clients if microsoft_clients is not None else {MS_CLIENT_ID: MS_CLIENT_SECRET}
        self._sfmc_clients = sfmc_clients if sfmc_clients is not None else {SFMC_CLIENT_ID: SFMC_CLIENT_SECRET}

    async def google(self, request: Request) -> JSONResponse:
        """`POST /token`: exchange a service-account JWT for an access token."""
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != JWT_BEARER_GRANT:
            return oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}")
        assertion = form.get("assertion")
        if not assertion:
            return oauth_error(400, "invalid_request", "Missing required parameter: assertion")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            kid = jwt.get_unverified_header(assertion).get("kid")
        except jwt.PyJWTError:
            return oauth_error(400, "invalid_grant", "Invalid JWT: Unable to parse the assertion.")
        known = self._google_keys.get(str(unverified.get("iss")))
        if known is None or (kid is not None and kid != known[0]):
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        try:
            claims = jwt.decode(
                assertion,
                known[1],
                algorithms=["RS256"],
                audience=GOOGLE_AUDIENCE,
                leeway=CLOCK_SKEW_S,
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )
        except jwt.InvalidSignatureError:
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        except jwt.PyJWTError as exc:
            return oauth_error(400, "invalid_grant", f"Invalid JWT: {exc}")
        if claims["exp"] - claims["iat"] > MAX_ASSERTION_LIFETIME_S or claims["iat"] > time.time() + CLOCK_SKEW_S:
            return oauth_error(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                "Check your iat and exp values in the JWT claim.",
            )
        subject = claims.get("sub")
        if subject is not None and not str(subject).endswith("@" + DELEGATED_DOMAIN):
            return oauth_error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client not authorized "
                "for any of the scopes requested.",
            )
        scopes = frozenset(str(claims["scope"]).split())
        value = self.tokens.issue("google", claims["iss"], scopes, GOOGLE_LIFETIME_S, subject)
        return JSONResponse({"access_token": value, "expires_in": GOOGLE_LIFETIME_S, "token_type": "Bearer"})

    async def microsoft(self, request: Request) -> JSONResponse:
        """`POST /{tenant}/oauth2/v2.0/token`: client credentials, form-encoded."""
        tenant = request.path_params["tenant"]
        if tenant != MS_TENANT_ID:
            return _ms_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _ms_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        expected = self._ms_clients.get(client_id)
        if expected is None:
            text = f"Application with identifier '{client_id}' was not found in the directory."
            return _ms_error(400, "unauthorized_client", 700016, text)
        if not hmac.compare_digest(secret.encode(), expected.encode()):
            return _ms_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        scope = form.get("scope", "")
        if not scope.endswith("/.default") or " " in scope:
            text = f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
            return _ms_error(400, "invalid_scope", 1002012, text + "value with /.default suffixed to the resource.")
        value = self.tokens.issue("microsoft", client_id, frozenset({scope}), MICROSOFT_LIFETIME_S)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": MICROSOFT_LIFETIME_S,
                "ext_expires_in": MICROSOFT_LIFETIME_S,
                "access_token": value,
            }
        )

    async def sfmc(self, request: Request) -> JSONResponse:
        """`POST /v2/token`: client credentials as JSON; the answer names the REST base URL."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            return oauth_error(400, "invalid_request", "The request body is not valid JSON.")
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "Use client_credentials.")
        expected = self._sfmc_clients.get(str(body.get("client_id", "")))
        secret = str(body.get("client_secret", ""))
        if expected is None or not hmac.compare_digest(secret.encode(), expected.encode()):
            error_uri = "https://developer.salesforce.com/docs"
            return oauth_error(401, "invalid_client", "Client authentication failed.", error_uri=error_uri)
        account_id = body.get("account_id")
        if account_id is not None and str(account_id) != SFMC_ACCOUNT_ID:
            return oauth_error(401, "invalid_request", f"Account {account_id} is not accessible.")
        base = str(request.base_url)  # ends with "/", as rest_instance_url does
        scope = "email_read email_write email_send"
        value = self.tokens.issue("sfmc", str(body["client_id"]), frozenset(scope.split()), SFMC_LIFETIME_S)
        return JSONResponse(
            {
                "access_token": value,
                "token_type": "Bearer",
                "expires_in": SFMC_LIFETIME_S,
                "scope": scope,
                "soap_instance_url": base,
                "rest_instance_url": base,
            }
        )


def routes(tokens: TokenRegistry = TOKENS) -> list[Route]:
    """The token endpoints of all three issuers, issuing into `tokens`."""
    endpoints = TokenEndpoints(tokens)
    return [
        Route(GOOGLE_TOKEN_PATH, endpoints.google, methods=["POST"]),
        Route("/{tenant}/oauth2/v2.0/token", endpoints.microsoft, methods=["POST"]),
        Route("/v2/token", endpoints.sfmc, methods=["POST"]),
    ]
