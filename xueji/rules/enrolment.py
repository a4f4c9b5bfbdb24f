"""Enrolment rules: the age at entry and the grades a school may hold."""

from __future__ import annotations

import polars as pl

from xueji.calendar import age_cutoff_day, full_years, school_year_start
from xueji.rules.base import AuditContext, Rule, evidence
from xueji.rules.frames import records
from xueji.rules.identity_checks import record_findings, record_label
from xueji.vocabulary import LEVEL_GRADES

LEVEL_TEXT = {
    "primary": "小学",
    "junior": "初中",
    "nine_year": "九年一贯制学校",
    "twelve_year": "十二年一贯制学校",
    "complete_secondary": "完全中学",
    "senior": "高级中学",
    "special": "特殊教育学校",
}


def _entry_age(ctx: AuditContext) -> pl.LazyFrame:
    start = school_year_start(ctx.as_of, ctx.cfg)
    cutoff = age_cutoff_day(ctx.as_of, ctx.cfg)
    min_age = int(ctx.cfg["entry_age_min"])
    age = full_years(pl.col("birth_date"), cutoff)
    frame = (
        records(ctx)
        .filter(
            pl.col("is_enrolled")
            & (pl.col("grade") == 1)
            & (pl.col("enrol_date") >= start)
            & pl.col("birth_date").is_not_null()
        )
        .with_columns(age.alias("_age"))
        .filter(pl.col("_age") < min_age)
    )
    detail = pl.concat_str(
        record_label(),
        pl.lit(f"本学年入学一年级，但在 {cutoff:%Y-%m-%d}（入学年龄截止日）仅 "),
        pl.col("_age").cast(pl.String),
        pl.lit(" 周岁（出生日期 "),
        pl.col("birth_date").dt.to_string("%Y-%m-%d"),
        pl.lit(f"），未满 {min_age} 周岁。"),
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        birth_date=pl.col("birth_date").dt.to_string("%Y-%m-%d"),
        enrol_date=pl.col("enrol_date").dt.to_string("%Y-%m-%d"),
        cutoff_day=pl.lit(cutoff.isoformat()),
        age_on_cutoff=pl.col("_age"),
        entry_age_min=pl.lit(min_age),
    )
    return record_findings(ENTRY_AGE, frame, detail, proof)


ENTRY_AGE = Rule(
    code="ENTRY_AGE",
    title="入学年龄不符",
    severity="medium",
    basis="《义务教育法》第十一条（年满六周岁的儿童入学）; 各省入学年龄截止日规定",
    definition=(
        "an enrolled grade-1 record entered this school year (enrol_date on or after the school-year start) "
        "whose birth date makes them younger than entry_age_min full years on the age cut-off day"
    ),
    subject="record",
    needs=("schools", "registry"),
    build=_entry_age,
    thresholds=("entry_age_min", "age_cutoff", "school_year_start"),
)


def _grade_level(ctx: AuditContext) -> pl.LazyFrame:
    lowest = pl.col("level").replace_strict({k: v[0] for k, v in LEVEL_GRADES.items()}, default=None, return_dtype=pl.Int64)
    highest = pl.col("level").replace_strict({k: v[1] for k, v in LEVEL_GRADES.items()}, default=None, return_dtype=pl.Int64)
    frame = (
        records(ctx)
        .filter(pl.col("is_active") & pl.col("grade").is_not_null() & pl.col("level").is_not_null())
        .with_columns(lowest.alias("_lowest"), highest.alias("_highest"))
        .filter((pl.col("grade") < pl.col("_lowest")) | (pl.col("grade") > pl.col("_highest")))
    )
    level_text = pl.col("level").replace_strict(LEVEL_TEXT, default=pl.col("level"), return_dtype=pl.String)
    detail = pl.concat_str(
        record_label(),
        pl.lit("：学校办学类型为"),
        level_text,
        pl.lit("（只能设 "),
        pl.col("_lowest").cast(pl.String),
        pl.lit("–"),
        pl.col("_highest").cast(pl.String),
        pl.lit(" 年级），却登记在 "),
        pl.col("grade").cast(pl.String),
        pl.lit(" 年级。"),
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        level=pl.col("level"),
        grade=pl.col("grade"),
        lowest_grade=pl.col("_lowest"),
        highest_grade=pl.col("_highest"),
    )
    return record_findings(GRADE_LEVEL, frame, detail, proof)


GRADE_LEVEL = Rule(
    code="GRADE_LEVEL",
    title="年级与学校类型不符",
    severity="medium",
    basis="《中小学生学籍管理办法》; 学校办学类型（GB/T 办学类型代码）规定的年级范围",
    definition=(
        "an active record whose grade its school's level cannot hold (primary 1–6, junior 7–9, nine_year 1–9, "
        "twelve_year 1–12, complete_secondary 7–12, senior 10–12, special 1–12)"
    ),
    subject="record",
    needs=("schools", "registry"),
    build=_grade_level,
)

RULES = (ENTRY_AGE, GRADE_LEVEL)
