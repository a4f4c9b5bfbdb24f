"""Residence rules: children of compulsory age with no school place, entrants admitted from
outside the school's catchment, and entrants from another city without a residence permit.

Contract §3, *residence of a person*: residence data's residence_area_code, else its
hukou_area_code; for a person not in residence data, the record's residence_area_code.
A person is *in residence data* when identity resolution linked a residence row to
them (by ID number, or by name, birth date and gender when the registry's ID is missing
or mistyped). Details and evidence never carry a full ID number.
"""

from __future__ import annotations

import polars as pl

from xueji.calendar import age_cutoff_day, full_years, school_year_start
from xueji.ids import mask_id
from xueji.rules.base import AuditContext, Rule, evidence, findings
from xueji.rules.frames import materialise, records
from xueji.rules.identity_checks import record_findings, record_label

_LAW = "《中华人民共和国义务教育法》"

STATUS_TEXT = {
    "enrolled": "在籍",
    "suspended": "休学",
    "transferred_out": "转出",
    "graduated": "毕业",
    "dropped": "辍学",
    "deceased": "死亡",
    "abroad": "出国出境",
}

PERSON_RESIDENCE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "res_row": pl.Int64(),
    "res_method": pl.String(),
    "res_residence_area_code": pl.String(),
    "res_hukou_area_code": pl.String(),
    "res_permit": pl.Boolean(),
}


# Residence row numbers are below this (2**40 rows); it packs "how linked" above them.
_ROW_SPAN = 1 << 40


def _date_text(col: str) -> pl.Expr:
    return pl.col(col).dt.to_string("%Y-%m-%d")


def person_residence(ctx: AuditContext, persons: pl.LazyFrame) -> pl.LazyFrame:
    """The registry persons of ``persons`` (a frame with ``person_id``) found in residence
    data, one row each: ``person_id``, the residence row (``res_row``, ``res_method`` of the
    link) and its ``res_residence_area_code``, ``res_hukou_area_code`` and ``res_permit``.
    Empty when residence data is absent."""
    if not ctx.has("residence"):
        return pl.LazyFrame(schema=PERSON_RESIDENCE_SCHEMA)
    links = (
        ctx.identity.residence_links.lazy()
        .filter(pl.col("person_id").is_not_null())
        .select("_row", "person_id", "method")
        .join(persons, on="person_id", how="semi")
    )
    rows = ctx.tables["residence"].select(
        "_row", "residence_area_code", "hukou_area_code", "residence_permit"
    )
    # One residence row per person: an ID-number link before a name link, then file
    # order — as one integer key, so the choice is a plain min per person.
    rank = (pl.col("method") != "exact_id").cast(pl.Int64) * _ROW_SPAN + pl.col("_row")
    chosen = (
        links.group_by("person_id")
        .agg(rank.min().alias("_k"))
        .select("person_id", (pl.col("_k") % _ROW_SPAN).alias("_row"))
    )
    return (
        chosen.join(links.select("_row", "method"), on="_row", how="inner")
        .join(rows, on="_row", how="inner")
        .select(
            "person_id",
            pl.col("_row").alias("res_row"),
            pl.col("method").alias("res_method"),
            pl.col("residence_area_code").alias("res_residence_area_code"),
            pl.col("hukou_area_code").alias("res_hukou_area_code"),
            pl.col("residence_permit").alias("res_permit"),
        )
    )


def _entrants_plan(ctx: AuditContext) -> pl.LazyFrame:
    start = school_year_start(ctx.as_of, ctx.cfg)
    entrants = records(ctx).filter(pl.col("is_enrolled") & (pl.col("enrol_date") >= start))
    return entrants.join(
        person_residence(ctx, entrants.select("person_id")), on="person_id", how="left"
    ).with_columns(pl.col("res_row").is_not_null().alias("_in_residence_data"))


def _entrants(ctx: AuditContext) -> pl.LazyFrame:
    # Enrolled records that entered this school year, with their person's residence row
    # (only entrants' residence rows are looked up); shared by CATCHMENT and CROSS_CITY.
    return materialise(ctx, "residence.entrants", _entrants_plan)


