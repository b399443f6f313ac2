"""Print-stream scrubbing catches every writing the one detector knows (digits of other scripts,
other dashes, `#`, backslashes, invisible characters inside the number) and leaves ids alone."""

from __future__ import annotations

import pytest

from app.domain.card_scrub import scrub
from app.domain.cards import contains_card_number

FORMS = [
    "４１１１ １１１１ １１１１ １１１１",
    "٤١١١١١١١١١١١١١١١",
    "4111\u20131111\u20131111\u20131111",
    "4111#1111#1111#1111",
    "4111\\1111\\1111\\1111",
    "4111\u200b1111\u200b1111\u200b1111",
    "4111.1111.1111.1111",
    "4111/1111/1111/1111",
    "4111 1111 1111 1111",
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("line", ["VISA {}", "CARD# {} CHIP", "{}"])
def test_no_writing_of_a_card_number_survives_the_scrubber(form: str, line: str) -> None:
    result = scrub(f"FRESH MARKET\n{line.format(form)}\nTOTAL 12.99")
    assert not contains_card_number(result.text), result.text
    assert result.masked or "a digit run shaped like a card number" in result.suspects


@pytest.mark.parametrize("line", ["TRANS# 7000-1234-5678-9012", "REF 2026-11-28 10:15:00", "ORDER 1733155200000"])
def test_ids_dates_and_timestamps_are_left_as_printed(line: str) -> None:
    result = scrub(line)
    assert result.text == line and result.clean
