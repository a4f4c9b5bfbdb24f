"""The contract's tables (clean values, before file formatting) built from the world."""

from __future__ import annotations

import numpy as np
import polars as pl

from xueji.sample import ids
from xueji.sample.attendance import Attendance
from xueji.sample.days import holidays
from xueji.sample.names import NameArrays, has_traditional, homophone, render, subset
from xueji.sample.table import NO_DATE, is_none
from xueji.sample.world import World

ACTIVE = ("enrolled", "suspended")


def _dates(days: np.ndarray) -> pl.Series:
    s = pl.Series(days.astype(np.int32))
    return pl.select(pl.when(s != NO_DATE).then(s).otherwise(None).cast(pl.Date)).to_series()


def _names(w: World, pids: np.ndarray, form: np.ndarray, res_given: bool = False) -> pl.Series:
    """Names of people written in a form: same, trad, homophone, spaced or typo. Only
    the few rows in another form than ``same`` are rendered twice."""
    p, book = w.people, w.book
    names = w.names_of(pids)
    male = p["male"][pids]
    if res_given:
        renamed = p["res_g1"][pids] >= 0
        names.g1 = np.where(renamed, p["res_g1"][pids], names.g1)
        names.g2 = np.where(renamed, p["res_g2"][pids], names.g2)
    out = render(names, male, book)
    for kind in ("trad", "homophone", "spaced", "typo"):
        idx = np.flatnonzero(form == kind)
        if idx.size == 0:
            continue
        part = subset(names, idx)
        if kind == "trad":
            text = render(part, male[idx], book, traditional=np.ones(idx.shape[0], dtype=bool))
        elif kind == "homophone":
            text = render(homophone(part, book)[0], male[idx], book)
        elif kind == "spaced":
            plain = render(part, male[idx], book)
            text = plain.str.slice(0, 1) + "\u3000" + plain.str.slice(1)
        else:
            # a different character of a different sound in the last position
            pool = np.concatenate([book.boy_pool, book.girl_pool])
            other = pool[w.rng.integers(0, pool.shape[0], size=idx.shape[0])]
            last2 = part.g2 >= 0
            current = np.where(last2, part.g2, part.g1)
            other = np.where(
                book.char_syllable[other] == book.char_syllable[current], np.roll(other, 1), other
            )
            other = np.where(
                book.char_syllable[other] == book.char_syllable[current],
                book.homophone_of[current] * 0 + pool[0],
                other,
            )
            typo = NameArrays(
                part.surname,
                np.where(last2, part.g1, other),
                np.where(last2, other, part.g2),
                part.minority,
            )
            text = render(typo, male[idx], book)
        out = out.scatter(idx, text)
    return out


def registry(w: World) -> pl.DataFrame:
    """One row per record with clean values, ordered as the registry export lists them."""
    r = w.records
    sch = w.sw.schools
    cls = w.sw.classes
    n = len(r)
    g = r["sn_prefix"] == "G"
    jl = r["sn_prefix"] == "J"
    num = ids.render(
        np.where(r["sn_prefix"] == "L", 10**16, r["sn_num"]), np.maximum(r["sn_check"], 0)
    )
    sn_gj = pl.Series(r["sn_prefix"].astype(str)) + num
    sn_l = "L" + pl.Series(r["sn_num"]).cast(pl.String).str.zfill(18)
    student_no = pl.select(pl.when(pl.Series(g | jl)).then(sn_gj).otherwise(sn_l)).to_series()
    has_id = r["id_body"] > 0
    id_full = ids.render(np.where(has_id, r["id_body"], 10**16), np.maximum(r["id_check"], 0))
    id_full = pl.select(
        pl.when(pl.Series(r["id_shape_bad"])).then(id_full.str.slice(0, 17)).otherwise(id_full)
    ).to_series()
    other = pl.Series(r["id_other"].tolist(), dtype=pl.String)
    id_text = pl.select(pl.when(pl.Series(has_id)).then(id_full).otherwise(other)).to_series()
    form = r["name_form"]
    frame = pl.DataFrame(
        {
            "rec": np.arange(n, dtype=np.int64),
            "pid": r["pid"],
            "school": r["school"],
            "class_id": r["class_id"],
            "student_no": student_no,
            "id_type": pl.Series(r["id_type"].tolist(), dtype=pl.String),
            "id_number": id_text,
            "name": _names(w, r["pid"], form),
            "gender": np.where(r["male"], "M", "F"),
            "birth_date": _dates(r["birth_day"]),
            "grade": r["grade"].astype(np.int64),
            "status": pl.Series(r["status"].tolist(), dtype=pl.String),
            "status_date": _dates(r["status_day"]),
            "enrol_date": _dates(r["enrol_day"]),
            "hukou_area_code": pl.Series(r["hukou_w"].tolist(), dtype=pl.String),
            "residence_area_code": pl.Series(r["res_w"].tolist(), dtype=pl.String),
            "is_migrant": r["is_migrant"],
            "placement": pl.Series(r["placement"].tolist(), dtype=pl.String),
            "tag": pl.Series(r["tag"].tolist(), dtype=pl.String),
        }
    )
    frame = frame.join(
        sch.select("school", "school_code", "county_code"), on="school", how="left"
    ).join(cls.select("class_id", "class_no", "class_name"), on="class_id", how="left")
    return frame.sort("school_code", "grade", "class_no", "student_no", "rec")


