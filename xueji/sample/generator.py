"""One sample run: build the city, plant the problems, derive the tables and the truth."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl
from loguru import logger

from xueji.sample import tables
from xueji.sample.attendance import (
    Attendance,
    build_attendees,
    fix_masked_clashes,
    id_and_name_forms,
    statuses,
)
from xueji.sample.config import SampleConfig
from xueji.sample.constraints import resolve_names
from xueji.sample.days import school_days
from xueji.sample.names import name_book
from xueji.sample.plants import (
    Picker,
    plant_attendance_cases,
    plant_duplicates,
    plant_enrolment,
    plant_entry_age,
    plant_ids,
    plant_placements,
    plant_residence,
    plant_temp_numbers,
    plant_transfers,
    plant_unregistered,
)
from xueji.sample.population import (
    add_inactive,
    add_pupils,
    add_residents,
    assign_ids,
    plant_class_sizes,
)
from xueji.sample.schools import build_schools
from xueji.sample.truth import Inputs, compute
from xueji.sample.world import World


@dataclass
class DataError:
    """A cell written with an unreadable value on purpose (expected in data_errors)."""

    table: str
    position: int  # 0-based row in the written order
    column: str
    value: str


@dataclass
class Sample:
    """Everything a run produced, before it is written to files."""

    cfg: SampleConfig
    schools: pl.DataFrame
    catchments: pl.DataFrame
    registry: pl.DataFrame
    residence: pl.DataFrame
    attendance: Attendance
    changes: pl.DataFrame
    seed: pl.DataFrame
    truth: pl.DataFrame
    labels: dict[str, pl.DataFrame]
    data_errors: list[DataError]
    notes: dict[str, int] = field(default_factory=dict)
    school_days: list[date] = field(default_factory=list)
    cases: dict[str, dict[str, int]] = field(default_factory=dict)  # rows per tag and table


def generate(cfg: SampleConfig) -> Sample:
    """Build a whole sample city in memory (nothing is written)."""
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    lap = _Laps()
    w = World(
        cfg,
        rng,
        name_book(),
        build_schools(cfg.students, cfg.county, rng),
        school_days(cfg.as_of, cfg.days),
    )
    plant_class_sizes(w)
    add_pupils(w)
    add_inactive(w)
    add_residents(w)
    lap("city")
    pk = Picker(w)
    plant_entry_age(w, pk)
    unreg = plant_unregistered(w, pk)
    assign_ids(w)
    plant_ids(w, pk)
    plant_temp_numbers(w, pk)
    plant_duplicates(w, pk)
    separated = plant_attendance_cases(w, pk)
    plant_residence(w, pk)
    plant_enrolment(w, pk)
    transfers = plant_transfers(w, pk)
    home_county = plant_placements(w, pk)
    lap("plants")
    rounds = resolve_names(
        w,
        extra=[
            (separated["class_id"], w.records["pid"][separated["records"]]),
            (unreg["class_id"], unreg["pid"]),
        ],
        unregistered=(unreg["school"], unreg["pid"]),
    )
    logger.debug("names settled after {} rounds", rounds)
    lap("names")

    reg = tables.registry(w)
    res = tables.residence(w)
    people = id_and_name_forms(w, build_attendees(w, separated, unreg))
    people = fix_masked_clashes(w, people, reg.select("pid", pl.col("id_number").alias("id_text")))
    people = tables.attendance_people(w, Attendance(people, np.zeros((0, 0), dtype=np.uint8)))
    att = Attendance(people, statuses(w, people))
    lap("tables and attendance")
    changes, seed = tables.changes_and_seed(w, transfers, reg)
    schools, school_tags = _capacities(w, reg)
    catchments = w.sw.catchments.join(schools.select("school", "school_code"), on="school").sort(
        "school_code", "area_code"
    )

    errors = _choose_data_errors(w, reg, res, changes, schools, school_tags)
    reg_t, res_t, changes_t, schools_t = _apply_errors(errors, reg, res, changes, schools)
    truth = compute(
        Inputs(
            as_of=cfg.as_of,
            days=w.school_days,
            schools=schools_t,
            classes=w.sw.classes,
            catchments=w.sw.catchments,
            registry=reg_t,
            residence=res_t,
            attendance=att,
            changes=changes_t,
            seed=seed,
            counties_tag={home_county: "home_delivery_ratio"} if home_county else {},
            schools_tag=school_tags,
        )
    )
    lap("truth")
    cases = {
        name: dict(sorted(frame.select("tag").drop_nulls().group_by("tag").len().iter_rows()))
        for name, frame in (
            ("registry", reg),
            ("residence", res),
            ("attendance_people", att.people),
        )
    }
    return Sample(
        cfg=cfg,
        schools=schools,
        catchments=catchments,
        registry=reg,
        residence=res,
        attendance=att,
        changes=changes,
        seed=seed,
        truth=truth,
        labels=_labels(reg, res, att),
        data_errors=errors,
        notes=dict(w.notes),
        school_days=w.school_days,
        cases=cases,
    )


class _Laps:
    """Debug log of how long each phase took (``-v`` shows it)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        logger.debug("sample phase {}: {:.1f} s", phase, now - self.last)
        self.last = now


