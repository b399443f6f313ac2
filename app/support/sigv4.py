"""AWS Signature Version 4 for one HTTP request, with the standard library only.

Pure functions: the caller passes the clock. `sign` gives the headers to add to a request;
`verify` checks a request someone else signed (the SES sandbox uses it). The algorithm follows
botocore `botocore/auth.py` `SigV4Auth` (PROVIDERS.md § A7), which the tests use as the oracle.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# Never signed: hop-by-hop and tracing headers a proxy may rewrite (botocore SIGNED_HEADERS_BLACKLIST).
UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*"
)


@dataclass(frozen=True, slots=True)
class ParsedAuthorization:
    """The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def amz_date(now: datetime) -> str:
    """`YYYYMMDDTHHMMSSZ` in UTC (a naive datetime is taken as UTC)."""
    when = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return when.strftime(TIMESTAMP_FORMAT)


def host_of(url: str) -> str:
    """The Host header value for `url`: lower-case, without a default port or user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port is not None and parts.port != default:
        host = f"{host}:{parts.port}"
    return host


def canonical_uri(path: str) -> str:
    """The path, URI-encoded once (non-S3 services; botocore `_normalize_url_path`)."""
    return quote(path or "/", safe="/~")


def canonical_query(query: str) -> str:
    """Query parameters URI-encoded, sorted by name then value."""
    pairs = [(quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(query, keep_blank_values=True)]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _trim(value: str) -> str:
    return " ".join(value.split())


def canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], signed: tuple[str, ...], payload_sha256: str
) -> str:
    """The canonical request; `headers` keys are lower-case, `signed` is sorted."""
    lines = "".join(f"{name}:{_trim(headers[name])}\n" for name in signed)
    return "\n".join(
        [method.upper(), canonical_uri(path), canonical_query(query), lines, ";".join(signed), payload_sha256]
    )


def scope(date: str, region: str, service: str) -> str:
    """`YYYYMMDD/region/service/aws4_request`."""
    return f"{date}/{region}/{service}/aws4_request"


def string_to_sign(timestamp: str, credential_scope: str, canonical: str) -> str:
    """The four lines that get signed."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return "\n".join([ALGORITHM, timestamp, credential_scope, digest])


def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """HMAC chain over date, region, service and `aws4_request`, from `"AWS4" + secret`."""
    key = ("AWS4" + secret_access_key).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def signature(secret_access_key: str, date: str, region: str, service: str, to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign with the derived key."""
    key = signing_key(secret_access_key, date, region, service)
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    region: str,
    service: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
    now: datetime,
) -> dict[str, str]:
    """The headers to add to the request: `X-Amz-Date`, `X-Amz-Security-Token` (if any), `Authorization`.

    Every header in `headers` is signed (except hop-by-hop ones), plus `host`, `x-amz-date` and
    the session token; send those headers unchanged with exactly `body`.
    """
    timestamp = amz_date(now)
    added = {"X-Amz-Date": timestamp}
    if session_token:
        added["X-Amz-Security-Token"] = session_token
    to_sign = {k.lower(): v for k, v in headers.items() if k.lower() not in UNSIGNED_HEADERS}
    to_sign.setdefault("host", host_of(url))
    to_sign.update({k.lower(): v for k, v in added.items()})
    signed = tuple(sorted(to_sign))
    parts = urlsplit(url)
    canonical = canonical_request(method, parts.path, parts.query, to_sign, signed, hashlib.sha256(body).hexdigest())
    credential_scope = scope(timestamp[:8], region, service)
    sig = signature(
        secret_access_key, timestamp[:8], region, service, string_to_sign(timestamp, credential_scope, canonical)
    )
    added["Authorization"] = (
        f"{ALGORITHM} Credential={access_key_id}/{credential_scope}, SignedHeaders={';'.join(signed)}, Signature={sig}"
    )
    return added


def parse_authorization(value: str) -> ParsedAuthorization | None:
    """The parts of a SigV4 `Authorization` header, or None when it is not one."""
    match = _AUTHORIZATION.fullmatch(value.strip())
    if match is None:
        return None
    credential = match["credential"].split("/")
    if len(credential) != 5 or credential[4] != "aws4_request":
        return None
    access_key_id, date, region, service, _ = credential
    signed = tuple(match["signed"].split(";"))
    return ParsedAuthorization(access_key_id, date, region, service, signed, match["signature"])


def verify(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    auth: ParsedAuthorization,
    secret_access_key: str,
) -> bool:
    """Whether `auth.signature` is right for this request (headers keyed in lower case)."""
    if list(auth.signed_headers) != sorted(auth.signed_headers) or "host" not in auth.signed_headers:
        return False
    if any(name not in headers for name in auth.signed_headers):
        return False
    timestamp = headers.get("x-amz-date", "")
    if timestamp[:8] != auth.date:
        return False
    canonical = canonical_request(method, path, query, headers, auth.signed_headers, hashlib.sha256(body).hexdigest())
    to_sign = string_to_sign(timestamp, scope(auth.date, auth.region, auth.service), canonical)
    expected = signature(secret_access_key, auth.date, auth.region, auth.service, to_sign)
    return hmac.compare_digest(expected, auth.signature)
