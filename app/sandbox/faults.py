"""Fault injection for the provider sandbox: errors, throttling, latency and outages.

One `Faults` object is shared by every provider route. Tests set it in-process
(`app.state.faults.configure(error_rate=1.0)`) or over HTTP (`PUT /_sandbox/faults`).
Decisions come from a seeded `random.Random`, so a run with the same seed and the same
request order fails the same requests.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

PROVIDERS: frozenset[str] = frozenset(
    {
        "twilio",
        "twilio_whatsapp",
        "sendgrid",
        "mailgun",
        "mandrill",
        "postmark",
        "ses",
        "slack",
        "teams",
        "hubspot",
        "freshdesk",
        "zendesk",
        "zapier",
    }
)
"""Provider names the sandbox serves; `Faults.providers` may only name these."""

_SETTABLE = frozenset(
    {"error_rate", "error_status", "throttle_rate", "retry_after", "latency_ms", "outage_seconds", "providers", "seed"}
)


class FaultConfigError(ValueError):
    """A fault setting is unknown or out of range."""


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected failure: answer with `status` (and `Retry-After` when `retry_after` is set)."""

    status: int
    reason: str
    retry_after: int | None = None

    @property
    def phrase(self) -> str:
        """The HTTP reason phrase of `status` ("Service Unavailable", ...)."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"


@dataclass(slots=True)
class Faults:
    """Mutable fault settings plus the seeded generator that applies them.

    Attributes may be assigned directly; `configure` validates and is what the HTTP API uses.
    """

    error_rate: float = 0.0
    error_status: int = 503
    throttle_rate: float = 0.0
    retry_after: int = 1
    latency_ms: float = 0.0
    outage_until: datetime | None = None
    providers: frozenset[str] = frozenset()
    seed: int = 0
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def configure(self, **settings: Any) -> None:
        """Validate and apply the given settings; names as in `PUT /_sandbox/faults`.

        `outage_seconds=N` starts an outage lasting N seconds from now (0 ends it);
        `seed=N` re-seeds the generator. Settings not given keep their value.
        """
        unknown = set(settings) - _SETTABLE
        if unknown:
            raise FaultConfigError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        values = {name: _validate(name, value) for name, value in settings.items()}
        for name, value in values.items():
            if name == "outage_seconds":
                self.outage_until = datetime.now(UTC) + timedelta(seconds=value) if value > 0 else None
            elif name == "seed":
                self.seed = value
                self.rng.seed(value)
            else:
                setattr(self, name, value)

    def replace(self, settings: Mapping[str, Any]) -> None:
        """Reset every fault to its default, then apply `settings` (the PUT semantics)."""
        unknown = set(settings) - _SETTABLE
        if unknown:
            raise FaultConfigError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        for name, value in settings.items():
            _validate(name, value)
        self.clear()
        self.configure(**settings)

    def clear(self) -> None:
        """Turn every fault off. The generator keeps its state (re-seed with `configure(seed=...)`)."""
        self.error_rate = 0.0
        self.error_status = 503
        self.throttle_rate = 0.0
        self.retry_after = 1
        self.latency_ms = 0.0
        self.outage_until = None
        self.providers = frozenset()

    def outage_remaining(self, now: datetime | None = None) -> float:
        """Seconds left in the current outage (0.0 when there is none)."""
        if self.outage_until is None:
            return 0.0
        left = (self.outage_until - (now or datetime.now(UTC))).total_seconds()
        return max(left, 0.0)

    def decide(self, provider: str) -> Fault | None:
        """The failure to inject into one `provider` send, or None to let it through.

        Order: outage, then throttling, then errors; the generator is only drawn from for
        rates above zero, so unrelated settings do not shift the sequence.
        """
        if self.providers and provider not in self.providers:
            return None
        if self.outage_until is not None:
            if datetime.now(UTC) < self.outage_until:
                return Fault(503, "outage")
            self.outage_until = None
        if self.throttle_rate > 0.0 and self.rng.random() < self.throttle_rate:
            return Fault(429, "throttle", self.retry_after)
        if self.error_rate > 0.0 and self.rng.random() < self.error_rate:
            return Fault(self.error_status, "error")
        return None

    async def inject(self, provider: str) -> Fault | None:
        """Apply the configured latency for `provider`, then `decide`."""
        if self.latency_ms > 0.0 and (not self.providers or provider in self.providers):
            await asyncio.sleep(self.latency_ms / 1000.0)
        return self.decide(provider)

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready data (what `GET /_sandbox/faults` returns)."""
        return {
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "throttle_rate": self.throttle_rate,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "outage_until": self.outage_until.isoformat() if self.outage_until else None,
            "outage_remaining_s": round(self.outage_remaining(), 3),
            "providers": sorted(self.providers),
            "seed": self.seed,
        }


def _number(name: str, value: Any, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultConfigError(f"{name} must be a number in [{low}, {high}]")
    return float(value)


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultConfigError(f"{name} must be an integer in [{low}, {high}]")
    return value


def _validate(name: str, value: Any) -> Any:
    if name in ("error_rate", "throttle_rate"):
        return _number(name, value, 0.0, 1.0)
    if name in ("latency_ms", "outage_seconds"):
        return _number(name, value, 0.0)
    if name == "error_status":
        return _integer(name, value, 400, 599)
    if name == "retry_after":
        return _integer(name, value, 0, 86_400)
    if name == "seed":
        return _integer(name, value, -(2**63), 2**63 - 1)
    # providers
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise FaultConfigError("providers must be a list of provider names")
    if not all(isinstance(name, str) for name in value):
        raise FaultConfigError("providers must be a list of provider names")
    names = frozenset(value)
    if not names <= PROVIDERS:
        raise FaultConfigError(f"providers must be among {sorted(PROVIDERS)}")
    return names
