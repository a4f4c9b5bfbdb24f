"""Person rules on the registry: one person with several active records, and a record
whose ID number belongs to somebody else in the population data.

DUPLICATE_RECORD reads the person clusters of identity resolution (``dup_group_id`` is
set on each active record of a group of two or more active records of one person);
PERSON_MISMATCH compares a record with the residence row of its own ID number. Details
and evidence never carry a full ID number: other records are named by school, class
and masked student number.
"""

from __future__ import annotations

import polars as pl

from xueji.identity.names import same_name_or_homophone
from xueji.ids import mask_id
from xueji.rules.base import AuditContext, Rule, evidence, findings
from xueji.rules.frames import records
from xueji.rules.identity_checks import GENDER_TEXT, record_findings, record_label, with_record

_MGMT = "《中小学生学籍管理办法》"


def _date_text(col: str) -> pl.Expr:
    return pl.col(col).dt.to_string("%Y-%m-%d")


# --- DUPLICATE_RECORD ---------------------------------------------------------------------


def _duplicate(ctx: AuditContext) -> pl.LazyFrame:
    members = records(ctx).filter(pl.col("is_active") & pl.col("dup_group_id").is_not_null())
    where = pl.concat_str(
        pl.col("school_name").fill_null(pl.col("school_code")).fill_null("?"),
        pl.lit(" "),
        pl.col("grade").cast(pl.String).fill_null("?"),
        pl.lit("年级"),
        pl.col("class_name").fill_null("?"),
        pl.lit("（学籍号 "),
        mask_id(pl.col("student_no")).fill_null("?"),
        pl.lit("）"),
    )
    group_records = (
        members.sort("dup_group_id", "_row")
        .group_by("dup_group_id", maintain_order=True)
        .agg(
            pl.struct(
                registry_row=pl.col("_row"),
                student_no=mask_id(pl.col("student_no")),
                school_code=pl.col("school_code"),
                grade=pl.col("grade"),
                class_name=pl.col("class_name"),
                name=pl.col("name"),
                gender=pl.col("gender"),
                birth_date=_date_text("birth_date"),
                id_number=mask_id(pl.col("id_number")),
                status=pl.col("status"),
            ).alias("_group")
        )
    )
    # Groups hold two or three records: pairing each with the others is cheap and gives
    # the sentence "the same person as <the other records>".
    others = (
        members.select("_row", "dup_group_id")
        .join(
            members.select(
                pl.col("_row").alias("_other_row"), "dup_group_id", where.alias("_where")
            ),
            on="dup_group_id",
            how="inner",
        )
        .filter(pl.col("_row") != pl.col("_other_row"))
        .sort("_row", "_other_row")
        .group_by("_row", maintain_order=True)
        .agg(pl.len().alias("_others"), pl.col("_where").str.join("、").alias("_others_text"))
    )
    frame = members.join(group_records, on="dup_group_id", how="inner").join(
        others, on="_row", how="inner"
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        group_id=pl.col("dup_group_id"),
        records=pl.col("_group"),
    )
    # The comparisons that agreed come from identity resolution as JSON already; they are
    # spliced in rather than re-parsed (their fields differ by kind of match).
    proof = pl.concat_str(
        proof.str.strip_suffix("}"),
        pl.lit(',"comparisons":'),
        pl.col("dup_evidence").fill_null("null"),
        pl.lit("}"),
    )
    detail = pl.concat_str(
        record_label(),
        pl.lit("与另外 "),
        pl.col("_others").cast(pl.String),
        pl.lit(" 条在籍或休学学籍属同一人："),
        pl.col("_others_text"),
        pl.lit("（一人多籍）。"),
    )
    return findings(
        DUPLICATE_RECORD,
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
        group_id="dup_group_id",
    )


DUPLICATE_RECORD = Rule(
    code="DUPLICATE_RECORD",
    title="重复学籍 (一人多籍)",
    severity="high",
    basis=_MGMT + "（学籍号一人一号、终身不变，不得重复建立学籍）",
    definition=(
        "two or more active records of one person: the same id_number; or the same name (up to script and "
        "spacing) or a homophone, same gender, same birth date or the same with day and month swapped, where "
        "one record has no ID number or one ID number fails GB 11643 and is within dup_id_max_edits character "
        "edits of the other; two different ID numbers that both pass GB 11643 are two people. One finding per "
        "record of the group, all with the same group_id"
    ),
    subject="record",
    needs=("schools", "registry"),
    build=_duplicate,
    thresholds=("dup_id_max_edits",),
)


# --- PERSON_MISMATCH ----------------------------------------------------------------------


def _same_name(pair: pl.Series) -> pl.Series:
    # Script, spacing and pinyin keys need Python (OpenCC, pypinyin) once per distinct
    # name; only pairs whose names are written differently (both fields set) get there.
    name, res_name = pair.struct.field("name"), pair.struct.field("res_name")
    todo = name.is_not_null() & res_name.is_not_null()
    out = pl.Series("same_name", [None] * pair.len(), dtype=pl.Boolean)
    if todo.any():
        out = out.scatter(
            todo.arg_true(), same_name_or_homophone(name.filter(todo), res_name.filter(todo))
        )
    return out


