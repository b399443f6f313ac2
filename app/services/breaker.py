"""A circuit breaker per provider: stop calling one that keeps failing, probe before trusting it again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are refused until the cool-down ends
    HALF_OPEN = "half_open"  # one probe call is allowed; its outcome closes or re-opens the circuit


@dataclass(slots=True)
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False


class CircuitBreaker:
    """Opens after `threshold` consecutive transient failures; after `cooldown` seconds lets one probe through."""

    def __init__(
        self, *, threshold: int = 5, cooldown: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def state(self, provider: str) -> CircuitState:
        circuit = self._circuits.get(provider)
        if circuit is None or circuit.opened_at is None:
            return CircuitState.CLOSED
        if circuit.probing or self._clock() - circuit.opened_at >= self._cooldown:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def allow(self, provider: str) -> bool:
        """May a call go to `provider` now? In half-open state only the first caller gets to probe."""
        state = self.state(provider)
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.OPEN:
            return False
        circuit = self._circuits[provider]
        if circuit.probing:
            return False
        circuit.probing = True
        return True

    def retry_in(self, provider: str) -> float:
        """Seconds until `provider` may be probed again (0 when it may be called now)."""
        circuit = self._circuits.get(provider)
        if circuit is None or circuit.opened_at is None:
            return 0.0
        return max(0.0, self._cooldown - (self._clock() - circuit.opened_at))

    def record_success(self, provider: str) -> None:
        self._circuits[provider] = _Circuit()

    def record_failure(self, provider: str) -> None:
        circuit = self._circuits.setdefault(provider, _Circuit())
        circuit.failures += 1
        if circuit.probing or (circuit.opened_at is None and circuit.failures >= self._threshold):
            circuit.opened_at = self._clock()
            circuit.probing = False

    def release_probe(self, provider: str) -> None:
        """A probe that ended without a verdict (a permanent error about the message itself)."""
        circuit = self._circuits.get(provider)
        if circuit is not None:
            circuit.probing = False
