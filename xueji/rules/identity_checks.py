"""Identity-number rules: GB 11643 validity, student numbers, temporary numbers, embedded facts.

Every rule here reads one registry record at a time (no linking), so each is a filter
over ``frames.records`` plus a detail sentence. Details and evidence never carry a full
ID number (reports show them to inspectors): the record is named by name, school and
class, the number masked, and the evidence points at the registry row.
"""

from __future__ import annotations

import polars as pl

from xueji.ids import (
    ID_PROBLEM_TEXT,
    check_char,
    embedded_birth_date,
    embedded_gender,
    id_problem,
    mask_id,
    student_no_kind,
    student_no_problem,
)
from xueji.rules.base import AuditContext, Rule, evidence, findings
from xueji.rules.frames import materialise, records

_MGMT = "《中小学生学籍管理办法》"
_GB11643 = "GB 11643《公民身份号码》"

GENDER_TEXT = {"M": "男", "F": "女"}


def record_label() -> pl.Expr:
    """``张三（长沙市岳麓区第一小学 3年级2班）``: how a detail sentence names a record.

    Unknown parts (unreadable cells) are shown as ``?`` rather than dropping the sentence.
    """
    return pl.concat_str(
        pl.col("name").fill_null("?"),
        pl.lit("（"),
        pl.col("school_name").fill_null(pl.col("school_code")).fill_null("?"),
        pl.lit(" "),
        pl.col("grade").cast(pl.String).fill_null("?"),
        pl.lit("年级"),
        pl.col("class_name").fill_null("?"),
        pl.lit("）"),
    )


def record_findings(rule: Rule, frame: pl.LazyFrame, detail: pl.Expr, proof: pl.Expr) -> pl.LazyFrame:
    """Findings on registry records: the record's own columns, ``detail`` and ``proof``."""
    return findings(
        rule,
        frame,
        county_code="county_code",
        school_code="school_code",
        grade="grade",
        class_name="class_name",
        student_no="student_no",
        id_number="id_number",
        name="name",
        detail=detail,
        evidence=proof,
    )


def _id_problems(ctx: AuditContext) -> pl.LazyFrame:
    # Only resident IDs are GB 11643 numbers; an empty number (allowed with L/J) is not checked.
    # Identity already ran the check: a number it found valid has no problem, and only the
    # others (a few in a thousand) are checked again for the reason. Split, not when/then:
    # Polars would run the check on every row either way.
    resident = records(ctx).filter((pl.col("id_type") == "resident_id") & pl.col("id_number").is_not_null())
    valid = (pl.col("id_state") == "valid").fill_null(False)
    problems = pl.concat(
        [
            resident.filter(valid).with_columns(pl.lit(None, pl.String).alias("_problem")),
            resident.filter(~valid).with_columns(id_problem(pl.col("id_number")).alias("_problem")),
        ]
    )
    return problems.select(
        "_row",
        "id_number",
        "birth_date",
        "gender",
        "_problem",
        embedded_birth_date(pl.col("id_number")).alias("_id_birth"),
        embedded_gender(pl.col("id_number")).alias("_id_gender"),
    )


def checked_ids(ctx: AuditContext) -> pl.LazyFrame:
    """The records whose number is checked against GB 11643 (resident IDs that are present):
    ``_row``, ``id_number``, ``birth_date``, ``gender``, ``_problem`` (``id_problem``, null
    when the number passes) and the number's own ``_id_birth`` and ``_id_gender``. Checked
    once per audit for ID_INVALID and ID_MISMATCH."""
    return materialise(ctx, "identity_checks.id_problems", _id_problems)


def with_record(ctx: AuditContext, found: pl.LazyFrame) -> pl.LazyFrame:
    """``found`` (a few rows with ``_row``) with the other columns of their ``records`` row,
    for the finding. The records are first cut to those rows (a semi-join is a cheap probe
    of the registry; a join would hash all of it)."""
    recs = records(ctx)
    own = set(found.collect_schema().names()) - {"_row"}
    rest = [c for c in recs.collect_schema().names() if c not in own]
    mine = recs.join(found.select("_row"), on="_row", how="semi").select(rest)
    return found.join(mine, on="_row", how="inner", maintain_order="left")