def _person_mismatch(ctx: AuditContext) -> pl.LazyFrame:
    residence = (
        ctx.tables["residence"]
        .filter(pl.col("id_number").is_not_null())
        .select(
            pl.col("_row").alias("res_row"),
            "id_number",
            pl.col("name").alias("res_name"),
            pl.col("gender").alias("res_gender"),
            pl.col("birth_date").alias("res_birth_date"),
        )
    )
    # Nearly every record pairs with a residence row: the pairs carry only what is compared,
    # and the few records found are joined back to their registry row for the finding.
    recs = records(ctx)
    pairs = (
        recs.filter(pl.col("is_active") & pl.col("id_number").is_not_null())
        .select("_row", "id_number", "name", "gender", "birth_date")
        .join(residence, on="id_number", how="inner")
    )
    written_apart = (pl.col("name") != pl.col("res_name")).fill_null(False)
    both_known = pl.col("name").is_not_null() & pl.col("res_name").is_not_null()
    apart_names = pl.struct(
        pl.when(written_apart).then(pl.col("name")).alias("name"),
        pl.when(written_apart).then(pl.col("res_name")).alias("res_name"),
    )
    compared = (
        pairs.with_columns(
            pl.when(written_apart)
            .then(apart_names.map_batches(_same_name, return_dtype=pl.Boolean))
            .when(both_known)
            .then(True)
            .alias("_same_name")
        )
        .with_columns(
            # An unknown value on either side is not a difference.
            (~pl.col("_same_name")).fill_null(False).alias("_name_differs"),
            (pl.col("gender") != pl.col("res_gender")).fill_null(False).alias("_gender_differs"),
            (pl.col("birth_date") != pl.col("res_birth_date"))
            .fill_null(False)
            .alias("_birth_differs"),
        )
        .with_columns(
            (pl.col("_name_differs") | pl.col("_gender_differs") | pl.col("_birth_differs")).alias(
                "_differs"
            )
        )
    )
    # A record agreeing with any residence row of its ID number is that person. (An
    # anti-join of the differing pairs with the agreeing ones computes the pairs twice:
    # the name check's Python step keeps Polars from sharing the plan.)
    frame = (
        compared.filter(pl.col("_differs").all().over("_row"))
        .sort("_row", "res_row")
        .unique(subset="_row", keep="first", maintain_order=True)
    )
    frame = with_record(ctx, frame.drop("id_number", "name", "gender", "birth_date"))
    what = pl.concat_list(
        pl.when(pl.col("_name_differs")).then(pl.lit("姓名")),
        pl.when(pl.col("_gender_differs")).then(pl.lit("性别")),
        pl.when(pl.col("_birth_differs")).then(pl.lit("出生日期")),
    ).list.drop_nulls()
    detail = pl.concat_str(
        record_label(),
        pl.lit("的身份证号 "),
        mask_id(pl.col("id_number")),
        pl.lit(" 在户籍人口数据中登记为"),
        pl.col("res_name").fill_null("?"),
        pl.lit("（"),
        pl.col("res_gender").replace_strict(GENDER_TEXT, default="?", return_dtype=pl.String),
        pl.lit("，"),
        _date_text("res_birth_date").fill_null("?"),
        pl.lit(" 出生），与学籍的"),
        what.list.join("、"),
        pl.lit("不一致（人籍不一致）。"),
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        residence_row=pl.col("res_row"),
        differs=pl.concat_list(
            pl.when(pl.col("_name_differs")).then(pl.lit("name")),
            pl.when(pl.col("_gender_differs")).then(pl.lit("gender")),
            pl.when(pl.col("_birth_differs")).then(pl.lit("birth_date")),
        ).list.drop_nulls(),
        registry=pl.struct(
            name=pl.col("name"), gender=pl.col("gender"), birth_date=_date_text("birth_date")
        ),
        residence=pl.struct(
            name=pl.col("res_name"),
            gender=pl.col("res_gender"),
            birth_date=_date_text("res_birth_date"),
        ),
    )
    return record_findings(PERSON_MISMATCH, frame, detail, proof)


PERSON_MISMATCH = Rule(
    code="PERSON_MISMATCH",
    title="人籍不一致",
    severity="critical",
    basis=_MGMT + "（学籍信息真实、准确）; 与公安户籍人口信息比对核查",
    definition=(
        "an active record whose id_number is in residence data, where that person's name is neither the "
        "record's name (up to script and spacing) nor a homophone of it, or whose gender or birth date differs; "
        "unknown values on either side are not differences"
    ),
    subject="record",
    needs=("schools", "registry", "residence"),
    build=_person_mismatch,
)

RULES = (DUPLICATE_RECORD, PERSON_MISMATCH)
