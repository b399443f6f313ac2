"""How the manager's lists write a moment: the time alone when every row is today, else the date too.

US style through the shared formats (`app.ui.formatting`): `3:10 PM` when all rows are from today,
`Dec 4, 3:10 PM` on every row when they span days (`Dec 4, 2025, 3:10 PM` for another year), so
"21:10" or "3 12 2026" never appear and a row of today is never read as another day's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

from app.ui.formatting import clock_time, in_store_zone, store_time, store_today
from app.ui.formatting import moment as shortest


def moment(when: datetime, today: date | None = None) -> str:
    """`Dec 4, 3:10 PM`: a moment whose day matters, always with its day (the year when not this one)."""
    on = today or store_today()
    local = in_store_zone(when)
    # Measured from another day of the same year, `shortest` always writes the day.
    other = date(on.year, 1, 1) if local.date() != date(on.year, 1, 1) else date(on.year, 12, 31)
    reference = store_time(other if local.year == on.year else on, time(12))
    return shortest(when, reference)


def all_today(moments: Iterable[datetime], today: date | None = None) -> bool:
    """Whether every moment falls on today (the store's day)."""
    on = today or store_today()
    return all(in_store_zone(m).date() == on for m in moments)


def list_times(moments: Iterable[datetime], today: date | None = None) -> list[str]:
    """The moments as a list shows them: times only when all are today, else each with its date."""
    rows = list(moments)
    if all_today(rows, today):
        return [clock_time(m) for m in rows]
    return [moment(m, today) for m in rows]
