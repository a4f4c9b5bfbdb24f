"""Attendance rules: records nobody attends, people attending elsewhere or with no record,
absence that signals dropout, and attendance that contradicts a record's status.

Every rule here reads the shared window reduction of ``attendance_window`` (the
attendance table is reduced once per audit, whatever the number of rules): an
attendance person is *linked* when identity resolution gave it a registry ``person_id``,
and linking is to the person, so two records of one person at one school are both
"seen" by that person's rows. Details and evidence never carry a full ID number.
"""

from __future__ import annotations

import polars as pl

from xueji.ids import mask_id
from xueji.rules.attendance_window import (
    linked_window,
    person_masks,
    school_windows,
    unlinked_window,
)
from xueji.rules.base import AuditContext, Rule, evidence, findings
from xueji.rules.frames import records
from xueji.rules.identity_checks import record_findings, record_label

_MGMT = "《中小学生学籍管理办法》"

# The columns attendance persons are linked by (name within the school, told apart by
# grade). A rule that reports a link *not* found cannot run without them: every person
# would be unlinked, or tied with a namesake in another grade and so unlinked.
LINK_COLUMNS = tuple(f"{t}.{c}" for t in ("registry", "attendance") for c in ("school_code", "name", "grade"))
_DROPOUT_BASIS = (
    "《中华人民共和国义务教育法》第十三条（防止适龄儿童、少年辍学）; "
    "《国务院办公厅关于进一步加强控辍保学提高义务教育巩固水平的通知》（国办发〔2017〕72号）"
)

STATUS_TEXT = {
    "enrolled": "在籍",
    "suspended": "休学",
    "transferred_out": "转出",
    "graduated": "毕业",
    "dropped": "辍学",
    "deceased": "死亡",
    "abroad": "出国出境",
}


def _date_text(col: str) -> pl.Expr:
    return pl.col(col).dt.to_string("%Y-%m-%d")


def _schools(ctx: AuditContext, prefix: str) -> pl.LazyFrame:
    return ctx.tables["schools"].select(
        pl.col("school_code").alias(f"{prefix}school_code"),
        pl.col("school_name").alias(f"{prefix}school_name"),
        pl.col("county_code").alias(f"{prefix}county_code"),
    )


def _attending(ctx: AuditContext) -> pl.LazyFrame:
    # (person_id, school it attends) with the figures that prove it, and the school's name.
    return (
        linked_window(ctx)
        .filter(pl.col("attends"))
        .select(
            "person_id",
            pl.col("school_code").alias("att_school_code"),
            "present_days",
            "first_date",
            "last_date",
            "att_name",
            "att_grade",
            "att_class_name",
        )
        .join(_schools(ctx, "att_"), on="att_school_code", how="left")
    )


def attending(ctx: AuditContext) -> pl.LazyFrame:
    """Registry persons who *attend* a school: ``person_id``, ``att_school_code``,
    ``att_school_name``, ``att_county_code``, ``present_days``, first/last date and how
    the school writes the person (``att_name``, ``att_grade``, ``att_class_name``)."""
    result: pl.LazyFrame = ctx.shared("attendance.attending", _attending)
    return result


def _attended_list(frame: pl.LazyFrame, by: str) -> pl.LazyFrame:
    # Each record's attended schools as one evidence list and one readable phrase.
    school_text = pl.concat_str(
        pl.col("att_school_name").fill_null(pl.col("att_school_code")),
        pl.lit("（出勤或迟到 "),
        pl.col("present_days").cast(pl.String),
        pl.lit(" 天）"),
    )
    return (
        frame.sort(by, "att_school_code")
        .group_by(by, maintain_order=True)
        .agg(
            pl.struct(
                school_code=pl.col("att_school_code"),
                present_or_late_days=pl.col("present_days"),
                first_date=_date_text("first_date"),
                last_date=_date_text("last_date"),
                name_in_attendance=pl.col("att_name"),
                grade_in_attendance=pl.col("att_grade"),
                class_in_attendance=pl.col("att_class_name"),
            ).alias("_attended"),
            school_text.str.join("、").alias("_attended_text"),
        )
    )


