"""Size rules: class sizes (大班额, 超标准班额), school size (大校额), home-delivery share."""

from __future__ import annotations

import polars as pl

from xueji.rules.base import AuditContext, Rule, evidence, findings
from xueji.rules.frames import records

_LARGE_CLASS_PLAN = "教育部《关于做好消除义务教育阶段大班额工作的通知》; 消除大班额专项规划（56人以上为大班额，66人以上为超大班额）"
_STANDARD = "《城市普通中小学校校舍建设标准》（小学每班45人，中学每班50人）"


def _class_sizes(ctx: AuditContext) -> pl.LazyFrame:
    # Enrolled records per class; a record whose class key is unknown is not counted anywhere.
    return (
        records(ctx)
        .filter(
            pl.col("is_enrolled")
            & pl.col("school_code").is_not_null()
            & pl.col("grade").is_not_null()
            & pl.col("class_name").is_not_null()
        )
        .group_by("school_code", "grade", "class_name")
        .agg(
            pl.len().alias("enrolled"),
            pl.col("county_code").first(),
            pl.col("school_name").first(),
        )
    )


def class_sizes(ctx: AuditContext) -> pl.LazyFrame:
    """Enrolled records per (school_code, grade, class_name), with county_code and school_name."""
    result: pl.LazyFrame = ctx.shared("class_sizes", _class_sizes)
    return result


def _class_label() -> pl.Expr:
    return pl.concat_str(
        pl.col("school_name").fill_null(pl.col("school_code")),
        pl.lit(" "),
        pl.col("grade").cast(pl.String),
        pl.lit("年级"),
        pl.col("class_name"),
    )


def _class_findings(rule: Rule, frame: pl.LazyFrame, detail: pl.Expr, proof: pl.Expr, severity: pl.Expr | None = None) -> pl.LazyFrame:
    return findings(
        rule,
        frame,
        severity=severity,
        county_code="county_code",
        school_code="school_code",
        grade="grade",
        class_name="class_name",
        detail=detail,
        evidence=proof,
    )


def _oversized_class(ctx: AuditContext) -> pl.LazyFrame:
    large = int(ctx.cfg["class_large"])
    super_large = int(ctx.cfg["class_super_large"])
    frame = class_sizes(ctx).filter(pl.col("enrolled") >= large)
    is_super = pl.col("enrolled") >= super_large
    detail = pl.concat_str(
        _class_label(),
        pl.lit(" 在籍 "),
        pl.col("enrolled").cast(pl.String),
        pl.lit(" 人，"),
        pl.when(is_super).then(pl.lit(f"达到超大班额（{super_large}人及以上）。")).otherwise(pl.lit(f"属于大班额（{large}人及以上）。")),
    )
    proof = evidence(enrolled=pl.col("enrolled"), class_large=pl.lit(large), class_super_large=pl.lit(super_large))
    severity = pl.when(is_super).then(pl.lit("critical")).otherwise(pl.lit("high"))
    return _class_findings(OVERSIZED_CLASS, frame, detail, proof, severity)


OVERSIZED_CLASS = Rule(
    code="OVERSIZED_CLASS",
    title="大班额",
    severity="high",
    basis=_LARGE_CLASS_PLAN,
    definition=(
        "a class (school, grade, class_name) with class_large (56) or more enrolled records, severity high; "
        "class_super_large (66) or more is 超大班额, severity critical"
    ),
    subject="class",
    needs=("schools", "registry"),
    build=_oversized_class,
    thresholds=("class_large", "class_super_large"),
)


def _class_over_standard(ctx: AuditContext) -> pl.LazyFrame:
    large = int(ctx.cfg["class_large"])
    primary = int(ctx.cfg["class_standard_primary"])
    secondary = int(ctx.cfg["class_standard_secondary"])
    standard = pl.when(pl.col("grade") <= 6).then(pl.lit(primary)).otherwise(pl.lit(secondary))
    frame = (
        class_sizes(ctx)
        .with_columns(standard.alias("_standard"))
        .filter((pl.col("enrolled") < large) & (pl.col("enrolled") > pl.col("_standard")))
    )
    detail = pl.concat_str(
        _class_label(),
        pl.lit(" 在籍 "),
        pl.col("enrolled").cast(pl.String),
        pl.lit(" 人，超过标准班额 "),
        pl.col("_standard").cast(pl.String),
        pl.lit(" 人。"),
    )
    proof = evidence(enrolled=pl.col("enrolled"), standard=pl.col("_standard"), class_large=pl.lit(large))
    return _class_findings(CLASS_OVER_STANDARD, frame, detail, proof)


