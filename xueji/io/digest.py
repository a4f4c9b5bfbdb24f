"""The attendance table reduced by its distinct values, in two streaming passes.

Attendance is the one big table (one row per student per school day: 60 M rows for a
city) and it is very repetitive: a city has a thousand school codes, a few hundred
dates, five statuses, and one *sighting* — (school, grade, class, name, ID as seen,
local_id) — per child. Normalising and checking every cell of every row costs ten
times more than reading the file, so the digest reads the raw cells and normalises
each distinct value once:

1. *days pass*: raw (school_code, date, status) → row counts (tens of thousands of
   rows). Normalised, it gives every school's school days and, per raw (school, date),
   the day's bit: bit ``i`` is the school's ``i``-th latest school day up to the as-of
   date, for the last ``HORIZON_DAYS`` of them.
2. *sightings pass*: each row gets its day's bit by a join on the small day table and
   the rows are folded per raw sighting into three 64-bit masks (days with any row,
   days present or late, days absent), a row count and a count of undated rows.
   The raw sightings (about one per child) are then normalised and merged.
3. *errors pass*, only when some distinct value is bad: the rows holding a bad value
   are read again and checked cell by cell exactly as the other tables are, so
   ``data_errors`` names every bad cell by row, as for any table.

Masks are exact where sums would not be (a day recorded twice is one day) and the
masks of several sightings of one child combine with a bitwise OR, so the rules get
every window figure from a million small integers instead of the rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl
from loguru import logger

from xueji.io.normalise import DATE_FORMATS, OK, fullwidth_columns, plan_field, staged
from xueji.io.schema import FieldSchema, TableSchema

# The masks hold the last 64 school days up to the as-of date: the longest window the
# attendance rules can be configured with.
HORIZON_DAYS = 64

_DAY_KEY = ("school_code", "date")
_PRESENT = ("present", "late")
_ABSENT = "absent"
DAY_BITS = {i: 1 << i for i in range(HORIZON_DAYS)}  # day_bit → its mask bit
MASKS = ("rows_mask", "present_mask", "absent_mask")

# The columns of a sighting, typed as the loader types them.
SIGHTING_SCHEMA: dict[str, pl.DataType] = {
    "school_code": pl.String(),
    "grade": pl.Int64(),
    "class_name": pl.String(),
    "name": pl.String(),
    "id_number": pl.String(),
    "local_id": pl.String(),
}
SIGHTING = tuple(SIGHTING_SCHEMA)

SIGHTINGS_SCHEMA: dict[str, pl.DataType] = {
    "sid": pl.Int64(),
    **SIGHTING_SCHEMA,
    "days": pl.Int64(),
    "rows_mask": pl.UInt64(),
    "present_mask": pl.UInt64(),
    "absent_mask": pl.UInt64(),
    "undated_rows": pl.Int64(),
}

DAYS_SCHEMA: dict[str, pl.DataType] = {
    "school_code": pl.String(),
    "date": pl.Date(),
    "rows": pl.Int64(),
}


@dataclass(frozen=True)
class AttendanceDigest:
    """Attendance reduced for linking and for the window rules.

    ``sightings``: one row per distinct normalised sighting (``SIGHTINGS_SCHEMA``):
    ``sid`` (in order of first appearance), the sighting's columns, ``days`` (its rows),
    the three masks over its school's last ``HORIZON_DAYS`` school days up
    to ``as_of`` and ``undated_rows`` (rows whose date is unreadable).
    ``days``: rows per (school_code, date), every date, nulls included (``DAYS_SCHEMA``).
    ``rows``: rows in the table.
    """

    sightings: pl.DataFrame
    days: pl.DataFrame
    as_of: date | None
    rows: int

    @staticmethod
    def empty(as_of: date | None = None) -> AttendanceDigest:
        """The digest of a table with no rows."""
        return AttendanceDigest(pl.DataFrame(schema=SIGHTINGS_SCHEMA), pl.DataFrame(schema=DAYS_SCHEMA), as_of, 0)


# Builds the data_errors rows of a few source rows (with ``_row``): the loader's own
# cell checker, passed in so both report a bad cell the same way.
CellErrors = Callable[[pl.DataFrame], pl.DataFrame]


def _normalised(frame: pl.DataFrame, fields: list[FieldSchema], known: dict[str, pl.Series]) -> pl.DataFrame:
    """``frame`` (raw cells) with, per field, ``<name>`` normalised (null unless OK) and
    ``__e_<name>`` its error code (a code outside the loader's set marks a foreign key
    that names no row). The raw cells are kept as ``__r_<name>``."""
    # Only columns holding a full-width character pay for its replacement.
    wide = fullwidth_columns(frame.select(f.name for f in fields))
    plans = [plan_field(f, frame.schema[f.name], f.name in wide) for f in fields]
    # The raw cells keep their own type (not text): they are join keys back onto the rows.
    raw = frame.lazy().with_columns([pl.col(p.field.name).alias(f"__r_{p.field.name}") for p in plans])
    out = staged(raw, plans).with_columns([p.final for p in plans])
    for name, codes in known.items():
        if name in frame.columns:
            unknown = pl.col(name).is_not_null() & ~pl.col(name).is_in(codes.implode())
            out = out.with_columns(
                pl.when(unknown).then(pl.lit(255, pl.UInt8)).otherwise(pl.col(f"__e_{name}")).alias(f"__e_{name}"),
                pl.when(unknown).then(None).otherwise(pl.col(name)).alias(name),
            )
    helpers = [p.value_col for p in plans] + [p.text_col for p in plans if p.text is not None]
    return out.drop(helpers).collect()


def _with_columns(frame: pl.LazyFrame, schema: TableSchema) -> pl.LazyFrame:
    """The raw frame with every field present (an optional column the file lacks is null)."""
    have = frame.collect_schema()
    missing = [pl.lit(None, pl.String).alias(f.name) for f in schema.fields if f.name not in have]
    return frame.with_columns(missing) if missing else frame


def school_days(days: pl.DataFrame, as_of: date | None) -> pl.DataFrame:
    """Each school's last ``HORIZON_DAYS`` school days up to ``as_of``: school_code, date,
    ``day_bit`` (0 = the latest) — the bit numbering of every mask, which the window
    rules cut to their ``n`` low bits."""
    dated = days.filter(pl.col("school_code").is_not_null() & pl.col("date").is_not_null())
    if as_of is not None:
        dated = dated.filter(pl.col("date") <= as_of)
    return (
        dated.select(*_DAY_KEY)
        .unique()
        .with_columns(
            (pl.col("date").rank("ordinal", descending=True).over("school_code") - 1).cast(pl.Int64).alias("day_bit")
        )
        .filter(pl.col("day_bit") < HORIZON_DAYS)
    )


def _by_day_table(src: pl.LazyFrame, day_norm: pl.DataFrame, latest: pl.DataFrame, status: _Status) -> pl.DataFrame:
    """Raw sightings with school-day masks, each row's bit found by a join on its raw
    (school_code, date): exact for any input, but the join makes the pass several times
    slower, so it is the fallback of ``_by_calendar``."""
    bits = latest.select(*_DAY_KEY, pl.col("day_bit").replace_strict(DAY_BITS, return_dtype=pl.UInt64).alias("bit"))
    raw_pairs = (
        day_norm.select("__r_school_code", "__r_date", *_DAY_KEY)
        .unique(["__r_school_code", "__r_date"])
        .join(bits, on=list(_DAY_KEY), how="left")
        .select(
            pl.col("__r_school_code").alias("school_code"),
            pl.col("__r_date").alias("date"),
            pl.col("bit"),
            pl.col("date").is_null().alias("_undated"),
        )
    )
    rows = _with_status(src.join(raw_pairs.lazy(), on=list(_DAY_KEY), how="left", nulls_equal=True), status)
    return _fold(rows.with_columns(_mask_columns(["bit"], [""])), [""], pl.col("_undated"))


@dataclass(frozen=True)
class _Status:
    """The raw status values that read as present (or late) and as absent."""

    present: pl.Series
    absent: pl.Series

    def is_present(self) -> pl.Expr:
        return pl.col("status").is_in(self.present.implode())

    def is_absent(self) -> pl.Expr:
        return pl.col("status").is_in(self.absent.implode())


def _mask_columns(bits: list[str], suffixes: list[str]) -> list[pl.Expr]:
    """Per row, its bit in each mask: ``rows_mask<suffix>``, ``present_mask<suffix>``,
    ``absent_mask<suffix>`` (columns, so the group-by only ORs them: an expression inside
    ``agg`` is evaluated group by group, many times slower than a column). Reads the
    status flags of ``_with_status``."""
    zero = pl.lit(0, pl.UInt64)
    # The status test (a string lookup) once per row, not once per mask word.
    present, absent = pl.col("_is_present"), pl.col("_is_absent")
    out: list[pl.Expr] = []
    for b, suffix in zip(bits, suffixes, strict=True):
        bit = pl.col(b).fill_null(0)
        out += [
            bit.alias(f"rows_mask{suffix}"),
            pl.when(present).then(bit).otherwise(zero).alias(f"present_mask{suffix}"),
            pl.when(absent).then(bit).otherwise(zero).alias(f"absent_mask{suffix}"),
        ]
    return out


def _with_status(rows: pl.LazyFrame, status: _Status) -> pl.LazyFrame:
    """``rows`` with the flags ``_mask_columns`` reads: present (or late), absent."""
    return rows.with_columns(status.is_present().alias("_is_present"), status.is_absent().alias("_is_absent"))


def _named_as(names: pl.Series) -> pl.Expr:
    """Rows whose name is one of ``names`` (a null name among them: rows with none), the
    cheap first cut before comparing whole sightings."""
    near = pl.col("name").is_in(names.drop_nulls().implode())
    return near | pl.col("name").is_null() if names.null_count() else near


def _fold(rows: pl.LazyFrame, suffixes: list[str], undated: pl.Expr) -> pl.DataFrame:
    """Rows (with the columns of ``_mask_columns``) folded per raw sighting.

    A mask is the OR of its rows' bits, but the streaming group-by sums several times
    faster than it ORs; a sum of distinct powers of two *is* their OR, and it is not
    exactly when two rows set the same bit (a day recorded twice) — then the sum
    carries, and its count of ones falls below the number of rows that set a bit. Those
    sightings (rare) are folded again, exactly, from their own rows."""
    cols = [f"{kind}{suffix}" for suffix in suffixes for kind in MASKS]
    folded = (
        rows.group_by(*SIGHTING)
        .agg(
            pl.len().cast(pl.Int64).alias("days"),
            *(pl.col(c).sum().alias(c) for c in cols),
            pl.any_horizontal([pl.col(f"rows_mask{s}") != 0 for s in suffixes]).sum().alias("_dated"),
            undated.sum().cast(pl.Int64).alias("undated_rows"),
        )
        .collect(engine="streaming")
    )
    # Rows that set a bit vs bits set: equal unless a day was recorded twice. Present and
    # absent bits are subsets of the rows' bits, so they cannot carry when rows do not.
    ones = pl.sum_horizontal([pl.col(f"rows_mask{s}").bitwise_count_ones().cast(pl.Int64) for s in suffixes])
    folded = folded.with_columns((ones != pl.col("_dated")).alias("_carried")).drop("_dated")
    again = folded.filter("_carried").select(SIGHTING)
    if again.height == 0:
        return folded.drop("_carried")
    exact = (
        rows.filter(_named_as(again["name"]))
        .join(again.lazy(), on=list(SIGHTING), how="semi", nulls_equal=True)
        .group_by(*SIGHTING)
        .agg(pl.col(c).bitwise_or() for c in cols)
        .collect(engine="streaming")
    )
    fixed = folded.filter("_carried").drop(cols).join(exact, on=list(SIGHTING), how="left", nulls_equal=True)
    return pl.concat([folded.filter(~pl.col("_carried")), fixed.select(folded.columns)]).drop("_carried")


def _cheap_date(dtype: pl.DataType) -> pl.Expr | None:
    """The row's date by one plain parse (no cleaning), or None when the column cannot be
    read that way. Used only where it agrees with the normaliser on every distinct value."""
    c = pl.col("date")
    if dtype == pl.Date:
        return c
    if dtype == pl.Datetime:
        return c.dt.date()
    if dtype == pl.String:
        return pl.coalesce([c.str.to_date(fmt, strict=False) for fmt in DATE_FORMATS])
    return None


# Calendar words beyond which the per-row calendar pass gives way to the day-table join
# (a school whose last 64 school days spread over more than 16 × 64 calendar days).
_MAX_WORDS = 16
_ORDER_SEED = 20260901
_POWERS = pl.Series("p", [1 << i for i in range(64)], dtype=pl.UInt64)


def _by_calendar(
    src: pl.LazyFrame, raw_dtype: pl.DataType, day_norm: pl.DataFrame, latest: pl.DataFrame, as_of: date | None, status: _Status
) -> pl.DataFrame | None:
    """Raw sightings with *calendar* masks (bit k of word j: the day 64·j + k days before
    ``as_of``), each row's bit computed from its date alone — no join, so the pass runs at
    the speed of a plain group-by. None when that cannot be exact for this input."""
    cheap = _cheap_date(raw_dtype)
    if cheap is None or as_of is None:
        return None
    # The plain parse is a function of the raw cell: agreeing with the normaliser on
    # every distinct raw date, it agrees on every row.
    raw_dates = day_norm.select("__r_date", "date").unique()
    plain = raw_dates.select(pl.col("__r_date").alias("date")).select(cheap.alias("plain"))["plain"]
    if not plain.eq_missing(raw_dates["date"]).all():
        return None
    oldest = latest.select(pl.col("date").min()).item()
    span = (as_of - oldest).days + 1 if oldest is not None else 1
    words = -(-span // 64)
    if words > _MAX_WORDS:
        return None
    offset = (pl.lit(as_of) - cheap).dt.total_days()
    zero = pl.lit(0, pl.UInt64)
    # The row's bit within its word and the word's number, once per row; each word
    # then takes the bit or nothing (a date after as_of, or before the oldest word,
    # falls in no word).
    located = _with_status(
        src.with_columns(
            pl.lit(_POWERS).gather(offset % 64).alias("_bit"), (offset // 64).alias("_word")
        ),
        status,
    )
    bits = [
        pl.when(pl.col("_word") == j).then(pl.col("_bit")).otherwise(zero).alias(f"_b{j}")
        for j in range(words)
    ]
    suffixes = [f"_w{j}" for j in range(words)]
    rows = located.with_columns(*bits).with_columns(_mask_columns([f"_b{j}" for j in range(words)], suffixes))
    return _fold(rows, suffixes, cheap.is_null())


# Distinct school calendars up to which masks are converted by shifts per calendar; a
# city whose schools keep more calendars than this takes the distinct-mask conversion.
_MAX_CALENDARS = 4


def _runs(offsets: list[int]) -> list[tuple[int, int, int]]:
    """(calendar offset, school-day bit, length) of each stretch of consecutive school
    days within one 64-day calendar word; ``offsets[i]`` is school day ``i``'s offset."""
    runs: list[tuple[int, int, int]] = []
    for i, k in enumerate(offsets):
        if runs and k == runs[-1][0] + runs[-1][2] and k // 64 == runs[-1][0] // 64:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((k, i, 1))
    return runs


