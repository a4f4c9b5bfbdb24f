"""Working days (Mon–Fri minus holidays) as a Polars expression.

A step's waiting time counts the working days *after* the day it began, up to and
including the as-of day (the day of the event itself does not count, as deadlines
in Chinese administrative rules are reckoned). It agrees with the scalar
``xueji.calendar.working_days_between``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl


def working_days_after(start: pl.Expr, end: date, holidays: Sequence[date] = ()) -> pl.Expr:
    """Working days in (start, end]; 0 when ``end`` is not after ``start``."""
    one_day = timedelta(days=1)
    counted = pl.business_day_count(start + one_day, pl.lit(end + one_day), holidays=list(holidays))
    return counted.clip(lower_bound=0).cast(pl.Int64)
