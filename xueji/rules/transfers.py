"""Transfer rules: changes of school without an approved transfer, and transfers left waiting.

Both rules read workflow facts the runner takes from the database (``ctx.completed_transfers``,
``ctx.overdue_transfers``) and, for changes of school, the previous audit's registry snapshot
(``ctx.previous_registry``); the rules themselves never touch the database.
"""

from __future__ import annotations

import polars as pl

from xueji.rules.base import AuditContext, Rule, empty_findings, evidence, findings
from xueji.rules.frames import records

_MGMT_ART15 = "《中小学生学籍管理办法》(2025) 第十五条（转学由转入学校发起，双方学校及教育行政部门逐级审核）"

STEP_TEXT = {
    "submitted": "转入学校审核",
    "receiving_school_approved": "转入地教育行政部门审核",
    "receiving_bureau_approved": "转出学校核办",
    "sending_school_confirmed": "转出地教育行政部门审核",
    "sending_bureau_approved": "转入学校确认到校",
}


def _school_names(ctx: AuditContext) -> pl.LazyFrame:
    return ctx.tables["schools"].select("school_code", "school_name", "county_code")


def _receiving_record(ctx: AuditContext, wanted: pl.LazyFrame) -> pl.LazyFrame:
    # One row per (student_no, school_code) of ``wanted`` for filling grade, class and name
    # of a finding: the active record first, then the latest by registry row. Only the
    # wanted pairs' records are sorted (a few thousand, not the registry).
    return (
        records(ctx)
        .filter(pl.col("student_no").is_not_null() & pl.col("school_code").is_not_null())
        .join(wanted, on=["student_no", "school_code"], how="semi")
        .sort(pl.col("is_active").fill_null(False), pl.col("_row"), descending=[True, False])
        .unique(subset=["student_no", "school_code"], keep="first", maintain_order=True)
        .select("student_no", "school_code", "grade", "class_name", "name", "id_number")
    )


def _from_changes(ctx: AuditContext, completed: pl.LazyFrame) -> pl.LazyFrame:
    changes = ctx.tables["registry_changes"].filter(
        (pl.col("change_type") == "transfer")
        & pl.col("student_no").is_not_null()
        & pl.col("from_school_code").is_not_null()
        & pl.col("to_school_code").is_not_null()
        & (pl.col("from_school_code") != pl.col("to_school_code"))
    )
    # Approved: a completed transfer of this student between these schools on or before the
    # change date. An unknown change date cannot be compared: any completed transfer approves it.
    approved = (
        changes.select("_row", "student_no", "from_school_code", "to_school_code", "change_date")
        .join(completed, on=["student_no", "from_school_code", "to_school_code"], how="inner")
        .filter(pl.col("change_date").is_null() | (pl.col("completed_on") <= pl.col("change_date")))
        .select("_row")
        .unique()
    )
    return changes.join(approved, on="_row", how="anti").select(
        "student_no",
        "from_school_code",
        "to_school_code",
        "change_date",
        pl.lit("registry_changes").alias("source"),
        pl.col("_row").alias("registry_changes_row"),
    )


def _from_snapshot(ctx: AuditContext, previous: pl.DataFrame, completed: pl.LazyFrame) -> pl.LazyFrame:
    active = ("enrolled", "suspended")
    before = (
        previous.lazy()
        .filter(pl.col("status").is_in(active) & pl.col("student_no").is_not_null() & pl.col("school_code").is_not_null())
        .select("student_no", pl.col("school_code").alias("from_school_code"))
    )
    now = (
        records(ctx)
        .filter(pl.col("is_active") & pl.col("student_no").is_not_null() & pl.col("school_code").is_not_null())
        .select("student_no", pl.col("school_code").alias("to_school_code"))
    )
    # A student_no active at a school now that held no active record of it before, while it
    # was active elsewhere: a change of school. New students (no earlier record) are not changes.
    # The few (student, school) pairs that are new tonight are found first, then paired
    # with the student's schools before (windows over a million pairs cost twice as much).
    moves = now.join(
        before.rename({"from_school_code": "to_school_code"}), on=["student_no", "to_school_code"], how="anti"
    ).join(before, on="student_no", how="inner")
    # Approved: a completed transfer of this student between these schools by the as-of date.
    approved = (
        completed.filter(pl.col("completed_on") <= pl.lit(ctx.as_of))
        .select("student_no", "from_school_code", "to_school_code", pl.lit(True).alias("_approved"))
        .unique()
    )
    return (
        moves.join(approved, on=["student_no", "from_school_code", "to_school_code"], how="left")
        .group_by("student_no", "to_school_code")
        .agg(pl.col("from_school_code").sort().first(), pl.col("_approved").any())
        .filter(~pl.col("_approved"))
        .select(
            "student_no",
            "from_school_code",
            "to_school_code",
            pl.lit(None, pl.Date).alias("change_date"),
            pl.lit("snapshot").alias("source"),
            pl.lit(None, pl.Int64).alias("registry_changes_row"),
        )
    )