def _id_invalid(ctx: AuditContext) -> pl.LazyFrame:
    frame = with_record(ctx, checked_ids(ctx).filter(pl.col("_problem").is_not_null()))
    reason = pl.col("_problem").replace_strict(ID_PROBLEM_TEXT, return_dtype=pl.String)
    detail = pl.concat_str(
        record_label(), pl.lit("的居民身份证号 "), mask_id(pl.col("id_number")), pl.lit(" 不符合 GB 11643："), reason, pl.lit("。")
    )
    expected = pl.when(pl.col("_problem") == "check").then(check_char(pl.col("id_number").str.slice(0, 17)))
    proof = evidence(
        registry_row=pl.col("_row"),
        problem=pl.col("_problem"),
        expected_check_char=expected,
        found_check_char=pl.when(pl.col("_problem") == "check").then(pl.col("id_number").str.slice(17, 1)),
        length=pl.col("id_number").str.len_chars(),
    )
    return record_findings(ID_INVALID, frame, detail, proof)


ID_INVALID = Rule(
    code="ID_INVALID",
    title="身份证号无效",
    severity="medium",
    basis=f"{_GB11643}; {_MGMT} 第七条（学籍信息以居民身份证号为准）",
    definition=(
        "a resident_id number (any record status) that fails GB 11643: not 17 digits + check character, "
        "wrong ISO 7064 MOD 11-2 check character, impossible birth date, or unknown province code "
        "(81/82/83 are valid)"
    ),
    subject="record",
    needs=("schools", "registry"),
    build=_id_invalid,
)


_SNO_PROBLEM_TEXT = {
    "g_no_id": "G字头学籍号的记录未登记身份证件号（只有J字头、L字头学籍号可以不登记身份证件号）",
    "g_id": "G字头学籍号中的身份证号与登记的身份证件号不一致（身份证号变更后允许，请核实）",
    "j_check": "J字头学籍号的校验码错误",
    "l_birth": "临时学籍号（L字头）中的出生日期与登记的出生日期不一致",
}


def _student_no_mismatch(ctx: AuditContext) -> pl.LazyFrame:
    problem = student_no_problem(pl.col("student_no"), pl.col("id_number"), pl.col("birth_date"))
    # A G number whose last 18 characters are the record's ID number has no problem; those
    # records (nearly all) are set aside first, as the checks compute a J check character
    # on every row they are given.
    agrees = (
        (student_no_kind(pl.col("student_no")) == "G")
        & (pl.col("student_no").str.slice(1, 18) == pl.col("id_number"))
    ).fill_null(False)
    frame = (
        records(ctx)
        .filter(~agrees)
        .with_columns(problem.alias("_problem"))
        .filter(pl.col("_problem").is_not_null())
    )
    detail = pl.concat_str(
        record_label(), pl.lit("："), pl.col("_problem").replace_strict(_SNO_PROBLEM_TEXT, return_dtype=pl.String), pl.lit("。")
    )
    kind = pl.col("_problem")
    proof = evidence(
        registry_row=pl.col("_row"),
        problem=kind,
        student_no_id_part=pl.when(kind.is_in(["g_id", "g_no_id"])).then(mask_id(pl.col("student_no").str.slice(1, 18))),
        id_number=pl.when(kind == "g_id").then(mask_id(pl.col("id_number"))),
        expected_check_char=pl.when(kind == "j_check").then(check_char(pl.col("student_no").str.slice(1, 17))),
        found_check_char=pl.when(kind == "j_check").then(pl.col("student_no").str.slice(18, 1)),
        student_no_birth_part=pl.when(kind == "l_birth").then(pl.col("student_no").str.slice(7, 8)),
        birth_date=pl.when(kind == "l_birth").then(pl.col("birth_date").dt.to_string("%Y-%m-%d")),
    )
    return record_findings(STUDENT_NO_MISMATCH, frame, detail, proof)


STUDENT_NO_MISMATCH = Rule(
    code="STUDENT_NO_MISMATCH",
    title="学籍号与身份证号不一致",
    severity="low",
    basis=f"{_MGMT} 第七条（学籍号以居民身份证号为基础生成）",
    definition=(
        "any record: a G student_no whose last 18 characters are not the record's id_number (allowed after "
        "an ID change, hence low), or that has no id_number at all (only L and J numbers may go without one); "
        "a J number with a wrong check character; an L number whose birth-date part is not the record's "
        "birth_date"
    ),
    subject="record",
    needs=("schools", "registry"),
    # A file without the column would read as "no ID recorded" on every row, and every G
    # number would be flagged for a value the file never gave.
    needs_columns=("registry.id_number",),
    build=_student_no_mismatch,
)


