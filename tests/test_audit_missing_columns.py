"""``xueji audit`` on files that lack required columns (contract §4).

A file lacking some of its table's required columns is audited: the column is unknown on
every row, one row of data_errors.csv says so, and the rules that need it skip those rows
(or, when no row could be judged without it, are skipped with a reason in summary.json).
A file with none of its table's required columns stops the audit with exit code 2.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import Result
from conftest_audit import AS_OF, A, B, audit, bad_check, id_of, night, student, violations
from sqlalchemy import select

from xueji.db import make_engine, session_scope
from xueji.db.models import Student
from xueji.testing import attendance_rows

WEEKDAYS = [d for d in (AS_OF - timedelta(days=i) for i in range(30)) if d.weekday() < 5][::-1][-10:]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'xueji.db'}"


def without(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """``rows`` as a file lacking ``column`` would give them."""
    return [{k: v for k, v in r.items() if k != column} for r in rows]


def attend(person: dict[str, Any], school_code: str, *, by_id: bool = True) -> list[dict[str, object]]:
    """``person`` present at ``school_code`` on each of the last 10 school days."""
    return attendance_rows(person, school_code, WEEKDAYS, by_id=by_id)


def missing_message(label: str) -> str:
    return f"required column missing: every row of this file lacks {label}; rules that need it skip these rows"


def run(tmp_path: Path, db: str, name: str, registry: list[dict[str, Any]], **more: list[dict[str, Any]]) -> tuple[Result, Path]:
    out = tmp_path / f"run-{name}"
    result = audit(night(tmp_path / f"data-{name}", registry, **more), db, "--out", out)
    return result, out


def data_errors(out: Path) -> list[tuple[Any, ...]]:
    return pl.read_csv(out / "data_errors.csv", infer_schema=False).rows()


def summary(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return result


def test_registry_without_class_name_is_audited_and_the_class_rules_skip_it(tmp_path: Path, db: str) -> None:
    # 56 enrolled in one class is 大班额; student 2's ID number fails GB 11643.
    rows = [student(i) for i in range(1, 57)]
    rows[1] = student(2, id_number=bad_check(id_of(2)))
    result, out = run(tmp_path, db, "full", rows)
    assert result.exit_code == 0, result.output
    assert sorted(violations(out)["rule"]) == ["ID_INVALID", "OVERSIZED_CLASS", "STUDENT_NO_MISMATCH"]

    result, out = run(tmp_path, db, "no-class", without(rows, "class_name"))
    assert result.exit_code == 0, result.output
    assert data_errors(out) == [("registry.csv", None, "class_name", None, missing_message("class_name (班级)"))]
    # Rules that need no class still judge every row.
    assert violations(out).select("rule", "student_no").sort("rule").rows() == [
        ("ID_INVALID", "G" + id_of(2)),
        ("STUDENT_NO_MISMATCH", "G" + id_of(2)),
    ]
    assert "WARNING registry.csv: 1 required column missing: class_name (班级)" in result.stderr
    s = summary(out)
    assert s["inputs"]["registry"]["missing_columns"] == ["class_name"]
    assert s["coverage"]["data_errors"]["rows_with_errors"] == {"registry.csv": 56}
    assert s["rules"]["OVERSIZED_CLASS"]["status"] == "ran"
    # The workflow's registry view keeps the full night's classes: refreshing it from this
    # file would blank every student's class.
    assert (
        "the workflow's registry view was not refreshed: required columns missing (registry.csv: class_name (班级))"
        in result.stderr
    )
    with session_scope(make_engine(db), read_only=True) as session:
        classes = session.execute(select(Student.class_name)).scalars().all()
    assert classes == ["1班"] * 56


def test_attendance_without_status_is_audited(tmp_path: Path, db: str) -> None:
    zhang = student(1, name="张伟")
    li = student(2, name="李娜")  # no attendance row at a school with attendance: a ghost
    wang = student(3, name="王芳", school_code=B, grade=8)  # attends A, record at B
    attendance = attend(zhang, A) + attend(wang, A)
    result, out = run(tmp_path, db, "full", [zhang, li, wang], attendance=attendance)
    assert result.exit_code == 0, result.output
    assert violations(out).select("rule", "student_no").sort("rule").rows() == [
        ("GHOST_RECORD", li["student_no"]),
        ("SEPARATION", wang["student_no"]),
    ]

    result, out = run(tmp_path, db, "no-status", [zhang, li, wang], attendance=without(attendance, "status"))
    assert result.exit_code == 0, result.output
    # One row for the column, however many rows the file has (20 here).
    assert data_errors(out) == [("attendance.csv", None, "status", None, missing_message("status (出勤状态)"))]
    # A ghost needs rows of any status; attending needs present or late, now unknown.
    assert violations(out).select("rule", "student_no").rows() == [("GHOST_RECORD", li["student_no"])]
    assert summary(out)["coverage"]["data_errors"]["rows_with_errors"] == {"attendance.csv": 20}


def test_registry_without_name_skips_the_rules_that_report_missing_links(tmp_path: Path, db: str) -> None:
    # Attendance written by name only: without the registry's names nobody could link, and
    # every record would be a ghost and every attendee unregistered.
    rows = [student(1, name="张伟"), student(2, name="李娜", id_number=bad_check(id_of(2)))]
    attendance = attend(rows[0], A, by_id=False) + attend(rows[1], A, by_id=False)
    result, out = run(tmp_path, db, "no-name", without(rows, "name"), attendance=attendance)
    assert result.exit_code == 0, result.output
    assert data_errors(out) == [("registry.csv", None, "name", None, missing_message("name (姓名)"))]
    assert sorted(violations(out)["rule"]) == ["ID_INVALID", "STUDENT_NO_MISMATCH"]
    reason = "needs columns the input files lack (registry (学籍): name (姓名)): every row would be unknown to it"
    s = summary(out)
    for code in ("GHOST_RECORD", "UNREGISTERED_ATTENDEE"):
        assert s["rules"][code]["status"] == "skipped"
        assert s["rules"][code]["reason"] == reason
    assert f"skipped GHOST_RECORD: {reason}" in result.stdout


def test_registry_without_id_number_skips_student_no_mismatch(tmp_path: Path, db: str) -> None:
    # Without the column every G number would look like one with no ID recorded.
    rows = [student(1), student(2)]
    result, out = run(tmp_path, db, "no-id", without(rows, "id_number"))
    assert result.exit_code == 0, result.output
    assert data_errors(out) == [("registry.csv", None, "id_number", None, missing_message("id_number (身份证件号)"))]
    assert violations(out).height == 0
    s = summary(out)
    assert s["rules"]["STUDENT_NO_MISMATCH"]["status"] == "skipped"
    assert s["rules"]["STUDENT_NO_MISMATCH"]["reason"] == (
        "needs columns the input files lack (registry (学籍): id_number (身份证件号)): every row would be unknown to it"
    )


def test_registry_without_student_no_is_audited(tmp_path: Path, db: str) -> None:
    # Two active records of one ID number with no student numbers: a duplicate group still
    # gets an id (it used to crash on the null number).
    rows = [student(1), student(1, school_code=B, grade=8)]
    result, out = run(tmp_path, db, "no-student-no", without(rows, "student_no"))
    assert result.exit_code == 0, result.output
    assert data_errors(out) == [("registry.csv", None, "student_no", None, missing_message("student_no (学籍号)"))]
    dup = violations(out).filter(pl.col("rule") == "DUPLICATE_RECORD")
    assert dup.height == 2 and dup["group_id"].n_unique() == 1 and dup["group_id"][0].startswith("DG")


def test_a_file_with_none_of_its_required_columns_exits_2_before_writing_anything(tmp_path: Path, db: str) -> None:
    data = night(tmp_path / "data", [student(1)])
    (data / "registry.csv").write_text("户籍地区划代码,备注\n110105,无\n", encoding="utf-8")
    out = tmp_path / "run1"
    result = audit(data, db, "--out", out)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: registry.csv: all 10 required columns missing: birth_date (出生日期), class_name (班级), "
        "enrol_date (入校日期), gender (性别), grade (年级), id_number (身份证件号), name (姓名), school_code (学校标识码), "
        "status (学籍状态), student_no (学籍号)"
    )
    assert "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [data]  # no run folder, no database