def _capacities(w: World, reg: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """Design capacities: comfortably above the roll, a few schools below it (大校额),
    one exactly one place short (an edge) and one exactly full (not flagged)."""
    rng = w.rng
    sch = w.sw.schools
    counts = (
        reg.filter(pl.col("status") == "enrolled")
        .group_by("school")
        .agg(pl.len().alias("enrolled"))
    )
    sch = sch.join(counts, on="school", how="left").with_columns(pl.col("enrolled").fill_null(0))
    enrolled = sch["enrolled"].to_numpy()
    cap = (np.ceil(enrolled * rng.uniform(1.08, 1.4, size=sch.height) / 50) * 50).astype(np.float64)
    cap[rng.random(sch.height) < 0.1] = np.nan
    tags: dict[str, str] = {}
    big = np.flatnonzero((enrolled > 150) & (sch["level"] != "special").to_numpy())
    order = rng.permutation(big)
    k = max(1, sch.height // 50)
    codes = sch["school_code"].to_list()
    for n, i in enumerate(order[: k + 2]):
        if n < k:
            cap[i] = np.floor(enrolled[i] * rng.uniform(0.75, 0.9) / 50) * 50
            tags[codes[i]] = "over_capacity"
        elif n == k:
            cap[i] = enrolled[i] - 1
            tags[codes[i]] = "over_capacity_edge_one_over"
        else:
            cap[i] = enrolled[i]
            tags[codes[i]] = "capacity_exactly_full"
    frame = sch.with_columns(pl.Series("design_capacity", cap).cast(pl.Int64, strict=False)).drop(
        "enrolled"
    )
    return frame.sort("school_code"), tags


def _choose_data_errors(
    w: World,
    reg: pl.DataFrame,
    res: pl.DataFrame,
    changes: pl.DataFrame,
    schools: pl.DataFrame,
    school_tags: dict[str, str],
) -> list[DataError]:
    """A handful of genuinely unreadable cells on rows no planted case depends on."""
    rng = w.rng
    level = dict(zip(schools["school"].to_list(), schools["level"].to_list(), strict=True))
    plain = reg.with_row_index("pos").filter(
        pl.col("tag").is_null()
        & (pl.col("status") == "enrolled")
        & pl.col("student_no").str.starts_with("G")
        & (pl.col("grade") >= 2)
        & (pl.col("enrol_date") < pl.date(w.school_year, 9, 1))
        & (pl.col("placement") == "none")
        & ~pl.col("school").replace_strict(level, default="").eq("special")
        & (pl.len().over("pid") == 1)
    )
    pick = plain.sample(n=5, seed=int(rng.integers(0, 2**31)))
    pos = pick["pos"].to_list()
    birth = pick["birth_date"].to_list()
    enrol = pick["enrol_date"].to_list()
    out = [
        DataError("registry", pos[0], "birth_date", f"{birth[0].year}-02-30"),
        DataError("registry", pos[1], "birth_date", f"{birth[1].year}0431"),
        DataError("registry", pos[2], "enrol_date", f"{enrol[2].year}/09/31"),
        DataError("registry", pos[3], "gender", "未知"),
        DataError("registry", pos[4], "placement", "送教"),
    ]
    fine = [
        i
        for i, c in enumerate(schools["school_code"].to_list())
        if c not in school_tags and schools["design_capacity"][i] is not None
    ]
    if fine:
        out.append(
            DataError("schools", fine[int(rng.integers(0, len(fine)))], "design_capacity", "约2000")
        )
    other = changes.with_row_index("pos").filter(pl.col("change_type") == "other")
    if other.height:
        out.append(DataError("registry_changes", int(other["pos"][0]), "change_type", "调动"))
    resume = changes.with_row_index("pos").filter(pl.col("change_type") == "resume")
    if resume.height:
        out.append(
            DataError(
                "registry_changes",
                int(resume["pos"][0]),
                "change_date",
                f"{resume['change_date'][0].year}-02-30",
            )
        )
    moved = res.with_row_index("pos").filter(
        pl.col("hukou_moved_in_date").is_not_null() & pl.col("tag").is_null()
    )
    if moved.height:
        out.append(
            DataError(
                "residence",
                int(moved["pos"][int(rng.integers(0, moved.height))]),
                "hukou_moved_in_date",
                "20191301",
            )
        )
    return out


def _apply_errors(
    errors: list[DataError],
    reg: pl.DataFrame,
    res: pl.DataFrame,
    changes: pl.DataFrame,
    schools: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The tables as the audit will see them: each unreadable cell unknown (null)."""
    frames = {"registry": reg, "residence": res, "registry_changes": changes, "schools": schools}
    for e in errors:
        f = frames[e.table]
        hit = pl.int_range(pl.len()) == e.position
        frames[e.table] = f.with_columns(
            pl.when(hit).then(None).otherwise(pl.col(e.column)).alias(e.column)
        )
    return frames["registry"], frames["residence"], frames["registry_changes"], frames["schools"]


def _labels(reg: pl.DataFrame, res: pl.DataFrame, att: Attendance) -> dict[str, pl.DataFrame]:
    """Who is who, for identity benchmarks: each record's, attendee's and resident's true person."""
    primary = (
        reg.with_columns(pl.col("status").is_in(["enrolled", "suspended"]).alias("active"))
        .sort("pid", "active", "status_date", descending=[False, True, True], nulls_last=True)
        .group_by("pid", maintain_order=True)
        .first()
        .select("pid", pl.col("student_no").alias("primary_no"))
    )
    registry_person = reg.select("student_no", "school_code", pl.col("pid").alias("person_key"))
    a = att.people.join(
        reg.select("rec", pl.col("student_no").alias("own_no")), on="rec", how="left"
    ).join(primary, on="pid", how="left")
    attendance_person = a.select(
        "school_code", "grade", "class_name", "name", "id_number", "local_id",
        pl.coalesce("own_no", "primary_no").alias("student_no"), pl.col("pid").alias("person_key"),
    )  # fmt: skip
    residence_person = res.join(primary, on="pid", how="left").select(
        "id_number", pl.col("primary_no").alias("student_no"), pl.col("pid").alias("person_key")
    )
    return {
        "registry_person": registry_person,
        "attendance_person": attendance_person.sort("school_code", "grade", "class_name", "name"),
        "residence_person": residence_person.sort("id_number"),
    }
