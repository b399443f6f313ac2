"""How the manager's lists write a moment: the time alone when every row is today, else the date too.

US style, 12-hour: `3:10 PM` when all rows are from today, `Dec 4, 3:10 PM` when they span days
(and `Dec 4, 2025, 3:10 PM` for another year), so "21:10" or "3 12 2026" never appear.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime


def clock(when: datetime) -> str:
    """`3:10 PM` in local time."""
    local = when.astimezone()
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def day(when: datetime, today: date | None = None) -> str:
    """`Dec 4` (the year too when it is not this year), in local time."""
    local = when.astimezone()
    year = (today or date.today()).year
    return f"{local:%b} {local.day}" + ("" if local.year == year else f", {local.year}")


def moment(when: datetime, today: date | None = None) -> str:
    """`Dec 4, 3:10 PM`: a moment whose day matters."""
    return f"{day(when, today)}, {clock(when)}"


def all_today(moments: Iterable[datetime], today: date | None = None) -> bool:
    """Whether every moment falls on today (local time)."""
    on = today or date.today()
    return all(m.astimezone().date() == on for m in moments)


def list_times(moments: Iterable[datetime], today: date | None = None) -> list[str]:
    """The moments as a list shows them: times only when all are today, else each with its date."""
    rows = list(moments)
    if all_today(rows, today):
        return [clock(m) for m in rows]
    return [moment(m, today) for m in rows]