# --- OUT_OF_SCHOOL_CHILD ------------------------------------------------------------------


def _out_of_school(ctx: AuditContext) -> pl.LazyFrame:
    cutoff = age_cutoff_day(ctx.as_of, ctx.cfg)
    youngest = int(ctx.cfg["compulsory_age_min"])
    oldest = int(ctx.cfg["compulsory_age_max"])
    recs = records(ctx)
    # A person with an active record is in school; a record whose status is unreadable
    # might be active, so its person is not reported either.
    in_school = recs.filter(pl.col("is_active") | pl.col("status").is_null()).select("person_id")
    links = ctx.identity.residence_links.lazy().select("_row", "person_id", "method")
    # Residence rows of persons in school (nearly all) are set aside on integer columns
    # first; only the rest (unlinked rows, persons without an active record) are read in
    # full and joined to their link.
    in_school_rows = links.join(in_school, on="person_id", how="semi").select("_row")
    rest = ctx.tables["residence"].select("_row").join(in_school_rows, on="_row", how="anti")
    out_of_school = (
        ctx.tables["residence"]
        .join(rest, on="_row", how="semi")
        .filter(pl.col("id_number").is_not_null() & pl.col("birth_date").is_not_null())
        .with_columns(full_years(pl.col("birth_date"), cutoff).alias("_age"))
        .filter(pl.col("_age").is_between(youngest, oldest))
        .join(links, on="_row", how="left")
        # One finding per ID number (its subject), from its first residence row.
        .sort("id_number", "_row")
        .unique(subset="id_number", keep="first", maintain_order=True)
    )
    # The inactive records of the (few) children found, for the evidence.
    former = (
        recs.join(out_of_school.select("person_id"), on="person_id", how="semi")
        .sort("person_id", "_row")
        .group_by("person_id", maintain_order=True)
        .agg(
            pl.struct(
                registry_row=pl.col("_row"),
                student_no=mask_id(pl.col("student_no")),
                school_code=pl.col("school_code"),
                status=pl.col("status"),
                status_date=_date_text("status_date"),
            ).alias("_records"),
            pl.col("status")
            .replace_strict(STATUS_TEXT, default=pl.col("status"), return_dtype=pl.String)
            .unique(maintain_order=True)
            .str.join("、")
            .alias("_statuses"),
        )
    )
    frame = out_of_school.join(former, on="person_id", how="left").with_columns(
        pl.coalesce("residence_area_code", "hukou_area_code").alias("_lives")
    )
    former_text = pl.when(pl.col("_statuses").is_not_null()).then(
        pl.concat_str(pl.lit("（已有学籍的状态为"), pl.col("_statuses"), pl.lit("）"))
    )
    detail = pl.concat_str(
        pl.col("name").fill_null("?"),
        pl.lit("（身份证号 "),
        mask_id(pl.col("id_number")),
        pl.lit("，"),
        _date_text("birth_date"),
        pl.lit(" 出生，居住地 "),
        pl.col("_lives").fill_null("?"),
        pl.lit(f"）在 {cutoff:%Y-%m-%d} 为 "),
        pl.col("_age").cast(pl.String),
        pl.lit(" 周岁，属义务教育适龄儿童，但没有在籍或休学的学籍"),
        former_text.fill_null(""),
        pl.lit("（适龄未入学）。"),
    )
    proof = evidence(
        residence_row=pl.col("_row"),
        id_number=mask_id(pl.col("id_number")),
        birth_date=_date_text("birth_date"),
        age_on_cutoff=pl.col("_age"),
        cutoff_day=pl.lit(cutoff.isoformat()),
        hukou_area_code=pl.col("hukou_area_code"),
        residence_area_code=pl.col("residence_area_code"),
        link_method=pl.col("method"),
        records=pl.col("_records"),
    )
    return findings(
        OUT_OF_SCHOOL_CHILD,
        frame,
        county_code=pl.col("_lives").str.slice(0, 6),
        id_number="id_number",
        name="name",
        detail=detail,
        evidence=proof,
    )