# --- GHOST_RECORD -------------------------------------------------------------------------


def _ghost(ctx: AuditContext) -> pl.LazyFrame:
    seen = linked_window(ctx).select("person_id", "school_code")
    frame = (
        records(ctx)
        .filter(pl.col("is_enrolled"))
        .join(school_windows(ctx), on="school_code", how="inner")
        .join(seen, on=["person_id", "school_code"], how="anti")
    )
    detail = pl.concat_str(
        record_label(),
        pl.lit("为在籍学生，但学校 "),
        _date_text("window_start"),
        pl.lit(" 至 "),
        _date_text("window_end"),
        pl.lit(" 的 "),
        pl.col("window_days").cast(pl.String),
        pl.lit(" 个考勤日中没有任何一条考勤记录属于该生（疑似空挂学籍）。"),
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        status=pl.col("status"),
        window_start=_date_text("window_start"),
        window_end=_date_text("window_end"),
        window_school_days=pl.col("window_days"),
        linked_attendance_rows=pl.lit(0),
    )
    return record_findings(GHOST_RECORD, frame, detail, proof)


GHOST_RECORD = Rule(
    code="GHOST_RECORD",
    title="空挂学籍",
    severity="critical",
    basis=_MGMT + "（学籍信息真实准确、籍随人走）; 教育部 学籍管理专项治理（清理空挂学籍）",
    definition=(
        "an enrolled record at a school that has attendance (rows in its window: its last window_school_days "
        "school days up to the as-of date), with no attendance row of any status at that school linked to "
        "the record's person in the window (a linked row whose date is unreadable might be in the window: "
        "such a record is not reported)"
    ),
    subject="record",
    needs=("schools", "registry", "attendance"),
    build=_ghost,
    thresholds=("window_school_days",),
    needs_columns=LINK_COLUMNS,
)


# --- SEPARATION ---------------------------------------------------------------------------


def _separation(ctx: AuditContext) -> pl.LazyFrame:
    att = attending(ctx)
    recs = records(ctx).filter(pl.col("is_active") & pl.col("school_code").is_not_null())
    # Contract §3: attending any other school is 人籍分离, whether or not the person also
    # attends the record's own school. A child who moved mid-window and still attends the
    # old school on attends_min_days or more is where the contract wants the finding.
    elsewhere = (
        recs.select("_row", "person_id", "school_code")
        .join(att, on="person_id", how="inner")
        .filter(pl.col("att_school_code") != pl.col("school_code"))
    )
    # Days the person attends the record's own school too (null: does not attend it),
    # so the inspector sees at once a child on two rolls of attendance.
    at_own = att.select(
        "person_id",
        pl.col("att_school_code").alias("school_code"),
        pl.col("present_days").alias("_own_days"),
    )
    frame = recs.join(_attended_list(elsewhere, "_row"), on="_row", how="inner").join(
        at_own, on=["person_id", "school_code"], how="left"
    )
    own = (
        pl.when(pl.col("_own_days").is_null())
        .then(pl.lit("就读，未在本校出勤（人籍分离）。"))
        .otherwise(
            pl.concat_str(
                pl.lit("就读，同时在本校出勤或迟到 "),
                pl.col("_own_days").cast(pl.String),
                pl.lit(" 天（人籍分离）。"),
            )
        )
    )
    detail = pl.concat_str(
        record_label(),
        pl.lit("的学籍在本校（"),
        pl.col("status").replace_strict(
            STATUS_TEXT, default=pl.col("status"), return_dtype=pl.String
        ),
        pl.lit("），但本人在"),
        pl.col("_attended_text"),
        own,
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        status=pl.col("status"),
        attends=pl.col("_attended"),
        present_or_late_days_at_record_school=pl.col("_own_days"),
    )
    return record_findings(SEPARATION, frame, detail, proof)


