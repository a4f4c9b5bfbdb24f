"""The exact findings the contract's rules imply on a generated dataset.

Every rule is computed from the clean tables and the generator's knowledge of who is
who (attendees and residents tied to their true person), not from planting lists: a
planted case's knock-on findings then appear by themselves, and an accidental finding
shows up labelled ``incidental`` (the tests require there are none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from xueji.sample import ids
from xueji.sample.attendance import ABSENT, LATE, PRESENT, Attendance
from xueji.sample.config import WINDOW_DAYS
from xueji.sample.days import cutoff_day, holidays, school_year_start

TRUTH_COLUMNS = (
    "rule",
    "student_no",
    "school_code",
    "grade",
    "class_name",
    "county_code",
    "id_number",
    "name",
    "kind",
)
RULES = (
    "ID_INVALID", "STUDENT_NO_MISMATCH", "TEMP_NUMBER_STALE", "ID_MISMATCH", "DUPLICATE_RECORD",
    "GHOST_RECORD", "SEPARATION", "UNREGISTERED_ATTENDEE", "DROPOUT_RISK", "OUT_OF_SCHOOL_CHILD",
    "PERSON_MISMATCH", "CATCHMENT", "CROSS_CITY", "UNAPPROVED_TRANSFER", "ENTRY_AGE", "GRADE_LEVEL",
    "OVERSIZED_CLASS", "CLASS_OVER_STANDARD", "OVER_CAPACITY", "STATUS_CONFLICT",
    "HOME_DELIVERY_RATIO", "TRANSFER_OVERDUE",
)  # fmt: skip

# Which rule a planted tag is about; any other rule it triggers is a knock-on.
TAG_RULE = (
    ("id_invalid", "ID_INVALID"), ("id_typo", "ID_INVALID"), ("student_no", "STUDENT_NO_MISMATCH"),
    ("temp_number_stale", "TEMP_NUMBER_STALE"), ("id_mismatch", "ID_MISMATCH"), ("dup_", "DUPLICATE_RECORD"),
    ("ghost", "GHOST_RECORD"), ("separation", "SEPARATION"), ("unregistered", "UNREGISTERED_ATTENDEE"),
    ("dropout", "DROPOUT_RISK"), ("out_of_school", "OUT_OF_SCHOOL_CHILD"), ("person_", "PERSON_MISMATCH"),
    ("catchment", "CATCHMENT"), ("cross_city", "CROSS_CITY"), ("unapproved", "UNAPPROVED_TRANSFER"),
    ("entry_age", "ENTRY_AGE"), ("grade_level", "GRADE_LEVEL"), ("oversized", "OVERSIZED_CLASS"),
    ("over_standard", "CLASS_OVER_STANDARD"), ("over_capacity", "OVER_CAPACITY"),
    ("suspended_stale", "STATUS_CONFLICT"), ("suspended_attending", "STATUS_CONFLICT"),
    ("inactive_attending", "STATUS_CONFLICT"), ("home_delivery", "HOME_DELIVERY_RATIO"),
    ("transfer_overdue", "TRANSFER_OVERDUE"),
)  # fmt: skip

ACTIVE = ["enrolled", "suspended"]


@dataclass
class Inputs:
    """Clean tables plus the links only the generator knows."""

    as_of: date
    days: list[date]
    schools: (
        pl.DataFrame
    )  # school, school_code, county_code, level, ownership, gmin, gmax, design_capacity
    classes: pl.DataFrame  # class_id, school, grade, class_name, tag
    catchments: pl.DataFrame  # school, area_code, entry_grade
    registry: pl.DataFrame  # rec, pid, ... tag
    residence: (
        pl.DataFrame
    )  # pid, id_number, name, name_form, gender, birth_date, codes, permit, tag
    attendance: Attendance  # people: att, pid, rec, school, grade, class_name, name, id_number, tag
    changes: pl.DataFrame
    seed: pl.DataFrame
    counties_tag: dict[str, str]  # county -> planted tag (HOME_DELIVERY_RATIO)
    schools_tag: dict[str, str]  # school_code -> planted tag (OVER_CAPACITY)


def _kind(rule: str) -> pl.Expr:
    tag = pl.col("tag")
    own = pl.lit(None, pl.String)
    for prefix, r in TAG_RULE:
        own = pl.when(tag.str.starts_with(prefix)).then(pl.lit(r)).otherwise(own)
    return (
        pl.when(tag.is_null())
        .then(pl.lit("incidental"))
        .when(own == rule)
        .then(tag)
        .otherwise(pl.lit("knock_on_of_") + tag)
        .alias("kind")
    )


def _rows(frame: pl.DataFrame, rule: str) -> pl.DataFrame:
    cols = []
    for c in TRUTH_COLUMNS[1:-1]:
        if c in frame.columns:
            cols.append(pl.col(c).cast(pl.String))
        else:
            cols.append(pl.lit(None, pl.String).alias(c))
    return frame.select(pl.lit(rule).alias("rule"), *cols, _kind(rule))


def window_stats(att: Attendance, n_days: int) -> pl.DataFrame:
    """Per attendee: rows in the window, present-or-late days, absent days, longest absence run."""
    m = att.status[:, n_days - WINDOW_DAYS :]
    first = att.people["first_day"].to_numpy() - (n_days - WINDOW_DAYS)
    last = att.people["last_day"].to_numpy() - (n_days - WINDOW_DAYS)
    cols = np.arange(WINDOW_DAYS)
    has_row = (cols[None, :] >= first[:, None]) & (cols[None, :] <= last[:, None])
    present = ((m == PRESENT) | (m == LATE)) & has_row
    absent = (m == ABSENT) & has_row
    run = np.zeros(m.shape[0], dtype=np.int64)
    best = np.zeros(m.shape[0], dtype=np.int64)
    for t in range(WINDOW_DAYS):
        # rows are contiguous, so a run over the person's rows is a run over the days
        run = np.where(absent[:, t], run + 1, 0)
        best = np.maximum(best, run)
    return att.people.select("att", "pid", "rec", "school").with_columns(
        pl.Series("window_rows", has_row.sum(axis=1)),
        pl.Series("present_days", present.sum(axis=1)),
        pl.Series("absent_days", absent.sum(axis=1)),
        pl.Series("absent_run", best),
    )


def compute(t: Inputs) -> pl.DataFrame:
    """Every finding, one row each, in the columns of truth.csv."""
    reg = t.registry.join(
        t.schools.select("school", "level", "ownership", "gmin", "gmax"), on="school", how="left"
    )
    year_start = school_year_start(t.as_of)
    cutoff = cutoff_day(t.as_of)
    active = pl.col("status").is_in(ACTIVE)
    enrolled = pl.col("status") == "enrolled"
    entered = pl.col("enrol_date") >= year_start
    out: list[pl.DataFrame] = []

    # identity numbers
    is_res = (pl.col("id_type") == "resident_id") & pl.col("id_number").is_not_null()
    valid = ids.is_valid_resident_id(pl.col("id_number"))
    out.append(_rows(reg.filter(is_res & ~valid), "ID_INVALID"))
    sn = pl.col("student_no")
    g_bad = sn.str.starts_with("G") & (
        pl.col("id_number").is_null() | (sn.str.slice(1, 18) != pl.col("id_number"))
    )
    j_bad = sn.str.starts_with("J") & ~ids.j_check_ok(sn)
    l_bad = (
        sn.str.starts_with("L")
        & pl.col("birth_date").is_not_null()
        & (sn.str.slice(7, 8) != pl.col("birth_date").dt.strftime("%Y%m%d"))
    )
    out.append(_rows(reg.filter(g_bad | j_bad | l_bad), "STUDENT_NO_MISMATCH"))
    out.append(
        _rows(
            reg.filter(
                active
                & sn.str.starts_with("L")
                & ((pl.lit(t.as_of) - pl.col("enrol_date")).dt.total_days() > 365)
            ),
            "TEMP_NUMBER_STALE",
        )
    )
    mismatch = (ids.embedded_birth(pl.col("id_number")) != pl.col("birth_date")).fill_null(
        False
    ) | (ids.embedded_gender(pl.col("id_number")) != pl.col("gender")).fill_null(False)
    out.append(_rows(reg.filter(is_res & valid & mismatch), "ID_MISMATCH"))

    # duplicates: active records of one person
    out.append(_rows(reg.filter(active).filter(pl.len().over("pid") > 1), "DUPLICATE_RECORD"))

    # attendance
    stats = window_stats(t.attendance, len(t.days))
    apeople = t.attendance.people
    att_schools = (
        apeople.join(stats.filter(pl.col("window_rows") > 0).select("att"), on="att")
        .select("school")
        .unique()
    )
    seen = stats.filter(pl.col("window_rows") > 0).select("pid", "school").unique()
    ghosts = (
        reg.filter(enrolled)
        .join(att_schools, on="school")
        .join(seen, on=["pid", "school"], how="anti")
    )
    out.append(_rows(ghosts, "GHOST_RECORD"))
    attends = stats.filter(pl.col("present_days") >= 5)
    registered = reg.select("pid").unique()
    sep = (
        reg.filter(active)
        .join(attends.select("pid", pl.col("school").alias("attended")), on="pid")
        .filter(pl.col("school") != pl.col("attended"))
    )
    out.append(_rows(sep.unique(subset=["rec"], maintain_order=True), "SEPARATION"))
    unreg = apeople.join(attends.select("att"), on="att").join(registered, on="pid", how="anti")
    unreg = unreg.join(
        t.schools.select("school", "school_code", "county_code"), on="school", how="left"
    )
    out.append(_rows(unreg, "UNREGISTERED_ATTENDEE"))
    worry = stats.filter((pl.col("absent_run") >= 5) | (pl.col("absent_days") >= 8)).select(
        "pid", "school"
    )
    out.append(
        _rows(
            reg.filter(enrolled & (pl.col("grade") <= 9)).join(worry, on=["pid", "school"]),
            "DROPOUT_RISK",
        )
    )

    # residence
    res = t.residence
    age = (
        cutoff.year
        - pl.col("birth_date").dt.year()
        - (
            (pl.col("birth_date").dt.month() > cutoff.month)
            | (
                (pl.col("birth_date").dt.month() == cutoff.month)
                & (pl.col("birth_date").dt.day() > cutoff.day)
            )
        ).cast(pl.Int32)
    )
    has_active = reg.filter(active).select("pid").unique()
    ooc = (
        res.filter(age.is_between(6, 15))
        .join(has_active, on="pid", how="anti")
        .with_columns(
            pl.coalesce("residence_area_code", "hukou_area_code")
            .str.slice(0, 6)
            .alias("county_code")
        )
    )
    out.append(_rows(ooc, "OUT_OF_SCHOOL_CHILD"))
    by_id = res.select(
        "id_number",
        pl.col("name_form").alias("res_form"),
        pl.col("gender").alias("res_gender"),
        pl.col("birth_date").alias("res_birth"),
        pl.col("hukou_area_code").alias("res_hukou"),
        pl.coalesce("residence_area_code", "hukou_area_code").alias("res_place"),
        pl.col("residence_permit").alias("res_permit"),
    )
    linked = reg.join(by_id, on="id_number", how="left")
    differs = (
        (pl.col("res_form") == "renamed")
        | (pl.col("res_gender") != pl.col("gender")).fill_null(False)
        | (pl.col("res_birth") != pl.col("birth_date")).fill_null(False)
    )
    out.append(
        _rows(
            linked.filter(active & is_res & pl.col("res_form").is_not_null() & differs),
            "PERSON_MISMATCH",
        )
    )

    # enrolment
    catch = t.catchments
    entrants = linked.filter(
        enrolled & entered & (pl.col("ownership") == "public") & pl.col("grade").is_in([1, 7])
    )
    codes = (
        entrants.select("rec", "school", "grade")
        .join(catch, on="school")
        .filter(pl.col("entry_grade").is_null() | (pl.col("entry_grade") == pl.col("grade")))
    )
    place = entrants.select("rec", pl.coalesce("res_place", "residence_area_code").alias("place"))
    inside = (
        codes.join(place, on="rec")
        .group_by("rec")
        .agg(
            pl.col("place").first().is_not_null().alias("known"),
            pl.col("place").str.starts_with(pl.col("area_code")).any().alias("inside"),
        )
    )
    out.append(
        _rows(
            entrants.join(
                inside.filter(pl.col("known") & ~pl.col("inside")).select("rec"), on="rec"
            ),
            "CATCHMENT",
        )
    )
    hukou = pl.coalesce("res_hukou", "hukou_area_code")
    cross = linked.filter(
        enrolled & entered & ~pl.col("is_migrant").fill_null(True) & hukou.is_not_null()
        & (hukou.str.slice(0, 4) != pl.col("county_code").str.slice(0, 4)) & ~pl.col("res_permit").fill_null(False)
    )  # fmt: skip
    out.append(_rows(cross, "CROSS_CITY"))
    under6 = pl.col("birth_date") > date(cutoff.year - 6, cutoff.month, cutoff.day)
    out.append(_rows(reg.filter(enrolled & entered & (pl.col("grade") == 1) & under6), "ENTRY_AGE"))
    out.append(
        _rows(
            reg.filter(active & ~pl.col("grade").is_between(pl.col("gmin"), pl.col("gmax"))),
            "GRADE_LEVEL",
        )
    )

    # capacity
    sizes = (
        reg.filter(enrolled)
        .group_by("school", "grade", "class_name")
        .agg(pl.len().alias("enrolled"))
        .join(
            t.classes.select("school", "grade", "class_name", "tag").unique(
                subset=["school", "grade", "class_name"]
            ),
            on=["school", "grade", "class_name"],
            how="left",
        )
        .join(t.schools.select("school", "school_code", "county_code"), on="school")
    )
    out.append(_rows(sizes.filter(pl.col("enrolled") >= 56), "OVERSIZED_CLASS"))
    std = pl.when(pl.col("grade") <= 6).then(45).otherwise(50)
    out.append(
        _rows(
            sizes.filter((pl.col("enrolled") < 56) & (pl.col("enrolled") > std)),
            "CLASS_OVER_STANDARD",
        )
    )
    per_school = reg.filter(enrolled).group_by("school").agg(pl.len().alias("enrolled"))
    big = t.schools.join(per_school, on="school").filter(
        pl.col("design_capacity").is_not_null() & (pl.col("enrolled") > pl.col("design_capacity"))
    )
    big = big.with_columns(
        pl.col("school_code").replace_strict(t.schools_tag, default=None).alias("tag")
    )
    out.append(_rows(big, "OVER_CAPACITY"))

    # status conflicts
    attending_people = attends.select("pid").unique()
    all_inactive = (
        reg.group_by("pid")
        .agg(pl.col("status").is_in(ACTIVE).any().alias("any_active"))
        .filter(~pl.col("any_active"))
    )
    latest = (
        reg.join(all_inactive.select("pid"), on="pid")
        .join(attending_people, on="pid")
        .sort("pid", "status_date", "enrol_date", nulls_last=False)
        .group_by("pid", maintain_order=True)
        .last()
    )
    susp = pl.col("status") == "suspended"
    attending_susp = reg.filter(susp).join(attending_people, on="pid")
    stale = reg.filter(susp & (pl.col("status_date") < t.as_of - timedelta(days=365)))
    conflicts = pl.concat(
        [latest.select(reg.columns), attending_susp.select(reg.columns), stale.select(reg.columns)]
    ).unique(subset=["rec"], maintain_order=True)
    out.append(_rows(conflicts, "STATUS_CONFLICT"))

    placed = reg.filter(
        active & pl.col("placement").is_not_null() & (pl.col("placement") != "none")
    )
    ratio = placed.group_by("county_code").agg(
        (pl.col("placement") == "home_delivery").sum().alias("home"), pl.len().alias("all")
    )
    heavy = ratio.filter(pl.col("home") > 0.08 * pl.col("all")).with_columns(
        pl.col("county_code").replace_strict(t.counties_tag, default=None).alias("tag")
    )
    out.append(_rows(heavy, "HOME_DELIVERY_RATIO"))

    # transfers
    transfers = t.changes.filter(pl.col("change_type") == "transfer")
    done = t.seed.filter(pl.col("state") == "completed").select(
        "student_no",
        "from_school_code",
        "to_school_code",
        pl.col("state_entered_on").alias("approved_on"),
    )
    checked = transfers.join(
        done, on=["student_no", "from_school_code", "to_school_code"], how="left"
    ).with_columns((pl.col("approved_on") <= pl.col("change_date")).fill_null(False).alias("ok"))
    bad = (
        checked.group_by("student_no", "from_school_code", "to_school_code", "change_date", "rec")
        .agg(pl.col("ok").any())
        .filter(~pl.col("ok"))
    )
    bad = bad.join(reg.drop("student_no"), on="rec", how="left").with_columns(
        pl.col("to_school_code").alias("school_code")
    )
    out.append(
        _rows(
            bad.join(
                t.schools.select("school_code", pl.col("county_code").alias("to_county")),
                on="school_code",
                how="left",
            ).with_columns(pl.col("to_county").alias("county_code")),
            "UNAPPROVED_TRANSFER",
        )
    )
    open_ = t.seed.filter(pl.col("state") != "completed")
    off = [np.datetime64(h, "D") for h in holidays(t.as_of)]
    start = open_["state_entered_on"].to_numpy().astype("datetime64[D]")
    # working days after the step was entered, up to and including the as-of date
    waited = np.busday_count(start + 1, np.datetime64(t.as_of, "D") + 1, holidays=off)
    late = open_.with_columns(pl.Series("waited", waited)).filter(pl.col("waited") > 10)
    late = late.join(
        reg.select(
            "student_no",
            "name",
            "id_number",
            "grade",
            "tag",
            pl.col("school_code").alias("from_school_code"),
        ),
        on=["student_no", "from_school_code"],
        how="left",
    )
    late = late.with_columns(
        pl.col("to_school_code").alias("school_code"), pl.col("to_class").alias("class_name")
    ).join(t.schools.select("school_code", "county_code"), on="school_code", how="left")
    out.append(_rows(late, "TRANSFER_OVERDUE"))

    truth = pl.concat(out, how="vertical")
    return truth.sort(
        "rule",
        "school_code",
        "student_no",
        "id_number",
        "name",
        "grade",
        "class_name",
        nulls_last=True,
    )
