"""Reading the cashier's search box: a time of day, or text for sale id, last four and contact."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.ui.formatting import store_time

_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?\s*$", re.IGNORECASE)
WINDOW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Search:
    """What to ask `KioskService.search` for."""

    query: str | None
    since: datetime
    until: datetime


def parse_search(text: str, day: date) -> Search:
    """`14:05` or `2:05 pm` searches five minutes either side on `day`; other text searches the whole day."""
    start = store_time(day, time())
    whole_day = Search(text.strip() or None, start, start + timedelta(days=1))
    match = _TIME.match(text)
    if not match:
        return whole_day
    hour, minute = int(match.group(1)), int(match.group(2))
    suffix = (match.group(3) or "").lower().replace(".", "")
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return whole_day
    at = store_time(day, time(hour, minute))
    return Search(None, at - WINDOW, at + WINDOW)