SEPARATION = Rule(
    code="SEPARATION",
    title="人籍分离",
    severity="high",
    basis=_MGMT + "（籍随人走、人籍一致）",
    definition=(
        "an active record at school B whose person attends another school A (linked present or late on at "
        "least attends_min_days of A's window days), whether or not the person also attends B; the finding "
        "is on the record at B"
    ),
    subject="record",
    needs=("schools", "registry", "attendance"),
    build=_separation,
    thresholds=("window_school_days", "attends_min_days"),
)


# --- UNREGISTERED_ATTENDEE ----------------------------------------------------------------


def _unregistered(ctx: AuditContext) -> pl.LazyFrame:
    # One finding per (school, name as written): the subject of this rule. Several
    # unlinked attendance persons with one name at one school (rows with and without an
    # ID number) are the same finding.
    frame = (
        unlinked_window(ctx)
        .filter(pl.col("attends") & pl.col("name").is_not_null())
        .sort("school_code", "name", "att_person")
        .group_by("school_code", "name", maintain_order=True)
        .agg(
            pl.col("grade").first(),
            pl.col("class_name").first(),
            pl.col("id_number").drop_nulls().first(),
            pl.col("local_id").drop_nulls().first(),
            pl.col("present_days").max(),
            pl.col("days_seen").max(),
            pl.col("first_date").min(),
            pl.col("last_date").max(),
            pl.col("att_person").alias("att_persons"),
        )
        .join(school_windows(ctx), on="school_code", how="left")
        .join(_schools(ctx, "s_"), left_on="school_code", right_on="s_school_code", how="left")
    )
    id_seen = pl.when(pl.col("id_number").is_not_null()).then(
        pl.concat_str(pl.lit("，考勤中的身份证件号为 "), mask_id(pl.col("id_number")))
    )
    detail = pl.concat_str(
        pl.col("name"),
        pl.lit("（"),
        pl.col("s_school_name").fill_null(pl.col("school_code")),
        pl.lit(" "),
        pl.col("grade").cast(pl.String).fill_null("?"),
        pl.lit("年级"),
        pl.col("class_name").fill_null("?"),
        pl.lit("）在 "),
        _date_text("window_start"),
        pl.lit(" 至 "),
        _date_text("window_end"),
        pl.lit(" 出勤或迟到 "),
        pl.col("present_days").cast(pl.String),
        pl.lit(" 天"),
        id_seen.fill_null(""),
        pl.lit("，但在学籍系统中找不到对应学籍（无籍就读/借读）。"),
    )
    proof = evidence(
        name_in_attendance=pl.col("name"),
        id_number_seen=mask_id(pl.col("id_number")),
        local_id=pl.col("local_id"),
        present_or_late_days=pl.col("present_days"),
        days_seen=pl.col("days_seen"),
        first_date=_date_text("first_date"),
        last_date=_date_text("last_date"),
        window_start=_date_text("window_start"),
        window_end=_date_text("window_end"),
        attendance_persons=pl.col("att_persons"),
    )
    return findings(
        UNREGISTERED_ATTENDEE,
        frame,
        county_code="s_county_code",
        school_code="school_code",
        grade="grade",
        class_name="class_name",
        id_number="id_number",
        name="name",
        detail=detail,
        evidence=proof,
    )


UNREGISTERED_ATTENDEE = Rule(
    code="UNREGISTERED_ATTENDEE",
    title="无籍就读 / 借读",
    severity="high",
    basis=_MGMT + "（学生入学即为其建立学籍）",
    definition=(
        "a person who attends school A (present or late on at least attends_min_days of A's window days) and "
        "links to no registry record at all; one finding per school and name as written in attendance, with "
        "any ID number seen"
    ),
    subject="attendee",
    needs=("schools", "registry", "attendance"),
    build=_unregistered,
    thresholds=("window_school_days", "attends_min_days"),
    needs_columns=LINK_COLUMNS,
)


# --- DROPOUT_RISK -------------------------------------------------------------------------