OUT_OF_SCHOOL_CHILD = Rule(
    code="OUT_OF_SCHOOL_CHILD",
    title="适龄未入学",
    severity="high",
    basis=_LAW + "第十一条（年满六周岁的儿童应当入学）、第十三条（组织和督促适龄儿童、少年入学）",
    definition=(
        "a person in residence data aged compulsory_age_min to compulsory_age_max full years on the age "
        "cut-off day of the current school year, with no active registry record (a record whose status is "
        "unreadable counts as possibly active); one finding per ID number"
    ),
    subject="person",
    needs=("schools", "registry", "residence"),
    build=_out_of_school,
    thresholds=("compulsory_age_min", "compulsory_age_max", "age_cutoff", "school_year_start"),
    # A child whose registry ID is missing or mistyped is found by name sound, birth date
    # and gender: without one of them in the registry, every such child would be reported.
    needs_columns=("registry.name", "registry.birth_date", "registry.gender"),
)


# --- CATCHMENT ----------------------------------------------------------------------------


def _catchment_areas(ctx: AuditContext) -> pl.LazyFrame:
    # (school_code, grade, area_code); an empty entry_grade is both entry grades.
    return (
        ctx.tables["catchments"]
        .filter(pl.col("school_code").is_not_null() & pl.col("area_code").is_not_null())
        .with_columns(
            pl.when(pl.col("entry_grade").is_null())
            .then(pl.lit([1, 7], pl.List(pl.Int64)))
            .otherwise(pl.concat_list(pl.col("entry_grade")))
            .alias("grade")
        )
        .explode("grade")
        .select("school_code", "grade", "area_code")
        .unique()
    )


def _catchment(ctx: AuditContext) -> pl.LazyFrame:
    from_data = pl.coalesce("res_residence_area_code", "res_hukou_area_code")
    entrants = (
        _entrants(ctx)
        .filter((pl.col("ownership") == "public") & pl.col("grade").is_in([1, 7]))
        .with_columns(
            pl.when(pl.col("_in_residence_data"))
            .then(from_data)
            .otherwise(pl.col("residence_area_code"))
            .alias("_lives"),
            pl.when(~pl.col("_in_residence_data"))
            .then(pl.lit("registry.residence_area_code"))
            .when(pl.col("res_residence_area_code").is_not_null())
            .then(pl.lit("residence.residence_area_code"))
            .otherwise(pl.lit("residence.hukou_area_code"))
            .alias("_lives_source"),
        )
        # A person with no known residence is not checked.
        .filter(pl.col("_lives").is_not_null())
    )
    # A school with no catchment rows for the record's grade is not checked (inner join).
    outside = (
        entrants.select("_row", "school_code", "grade", "_lives")
        .join(_catchment_areas(ctx), on=["school_code", "grade"], how="inner")
        .group_by("_row")
        .agg(pl.col("_lives").str.starts_with(pl.col("area_code")).any().alias("_inside"))
        .filter(~pl.col("_inside"))
    )
    found = entrants.join(outside.select("_row"), on="_row", how="semi")
    # The school's catchment codes, for the (few) records found only.
    areas = (
        found.select("_row", "school_code", "grade")
        .join(_catchment_areas(ctx), on=["school_code", "grade"], how="inner")
        .group_by("_row")
        .agg(pl.col("area_code").unique().sort().alias("_areas"))
    )
    frame = found.join(areas, on="_row", how="inner")
    source_text = pl.col("_lives_source").replace_strict(
        {
            "registry.residence_area_code": "学籍登记的现住址",
            "residence.residence_area_code": "户籍及居住证数据的居住地",
            "residence.hukou_area_code": "户籍及居住证数据的户籍地",
        },
        return_dtype=pl.String,
    )
    detail = pl.concat_str(
        record_label(),
        pl.lit("为本学年公办学校 "),
        pl.col("grade").cast(pl.String),
        pl.lit(" 年级新生，"),
        source_text,
        pl.lit(" "),
        pl.col("_lives"),
        pl.lit(" 不在学校的招生片区（"),
        pl.col("_areas").list.join("、"),
        pl.lit("）内（违规跨片区招生）。"),
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        enrol_date=_date_text("enrol_date"),
        residence_code=pl.col("_lives"),
        residence_source=pl.col("_lives_source"),
        residence_row=pl.col("res_row"),
        catchment_codes=pl.col("_areas"),
    )
    return record_findings(CATCHMENT, frame, detail, proof)


