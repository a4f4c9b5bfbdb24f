"""The sample's calendar: school days before the as-of date, working days, age cut-offs."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

NATIONAL_DAY = tuple(date(2026, 10, d) for d in range(1, 9))


def holidays(as_of: date) -> tuple[date, ...]:
    """Days off that fall on weekdays: the National Day week (1–8 October) of each year."""
    years = range(as_of.year - 3, as_of.year + 1)
    return tuple(date(y, 10, d) for y in years for d in range(1, 9))


def school_days(as_of: date, n: int) -> list[date]:
    """The ``n`` weekdays ending at ``as_of`` (inclusive when a weekday), skipping holidays."""
    off = set(holidays(as_of))
    days: list[date] = []
    d = as_of
    while len(days) < n:
        if d.weekday() < 5 and d not in off:
            days.append(d)
        d -= timedelta(days=1)
    return days[::-1]


def working_days_after(start: date, end: date, as_of: date) -> int:
    """Mon–Fri days after ``start`` up to and including ``end``, holidays skipped."""
    if end <= start:
        return 0
    return int(
        np.busday_count(
            np.datetime64(start, "D") + 1,
            np.datetime64(end, "D") + 1,
            holidays=[np.datetime64(h, "D") for h in holidays(as_of)],
        )
    )


def working_day_before(end: date, n: int, as_of: date) -> date:
    """The day ``start`` such that ``n`` working days lie after it up to ``end``."""
    d = end
    while working_days_after(d, end, as_of) < n:
        d -= timedelta(days=1)
    # step back over a weekend/holiday so start is itself a working day
    while d.weekday() >= 5 or d in set(holidays(as_of)):
        d -= timedelta(days=1)
    return d


def school_year_start(as_of: date) -> date:
    """1 September of the school year containing ``as_of``."""
    start = date(as_of.year, 9, 1)
    return start if as_of >= start else date(as_of.year - 1, 9, 1)


def cutoff_day(as_of: date) -> date:
    """31 August before the current school year: the day ages are counted on."""
    return date(school_year_start(as_of).year, 8, 31)
