"""Fault injection for the provider sandbox: errors, throttling, latency, outages and holds.

One `Faults` object is shared by every provider route. Tests set it in-process
(`app.state.faults.configure(error_rate=1.0)`) or over HTTP (`PUT /_sandbox/faults`).
Decisions come from a seeded `random.Random`, so a run with the same seed and the same
request order fails the same requests.

A hold (`hold=true`, optionally `hold_after=N`) keeps provider requests waiting, unanswered, until
it is released (`hold=false`, or any PUT or DELETE of the faults). With it a test controls time
instead of guessing at the machine's speed: let N requests through, hold the rest, watch `held`
in `GET /_sandbox/faults` until the client is mid-request, then do what must happen mid-request
(kill the client, say) and release.

What a release does with the held requests is `release` (read when they are released):

- `process` (the default): each is handled as if it had just arrived and, when valid, recorded:
  the provider took the message (a client killed meanwhile died *after its request*);
- `drop`: each is answered 503 and recorded nowhere: the message never reached the provider (a
  client killed meanwhile died *after its intent, before its request arrived*).

An answer hold (`hold_answers=true`) lets provider requests be handled and recorded, then keeps
their answers back until it is released (`hold_answers=false`, or any PUT or DELETE): a client
killed meanwhile died *after the provider took the message, before it heard so*. `answers_held`
counts the answers kept back and `answered` every answer a provider route has finished sending.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from app.sandbox.stand_ins import provider_ids

_SETTABLE = frozenset(
    {
        "error_rate",
        "error_status",
        "throttle_rate",
        "retry_after",
        "latency_ms",
        "outage_seconds",
        "providers",
        "seed",
        "hold",
        "hold_after",
        "release",
        "hold_answers",
    }
)

RELEASE_MODES = ("process", "drop")
"""What a release does with held requests: handle them, or answer 503 and record nothing."""

MAX_HOLD_AFTER = 1_000_000
"""The most requests `hold_after` can let through before a hold starts."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


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


class _Gate:
    """One hold's waiting room: its requests wait on `event`; `mode` says what they do when let go."""

    __slots__ = ("event", "mode")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.mode = "process"

    def open(self, mode: str) -> None:
        self.mode = mode
        self.event.set()