CATCHMENT = Rule(
    code="CATCHMENT",
    title="违规跨片区招生",
    severity="medium",
    basis=_LAW + "第十二条（就近入学）; 教育部 年度普通中小学招生入学工作通知（公办学校划片招生）",
    definition=(
        "an enrolled record at a public school in grade 1 or 7 that entered this school year, whose person's "
        "residence (residence data's residence code, else its hukou code; for a person not in residence data, "
        "the record's residence code) starts with none of the school's catchment codes for that grade; schools "
        "with no catchment rows for the grade, and persons with no known residence, are not checked"
    ),
    subject="record",
    needs=("schools", "registry", "catchments"),
    build=_catchment,
    thresholds=("school_year_start",),
)


# --- CROSS_CITY ---------------------------------------------------------------------------


def _cross_city(ctx: AuditContext) -> pl.LazyFrame:
    frame = (
        _entrants(ctx)
        # An unreadable is_migrant (null) is unknown: ~null is null, which a filter drops.
        .filter(~pl.col("is_migrant"))
        .with_columns(
            pl.coalesce("res_hukou_area_code", "hukou_area_code").alias("_hukou"),
            pl.when(pl.col("res_hukou_area_code").is_not_null())
            .then(pl.lit("residence.hukou_area_code"))
            .otherwise(pl.lit("registry.hukou_area_code"))
            .alias("_hukou_source"),
            # Residence data lists everyone holding a permit in the area: a person not in it
            # holds none. An unreadable permit cell (null) is unknown.
            pl.when(pl.col("_in_residence_data"))
            .then(pl.col("res_permit"))
            .otherwise(pl.lit(False))
            .alias("_permit"),
        )
        .filter(
            pl.col("_hukou").is_not_null()
            & pl.col("county_code").is_not_null()
            & (pl.col("_hukou").str.slice(0, 4) != pl.col("county_code").str.slice(0, 4))
            & ~pl.col("_permit")
        )
    )
    detail = pl.concat_str(
        record_label(),
        pl.lit("为本学年新入学学生，户籍地 "),
        pl.col("_hukou"),
        pl.lit(" 不在学校所在市州（"),
        pl.col("county_code").str.slice(0, 4),
        pl.lit("），既不是随迁子女，也未持有居住证（违规跨市州招生）。"),
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        enrol_date=_date_text("enrol_date"),
        hukou_area_code=pl.col("_hukou"),
        hukou_source=pl.col("_hukou_source"),
        school_county_code=pl.col("county_code"),
        is_migrant=pl.col("is_migrant"),
        residence_row=pl.col("res_row"),
        residence_permit=pl.col("_permit"),
    )
    return record_findings(CROSS_CITY, frame, detail, proof)


CROSS_CITY = Rule(
    code="CROSS_CITY",
    title="违规跨市州招生",
    severity="medium",
    basis=_LAW
    + "第十二条（在户籍所在地就近入学；随迁子女在居住地入学）; 《居住证暂行条例》（持证人享有义务教育权利）",
    definition=(
        "an enrolled record that entered this school year, not a migrant child, whose hukou code (residence "
        "data first, else the record) has a first 4 digits other than those of the school's county_code, and "
        "who holds no residence permit (a person not in residence data holds none)"
    ),
    subject="record",
    needs=("schools", "registry"),
    build=_cross_city,
    thresholds=("school_year_start",),
)

RULES = (OUT_OF_SCHOOL_CHILD, CATCHMENT, CROSS_CITY)
