"""Attendance as each school's own system keeps it: one attendee per person and class,
one status per school day, held as a small-integer matrix until it is written."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from xueji.sample import ids
from xueji.sample.config import WINDOW_DAYS
from xueji.sample.names import given_key
from xueji.sample.world import World

PRESENT, LATE, SICK, PERSONAL, ABSENT = 0, 1, 2, 3, 4
STATUS_EN = ("present", "late", "sick_leave", "personal_leave", "absent")
STATUS_ZH = ("出勤", "迟到", "病假", "事假", "缺勤")


@dataclass
class Attendance:
    """Attendees (one row each) and their statuses, shape (attendees, school days);
    rows outside [first_day, last_day] are not written."""

    people: pl.DataFrame
    status: np.ndarray


def build_attendees(
    w: World, separated: dict[str, np.ndarray], unregistered: dict[str, np.ndarray]
) -> pl.DataFrame:
    """Who appears in attendance: pupils of schools with attendance (except planted
    ghosts and people recorded elsewhere), people who attend a school where they have
    no record, and people with no record at all."""
    r, p = w.records, w.people
    sch = w.sw.schools
    has_att = sch["has_attendance"].to_numpy()
    n_days = w.cfg.days
    day_numbers = np.array([(d.toordinal() - 719163) for d in w.school_days])
    shows = (
        has_att[r["school"]]
        & (r["rows"] != "none")
        & (
            (r["status"] == "enrolled")
            | np.isin(r["tag"], ["suspended_attending", "inactive_attending"])
        )
    )
    rec = np.flatnonzero(shows)
    first = np.searchsorted(day_numbers, r["enrol_day"][rec])
    last = np.full(rec.shape[0], n_days - 1)
    before = r["rows"][rec] == "before_window"
    last[before] = n_days - WINDOW_DAYS - 1 - w.rng.integers(2, 6, size=int(before.sum()))
    own = pl.DataFrame(
        {
            "pid": r["pid"][rec],
            "rec": rec.astype(np.int64),
            "school": r["school"][rec],
            "class_id": r["class_id"][rec],
            "first_day": first,
            "last_day": last,
            "tag": pl.Series(r["tag"][rec].tolist(), dtype=pl.String),
            "id_source": pl.Series(["record"] * rec.shape[0], dtype=pl.String),
        }
    )
    sep = separated["records"]
    away = pl.DataFrame(
        {
            "pid": r["pid"][sep],
            "rec": np.full(sep.shape[0], -1, dtype=np.int64),
            "school": separated["school"].astype(np.int64),
            "class_id": separated["class_id"].astype(np.int64),
            "first_day": np.zeros(sep.shape[0], dtype=np.int64),
            "last_day": np.full(sep.shape[0], n_days - 1),
            "tag": pl.Series(r["tag"][sep].tolist(), dtype=pl.String),
            "id_source": pl.Series(["true_full"] * sep.shape[0], dtype=pl.String),
        }
    )
    upid = unregistered["pid"]
    utag = p["tag"][upid]
    ufirst = np.where(
        utag == "unregistered_edge_5_days",
        n_days - 5,
        np.where(utag == "visitor_4_days", n_days - 4, 0),
    )
    noreg = pl.DataFrame(
        {
            "pid": upid.astype(np.int64),
            "rec": np.full(upid.shape[0], -1, dtype=np.int64),
            "school": unregistered["school"].astype(np.int64),
            "class_id": unregistered["class_id"].astype(np.int64),
            "first_day": ufirst,
            "last_day": np.full(upid.shape[0], n_days - 1),
            "tag": pl.Series(utag.tolist(), dtype=pl.String),
            "id_source": pl.Series(["true"] * upid.shape[0], dtype=pl.String),
        }
    )
    frame = pl.concat([own, away, noreg], how="vertical_relaxed")
    cls = w.sw.classes.select("class_id", "grade", "class_no", "class_name")
    return (
        frame.join(cls, on="class_id", how="left")
        .sort("school", "grade", "class_no", "pid")
        .with_row_index("att")
        .with_columns(pl.col("att").cast(pl.Int64))
    )


def id_and_name_forms(w: World, att: pl.DataFrame) -> pl.DataFrame:
    """How each attendee's ID and name are written: the school's ID habit (full, masked or
    none, and some pupils missing), and a few names in traditional characters, a
    homophone, padded with a space, or mistyped (mistyped only where the full ID is shown)."""
    rng = w.rng
    r, p = w.records, w.people
    sch = w.sw.schools
    n = att.height
    school = att["school"].to_numpy()
    rec = att["rec"].to_numpy()
    pid = att["pid"].to_numpy()
    mode = sch["att_id_mode"].to_numpy()[school].astype(object)
    mode[rng.random(n) < 0.1] = "none"
    src = att["id_source"].to_numpy()
    has_rec = rec >= 0
    safe_rec = np.where(has_rec, rec, 0)
    body = np.where(has_rec, r["id_body"][safe_rec], p["id_body"][pid])
    check = np.where(has_rec, r["id_check"][safe_rec], p["id_check"][pid])
    shape_bad = np.where(has_rec, r["id_shape_bad"][safe_rec], False)
    resident_type = np.where(has_rec, r["id_type"][safe_rec] == "resident_id", True)
    usable = (body > 0) & resident_type
    mode[~usable] = "none"
    mode[src == "true_full"] = "full"
    full = ids.render(np.where(body > 0, body, 10**16), np.where(check >= 0, check, 0))
    full = pl.select(
        pl.when(pl.Series(shape_bad)).then(full.str.slice(0, 17)).otherwise(full)
    ).to_series()
    masked = full.str.slice(0, 6) + "********" + full.str.slice(14, 4)
    masked = pl.select(pl.when(pl.Series(shape_bad)).then(None).otherwise(masked)).to_series()
    id_text = pl.select(
        pl.when(pl.Series(mode == "full"))
        .then(full)
        .when(pl.Series(mode == "masked"))
        .then(masked)
        .otherwise(None)
    ).to_series()

    u = rng.random(n)
    form = np.full(n, "same", dtype=object)
    form[u < 0.04] = "trad"
    form[(u >= 0.04) & (u < 0.09)] = "homophone"
    form[(u >= 0.09) & (u < 0.11) & (mode == "full")] = "typo"
    two_chars = (p["g2"][pid] < 0) & (p["minority"][pid] < 0)
    pad_school = sch["att_pad_names"].to_numpy()[school]
    form[two_chars & (pad_school | ((u >= 0.11) & (u < 0.16)))] = "spaced"
    # people with no record here keep one plain spelling: UNREGISTERED_ATTENDEE's
    # subject is (school, name) as written
    form[~has_rec] = "same"
    return att.with_columns(
        pl.Series("id_mode", mode.tolist(), dtype=pl.String),
        id_text.alias("id_number"),
        pl.Series("name_form", form.tolist(), dtype=pl.String),
    )


def fix_masked_clashes(w: World, att: pl.DataFrame, registry_ids: pl.DataFrame) -> pl.DataFrame:
    """A masked ID with a sound-alike name must point at one registry record only:
    where another record shares the visible digits and name sound, show no ID."""
    p = w.people
    pid = att["pid"].to_numpy()
    key = given_key(w.names_of(pid), w.book)
    masked = (
        att.with_columns(pl.Series("key", key))
        .filter(pl.col("id_mode") == "masked")
        .select(
            "att",
            "pid",
            "key",
            pl.col("id_number").str.slice(0, 6).alias("head"),
            pl.col("id_number").str.slice(14, 4).alias("tail"),
        )
    )
    reg = registry_ids.with_columns(
        pl.Series("key", given_key(w.names_of(registry_ids["pid"].to_numpy()), w.book))
    )
    reg = reg.filter(pl.col("id_text").str.len_chars() >= 18).select(
        pl.col("pid").alias("other"),
        "key",
        pl.col("id_text").str.slice(0, 6).alias("head"),
        pl.col("id_text").str.slice(14, 4).alias("tail"),
    )
    hits = (
        masked.join(reg, on=["key", "head", "tail"])
        .filter(pl.col("other") != pl.col("pid"))["att"]
        .unique()
    )
    del p
    w.note("masked_id_hidden_to_avoid_ambiguity", hits.len())
    return att.with_columns(
        pl.when(pl.col("att").is_in(hits.implode()))
        .then(pl.lit("none"))
        .otherwise(pl.col("id_mode"))
        .alias("id_mode"),
        pl.when(pl.col("att").is_in(hits.implode()))
        .then(None)
        .otherwise(pl.col("id_number"))
        .alias("id_number"),
    )


def statuses(w: World, att: pl.DataFrame) -> np.ndarray:
    """Mostly present; some late, sick (in spells of 1–3 days), personal leave and a rare
    isolated unexcused absence — never 5 in a row or 8 in the window unless planted."""
    rng = w.rng
    n, n_days = att.height, w.cfg.days
    u = rng.random((n, n_days), dtype=np.float32)
    m = np.zeros((n, n_days), dtype=np.uint8)
    m[u < 0.018] = LATE
    m[(u >= 0.018) & (u < 0.028)] = PERSONAL
    m[(u >= 0.028) & (u < 0.031)] = ABSENT
    spell = rng.random((n, n_days), dtype=np.float32) < 0.006
    length = rng.integers(1, 4, size=(n, n_days), dtype=np.int8)
    for k in range(3):
        start = spell & (length > k)
        m[:, k:][start[:, : n_days - k]] = SICK
    # an unexcused absence stays isolated, and at most two fall in the window
    for t in range(1, n_days):
        both = (m[:, t] == ABSENT) & (m[:, t - 1] == ABSENT)
        m[both, t] = PRESENT
    win = m[:, n_days - WINDOW_DAYS :]
    absent = win == ABSENT
    win[absent & (np.cumsum(absent, axis=1) > 2)] = PRESENT
    away = win >= SICK
    crowded = away.sum(axis=1) > 8
    win[crowded] = np.where(win[crowded] == ABSENT, ABSENT, PRESENT)
    _plant_patterns(w, att, m)
    return m


def _plant_patterns(w: World, att: pl.DataFrame, m: np.ndarray) -> None:
    """Absence patterns of the planted DROPOUT_RISK cases and of the near misses."""
    rng = w.rng
    n_days = w.cfg.days
    w0 = n_days - WINDOW_DAYS
    tags = att["tag"].to_numpy()

    def rows(tag: str) -> np.ndarray:
        return np.flatnonzero(tags == tag)

    def clean(i: int) -> None:
        m[i, w0:] = np.where(m[i, w0:] == ABSENT, PRESENT, m[i, w0:])

    for i in rows("dropout_streak"):
        clean(i)
        run = int(rng.integers(6, 13))
        s = int(rng.integers(0, WINDOW_DAYS - run + 1))
        m[i, w0 + s : w0 + s + run] = ABSENT
    for i in rows("dropout_edge_streak_5"):
        clean(i)
        m[i, w0 + 7 : w0 + 12] = ABSENT
        m[i, w0 + 6] = m[i, w0 + 12] = PRESENT
    for i in rows("absent_4_in_a_row"):
        clean(i)
        m[i, w0 + 3 : w0 + 7] = ABSENT
        m[i, w0 + 2] = m[i, w0 + 7] = PRESENT
    for tag, k in (("dropout_total", None), ("dropout_edge_total_8", 8), ("absent_7_in_all", 7)):
        for i in rows(tag):
            clean(i)
            count = k if k is not None else int(rng.integers(9, 11))
            # every other day at most: runs of one, never a streak
            slots = np.arange(0, WINDOW_DAYS, 2) + int(rng.integers(0, 2))
            slots = slots[slots < WINDOW_DAYS]
            days = np.sort(rng.choice(slots, size=min(count, slots.shape[0]), replace=False))
            m[i, w0 + days] = ABSENT
    for i in rows("senior_absent_6_in_a_row"):
        clean(i)
        m[i, w0 + 4 : w0 + 10] = ABSENT
    for i in rows("sick_leave_10_days"):
        clean(i)
        m[i, w0 + 5 : w0 + 15] = SICK
    for i in rows("absent_6_before_window"):
        clean(i)
        m[i, w0 - 7 : w0 - 1] = ABSENT
    for tag in ("unregistered_edge_5_days", "visitor_4_days"):
        for i in rows(tag):
            m[i, n_days - 5 :] = PRESENT
