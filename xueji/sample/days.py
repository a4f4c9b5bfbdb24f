"""The sample's calendar: school days before the as-of date, working days, age cut-offs."""

from __future__ import annotations

from datetime import date, timedelta


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


def school_year_start(as_of: date) -> date:
    """1 September of the school year containing ``as_of``."""
    start = date(as_of.year, 9, 1)
    return start if as_of >= start else date(as_of.year - 1, 9, 1)


def cutoff_day(as_of: date) -> date:
    """31 August before the current school year: the day ages are counted on."""
    return date(school_year_start(as_of).year, 8, 31)