def residence(w: World) -> pl.DataFrame:
    """The population register: pupils' families (with permits for migrants), children
    not at school; names sometimes in traditional characters or a homophone spelling."""
    p, rng = w.people, w.rng
    pid = np.flatnonzero(p["in_residence"])
    n = pid.shape[0]
    form = np.full(n, "same", dtype=object)
    u = rng.random(n)
    names = w.names_of(pid)
    form[(u < 0.04) & has_traditional(names, w.book)] = "trad"
    form[(u >= 0.04) & (u < 0.08) & homophone(names, w.book)[1]] = "homophone"
    form[(u >= 0.08) & (u < 0.10) & (names.g2 < 0) & (names.minority < 0)] = "spaced"
    renamed = p["res_name"][pid] == "renamed"
    form[renamed] = "same"
    w.note("residence_name_traditional", int((form == "trad").sum()))
    w.note("residence_name_homophone", int((form == "homophone").sum()))
    w.note("residence_name_spaced", int((form == "spaced").sum()))
    male = p["male"][pid] ^ p["res_gender_flip"][pid]
    birth = p["birth_day"][pid] + p["res_birth_shift"][pid]
    moved = birth + (rng.random(n) * 2000).astype(np.int64)
    moved = np.minimum(moved, w.as_of_day - 30)
    frame = pl.DataFrame(
        {
            "pid": pid.astype(np.int64),
            "id_number": ids.render(p["id_body"][pid], p["id_check"][pid]),
            "name": _names(w, pid, form, res_given=True),
            "name_form": pl.Series(np.where(renamed, "renamed", form).tolist(), dtype=pl.String),
            "gender": np.where(male, "M", "F"),
            "birth_date": _dates(birth),
            "hukou_area_code": pl.Series(p["hukou"][pid]).cast(pl.String),
            "residence_area_code": pl.Series(
                np.where(p["res_code_filled"][pid], p["home"][pid], 0)
            ).cast(pl.String),
            "residence_permit": p["permit"][pid],
            "hukou_moved_in_date": _dates(np.where(rng.random(n) < 0.6, moved, NO_DATE)),
            "tag": pl.Series(p["tag"][pid].tolist(), dtype=pl.String),
        }
    ).with_columns(
        pl.when(pl.col("residence_area_code") != "0")
        .then(pl.col("residence_area_code"))
        .alias("residence_area_code")
    )
    return frame.sort("hukou_area_code", "id_number")


def attendance_people(w: World, att: Attendance) -> pl.DataFrame:
    """Attendees with their written name, ID and school-internal number."""
    a = att.people
    pid = a["pid"].to_numpy()
    names = _names(w, pid, a["name_form"].to_numpy())
    sy = w.school_year
    local = (
        pl.lit(str(sy))
        + pl.col("grade").cast(pl.String).str.zfill(2)
        + pl.col("class_no").cast(pl.String).str.zfill(2)
        + (pl.col("att").rank("ordinal").over("school", "class_id")).cast(pl.String).str.zfill(2)
    )
    sch = w.sw.schools.select(
        "school", "school_code", "county_code", "att_local_ids", "att_chinese_status"
    )
    return (
        a.with_columns(names.alias("name"))
        .join(sch, on="school", how="left")
        .with_columns(pl.when(pl.col("att_local_ids")).then(local).alias("local_id"))
        .sort("att")
    )


def _day_dates(days: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)


def _busday_back(end: np.ndarray, n: np.ndarray, w: World) -> np.ndarray:
    """For each end day, the working day with exactly ``n`` working days after it up to
    and including ``end`` (Mon–Fri, the National Day week off)."""
    off = [np.datetime64(h, "D") for h in holidays(w.cfg.as_of)]
    out = np.busday_offset(end.astype("datetime64[D]"), -n, roll="backward", holidays=off)
    return out.astype(np.int64)