def _unapproved_transfer(ctx: AuditContext) -> pl.LazyFrame:
    completed = ctx.completed_transfers.lazy().select(
        "student_no", "from_school_code", "to_school_code", pl.col("completed_on").cast(pl.Date)
    )
    parts = []
    if ctx.has("registry_changes"):
        parts.append(_from_changes(ctx, completed))
    if ctx.previous_registry is not None:
        parts.append(_from_snapshot(ctx, ctx.previous_registry, completed))
    if not parts:
        return empty_findings()
    # The same change may be seen by both sources: one finding per (student, receiving school),
    # preferring the registry_changes row (it carries the change date).
    moves = (
        pl.concat(parts, how="vertical")
        .sort("student_no", "to_school_code", "source", "change_date", "registry_changes_row", nulls_last=True)
        .unique(subset=["student_no", "to_school_code"], keep="first", maintain_order=True)
    )
    names = _school_names(ctx)
    frame = (
        moves.join(
            names.rename({"school_code": "to_school_code", "school_name": "to_school_name"}), on="to_school_code", how="left"
        )
        .join(
            names.select(pl.col("school_code").alias("from_school_code"), pl.col("school_name").alias("from_school_name")),
            on="from_school_code",
            how="left",
        )
        .join(
            _receiving_record(
                ctx, moves.select("student_no", pl.col("to_school_code").alias("school_code"))
            ).rename({"school_code": "to_school_code"}),
            on=["student_no", "to_school_code"],
            how="left",
        )
    )
    source_text = pl.when(pl.col("source") == "registry_changes").then(
        pl.concat_str(pl.lit("学籍异动记录（"), pl.col("change_date").dt.to_string("%Y-%m-%d").fill_null("日期未知"), pl.lit("）显示")),
    ).otherwise(pl.lit("与上次审计的学籍快照相比，"))
    detail = pl.concat_str(
        pl.col("name").fill_null("学生"),
        pl.lit("："),
        source_text,
        pl.lit("学籍由 "),
        pl.col("from_school_name").fill_null(pl.col("from_school_code")),
        pl.lit(" 转至 "),
        pl.col("to_school_name").fill_null(pl.col("to_school_code")),
        pl.lit("，但转学审批系统中没有相应的已完成转学。"),
    )
    proof = evidence(
        source=pl.col("source"),
        registry_changes_row=pl.col("registry_changes_row"),
        from_school_code=pl.col("from_school_code"),
        to_school_code=pl.col("to_school_code"),
        change_date=pl.col("change_date").dt.to_string("%Y-%m-%d"),
    )
    return findings(
        UNAPPROVED_TRANSFER,
        frame,
        county_code="county_code",
        school_code="to_school_code",
        grade="grade",
        class_name="class_name",
        student_no="student_no",
        id_number="id_number",
        name="name",
        detail=detail,
        evidence=proof,
    )


UNAPPROVED_TRANSFER = Rule(
    code="UNAPPROVED_TRANSFER",
    title="违规转学",
    severity="high",
    basis=_MGMT_ART15,
    definition=(
        "a transfer row in registry_changes, or a change of school against the previous audit's registry "
        "snapshot, with no transfer completed in the workflow database for that student from that school "
        "to that school on or before the change date (the as-of date for snapshot changes)"
    ),
    subject="record",
    needs=("schools", "registry"),
    build=_unapproved_transfer,
    needs_workflow=True,
)


def _transfer_overdue(ctx: AuditContext) -> pl.LazyFrame:
    limit = int(ctx.cfg["transfer_overdue_working_days"])
    overdue = ctx.overdue_transfers.lazy().filter(pl.col("working_days_waited") > limit)
    names = _school_names(ctx)
    # Only the records of students with an overdue transfer are sorted (usually none).
    who = (
        records(ctx)
        .filter(pl.col("student_no").is_not_null())
        .join(overdue.select("student_no"), on="student_no", how="semi")
        .sort(pl.col("is_active").fill_null(False), pl.col("_row"), descending=[True, False])
        .unique(subset=["student_no"], keep="first", maintain_order=True)
        .select("student_no", "grade", "name", "id_number")
    )
    frame = (
        overdue.join(names.rename({"school_code": "to_school_code"}), on="to_school_code", how="left")
        .join(who, on="student_no", how="left")
    )
    step = pl.col("state").replace_strict(STEP_TEXT, default=pl.col("state"), return_dtype=pl.String)
    detail = pl.concat_str(
        pl.col("name").fill_null("学生"),
        pl.lit("转入 "),
        pl.col("school_name").fill_null(pl.col("to_school_code")),
        pl.lit(" 的转学申请（编号 "),
        pl.col("transfer_id").cast(pl.String),
        pl.lit("）在「"),
        step,
        pl.lit("」环节已等待 "),
        pl.col("working_days_waited").cast(pl.String),
        pl.lit(" 个工作日（自 "),
        pl.col("waiting_since").dt.to_string("%Y-%m-%d"),
        pl.lit(f" 起），超过 {limit} 个工作日时限。"),
    )
    proof = evidence(
        transfer_id=pl.col("transfer_id"),
        state=pl.col("state"),
        waiting_since=pl.col("waiting_since").dt.to_string("%Y-%m-%d"),
        working_days_waited=pl.col("working_days_waited"),
        limit_working_days=pl.lit(limit),
        next_party=pl.col("next_party"),
        from_school_code=pl.col("from_school_code"),
    )
    return findings(
        TRANSFER_OVERDUE,
        frame,
        county_code="county_code",
        school_code="to_school_code",
        grade="grade",
        student_no="student_no",
        id_number="id_number",
        name="name",
        detail=detail,
        evidence=proof,
    )


TRANSFER_OVERDUE = Rule(
    code="TRANSFER_OVERDUE",
    title="转学审批超时",
    severity="medium",
    basis=_MGMT_ART15 + "; 各方应在10个工作日内办理",
    definition=(
        "an open transfer in the workflow database whose current step has waited more than "
        "transfer_overdue_working_days (10) working days (Mon–Fri, minus the configured holidays)"
    ),
    subject="record",
    needs=("schools", "registry"),
    build=_transfer_overdue,
    thresholds=("transfer_overdue_working_days",),
    needs_workflow=True,
)

RULES = (UNAPPROVED_TRANSFER, TRANSFER_OVERDUE)
