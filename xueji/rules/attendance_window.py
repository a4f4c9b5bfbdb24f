"""The attendance window, reduced once per audit and shared by every attendance rule.

Contract §3: a school's *school days* are the dates in its attendance rows; its
*window* is its last ``window_school_days`` school days up to the as-of date; a school
*has attendance* when it has rows in the window; a person *attends* school A when
linked present or late on at least ``attends_min_days`` of A's window days.

The rules never read attendance rows. The loader's digest (``xueji.io.digest``) has
already folded them, per sighting, into three 64-bit masks over the school's last 64
school days up to the as-of date — days with any row, days present or late, days
absent — and identity attached each sighting to its attendance person. Here the
masks are cut to the window (its ``n`` low bits) and combined per attendance person
and per registry person with a bitwise OR: a mask is exact where a sum would not be (a
day recorded twice is still one day), and the counts and the longest absence streak
come from a few million small integers.

Why eager: these frames are shared by several rules, and Polars' common-subplan
elimination did not reliably share a plan between the rules' plans, so the shared
builders compute them here, once, and hand the rules small frames to plan on.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from xueji.errors import ConfigError
from xueji.io.digest import DAY_BITS, HORIZON_DAYS, school_days
from xueji.rules.base import AuditContext

# One bit per window day: the window is at most the digest's horizon.
MAX_WINDOW_DAYS = HORIZON_DAYS

_MASKS = ("rows_mask", "present_mask", "absent_mask")


def window_days_setting(ctx: AuditContext) -> int:
    """``window_school_days``, checked against what one bit mask can hold."""
    n = int(ctx.cfg["window_school_days"])
    if not 1 <= n <= MAX_WINDOW_DAYS:
        raise ConfigError(
            f"window_school_days = {n}: the attendance window must be 1 to {MAX_WINDOW_DAYS} school days"
        )
    return n


def materialised(
    ctx: AuditContext, key: str, plan: Callable[[AuditContext], pl.LazyFrame]
) -> pl.LazyFrame:
    """``plan(ctx)`` computed at most once per audit on the streaming engine, returned as
    a lazy frame over the result: for a derived frame several rules share, so it is
    neither recomputed per rule nor left to common-subplan elimination."""

    def build(c: AuditContext) -> pl.LazyFrame:
        return plan(c).collect(engine="streaming").lazy()

    result: pl.LazyFrame = ctx.shared(key, build)
    return result


def _window_days(ctx: AuditContext) -> pl.LazyFrame:
    # The digest's own numbering of school days (its masks use it), cut to the window.
    n = window_days_setting(ctx)
    return (
        school_days(ctx.identity.attendance_days, ctx.as_of)
        .lazy()
        .filter(pl.col("day_bit") < n)
        .with_columns(
            pl.col("day_bit").cast(pl.Int32),
            pl.col("day_bit").replace_strict(DAY_BITS, return_dtype=pl.UInt64).alias("bit"),
        )
    )


def window_days(ctx: AuditContext) -> pl.LazyFrame:
    """Each school's window days: ``school_code``, ``date``, ``day_bit`` (0 = the latest
    school day up to the as-of date, 1 the one before, ...) and ``bit`` = 2**day_bit."""
    return materialised(ctx, "attendance.window_days", _window_days)


def _school_windows(ctx: AuditContext) -> pl.LazyFrame:
    return (
        window_days(ctx)
        .group_by("school_code")
        .agg(
            pl.len().cast(pl.Int64).alias("window_days"),
            pl.col("date").min().alias("window_start"),
            pl.col("date").max().alias("window_end"),
        )
    )


def school_windows(ctx: AuditContext) -> pl.LazyFrame:
    """One row per school that *has attendance*: ``school_code``, ``window_days`` (fewer
    than the setting when the school has fewer school days), ``window_start``, ``window_end``."""
    return materialised(ctx, "attendance.school_windows", _school_windows)


def _person_masks(ctx: AuditContext) -> pl.LazyFrame:
    # The digest's bit i is the school's i-th latest school day, as here: the window is
    # its n low bits. Undated rows (unreadable date) are counted apart.
    window = pl.lit((1 << window_days_setting(ctx)) - 1, pl.UInt64)
    masks = (
        ctx.identity.attendance_masks.lazy()
        .filter(pl.col("att_person").is_not_null() & pl.col("school_code").is_not_null())
        .group_by("att_person")
        .agg(
            *((pl.col(m) & window).bitwise_or().alias(m) for m in _MASKS),
            pl.col("undated_rows").sum().cast(pl.Int64),
        )
        .filter((pl.col("rows_mask") != 0) | (pl.col("undated_rows") > 0))
    )
    persons = ctx.identity.attendance_persons.lazy().select(
        "att_person", "school_code", "person_id"
    )
    return masks.join(persons, on="att_person", how="inner")


def person_masks(ctx: AuditContext) -> pl.LazyFrame:
    """Per attendance person with rows in its school's window (or rows whose date is
    unreadable): ``att_person``, ``rows_mask``, ``present_mask``, ``absent_mask`` (UInt64,
    bit ``day_bit``), ``undated_rows``, its ``school_code`` and the registry ``person_id``
    it links to (null when unlinked)."""
    return materialised(ctx, "attendance.person_masks", _person_masks)


def mask_stats(frame: pl.LazyFrame, ctx: AuditContext) -> pl.LazyFrame:
    """Add the window figures to a frame holding ``school_code`` and the three masks.

    ``present_days`` (present or late), ``absent_days`` (unexcused), ``days_seen`` (days
    with a row of any status), ``absent_streak_max`` (longest run of absent days over the
    person's rows in date order: a day with no row neither breaks nor extends a run),
    ``first_date`` / ``last_date`` of those rows, and ``attends``.
    """
    n = window_days_setting(ctx)
    min_days = int(ctx.cfg["attends_min_days"])
    absent, rows = pl.col("absent_mask"), pl.col("rows_mask")
    out = frame.with_columns(
        pl.lit(0, pl.Int64).alias("_run"), pl.lit(0, pl.Int64).alias("absent_streak_max")
    )
    # Walk the window from its oldest day (highest bit) to its latest: n vectorised
    # steps over one row per person.
    for i in reversed(range(n)):
        b = 1 << i
        run = (
            pl.when((absent & b) != 0)
            .then(pl.col("_run") + 1)
            .when((rows & b) != 0)
            .then(pl.lit(0, pl.Int64))
            .otherwise(pl.col("_run"))
        )
        out = out.with_columns(run.alias("_run")).with_columns(
            pl.max_horizontal("absent_streak_max", "_run").alias("absent_streak_max")
        )
    days = window_days(ctx).select("school_code", "day_bit", "date")
    return (
        out.with_columns(
            pl.col("present_mask").bitwise_count_ones().cast(pl.Int64).alias("present_days"),
            pl.col("absent_mask").bitwise_count_ones().cast(pl.Int64).alias("absent_days"),
            rows.bitwise_count_ones().cast(pl.Int64).alias("days_seen"),
            # Highest set bit = the oldest day with a row; lowest = the latest.
            (63 - rows.bitwise_leading_zeros().cast(pl.Int32)).alias("_first_bit"),
            rows.bitwise_trailing_zeros().cast(pl.Int32).alias("_last_bit"),
        )
        .join(
            days.rename({"day_bit": "_first_bit", "date": "first_date"}),
            on=["school_code", "_first_bit"],
            how="left",
        )
        .join(
            days.rename({"day_bit": "_last_bit", "date": "last_date"}),
            on=["school_code", "_last_bit"],
            how="left",
        )
        .with_columns((pl.col("present_days") >= min_days).alias("attends"))
        .drop("_run", "_first_bit", "_last_bit")
    )


def _unlinked_window(ctx: AuditContext) -> pl.LazyFrame:
    persons = ctx.identity.attendance_persons.lazy().select(
        "att_person", "grade", "class_name", "name", "id_number", "local_id", "method"
    )
    unlinked = person_masks(ctx).filter(pl.col("person_id").is_null())
    return mask_stats(unlinked.join(persons, on="att_person", how="inner"), ctx)


def unlinked_window(ctx: AuditContext) -> pl.LazyFrame:
    """One row per attendance person linked to no registry person, with rows in its
    school's window: ``att_person``, school_code, grade, class_name, name, id_number,
    local_id, its masks and the figures of ``mask_stats``."""
    return materialised(ctx, "attendance.unlinked_window", _unlinked_window)


def _linked_window(ctx: AuditContext) -> pl.LazyFrame:
    # A registry person may be seen as several attendance persons at one school (a
    # name spelled two ways, rows with and without the ID): their days are one
    # person's days, so the masks are combined before counting. The first attendance
    # person names the person as the school writes them.
    combined = (
        person_masks(ctx)
        .filter(pl.col("person_id").is_not_null())
        .group_by("person_id", "school_code")
        .agg(
            *(pl.col(m).bitwise_or() for m in _MASKS),
            pl.col("undated_rows").sum(),
            pl.col("att_person").min().alias("att_person"),
            pl.len().cast(pl.Int64).alias("att_person_count"),
        )
    )
    seen_as = ctx.identity.attendance_persons.lazy().select(
        "att_person",
        pl.col("grade").alias("att_grade"),
        pl.col("class_name").alias("att_class_name"),
        pl.col("name").alias("att_name"),
        pl.col("method").alias("att_method"),
    )
    return mask_stats(combined.join(seen_as, on="att_person", how="left"), ctx)


def linked_window(ctx: AuditContext) -> pl.LazyFrame:
    """One row per (registry ``person_id``, ``school_code``) with linked rows in that
    school's window (or linked rows whose date is unreadable, ``undated_rows``): the
    combined masks and figures of ``mask_stats``, the first of its
    attendance persons (``att_person``, ``att_person_count`` of them) and how the school
    writes the person (``att_grade``, ``att_class_name``, ``att_name``, ``att_method``)."""
    return materialised(ctx, "attendance.linked_window", _linked_window)
