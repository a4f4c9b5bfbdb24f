"""The submission guards of contract section 7, each with its own message.

They are pure functions of what the database says about the student, the schools
and the student's open transfers; ``service.submit`` loads those facts inside the
submitting transaction and calls ``check_application``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xueji.db.models import School, Student, Transfer
from xueji.errors import WorkflowRefused
from xueji.vocabulary import ACTIVE, LEVEL_GRADES

REASONS: dict[str, str] = {
    "hukou_move": "户籍迁移",
    "parent_job": "父母工作调动",
    "home_move": "家庭住址搬迁",
    "other": "其他",
}
GRADUATING_GRADES = (6, 9, 12)


@dataclass(frozen=True)
class Application:
    """What the receiving school's registrar records from the guardian's application."""

    student_no: str
    to_school_code: str
    to_class: str
    reason: str
    explanation: str | None = None
    evidence: tuple[str, ...] = field(default_factory=tuple)
    grade: int | None = None  # the grade the student joins; None: the current grade


def refuse(message: str) -> WorkflowRefused:
    """A guard's refusal, worded ``guard failed: ...``."""
    return WorkflowRefused(f"guard failed: {message}")


def check_form(app: Application) -> None:
    """Checks of the application itself, before any record is read."""
    if app.reason not in REASONS:
        raise refuse(f"reason {app.reason!r} is not permitted; use one of {', '.join(REASONS)}")
    if app.reason == "other" and not (app.explanation or "").strip():
        raise refuse("reason 'other' (其他) needs a written explanation (--explanation)")
    if not app.to_class.strip():
        raise refuse("the receiving class is empty (--class)")


def check_application(
    app: Application,
    records: Sequence[Student],
    receiving: School,
    open_transfers: Sequence[Transfer],
) -> Student:
    """Run the guards in the contract's order; returns the record at the sending school."""
    no = app.student_no
    active = [r for r in records if r.status in ACTIVE]
    if not active:
        held = ", ".join(f"{r.status} at {r.school_code}" for r in records) or "no record at all"
        raise refuse(
            f"student {no} has no active record (enrolled or suspended) at a sending school: {held}"
        )
    if len(active) > 1:
        schools = ", ".join(sorted(r.school_code for r in active))
        raise refuse(
            f"student {no} has {len(active)} active records (schools {schools}); resolve the duplicate record (重复学籍) first"
        )
    record = active[0]
    if record.status == "suspended":
        raise refuse(
            f"student {no} is suspended (休学) at school {record.school_code}; resume (复学) before a transfer"
        )
    if open_transfers:
        t = open_transfers[0]
        raise refuse(
            f"student {no} already has open transfer {t.id} ({t.state}); withdraw or finish it first"
        )
    if record.grade in GRADUATING_GRADES:
        raise refuse(
            f"student {no} is in grade {record.grade}, a graduating grade (6, 9, 12): no transfer in that year"
        )
    if app.grade is not None and app.grade != record.grade:
        raise refuse(
            f"a transfer keeps the grade: student {no} is in grade {record.grade}, the application asks for grade {app.grade}"
        )
    low, high = LEVEL_GRADES.get(receiving.level, (0, -1))
    if record.grade is None or not low <= record.grade <= high:
        raise refuse(
            f"receiving school {receiving.school_code} ({receiving.level}) cannot hold grade {record.grade} "
            f"(it holds grades {low}–{high})"
        )
    if record.school_code == receiving.school_code:
        raise refuse(
            f"student {no} is already at school {receiving.school_code}: the sending school equals the receiving school"
        )
    return record