@dataclass(slots=True)
class Faults:
    """Mutable fault settings plus the seeded generator that applies them.

    Attributes may be assigned directly, except the holds: use `configure(hold=..., hold_answers=...)`,
    `release()` or `release_answers()`.
    `configure` validates and is what the HTTP API uses. `clock` tells the time outages run by (a
    test can pass its own). A hold is meant to be used from the event loop that serves the sandbox.
    """

    error_rate: float = 0.0
    error_status: int = 503
    throttle_rate: float = 0.0
    retry_after: int = 1
    latency_ms: float = 0.0
    outage_until: datetime | None = None
    providers: frozenset[str] = frozenset()
    seed: int = 0
    clock: Callable[[], datetime] = field(default=_utcnow, repr=False)
    hold: bool = field(default=False, init=False)
    hold_after: int = field(default=0, init=False)
    held: int = field(default=0, init=False)
    release_mode: str = field(default="process", init=False)
    hold_answers: bool = field(default=False, init=False)
    answers_held: int = field(default=0, init=False)
    answered: int = field(default=0, init=False)
    dropped: int = field(default=0, init=False)
    rng: random.Random = field(init=False, repr=False)
    _gate: _Gate | None = field(default=None, init=False, repr=False)
    _answer_gate: asyncio.Event | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def configure(self, **settings: Any) -> None:
        """Validate and apply the given settings; names as in `PUT /_sandbox/faults`.

        `outage_seconds=N` starts an outage lasting N seconds from now (0 ends it);
        `seed=N` re-seeds the generator; `hold=True` holds provider requests (after letting the
        next `hold_after` through) until `hold=False` releases every one held, as `release` says
        (`process` or `drop`, applied before the hold in the same call); `hold_answers=True` keeps
        answers back until `hold_answers=False`. Settings not given keep their value.
        """
        unknown = set(settings) - _SETTABLE
        if unknown:
            raise FaultConfigError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        values = {name: _validate(name, value) for name, value in settings.items()}
        if "release" in values:  # the mode of a release asked for in the same call
            self.release_mode = values.pop("release")
        for name, value in values.items():
            if name == "outage_seconds":
                self.outage_until = self.clock() + timedelta(seconds=value) if value > 0 else None
            elif name == "seed":
                self.seed = value
                self.rng.seed(value)
            elif name == "hold":
                self.hold = value
                if not value:
                    self.release()
            elif name == "hold_answers":
                self.hold_answers = value
                if not value:
                    self.release_answers()
            else:
                setattr(self, name, value)

    def replace(self, settings: Mapping[str, Any]) -> None:
        """Reset every fault to its default, then apply `settings` (the PUT semantics)."""
        unknown = set(settings) - _SETTABLE
        if unknown:
            raise FaultConfigError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        for name, value in settings.items():
            _validate(name, value)
        if "release" in settings:  # requests held now are released the way the new settings say
            self.release_mode = settings["release"]
        self.clear()
        self.configure(**settings)

    def clear(self) -> None:
        """Turn every fault off, release held requests (as `release_mode` says, which then goes back to
        `process`) and send the answers kept back. The generator keeps its state."""
        self.error_rate = 0.0
        self.error_status = 503
        self.throttle_rate = 0.0
        self.retry_after = 1
        self.latency_ms = 0.0
        self.outage_until = None
        self.providers = frozenset()
        self.hold = False
        self.hold_after = 0
        self.release()
        self.release_mode = "process"
        self.hold_answers = False
        self.release_answers()

    def release(self, mode: str | None = None) -> None:
        """Let every held request go on, handled or dropped as `mode` (default: `release_mode`) says.

        A hold still set holds the requests that come after.
        """
        how = _validate("release", mode) if mode is not None else self.release_mode
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.open(how)

    def release_answers(self) -> None:
        """Send every answer kept back (an answer hold still set keeps the answers that come after)."""
        gate, self._answer_gate = self._answer_gate, None
        if gate is not None:
            gate.set()

    def outage_remaining(self, now: datetime | None = None) -> float:
        """Seconds left in the current outage (0.0 when there is none)."""
        if self.outage_until is None:
            return 0.0
        left = (self.outage_until - (now or self.clock())).total_seconds()
        return max(left, 0.0)

    def decide(self, provider: str) -> Fault | None:
        """The failure to inject into one `provider` send, or None to let it through.

        Order: outage, then throttling, then errors; the generator is only drawn from for
        rates above zero, so unrelated settings do not shift the sequence.
        """
        if self.providers and provider not in self.providers:
            return None
        if self.outage_until is not None:
            if self.clock() < self.outage_until:
                return Fault(503, "outage")
            self.outage_until = None
        if self.throttle_rate > 0.0 and self.rng.random() < self.throttle_rate:
            return Fault(429, "throttle", self.retry_after)
        if self.error_rate > 0.0 and self.rng.random() < self.error_rate:
            return Fault(self.error_status, "error")
        return None

    async def inject(self, provider: str) -> Fault | None:
        """Wait out a hold and the configured latency for `provider`, then `decide`.

        A request released by a `drop` is answered 503 (reason `dropped`) without drawing from the
        generator: the stand-in records nothing, as if the request had never arrived.
        """
        if not self.providers or provider in self.providers:
            if await self._wait_if_held() == "drop":
                self.dropped += 1
                return Fault(503, "dropped")
            if self.latency_ms > 0.0:
                await asyncio.sleep(self.latency_ms / 1000.0)
        return self.decide(provider)

    async def _wait_if_held(self) -> str | None:
        """Under a hold, pass the next `hold_after` requests, then wait for `release`; its mode."""
        if not self.hold:
            return None
        if self.hold_after > 0:
            self.hold_after -= 1
            return None
        if self._gate is None:
            self._gate = _Gate()
        gate = self._gate
        self.held += 1
        try:
            await gate.event.wait()
        finally:
            self.held -= 1
        return gate.mode

    def holds_answers(self, provider: str) -> bool:
        """Whether an answer of `provider` is kept back now (the answer hold is set and covers it)."""
        return self.hold_answers and (not self.providers or provider in self.providers)

    async def wait_answer(self) -> None:
        """Keep one answer back until `release_answers` (counted in `answers_held` meanwhile)."""
        if self._answer_gate is None:
            self._answer_gate = asyncio.Event()
        gate = self._answer_gate
        self.answers_held += 1
        try:
            await gate.wait()
        finally:
            self.answers_held -= 1

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready data (what `GET /_sandbox/faults` returns).

        `hold_after` is how many requests still pass before a set hold starts holding; `held` is how
        many requests are waiting on the hold right now; `release` what releasing them will do;
        `dropped` how many released requests were dropped; `answers_held` how many answers are kept
        back right now; `answered` how many answers provider routes finished sending.
        """
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
            "hold": self.hold,
            "hold_after": self.hold_after,
            "held": self.held,
            "release": self.release_mode,
            "dropped": self.dropped,
            "hold_answers": self.hold_answers,
            "answers_held": self.answers_held,
            "answered": self.answered,
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
    if name in ("hold", "hold_answers"):
        if not isinstance(value, bool):
            raise FaultConfigError(f"{name} must be true or false")
        return value
    if name == "release":
        if value not in RELEASE_MODES:
            raise FaultConfigError(f"release must be one of {', '.join(RELEASE_MODES)}")
        return value
    if name == "hold_after":
        return _integer(name, value, 0, MAX_HOLD_AFTER)
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
    served = provider_ids()  # one per stand-in module
    if not names <= served:
        raise FaultConfigError(f"providers must be among {sorted(served)}")
    return names
