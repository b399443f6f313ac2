from __future__ import annotations

from app.domain.channels import Channel
from app.domain.routing import Routing
from app.services.breaker import CircuitBreaker, CircuitState


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_repeated_failures_and_probes_once_after_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=clock)
    for _ in range(2):
        breaker.record_failure("sendgrid")
    assert breaker.allow("sendgrid")
    breaker.record_failure("sendgrid")
    assert breaker.state("sendgrid") is CircuitState.OPEN and not breaker.allow("sendgrid")
    assert breaker.retry_in("sendgrid") == 10
    clock.now += 10
    assert breaker.allow("sendgrid")  # the one probe
    assert not breaker.allow("sendgrid")  # nobody else while it is out
    breaker.record_failure("sendgrid")  # the probe failed: open again for a full cool-down
    assert breaker.state("sendgrid") is CircuitState.OPEN
    clock.now += 10
    assert breaker.allow("sendgrid")
    breaker.record_success("sendgrid")
    assert breaker.state("sendgrid") is CircuitState.CLOSED and breaker.allow("sendgrid")


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=10, clock=FakeClock())
    breaker.record_failure("twilio")
    breaker.record_success("twilio")
    breaker.record_failure("twilio")
    assert breaker.state("twilio") is CircuitState.CLOSED


def test_routing_alternatives_wrap_around() -> None:
    routing = Routing({Channel.EMAIL: ("sendgrid", "ses", "postmark")})
    assert routing.primary(Channel.EMAIL) == "sendgrid"
    assert routing.alternatives(Channel.EMAIL, "ses") == ("postmark", "sendgrid")
    assert routing.alternatives(Channel.SMS, "twilio") == ()
    assert routing.providers() == ("sendgrid", "ses", "postmark")
