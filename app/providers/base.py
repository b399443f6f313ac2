"""What every provider adapter is, and the one place httpx errors become ours.

An adapter translates one `OutboundMessage` into the provider's HTTP request (a pure payload
builder) and the provider's response into a `SendResult` (a pure response parser). It declares
its capabilities as data, takes its credentials and the shared `httpx.AsyncClient` as constructor
arguments, and never reads keyring, environment or database. It never retries: `RetryPolicy` does.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Protocol

import httpx

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError
from app.domain.message import OutboundMessage, SendResult
from app.domain.plugins import SecretField as SecretField  # re-exported for adapters
from app.domain.plugins import SettingField as SettingField


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do, read by services and the UI."""

    channel: Channel
    max_body_chars: int | None = None
    supports_attachments: bool = False
    supports_templates: bool = False
    supports_idempotency_key: bool = False
    rate_per_sec: float | None = None
    delivery_receipts: bool = False


class ProviderAdapter(Protocol):
    """The contract every `app/providers/<provider_id>.py` class fulfils."""

    provider_id: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    secret_fields: ClassVar[tuple[SecretField, ...]]
    setting_fields: ClassVar[tuple[SettingField, ...]]
    default_base_url: ClassVar[str]

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message. Raises `TransientProviderError` or `PermanentProviderError`."""
        ...


def require(values: Mapping[str, str | None], provider: str, *names: str) -> tuple[str, ...]:
    """Return the named values, or fail at construction naming the missing field."""
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise ConfigurationError(
            f"{provider}: missing {', '.join(missing)}. "
            f"Store it with `receiptdesk secrets set {provider.lower()} {missing[0]}` or in the settings file."
        )
    return tuple(str(values[n]) for n in names)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@contextmanager
def translate_http_errors(provider: str) -> Iterator[None]:
    """Turn httpx transport exceptions into our error classes, at this one boundary.

    A connect failure means the provider never saw the request (safe to fail over); a timeout or
    broken connection after sending is ambiguous (the message may have been accepted).
    """
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise TransientProviderError(f"{provider} could not be reached: {type(exc).__name__}") from exc
    except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise TransientProviderError(
            f"{provider} did not answer in time: {type(exc).__name__}", ambiguous=True
        ) from exc
    except httpx.HTTPError as exc:
        raise TransientProviderError(f"{provider} request failed: {type(exc).__name__}") from exc


def classify_status(
    provider: str, response: httpx.Response, detail: str, *, retry_after: float | None = None, code: str | None = None
) -> TransientProviderError | PermanentProviderError:
    """The error for a non-success HTTP status: 408/429/5xx are transient, every other 4xx permanent."""
    status = response.status_code
    text = f"{provider} answered {status}: {detail}"
    if status in (408, 425, 429) or status >= 500:
        hint = retry_after if retry_after is not None else parse_retry_after(response.headers.get("Retry-After"))
        return TransientProviderError(text, status_code=status, code=code, retry_after=hint)
    return PermanentProviderError(text, status_code=status, code=code)