def _dropout(ctx: AuditContext) -> pl.LazyFrame:
    streak = int(ctx.cfg["dropout_streak_days"])
    total = int(ctx.cfg["dropout_total_days"])
    max_grade = int(ctx.cfg["dropout_max_grade"])
    flagged = (
        records(ctx)
        .filter(pl.col("is_enrolled") & pl.col("grade").is_between(1, max_grade))
        .join(linked_window(ctx), on=["person_id", "school_code"], how="inner")
        .filter((pl.col("absent_streak_max") >= streak) | (pl.col("absent_days") >= total))
    )
    # The attendance persons behind each finding, listed for the few records flagged.
    seen_as = (
        person_masks(ctx)
        .join(
            flagged.select("person_id", "school_code"), on=["person_id", "school_code"], how="semi"
        )
        .group_by("person_id", "school_code")
        .agg(pl.col("att_person").sort().alias("att_persons"))
    )
    frame = flagged.join(seen_as, on=["person_id", "school_code"], how="left").join(
        school_windows(ctx), on="school_code", how="left"
    )
    reason = (
        pl.when(pl.col("absent_streak_max") >= streak)
        .then(
            pl.concat_str(
                pl.lit("连续缺勤 "),
                pl.col("absent_streak_max").cast(pl.String),
                pl.lit(" 个上学日"),
            )
        )
        .otherwise(
            pl.concat_str(pl.lit("累计缺勤 "), pl.col("absent_days").cast(pl.String), pl.lit(" 天"))
        )
    )
    detail = pl.concat_str(
        record_label(),
        pl.lit("在 "),
        _date_text("window_start"),
        pl.lit(" 至 "),
        _date_text("window_end"),
        pl.lit(" 的 "),
        pl.col("window_days").cast(pl.String),
        pl.lit(" 个考勤日中"),
        reason,
        pl.lit("（无故缺勤共 "),
        pl.col("absent_days").cast(pl.String),
        pl.lit(" 天），有辍学风险，需落实控辍保学。"),
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        absent_streak_max=pl.col("absent_streak_max"),
        absent_days=pl.col("absent_days"),
        present_or_late_days=pl.col("present_days"),
        days_seen=pl.col("days_seen"),
        window_start=_date_text("window_start"),
        window_end=_date_text("window_end"),
        window_school_days=pl.col("window_days"),
        dropout_streak_days=pl.lit(streak),
        dropout_total_days=pl.lit(total),
        attendance_persons=pl.col("att_persons"),
    )
    return record_findings(DROPOUT_RISK, frame, detail, proof)


DROPOUT_RISK = Rule(
    code="DROPOUT_RISK",
    title="辍学风险 (控辍保学)",
    severity="high",
    basis=_DROPOUT_BASIS,
    definition=(
        "an enrolled record in grades 1 to dropout_max_grade whose person's linked rows at its school in the "
        "window show dropout_streak_days or more consecutive absent days (over the person's rows in date "
        "order), or dropout_total_days or more absent days in all; absent is unexcused (sick and personal "
        "leave are not absence)"
    ),
    subject="record",
    needs=("schools", "registry", "attendance"),
    build=_dropout,
    thresholds=(
        "window_school_days",
        "dropout_streak_days",
        "dropout_total_days",
        "dropout_max_grade",
    ),
)


# --- STATUS_CONFLICT ----------------------------------------------------------------------