def _temp_number_stale(ctx: AuditContext) -> pl.LazyFrame:
    limit = int(ctx.cfg["temp_number_max_days"])
    days = (pl.lit(ctx.as_of) - pl.col("enrol_date")).dt.total_days()
    frame = (
        records(ctx)
        .filter(pl.col("is_active") & pl.col("student_no").str.starts_with("L") & pl.col("enrol_date").is_not_null())
        .with_columns(days.alias("_days"))
        .filter(pl.col("_days") > limit)
    )
    detail = pl.concat_str(
        record_label(),
        pl.lit("自入校（"),
        pl.col("enrol_date").dt.to_string("%Y-%m-%d"),
        pl.lit("）起使用临时学籍号已 "),
        pl.col("_days").cast(pl.String),
        pl.lit(f" 天，超过 {limit} 天仍未转为正式学籍号。"),
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        enrol_date=pl.col("enrol_date").dt.to_string("%Y-%m-%d"),
        days_on_temporary_number=pl.col("_days"),
        limit_days=pl.lit(limit),
    )
    return record_findings(TEMP_NUMBER_STALE, frame, detail, proof)


TEMP_NUMBER_STALE = Rule(
    code="TEMP_NUMBER_STALE",
    title="临时学籍号超期",
    severity="medium",
    basis=f"{_MGMT} 第七条（临时学籍号应在取得身份证号后及时转为正式学籍号）",
    definition="an active record still on an L (temporary) number more than temp_number_max_days days after its enrol_date",
    subject="record",
    needs=("schools", "registry"),
    build=_temp_number_stale,
    thresholds=("temp_number_max_days",),
)


def _id_mismatch(ctx: AuditContext) -> pl.LazyFrame:
    # A null on either side is unknown, never a difference.
    birth_differs = (pl.col("_id_birth") != pl.col("birth_date")).fill_null(False)
    gender_differs = (pl.col("_id_gender") != pl.col("gender")).fill_null(False)
    found = (
        checked_ids(ctx)
        .filter(pl.col("_problem").is_null())
        .with_columns(
            birth_differs.alias("_birth_differs"),
            gender_differs.alias("_gender_differs"),
        )
        .filter(pl.col("_birth_differs") | pl.col("_gender_differs"))
    )
    frame = with_record(ctx, found)
    birth_text = pl.when(pl.col("_birth_differs")).then(
        pl.concat_str(
            pl.lit("出生日期 "),
            pl.col("_id_birth").dt.to_string("%Y-%m-%d"),
            pl.lit("（登记为 "),
            pl.col("birth_date").dt.to_string("%Y-%m-%d"),
            pl.lit("）"),
        )
    )
    gender_text = pl.when(pl.col("_gender_differs")).then(
        pl.concat_str(
            pl.lit("性别"),
            pl.col("_id_gender").replace_strict(GENDER_TEXT, return_dtype=pl.String),
            pl.lit("（登记为"),
            pl.col("gender").replace_strict(GENDER_TEXT, return_dtype=pl.String),
            pl.lit("）"),
        )
    )
    detail = pl.concat_str(
        record_label(),
        pl.lit("的身份证号 "),
        mask_id(pl.col("id_number")),
        pl.lit(" 所含"),
        pl.concat_str(birth_text, gender_text, separator="、", ignore_nulls=True),
        pl.lit("与学籍信息不符。"),
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        id_birth_date=pl.col("_id_birth").dt.to_string("%Y-%m-%d"),
        record_birth_date=pl.col("birth_date").dt.to_string("%Y-%m-%d"),
        id_gender=pl.col("_id_gender"),
        record_gender=pl.col("gender"),
    )
    return record_findings(ID_MISMATCH, frame, detail, proof)


ID_MISMATCH = Rule(
    code="ID_MISMATCH",
    title="身份证号与学籍信息不符",
    severity="medium",
    basis=f"{_GB11643}（第7–14位出生日期，第17位奇数为男）; {_MGMT}",
    definition=(
        "any record: a resident_id number that passes GB 11643 but whose embedded birth date or gender "
        "(17th digit odd = M) differs from the record's birth_date or gender"
    ),
    subject="record",
    needs=("schools", "registry"),
    build=_id_mismatch,
)

RULES = (ID_INVALID, STUDENT_NO_MISMATCH, TEMP_NUMBER_STALE, ID_MISMATCH)
