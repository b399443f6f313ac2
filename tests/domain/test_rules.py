from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.contacts import mask_email, mask_phone, normalise_email, normalise_phone
from app.domain.delivery import DeliveryState, IllegalTransition, transition
from app.domain.errors import ValidationFailed
from app.services.retry import RetryPolicy


def test_phone_numbers_normalise_to_e164() -> None:
    assert normalise_phone("(217) 555-0142") == "+12175550142"
    assert normalise_phone("+1 217 555 0142") == "+12175550142"
    with pytest.raises(ValidationFailed):
        normalise_phone("12345")


def test_email_addresses_normalise_and_reject_bad_syntax() -> None:
    assert normalise_email("Ana.Garcia@Example.COM ") == "Ana.Garcia@example.com"
    with pytest.raises(ValidationFailed):
        normalise_email("ana@@example")


def test_masks_show_only_enough() -> None:
    assert mask_email("jane@gmail.com") == "j***@gmail.com"
    assert mask_phone("+12175550142") == "(***) ***-0142"


def test_delivery_states_refuse_impossible_moves() -> None:
    assert transition(DeliveryState.QUEUED, DeliveryState.SENDING) is DeliveryState.SENDING
    with pytest.raises(IllegalTransition):
        transition(DeliveryState.DELIVERED, DeliveryState.QUEUED)
    with pytest.raises(IllegalTransition):
        transition(DeliveryState.QUEUED, DeliveryState.SENT)


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_delay=2, factor=2, max_delay=60)
    rng = random.Random(3)
    delays = [policy.backoff(n, rng) for n in range(1, 10)]
    assert 1 <= delays[0] <= 2
    assert 4 <= delays[2] <= 8
    assert all(30 <= d <= 60 for d in delays[6:])
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not fixed


def test_retry_after_is_a_floor_and_limits_end_retries() -> None:
    policy = RetryPolicy(max_attempts=3, max_age=timedelta(minutes=10), base_delay=1)
    now = datetime.now(UTC)
    rng = random.Random(1)
    decision = policy.decide(attempt=1, created_at=now, now=now, retry_after=30, rng=rng)
    assert decision.retry and decision.delay >= 30
    assert not policy.decide(attempt=3, created_at=now, now=now, retry_after=None, rng=rng).retry
    old = now - timedelta(minutes=11)
    assert not policy.decide(attempt=1, created_at=old, now=now, retry_after=None, rng=rng).retry
