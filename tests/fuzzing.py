"""How many examples a random-input test draws: a hypothesis test's `max_examples`, or the count of a
loop over seeded random inputs.

Every run draws a fifth of a test's full count (at least 50): each random-input test runs every day,
on the same examples each time where the test is derandomized. `make test-thorough` sets
`RECEIPTDESK_TESTS=thorough`, and each test draws its full count.
"""

from __future__ import annotations

import os

THOROUGH = os.environ.get("RECEIPTDESK_TESTS", "").strip().lower() == "thorough"
"""The whole count of every random-input test (`make test-thorough`)."""


def examples(full: int) -> int:
    """The `max_examples` of a test whose full count is `full`: all of it in the thorough run, else a
    fifth of it (at least 50, never more than `full`)."""
    return full if THOROUGH else min(full, max(50, full // 5))
