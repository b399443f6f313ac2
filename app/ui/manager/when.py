"""How the manager's lists write a moment: the time alone when every row is today, else the date too.

US style through the shared formats (`app.ui.formatting`): `3:10 PM` when all rows are from today,
`Dec 4, 3:10 PM` on every row when they span days (`Dec 4, 2025, 3:10 PM` for another year), so
"21:10" or "3 12 2026" never appear and a row of today is never read as another day's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

from app.ui.formatting import clock_time
from app.ui.formatting import moment as shortest


def moment(when: datetime, today: date | None = None) -> str:
    """`Dec 4, 3:10 PM`: a moment whose day matters, always with its day (the year when not this one)."""
    on = today or date.today()
    # Measured from another day of the same year, `shortest` always writes the day.
    other = date(on.year, 1, 1) if when.astimezone().date() != date(on.year, 1, 1) else date(on.year, 12, 31)
    reference = datetime.combine(other if when.astimezone().year == on.year else on, time(12)).astimezone()
    return shortest(when, reference)


def all_today(moments: Iterable[datetime], today: date | None = None) -> bool:
    """Whether every moment falls on today (local time)."""
    on = today or date.today()
    return all(m.astimezone().date() == on for m in moments)


def list_times(moments: Iterable[datetime], today: date | None = None) -> list[str]:
    """The moments as a list shows them: times only when all are today, else each with its date."""
    rows = list(moments)
    if all_today(rows, today):
        return [clock_time(m) for m in rows]
    return [moment(m, today) for m in rows]
