"""An attempt's fate in words: what it did, and how a doubt over it was settled."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from app.domain.attempt_words import attempt_line, outcome_words
from app.domain.doubt import AttemptOutcome, SettledBy
from app.domain.records import AttemptRecord

AT = datetime(2026, 12, 4, 14, 5, tzinfo=UTC)
BASE = AttemptRecord(2, "twilio", AT, None, AttemptOutcome.IN_DOUBT, None, None, None, None)
NAMES = {"twilio": "Twilio"}.get


def name(provider: str) -> str:
    return NAMES(provider, provider)


@pytest.mark.parametrize(
    ("settled_by", "actor", "words"),
    [
        (None, None, "#2 in doubt \u2192 waiting to be settled"),
        (SettledBy.LOOKUP_FOUND, None, "#2 in doubt \u2192 found at Twilio, not sent again"),
        (SettledBy.LOOKUP_NOT_FOUND, None, "#2 in doubt \u2192 not found at Twilio, sent again"),
        (SettledBy.RESENT, None, "#2 in doubt \u2192 Twilio cannot be asked, sent again as a possible duplicate"),
        (SettledBy.HELD, None, "#2 in doubt \u2192 Twilio cannot be asked, held for a manager"),
        (SettledBy.SENT_BY_MANAGER, "Ana Lee", "#2 in doubt \u2192 sent again by Ana Lee"),
        (SettledBy.DROPPED, "Ana Lee", "#2 in doubt \u2192 dropped by Ana Lee"),
        (SettledBy.DROPPED, None, "#2 in doubt \u2192 dropped by a manager"),
    ],
)
def test_a_doubt_says_how_it_was_settled(settled_by: SettledBy | None, actor: str | None, words: str) -> None:
    attempt = replace(BASE, settled_by=settled_by, settled_actor=actor)
    assert attempt_line(attempt, name) == words


def test_a_possible_duplicate_says_so() -> None:
    sent = replace(BASE, number=3, outcome=AttemptOutcome.SENT, finished_at=AT, possible_duplicate=True)
    assert attempt_line(sent, name) == "#3 sent \u2014 possible duplicate"


def test_a_refusal_names_its_status_and_an_unknown_outcome_is_read_as_stored() -> None:
    refused = replace(BASE, outcome=AttemptOutcome.PERMANENT, status_code=400, finished_at=AT)
    assert attempt_line(refused) == "#2 refused 400"
    assert outcome_words("rerouted_later") == "rerouted later"
    assert all(
        outcome_words(o) != o.value for o in AttemptOutcome if o not in (AttemptOutcome.SENT, AttemptOutcome.DELIVERED)
    )