def _status_conflict(ctx: AuditContext) -> pl.LazyFrame:
    max_days = int(ctx.cfg["suspension_max_days"])
    recs = records(ctx)
    # The latest record of each person whose every record is known to be inactive (a
    # record whose status is unreadable might be active). Inactive records are few, so
    # the candidates are found before anything is joined to attendance.
    live = (
        recs.filter(pl.col("is_active") | pl.col("status").is_null()).select("person_id").unique()
    )
    latest_inactive = (
        recs.filter(
            pl.col("status").is_not_null()
            & ~pl.col("is_active")
            & pl.col("person_id").is_not_null()
        )
        .join(live, on="person_id", how="anti")
        .sort("person_id", pl.coalesce("status_date", "enrol_date"), "_row", nulls_last=False)
        .group_by("person_id", maintain_order=True)
        .agg(pl.col("_row").last())
        .select("_row", pl.lit(True).alias("_latest_inactive"))
    )
    candidates = recs.join(latest_inactive, on="_row", how="left").filter(
        pl.col("_latest_inactive").is_not_null() | (pl.col("status") == "suspended")
    )
    attends = attending(ctx).join(candidates.select("person_id"), on="person_id", how="semi")
    frame = (
        candidates.join(_attended_list(attends, "person_id"), on="person_id", how="left")
        .with_columns(
            pl.col("_attended").is_not_null().alias("_attends"),
            (pl.col("status") == "suspended").fill_null(False).alias("_suspended"),
        )
        .with_columns(
            (pl.col("_latest_inactive").fill_null(False) & pl.col("_attends")).alias(
                "_inactive_attends"
            ),
            (pl.col("_suspended") & pl.col("_attends")).alias("_suspended_attends"),
            (
                pl.col("_suspended")
                & pl.col("status_date").is_not_null()
                & ((pl.lit(ctx.as_of) - pl.col("status_date")).dt.total_days() > max_days)
            ).alias("_suspended_long"),
        )
        .filter(
            pl.col("_inactive_attends") | pl.col("_suspended_attends") | pl.col("_suspended_long")
        )
        .with_columns(
            (pl.lit(ctx.as_of) - pl.col("status_date")).dt.total_days().alias("_suspended_days")
        )
    )
    status_text = pl.col("status").replace_strict(
        STATUS_TEXT, default=pl.col("status"), return_dtype=pl.String
    )
    attends_text = pl.concat_str(pl.lit("本人正在"), pl.col("_attended_text"), pl.lit("就读"))
    reasons = pl.concat_list(
        pl.when(pl.col("_inactive_attends")).then(
            pl.concat_str(
                pl.lit("学籍状态为"),
                status_text,
                pl.lit("且本人没有在籍或休学的学籍，"),
                attends_text,
            )
        ),
        pl.when(pl.col("_suspended_attends")).then(
            pl.concat_str(pl.lit("学籍为休学，"), attends_text)
        ),
        pl.when(pl.col("_suspended_long")).then(
            pl.concat_str(
                pl.lit("自 "),
                _date_text("status_date"),
                pl.lit(" 起休学已 "),
                pl.col("_suspended_days").cast(pl.String),
                pl.lit(f" 天（超过 {max_days} 天）"),
            )
        ),
    ).list.drop_nulls()
    detail = pl.concat_str(
        record_label(), pl.lit("："), reasons.list.join("；"), pl.lit("（学籍状态冲突）。")
    )
    proof = evidence(
        registry_row=pl.col("_row"),
        status=pl.col("status"),
        status_date=_date_text("status_date"),
        conflicts=pl.concat_list(
            pl.when(pl.col("_inactive_attends")).then(pl.lit("inactive_person_attends")),
            pl.when(pl.col("_suspended_attends")).then(pl.lit("suspended_attends")),
            pl.when(pl.col("_suspended_long")).then(pl.lit("suspended_too_long")),
        ).list.drop_nulls(),
        days_since_status_date=pl.col("_suspended_days"),
        suspension_max_days=pl.lit(max_days),
        attends=pl.col("_attended"),
    )
    return record_findings(STATUS_CONFLICT, frame, detail, proof)


STATUS_CONFLICT = Rule(
    code="STATUS_CONFLICT",
    title="学籍状态冲突",
    severity="medium",
    basis=_MGMT + "（休学、复学等学籍变动应及时办理）",
    definition=(
        "a person who attends a school while all their records are inactive (the finding is on the latest "
        "of them, by status_date, else enrol_date); a suspended record whose person attends a school; a "
        "suspended record whose status_date is more than suspension_max_days before the as-of date"
    ),
    subject="record",
    needs=("schools", "registry"),
    build=_status_conflict,
    thresholds=("suspension_max_days", "window_school_days", "attends_min_days"),
)

RULES = (GHOST_RECORD, SEPARATION, UNREGISTERED_ATTENDEE, DROPOUT_RISK, STATUS_CONFLICT)