def changes_and_seed(
    w: World, transfers: dict[str, np.ndarray], reg: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """registry_changes (transfers, suspensions, resumptions, drop-outs) and the workflow
    seed: completed approvals for most transfers, open transfers at each step."""
    rng = w.rng
    r = w.records
    codes = w.sw.schools["school_code"].to_numpy().astype(object)
    by_rec = reg.sort("rec")
    sn = by_rec["student_no"].to_numpy()
    class_name = by_rec["class_name"].to_numpy()
    moved, src, change = transfers["moved"], transfers["from"], transfers["change_day"]

    def rows(
        kind: str, rec: np.ndarray, days: np.ndarray, frm: np.ndarray, to: np.ndarray | None
    ) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "student_no": pl.Series(sn[rec], dtype=pl.String),
                "change_type": pl.Series([kind] * rec.shape[0], dtype=pl.String),
                "from_school_code": pl.Series(codes[frm], dtype=pl.String),
                "to_school_code": pl.Series(
                    codes[to] if to is not None else [None] * rec.shape[0], dtype=pl.String
                ),
                "change_date": _day_dates(days),
                "rec": pl.Series(rec, dtype=pl.Int64),
            }
        )

    parts = [rows("transfer", moved, change, src, r["school"][moved])]
    for status, kind in (("suspended", "suspend"), ("dropped", "drop")):
        rec = np.flatnonzero(r["status"] == status)
        parts.append(rows(kind, rec, r["status_day"][rec], r["school"][rec], None))
    plain = np.flatnonzero(
        (r["status"] == "enrolled") & is_none(r["tag"]) & (r["enrol_day"] < w.year_start_day)
    )
    for kind, share in (("resume", 0.002), ("other", 0.001)):
        pick = np.sort(rng.choice(plain, size=max(1, int(share * plain.shape[0])), replace=False))
        since = r["enrol_day"][pick].astype(np.int64)
        span = np.maximum(31, w.as_of_day - since - 10)
        when = since + 30 + (rng.random(pick.shape[0]) * (span - 30)).astype(np.int64)
        parts.append(rows(kind, pick, when, r["school"][pick], None))
    changes = pl.concat(parts).sort("change_date", "student_no", "change_type")

    reasons = np.array(["hukou_move", "parent_job", "home_move", "other"])
    tags = r["tag"][moved]
    approved = tags != "unapproved_no_record"
    late = tags == "unapproved_late_approval"
    shift = np.where(
        late, rng.integers(3, 21, size=moved.shape[0]), -rng.integers(0, 6, size=moved.shape[0])
    )
    done = change + shift
    submitted = done - rng.integers(10, 40, size=moved.shape[0])
    completed = pl.DataFrame(
        {
            "student_no": pl.Series(sn[moved], dtype=pl.String),
            "from_school_code": pl.Series(codes[src], dtype=pl.String),
            "to_school_code": pl.Series(codes[r["school"][moved]], dtype=pl.String),
            "to_class": pl.Series(class_name[moved], dtype=pl.String),
            "reason": pl.Series(rng.choice(reasons, size=moved.shape[0], p=[0.3, 0.3, 0.3, 0.1])),
            "state": pl.Series(["completed"] * moved.shape[0], dtype=pl.String),
            "submitted_on": _day_dates(submitted),
            "state_entered_on": _day_dates(done),
        }
    ).filter(pl.Series(approved))

    opened, dest = transfers["open"], transfers["to"]
    k = len(opened)
    overdue = r["tag"][opened] == "transfer_overdue"
    wait = np.where(overdue, rng.integers(14, 41, size=k), rng.integers(1, 7, size=k))
    entered = _busday_back(np.full(k, w.as_of_day), wait, w)
    states = np.array(
        [
            "submitted",
            "receiving_school_approved",
            "receiving_bureau_approved",
            "sending_school_confirmed",
        ]
    )
    state = states[rng.integers(0, 4, size=k)]
    submitted = np.where(
        state == "submitted", entered, _busday_back(entered, rng.integers(2, 9, size=k), w)
    )
    first_class = (
        w.sw.classes.filter(pl.col("tag").is_null())
        .group_by("school", "grade")
        .agg(pl.col("class_name").sort().first())
    )
    open_frame = (
        pl.DataFrame(
            {
                "student_no": pl.Series(sn[opened], dtype=pl.String),
                "from_school_code": pl.Series(codes[r["school"][opened]], dtype=pl.String),
                "to_school_code": pl.Series(codes[dest], dtype=pl.String),
                "school": pl.Series(dest, dtype=pl.Int64),
                "grade": pl.Series(r["grade"][opened], dtype=pl.Int8),
                "reason": pl.Series(rng.choice(reasons, size=k, p=[0.3, 0.3, 0.3, 0.1])),
                "state": pl.Series(state, dtype=pl.String),
                "submitted_on": _day_dates(submitted),
                "state_entered_on": _day_dates(entered),
            }
        )
        .join(first_class, on=["school", "grade"], how="left", maintain_order="left")
        .with_columns(pl.col("class_name").fill_null("1班").alias("to_class"))
        .select(completed.columns)
    )
    seed = pl.concat([completed, open_frame])
    return changes, seed.sort("state_entered_on", "student_no")
