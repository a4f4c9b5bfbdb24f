"""School-year arithmetic: the current school year, ages on the cut-off day, working days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from xueji.config import Config


def school_year_start(as_of: date, cfg: Config) -> date:
    """First day of the school year containing ``as_of`` (default 1 September)."""
    month, day = cfg.month_day("school_year_start")
    start = date(as_of.year, month, day)
    return start if as_of >= start else date(as_of.year - 1, month, day)


def age_cutoff_day(as_of: date, cfg: Config) -> date:
    """The cut-off day of the current school year on which ages are counted (default 31 Aug)."""
    month, day = cfg.month_day("age_cutoff")
    start = school_year_start(as_of, cfg)
    cutoff = date(start.year, month, day)
    # 31 August lies just before a 1 September start: it belongs to the same calendar year.
    return cutoff


def full_years(birth_date: pl.Expr, on: date) -> pl.Expr:
    """Age in full years on ``on`` (birthdays on ``on`` itself count)."""
    years = on.year - birth_date.dt.year()
    before = (birth_date.dt.month() > on.month) | (
        (birth_date.dt.month() == on.month) & (birth_date.dt.day() > on.day)
    )
    return (years - before.cast(pl.Int32)).cast(pl.Int32)


def working_days_between(start: date, end: date, holidays: Sequence[date] = ()) -> int:
    """Mon–Fri days after ``start`` up to and including ``end``, skipping ``holidays``."""
    if end <= start:
        return 0
    return int(np.busday_count(np.datetime64(start, "D") + 1, np.datetime64(end, "D") + 1, holidays=list(holidays)))