CLASS_OVER_STANDARD = Rule(
    code="CLASS_OVER_STANDARD",
    title="超标准班额",
    severity="low",
    basis=_STANDARD,
    definition=(
        "a class below class_large but above the standard size: class_standard_primary (45) for grades 1–6, "
        "class_standard_secondary (50) for grades 7–12"
    ),
    subject="class",
    needs=("schools", "registry"),
    build=_class_over_standard,
    thresholds=("class_standard_primary", "class_standard_secondary", "class_large"),
)


def _over_capacity(ctx: AuditContext) -> pl.LazyFrame:
    enrolled = (
        records(ctx)
        .filter(pl.col("is_enrolled") & pl.col("school_code").is_not_null())
        .group_by("school_code")
        .agg(pl.len().alias("enrolled"))
    )
    frame = (
        ctx.tables["schools"]
        .filter(pl.col("design_capacity").is_not_null())
        .join(enrolled, on="school_code", how="inner")
        .filter(pl.col("enrolled") > pl.col("design_capacity"))
    )
    detail = pl.concat_str(
        pl.col("school_name").fill_null(pl.col("school_code")),
        pl.lit(" 在籍 "),
        pl.col("enrolled").cast(pl.String),
        pl.lit(" 人，超过设计规模 "),
        pl.col("design_capacity").cast(pl.String),
        pl.lit(" 人（超出 "),
        (pl.col("enrolled") - pl.col("design_capacity")).cast(pl.String),
        pl.lit(" 人）。"),
    )
    proof = evidence(enrolled=pl.col("enrolled"), design_capacity=pl.col("design_capacity"))
    return findings(OVER_CAPACITY, frame, county_code="county_code", school_code="school_code", detail=detail, evidence=proof)


OVER_CAPACITY = Rule(
    code="OVER_CAPACITY",
    title="大校额",
    severity="medium",
    basis="《义务教育学校办学标准》; 各省义务教育学校办学规模（设计规模）规定",
    definition="a school whose enrolled records outnumber its design_capacity (schools without a design_capacity are not checked)",
    subject="school",
    needs=("schools", "registry"),
    build=_over_capacity,
)


def _home_delivery_ratio(ctx: AuditContext) -> pl.LazyFrame:
    max_share = float(ctx.cfg["home_delivery_max_share"])
    frame = (
        records(ctx)
        .filter(
            pl.col("is_active")
            & pl.col("county_code").is_not_null()
            & pl.col("placement").is_not_null()
            & (pl.col("placement") != "none")
        )
        .group_by("county_code")
        .agg(
            pl.len().alias("special_placements"),
            (pl.col("placement") == "home_delivery").sum().alias("home_delivery"),
        )
        # Division, not multiplication: a share exactly at the limit compares equal to it.
        .with_columns((pl.col("home_delivery") / pl.col("special_placements")).alias("_share"))
        .filter(pl.col("_share") > max_share)
    )
    detail = pl.concat_str(
        pl.lit("区县 "),
        pl.col("county_code"),
        pl.lit(" 特殊教育安置学生 "),
        pl.col("special_placements").cast(pl.String),
        pl.lit(" 人中送教上门 "),
        pl.col("home_delivery").cast(pl.String),
        pl.lit(" 人，占 "),
        (pl.col("_share") * 100).round(1).cast(pl.String),
        pl.lit(f"%，超过 {max_share * 100:g}%。"),
    )
    proof = evidence(
        home_delivery=pl.col("home_delivery"),
        special_placements=pl.col("special_placements"),
        share=pl.col("_share").round(4),
        max_share=pl.lit(max_share),
    )
    return findings(HOME_DELIVERY_RATIO, frame, county_code="county_code", detail=detail, evidence=proof)


HOME_DELIVERY_RATIO = Rule(
    code="HOME_DELIVERY_RATIO",
    title="送教上门比例超标",
    severity="medium",
    basis="《“十四五”特殊教育发展提升行动计划》（送教上门以重度残疾儿童为主，严格控制比例）",
    definition=(
        "a county whose active records with placement home_delivery exceed home_delivery_max_share (8%) "
        "of its active records with any placement other than none"
    ),
    subject="county",
    needs=("schools", "registry"),
    build=_home_delivery_ratio,
    thresholds=("home_delivery_max_share",),
)

RULES = (OVERSIZED_CLASS, CLASS_OVER_STANDARD, OVER_CAPACITY, HOME_DELIVERY_RATIO)