def _shifted(kind: str, runs: list[tuple[int, int, int]], words: list[int]) -> pl.Expr:
    """The school-day mask ``kind`` of one calendar: each stretch of school days is one
    shift and mask of its calendar word (a week is one term, not five)."""
    terms = [
        ((pl.col(f"{kind}_w{k // 64}") // pl.lit(1 << (k % 64), pl.UInt64)) & pl.lit((1 << n) - 1, pl.UInt64))
        * pl.lit(1 << i, pl.UInt64)
        for k, i, n in runs
        if k // 64 in words
    ]
    return pl.sum_horizontal(terms).cast(pl.UInt64) if terms else pl.lit(0, pl.UInt64)


def _by_calendars(sightings: pl.DataFrame, latest: pl.DataFrame, as_of: date, words: list[int]) -> pl.DataFrame | None:
    """``_calendar_to_school_days`` where schools share a few calendars (a city's
    schools mostly keep one): per calendar, a fixed shuffle of bits, computed on the
    masks' columns; None when there are more than ``_MAX_CALENDARS``."""
    calendars = (
        latest.sort("school_code", "day_bit")
        .group_by("school_code", maintain_order=True)
        .agg(pl.lit(as_of).sub(pl.col("date")).dt.total_days().alias("k"))
        .group_by("k", maintain_order=True)
        .agg("school_code")
    )
    if calendars.height > _MAX_CALENDARS:
        return None
    masks: list[pl.Expr] = []
    for kind in MASKS:
        out: pl.Expr = pl.lit(0, pl.UInt64)
        for offsets, schools in calendars.iter_rows():
            out = pl.when(pl.col("school_code").is_in(pl.Series(schools, dtype=pl.String).implode())).then(
                _shifted(kind, _runs(offsets), words)
            ).otherwise(out)
        masks.append(out.alias(kind))
    return sightings.with_columns(masks).drop(f"{kind}_w{j}" for kind in MASKS for j in words)


def _calendar_to_school_days(sightings: pl.DataFrame, latest: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Calendar masks (``<mask>_w<j>``) → school-day masks (bit ``i`` = the school's
    ``i``-th latest school day). With many school calendars, sightings repeat the same few
    masks (most children are present every day), so the bit shuffle runs on the distinct
    (school, words) only."""
    words = sorted({int(c.rsplit("_w", 1)[1]) for c in sightings.columns if "_mask_w" in c})
    shared = _by_calendars(sightings, latest, as_of, words)
    if shared is not None:
        return shared
    # Per school, the calendar offset of each of its school days: k<i> columns.
    offsets = (
        latest.with_columns(pl.lit(as_of).sub(pl.col("date")).dt.total_days().alias("k"))
        .pivot(on="day_bit", index="school_code", values="k", sort_columns=True)
    )
    offsets = offsets.rename({c: f"k{c}" for c in offsets.columns if c != "school_code"})
    present_bits = [int(c[1:]) for c in offsets.columns if c != "school_code"]
    out = sightings
    for kind in MASKS:
        cols = [f"{kind}_w{j}" for j in words]
        distinct = out.select("school_code", *cols).unique().join(offsets, on="school_code", how="left")
        parts: list[pl.Expr] = []
        for i in present_bits:
            k = pl.col(f"k{i}")
            word: pl.Expr = pl.lit(0, pl.UInt64)
            for j in words:
                word = pl.when(k // 64 == j).then(pl.col(f"{kind}_w{j}")).otherwise(word)
            set_ = (word & pl.lit(_POWERS).gather((k % 64).fill_null(0))) != 0
            parts.append(pl.when(set_.fill_null(False)).then(pl.lit(1 << i, pl.UInt64)).otherwise(pl.lit(0, pl.UInt64)))
        converted = distinct.select(
            "school_code", *cols, (pl.sum_horizontal(parts) if parts else pl.lit(0, pl.UInt64)).cast(pl.UInt64).alias(kind)
        )
        out = out.join(converted, on=["school_code", *cols], how="left", nulls_equal=True).drop(cols)
    return out


def _respelled_alike(sightings: pl.DataFrame, sight_norm: pl.DataFrame) -> bool:
    """Whether two raw sightings (distinct) normalised to one: only where normalising
    changed a value can they meet, and then under one name, so the costly duplicate
    check runs on the sightings that share a name with a changed one."""
    def same(c: str) -> pl.Expr:
        value, raw = sight_norm.schema[c], sight_norm.schema[f"__r_{c}"]
        if value == raw or (value.is_numeric() and raw.is_numeric()):  # Int8 grades of a Parquet file
            return pl.col(c).eq_missing(pl.col(f"__r_{c}"))
        return pl.col(c).cast(pl.String).eq_missing(pl.col(f"__r_{c}").cast(pl.String))

    names = sight_norm.filter(~pl.all_horizontal([same(c) for c in SIGHTING]))["name"]
    if names.len() == 0:
        return False
    candidates = sightings.filter(_named_as(names))
    return bool(candidates.select(pl.struct(SIGHTING).is_duplicated().any()).item())


def digest_attendance(
    frame: pl.LazyFrame,
    schema: TableSchema,
    as_of: date | None,
    known: dict[str, pl.Series] | None = None,
    cell_errors: CellErrors | None = None,
    calendar: bool = True,
) -> tuple[AttendanceDigest, pl.DataFrame | None]:
    """Reduce the attendance table ``frame`` (raw cells as read, or already typed).

    ``known``: foreign-key columns → the codes they may hold (``school_code`` → the
    schools' codes); a code outside is an error and unknown. ``cell_errors`` builds the
    data_errors rows of source rows; when given, the rows holding a bad value are read
    again and passed to it (returned second; None when there is none or no checker).
    ``calendar=False`` forces the day-table join (the tests compare both ways).
    """
    known = known or {}
    # Columns the file has: one it lacks is null on every row, and the loader reports it
    # once (contract §4), not as a bad cell per row.
    supplied = frame.collect_schema().names()
    # Row numbers only for the errors pass: numbering the rows of the other two passes
    # would make the streaming engine keep them in order.
    src = _with_columns(frame, schema)
    raw_dtype = src.collect_schema()["date"]
    fields = {f.name: f for f in schema.fields}

    # 1. days pass ------------------------------------------------------------------------
    clock = time.perf_counter()
    raw_days = src.group_by("school_code", "date", "status").agg(pl.len().alias("rows")).collect(engine="streaming")
    timings = {"days": time.perf_counter() - clock}
    day_norm = _normalised(raw_days, [fields["school_code"], fields["date"], fields["status"]], known)
    days = (
        day_norm.group_by(*_DAY_KEY)
        .agg(pl.col("rows").sum().cast(pl.Int64))
        .sort(*_DAY_KEY, nulls_last=True)
    )
    latest_days = school_days(days, as_of)
    statuses = day_norm.select("__r_status", "status").unique()
    status = _Status(
        present=statuses.filter(pl.col("status").is_in(_PRESENT))["__r_status"],
        absent=statuses.filter(pl.col("status") == _ABSENT)["__r_status"],
    )

    # 2. sightings pass -------------------------------------------------------------------
    raw_sightings = _by_calendar(src, raw_dtype, day_norm, latest_days, as_of, status) if calendar else None
    by_calendar = raw_sightings is not None
    if raw_sightings is None:
        raw_sightings = _by_day_table(src, day_norm, latest_days, status)
    timings["sightings"] = time.perf_counter() - clock - sum(timings.values())
    sight_norm = _normalised(raw_sightings, [fields[c] for c in SIGHTING], known)
    merged_masks = [c for c in sight_norm.columns if "_mask" in c]
    sightings = sight_norm.select(*SIGHTING, "days", *merged_masks, "undated_rows")
    if _respelled_alike(sightings, sight_norm):
        # Two spellings of a cell that normalise alike (full-width digits, spaces): one
        # sighting. Checked first because it is rare and the regrouping is not free.
        sightings = sightings.group_by(*SIGHTING).agg(
            pl.col("days").sum(), *(pl.col(m).bitwise_or() for m in merged_masks), pl.col("undated_rows").sum()
        )
    if by_calendar and as_of is not None:
        sightings = _calendar_to_school_days(sightings, latest_days, as_of)
    # A fixed order whatever order the parallel group-by returned: by a hash of the
    # sighting (sorting on six text columns costs three times as much).
    sightings = sightings.sort(pl.struct(SIGHTING).hash(_ORDER_SEED))
    sightings = (
        sightings.with_row_index("sid")
        .select(list(SIGHTINGS_SCHEMA))
        .cast(SIGHTINGS_SCHEMA)  # type: ignore[arg-type]
    )
    rows = int(raw_days["rows"].sum())
    digest = AttendanceDigest(sightings, days, as_of, rows)
    timings["normalise"] = time.perf_counter() - clock - sum(timings.values())
    logger.debug(
        "attendance digest: {:,} rows → {:,} sightings, {:,} school days ({}); {}",
        rows,
        sightings.height,
        days.height,
        "calendar masks" if by_calendar else "day-table join",
        ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()),
    )

    # 3. errors pass ----------------------------------------------------------------------
    if cell_errors is None:
        return digest, None
    bad: list[pl.Expr] = []
    for normalised, names in ((sight_norm, SIGHTING), (day_norm, ("date", "status"))):
        for name in names:
            if name not in supplied:
                # Null on every row: it would send every row to this pass (60 M rows
                # read again) only for the cells of the other columns to be checked.
                continue
            values = normalised.filter(pl.col(f"__e_{name}") != OK)[f"__r_{name}"].unique()
            if values.len() == 0:
                continue
            hit = pl.col(name).is_in(values.drop_nulls().implode())
            bad.append(hit | pl.col(name).is_null() if values.null_count() else hit)
    if not bad:
        return digest, None
    # Only the supplied columns go to the checker: a column the file lacks would be
    # "required but empty" on every row read here.
    rows_with_errors = (
        src.with_row_index("_row", offset=1).filter(pl.any_horizontal(bad)).select("_row", *supplied).collect(engine="streaming")
    )
    return digest, cell_errors(rows_with_errors)

