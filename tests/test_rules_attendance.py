"""Case tables for GHOST_RECORD, SEPARATION, UNREGISTERED_ATTENDEE, DROPOUT_RISK and
STATUS_CONFLICT, and the shared attendance-window reduction they read.

Attendance is written as one letter per school day, oldest first, ending at the as-of
date: P present, L late, A absent (unexcused), S sick leave, E personal leave (事假),
? an unreadable status, . no row that day.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from xueji.audit.context import build_context, evaluate_rules
from xueji.identity import resolve_identities
from xueji.rules import attendance_window
from xueji.rules.base import AuditContext
from xueji.rules.catalogue import rule_by_code
from xueji.testing import default_config, record, run_rules, school, typed_tables

AS_OF = date(2026, 11, 20)  # a Friday; the window is the 20 weekdays 2026-10-26 .. 2026-11-20
A, B = "4301040001", "4301040002"
WEEKDAYS = [d for d in (AS_OF - timedelta(days=i) for i in range(120)) if d.weekday() < 5][::-1]
LETTERS = {
    "P": "present",
    "L": "late",
    "A": "absent",
    "S": "sick_leave",
    "E": "personal_leave",
    "?": None,
}
FULL = "P" * 20


def attend(
    person: dict[str, Any], days: str = FULL, *, by_id: bool = False, **overrides: object
) -> list[dict[str, Any]]:
    """Attendance rows of ``person`` (a registry row or just a name) for the last
    ``len(days)`` school days up to the as-of date, in the record's school and class."""
    rows = []
    for day, letter in zip(WEEKDAYS[-len(days) :], days, strict=True):
        if letter == ".":
            continue
        row = {
            "school_code": person.get("school_code", A),
            "date": day,
            "grade": person.get("grade", 3),
            "class_name": person.get("class_name", "1班"),
            "name": person["name"],
            "id_number": person.get("id_number") if by_id else None,
            "local_id": None,
            "status": LETTERS[letter],
        }
        rows.append(row | overrides)
    return rows


def stranger(name: str | None, **fields: object) -> dict[str, Any]:
    """Someone with no registry record, as attendance sees them."""
    return {"name": name, **fields}


def _tables(
    registry: list[dict[str, Any]], attendance: list[dict[str, Any]]
) -> dict[str, pl.LazyFrame]:
    return typed_tables(schools=[school(A), school(B)], registry=registry, attendance=attendance)


def _run(
    rule: str, registry: list[dict[str, Any]], attendance: list[dict[str, Any]], **cfg: object
) -> pl.DataFrame:
    return run_rules(_tables(registry, attendance), AS_OF, codes=[rule], cfg=default_config(**cfg))


def _subjects(out: pl.DataFrame) -> list[tuple[Any, ...]]:
    return out.select("student_no", "school_code").rows()


ZHANG = record(1, name="张伟")
LI = record(2, name="李娜")
WANG = record(3, name="王芳")
WANG_AT_B = record(3, name="王芳", school_code=B)
OTHER = record(9, name="陈静")  # someone present every day, so school A has attendance


# --- GHOST_RECORD -------------------------------------------------------------------------

GHOST_CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]] = [
    ("present every day", [ZHANG], attend(ZHANG), []),
    ("no row at all at a school with attendance", [ZHANG, OTHER], attend(OTHER), [ZHANG]),
    ("absent every day is still attendance", [ZHANG], attend(ZHANG, "A" * 20), []),
    (
        "one sick-leave row in the window",
        [ZHANG, OTHER],
        attend(OTHER) + attend(ZHANG, "S" + "." * 19),
        [],
    ),
    (
        "only rows with an unreadable status",
        [ZHANG, OTHER],
        attend(OTHER) + attend(ZHANG, "?" * 20),
        [],
    ),
    (
        "rows only before the window",
        [ZHANG, OTHER],
        attend(OTHER) + attend(ZHANG, "PPPPP" + "." * 20),
        [ZHANG],
    ),
    (
        "row on the first window day only",
        [ZHANG, OTHER],
        attend(OTHER) + attend(ZHANG, "PPPPP" + "P" + "." * 19),
        [],
    ),
    ("school without attendance data", [WANG_AT_B, OTHER], attend(OTHER), []),
    (
        "suspended record is not enrolled",
        [record(1, name="张伟", status="suspended"), OTHER],
        attend(OTHER),
        [],
    ),
    (
        "transferred-out record",
        [record(1, name="张伟", status="transferred_out"), OTHER],
        attend(OTHER),
        [],
    ),
    (
        "linked by ID number under another name",
        [ZHANG, OTHER],
        attend(OTHER) + attend(ZHANG | {"name": "张三"}, by_id=True),
        [],
    ),
    (
        "linked by the traditional spelling of the name",
        [ZHANG, OTHER],
        attend(OTHER) + attend(ZHANG | {"name": "張偉"}),
        [],
    ),
    (
        "rows at another school only",
        [ZHANG, OTHER],
        attend(OTHER) + attend(ZHANG | {"school_code": B}, by_id=True),
        [ZHANG],
    ),
    (
        "only rows whose date could not be read (unknown, not absent)",
        [ZHANG, OTHER],
        attend(OTHER) + [r | {"date": None} for r in attend(ZHANG, "PPP")],
        [],
    ),
    (
        "rows after the as-of date do not count",
        [ZHANG, OTHER],
        attend(OTHER) + [r | {"date": AS_OF + timedelta(days=3)} for r in attend(ZHANG, "P")],
        [ZHANG],
    ),
    (
        "two records of one person at one school are both attended",
        [ZHANG, record(1, name="张伟", student_no="L43010420170301" + "0001", id_number=None)],
        attend(ZHANG, by_id=True),
        [],
    ),
]


@pytest.mark.parametrize(
    ("case", "registry", "attendance", "expected"), GHOST_CASES, ids=[c[0] for c in GHOST_CASES]
)
def test_ghost_record(
    case: str,
    registry: list[dict[str, Any]],
    attendance: list[dict[str, Any]],
    expected: list[dict[str, Any]],
) -> None:
    out = _run("GHOST_RECORD", registry, attendance)
    assert _subjects(out) == [(r["student_no"], r["school_code"]) for r in expected]


def test_ghost_record_detail_and_evidence() -> None:
    out = _run("GHOST_RECORD", [ZHANG, OTHER], attend(OTHER))
    assert out["detail"][0] == (
        "张伟（测试学校0001 3年级1班）为在籍学生，但学校 2026-10-26 至 2026-11-20 的 20 个考勤日中"
        "没有任何一条考勤记录属于该生（疑似空挂学籍）。"
    )
    proof = json.loads(out["evidence"][0])
    assert proof == {
        "registry_row": 1,
        "status": "enrolled",
        "window_start": "2026-10-26",
        "window_end": "2026-11-20",
        "window_school_days": 20,
        "linked_attendance_rows": 0,
    }
    assert out.row(0, named=True) | {"detail": None, "evidence": None} == {
        "rule": "GHOST_RECORD",
        "severity": "critical",
        "county_code": "430104",
        "school_code": A,
        "grade": 3,
        "class_name": "1班",
        "student_no": ZHANG["student_no"],
        "id_number": ZHANG["id_number"],
        "name": "张伟",
        "detail": None,
        "evidence": None,
        "group_id": None,
    }


def test_ghost_window_is_the_schools_own_last_days() -> None:
    # School B stopped sending attendance ten school days ago: its window is its own last
    # 20 school days, so a record seen there on five days three weeks ago is attended.
    other_b = record(8, name="周杰", school_code=B)
    b_days = WEEKDAYS[-40:-10]
    rows = [attend(other_b, "P")[0] | {"date": d} for d in b_days]
    rows += [attend(WANG_AT_B, "P")[0] | {"date": d} for d in b_days[-20:-15]]
    assert _run("GHOST_RECORD", [WANG_AT_B, other_b], rows).height == 0
    # Five school days earlier, the same rows are outside B's window.
    rows = [r for r in rows if r["name"] == "周杰"] + [
        attend(WANG_AT_B, "P")[0] | {"date": d} for d in b_days[:5]
    ]
    assert _subjects(_run("GHOST_RECORD", [WANG_AT_B, other_b], rows)) == [
        (WANG_AT_B["student_no"], B)
    ]


def test_ghost_window_length_is_configurable() -> None:
    # Seen 10 school days ago: inside a 20-day window, outside a 5-day one.
    rows = attend(OTHER) + attend(ZHANG, "P" + "." * 9)
    assert _run("GHOST_RECORD", [ZHANG, OTHER], rows).height == 0
    assert _subjects(_run("GHOST_RECORD", [ZHANG, OTHER], rows, window_school_days=5)) == [
        (ZHANG["student_no"], A)
    ]


def test_window_longer_than_a_mask_is_refused_with_its_reason() -> None:
    # The audit reports the rule as failed with this message and goes on with the others.
    with pytest.raises(
        RuntimeError,
        match="window_school_days = 65: the attendance window must be 1 to 64 school days",
    ):
        _run("GHOST_RECORD", [ZHANG], attend(ZHANG), window_school_days=65)


def test_attendance_rules_are_skipped_without_attendance() -> None:
    tables = typed_tables(
        schools=[school(A)],
        registry=[ZHANG, record(4, status="suspended", status_date=date(2020, 1, 1))],
    )
    out = run_rules(tables, AS_OF)
    assert (
        set(out["rule"]) & {"GHOST_RECORD", "SEPARATION", "UNREGISTERED_ATTENDEE", "DROPOUT_RISK"}
        == set()
    )
    # STATUS_CONFLICT's suspension clause needs no attendance.
    assert out.filter(pl.col("rule") == "STATUS_CONFLICT")["student_no"].to_list() == [
        record(4)["student_no"]
    ]


# --- SEPARATION ---------------------------------------------------------------------------

SEPARATION_CASES: list[
    tuple[str, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]
] = [
    ("attends the school of the record", [ZHANG], attend(ZHANG), []),
    (
        "attends A, record at B",
        [WANG_AT_B],
        attend(WANG_AT_B | {"school_code": A}, by_id=True),
        [WANG_AT_B],
    ),
    (
        "4 present days at A is not attending",
        [WANG_AT_B],
        attend(WANG_AT_B | {"school_code": A}, "PPPP" + "A" * 16, by_id=True),
        [],
    ),
    (
        "5 present days at A is attending",
        [WANG_AT_B],
        attend(WANG_AT_B | {"school_code": A}, "PPPPP" + "A" * 15, by_id=True),
        [WANG_AT_B],
    ),
    (
        "late counts as present",
        [WANG_AT_B],
        attend(WANG_AT_B | {"school_code": A}, "PPLLL" + "S" * 15, by_id=True),
        [WANG_AT_B],
    ),
    (
        "leave days are not attendance",
        [WANG_AT_B],
        attend(WANG_AT_B | {"school_code": A}, "PPPP" + "SE" * 8, by_id=True),
        [],
    ),
    (
        # Contract §3: attending A while the record is at B is 人籍分离, mid-window move or not.
        "attends A then B (moved mid-window)",
        [WANG_AT_B],
        attend(WANG_AT_B | {"school_code": A}, "P" * 10 + "." * 10, by_id=True)
        + attend(WANG_AT_B, "." * 10 + "P" * 10, by_id=True),
        [WANG_AT_B],
    ),
    (
        "attends both A and B on 5 days each",
        [WANG_AT_B],
        attend(WANG_AT_B | {"school_code": A}, "." * 15 + "PPPPP", by_id=True)
        + attend(WANG_AT_B, "PPPPP" + "." * 15, by_id=True),
        [WANG_AT_B],
    ),
    (
        "attends B, 4 days at A",
        [WANG_AT_B],
        attend(WANG_AT_B | {"school_code": A}, "." * 16 + "PPPP", by_id=True)
        + attend(WANG_AT_B, "P" * 16 + "." * 4, by_id=True),
        [],
    ),
    (
        "suspended record at B",
        [WANG_AT_B | {"status": "suspended"}],
        attend(WANG_AT_B | {"school_code": A}, by_id=True),
        [WANG_AT_B],
    ),
    (
        "transferred-out record at B is not active",
        [WANG_AT_B | {"status": "transferred_out"}],
        attend(WANG_AT_B | {"school_code": A}, by_id=True),
        [],
    ),
    (
        "duplicate records at A and B, attends A",
        [WANG, WANG_AT_B | {"student_no": "L430104201703010003", "id_number": None}],
        attend(WANG, by_id=True),
        [WANG_AT_B | {"student_no": "L430104201703010003"}],
    ),
    (
        "record's school unknown",
        [WANG_AT_B | {"school_code": None}],
        attend(WANG_AT_B | {"school_code": A}, by_id=True),
        [],
    ),
    (
        "attendance before the window",
        [WANG_AT_B],
        attend(WANG_AT_B | {"school_code": A}, "P" * 10 + "." * 20, by_id=True),
        [],
    ),
]


@pytest.mark.parametrize(
    ("case", "registry", "attendance", "expected"),
    SEPARATION_CASES,
    ids=[c[0] for c in SEPARATION_CASES],
)
def test_separation(
    case: str,
    registry: list[dict[str, Any]],
    attendance: list[dict[str, Any]],
    expected: list[dict[str, Any]],
) -> None:
    # Someone else is present at A every day so both schools' windows are the same days.
    out = _run("SEPARATION", [*registry, OTHER], attendance + attend(OTHER))
    assert _subjects(out) == [(r["student_no"], r["school_code"]) for r in expected]


def test_separation_while_also_attending_the_record_s_school_says_so() -> None:
    out = _run(
        "SEPARATION",
        [WANG_AT_B, OTHER],
        attend(OTHER)
        + attend(WANG_AT_B | {"school_code": A}, "P" * 6 + "." * 14, by_id=True)
        + attend(WANG_AT_B, "." * 12 + "P" * 8, by_id=True),
    )
    assert _subjects(out) == [(WANG_AT_B["student_no"], B)]
    assert out["detail"][0] == (
        "王芳（测试学校0002 3年级1班）的学籍在本校（在籍），但本人在测试学校0001（出勤或迟到 6 天）就读，"
        "同时在本校出勤或迟到 8 天（人籍分离）。"
    )
    proof = json.loads(out["evidence"][0])
    assert [a["school_code"] for a in proof["attends"]] == [A]
    assert proof["present_or_late_days_at_record_school"] == 8


def test_separation_detail_names_the_school_attended() -> None:
    out = _run(
        "SEPARATION",
        [WANG_AT_B, OTHER],
        attend(OTHER) + attend(WANG_AT_B | {"school_code": A}, "PPPPPPL" + "A" * 13, by_id=True),
    )
    assert (
        out["detail"][0]
        == "王芳（测试学校0002 3年级1班）的学籍在本校（在籍），但本人在测试学校0001（出勤或迟到 7 天）就读，未在本校出勤（人籍分离）。"
    )
    assert out["severity"][0] == "high"
    proof = json.loads(out["evidence"][0])
    assert proof["present_or_late_days_at_record_school"] is None
    assert proof["attends"] == [
        {
            "school_code": A,
            "present_or_late_days": 7,
            "first_date": "2026-10-26",
            "last_date": "2026-11-20",
            "name_in_attendance": "王芳",
            "grade_in_attendance": 3,
            "class_in_attendance": "1班",
        }
    ]


# --- UNREGISTERED_ATTENDEE ----------------------------------------------------------------

NOBODY_ID = "430104201503010516"  # a valid ID number that no record carries

UNREGISTERED_CASES: list[tuple[str, list[dict[str, Any]], list[tuple[Any, ...]]]] = [
    ("a registered student", attend(ZHANG), []),
    ("a name nobody has", attend(stranger("赵敏")), [(A, "赵敏", None)]),
    ("4 present days", attend(stranger("赵敏"), "PPPP" + "A" * 16), []),
    ("5 present or late days", attend(stranger("赵敏"), "PPPLL" + "A" * 15), [(A, "赵敏", None)]),
    ("present only before the window", attend(stranger("赵敏"), "P" * 10 + "." * 20), []),
    (
        "an ID number nobody has",
        attend(stranger("赵敏", id_number=NOBODY_ID), by_id=True),
        [(A, "赵敏", NOBODY_ID)],
    ),
    (
        "a masked ID number",
        attend(stranger("赵敏", id_number="430104********0516"), by_id=True),
        [(A, "赵敏", "430104********0516")],
    ),
    (
        "one name seen with and without an ID is one finding",
        attend(stranger("赵敏", id_number=NOBODY_ID), "P" * 10 + "." * 10, by_id=True)
        + attend(stranger("赵敏"), "." * 10 + "P" * 10),
        [(A, "赵敏", NOBODY_ID)],
    ),
    (
        "a student whose record is inactive is registered",
        attend(LI | {"name": "李娜"}, by_id=True),
        [],
    ),
    ("a typo of a registered name in the class", attend(ZHANG | {"name": "张玮"}), []),
    ("a name that could not be read, no ID", attend(stranger(None)), []),
]


@pytest.mark.parametrize(
    ("case", "attendance", "expected"), UNREGISTERED_CASES, ids=[c[0] for c in UNREGISTERED_CASES]
)
def test_unregistered_attendee(
    case: str, attendance: list[dict[str, Any]], expected: list[tuple[Any, ...]]
) -> None:
    # Zhang is present every day, so school A's window is the last 20 school days.
    registry = [ZHANG, LI | {"status": "graduated"}]
    out = _run("UNREGISTERED_ATTENDEE", registry, attendance + attend(ZHANG, by_id=True))
    assert out.select("school_code", "name", "id_number").rows() == expected
    assert out["student_no"].to_list() == [None] * len(expected)


def test_unregistered_attendee_at_a_school_whose_rows_are_old() -> None:
    # School B's only rows are five weeks old: they are its last school days, its window.
    rows = attend(ZHANG) + attend(stranger("赵敏", school_code=B), "P" * 10 + "." * 20)
    out = _run("UNREGISTERED_ATTENDEE", [ZHANG], rows)
    assert out.select("school_code", "name").rows() == [(B, "赵敏")]
    proof = json.loads(out["evidence"][0])
    assert (proof["window_start"], proof["window_end"]) == (
        WEEKDAYS[-30].isoformat(),
        WEEKDAYS[-21].isoformat(),
    )


def test_unregistered_attendee_detail() -> None:
    out = _run(
        "UNREGISTERED_ATTENDEE",
        [ZHANG],
        attend(ZHANG)
        + attend(
            stranger("赵敏", id_number=NOBODY_ID, grade=4, class_name="2班"),
            "A" + "P" * 19,
            by_id=True,
        ),
    )
    row = out.row(0, named=True)
    assert (row["county_code"], row["grade"], row["class_name"], row["severity"]) == (
        "430104",
        4,
        "2班",
        "high",
    )
    assert row["detail"] == (
        "赵敏（测试学校0001 4年级2班）在 2026-10-26 至 2026-11-20 出勤或迟到 19 天，"
        "考勤中的身份证件号为 430104********0516，但在学籍系统中找不到对应学籍（无籍就读/借读）。"
    )
    proof = json.loads(row["evidence"])
    assert proof["id_number_seen"] == "430104********0516"
    assert (proof["present_or_late_days"], proof["days_seen"]) == (19, 20)


# --- DROPOUT_RISK -------------------------------------------------------------------------

DROPOUT_CASES: list[tuple[str, dict[str, Any], str, dict[str, object], bool]] = [
    ("never absent", ZHANG, FULL, {}, False),
    ("4 consecutive absent days", ZHANG, "P" * 8 + "AAAA" + "P" * 8, {}, False),
    ("5 consecutive absent days (a school week)", ZHANG, "P" * 8 + "AAAAA" + "P" * 7, {}, True),
    ("7 absent days, never 5 in a row", ZHANG, "AAAAPAAAPP" + "P" * 10, {}, False),
    ("8 absent days, never 5 in a row", ZHANG, "AAAAPAAAAP" + "P" * 10, {}, True),
    ("sick leave breaks a run", ZHANG, "P" * 8 + "AAASAA" + "P" * 6, {}, False),
    ("personal leave breaks a run", ZHANG, "P" * 8 + "AAEAAA" + "P" * 6, {}, False),
    ("late breaks a run", ZHANG, "P" * 8 + "AALAAA" + "P" * 6, {}, False),
    ("an unreadable status breaks a run", ZHANG, "P" * 8 + "AA?AAA" + "P" * 6, {}, False),
    (
        "a day with no row neither breaks nor extends a run",
        ZHANG,
        "P" * 8 + "AA.AAA" + "P" * 6,
        {},
        True,
    ),
    ("4 absent days and a day with no row", ZHANG, "P" * 8 + "AA.AA" + "P" * 7, {}, False),
    (
        "run across the window start only counts inside",
        ZHANG,
        "AAAAAAA" + "AA" + "P" * 18,
        {},
        False,
    ),
    ("5 absent days at the end of the window", ZHANG, "P" * 15 + "AAAAA", {}, True),
    ("grade 9 is compulsory", ZHANG | {"grade": 9}, "A" * 5 + "P" * 15, {}, True),
    ("grade 10 is not checked", ZHANG | {"grade": 10}, "A" * 5 + "P" * 15, {}, False),
    (
        "suspended record is not enrolled",
        ZHANG | {"status": "suspended"},
        "A" * 5 + "P" * 15,
        {},
        False,
    ),
    ("province streak of 3", ZHANG, "P" * 8 + "AAA" + "P" * 9, {"dropout_streak_days": 3}, True),
    ("province total of 10", ZHANG, "AAAAPAAAAP" + "P" * 10, {"dropout_total_days": 10}, False),
    ("grade unknown", ZHANG | {"grade": None}, "A" * 5 + "P" * 15, {}, False),
]


@pytest.mark.parametrize(
    ("case", "person", "days", "cfg", "flagged"), DROPOUT_CASES, ids=[c[0] for c in DROPOUT_CASES]
)
def test_dropout_risk(
    case: str, person: dict[str, Any], days: str, cfg: dict[str, object], flagged: bool
) -> None:
    # The run-across-the-window case needs 22 letters; the window is the last 20.
    attendance = attend(
        person, days.rjust(20, "P") if len(days) < 20 else days, by_id=True
    ) + attend(OTHER)
    out = _run("DROPOUT_RISK", [person, OTHER], attendance, **cfg)
    assert _subjects(out) == ([(person["student_no"], A)] if flagged else [])


def test_dropout_combines_attendance_persons_of_one_student() -> None:
    # Three absent days recorded with the ID number, then two under the name only: the
    # school's system keys them as two attendance persons, but they are one student.
    rows = attend(ZHANG, "P" * 10 + "AAA" + "." * 7, by_id=True) + attend(
        ZHANG, "." * 13 + "AA" + "P" * 5
    )
    out = _run("DROPOUT_RISK", [ZHANG], rows)
    assert _subjects(out) == [(ZHANG["student_no"], A)]
    assert json.loads(out["evidence"][0])["absent_streak_max"] == 5
    assert len(json.loads(out["evidence"][0])["attendance_persons"]) == 2


def test_dropout_absence_at_another_school_is_not_counted() -> None:
    rows = attend(ZHANG) + attend(ZHANG | {"school_code": B}, "A" * 20, by_id=True)
    assert _run("DROPOUT_RISK", [ZHANG], rows).height == 0


def test_dropout_detail() -> None:
    out = _run("DROPOUT_RISK", [ZHANG], attend(ZHANG, "P" * 5 + "AAAAAA" + "P" * 4 + "AA" + "SSE"))
    assert out["detail"][0] == (
        "张伟（测试学校0001 3年级1班）在 2026-10-26 至 2026-11-20 的 20 个考勤日中连续缺勤 6 个上学日"
        "（无故缺勤共 8 天），有辍学风险，需落实控辍保学。"
    )
    proof = json.loads(out["evidence"][0])
    assert (
        proof["absent_streak_max"],
        proof["absent_days"],
        proof["present_or_late_days"],
        proof["days_seen"],
    ) == (6, 8, 9, 20)
    out = _run("DROPOUT_RISK", [ZHANG], attend(ZHANG, "AAAAPAAAAP" + "P" * 10))
    assert "累计缺勤 8 天" in out["detail"][0]


# --- STATUS_CONFLICT ----------------------------------------------------------------------

SUSPENDED = record(5, name="刘洋", status="suspended", status_date=date(2026, 3, 1))

STATUS_CASES: list[
    tuple[str, list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, list[str]]]]
] = [
    ("suspended and not attending", [SUSPENDED], [], []),
    (
        "suspended and attending its own school",
        [SUSPENDED],
        attend(SUSPENDED, by_id=True),
        [(SUSPENDED["student_no"], ["suspended_attends"])],
    ),
    (
        "suspended and attending another school",
        [SUSPENDED],
        attend(SUSPENDED | {"school_code": B}, by_id=True),
        [(SUSPENDED["student_no"], ["suspended_attends"])],
    ),
    (
        "suspended, present 4 days",
        [SUSPENDED],
        attend(SUSPENDED, "PPPP" + "." * 16, by_id=True),
        [],
    ),
    (
        "suspended exactly 365 days",
        [SUSPENDED | {"status_date": AS_OF - timedelta(days=365)}],
        [],
        [],
    ),
    (
        "suspended 366 days",
        [SUSPENDED | {"status_date": AS_OF - timedelta(days=366)}],
        [],
        [(SUSPENDED["student_no"], ["suspended_too_long"])],
    ),
    ("suspended, status date unknown", [SUSPENDED | {"status_date": None}], [], []),
    (
        "suspended long ago and attending",
        [SUSPENDED | {"status_date": date(2024, 1, 1)}],
        attend(SUSPENDED, by_id=True),
        [(SUSPENDED["student_no"], ["suspended_attends", "suspended_too_long"])],
    ),
    (
        "graduated and attending",
        [LI | {"status": "graduated", "status_date": date(2026, 7, 1)}],
        attend(LI | {"school_code": B, "grade": 7}, by_id=True),
        [(LI["student_no"], ["inactive_person_attends"])],
    ),
    (
        "dropped and not attending",
        [LI | {"status": "dropped", "status_date": date(2026, 10, 1)}],
        [],
        [],
    ),
    (
        "two inactive records: the latest is the finding",
        [
            LI | {"status": "transferred_out", "status_date": date(2025, 9, 1)},
            LI
            | {
                "status": "dropped",
                "status_date": date(2026, 10, 1),
                "school_code": B,
                "student_no": "J430104201703010220",
            },
        ],
        attend(LI, by_id=True),
        [("J430104201703010220", ["inactive_person_attends"])],
    ),
    (
        "an inactive record and an active one elsewhere",
        [
            LI | {"status": "transferred_out", "status_date": date(2025, 9, 1)},
            LI | {"school_code": B},
        ],
        attend(LI | {"school_code": B}, by_id=True),
        [],
    ),
    (
        "inactive record, status unreadable on the other",
        [LI | {"status": "dropped"}, LI | {"status": None, "school_code": B}],
        attend(LI, by_id=True),
        [],
    ),
    ("enrolled and attending", [LI], attend(LI, by_id=True), []),
]


@pytest.mark.parametrize(
    ("case", "registry", "attendance", "expected"), STATUS_CASES, ids=[c[0] for c in STATUS_CASES]
)
def test_status_conflict(
    case: str,
    registry: list[dict[str, Any]],
    attendance: list[dict[str, Any]],
    expected: list[tuple[str, list[str]]],
) -> None:
    out = _run("STATUS_CONFLICT", [*registry, OTHER], attendance + attend(OTHER))
    got = [
        (row["student_no"], json.loads(row["evidence"])["conflicts"])
        for row in out.iter_rows(named=True)
    ]
    assert got == expected


def test_status_conflict_details() -> None:
    registry = [
        SUSPENDED | {"status_date": date(2024, 11, 1)},
        LI | {"status": "graduated", "status_date": date(2026, 7, 1)},
        OTHER,
    ]
    attendance = attend(OTHER) + attend(LI | {"school_code": B}, by_id=True)
    out = _run("STATUS_CONFLICT", registry, attendance)
    details = dict(zip(out["student_no"], out["detail"], strict=True))
    assert (
        details[SUSPENDED["student_no"]]
        == "刘洋（测试学校0001 3年级1班）：自 2024-11-01 起休学已 749 天（超过 365 天）（学籍状态冲突）。"
    )
    assert details[LI["student_no"]] == (
        "李娜（测试学校0001 3年级1班）：学籍状态为毕业且本人没有在籍或休学的学籍，"
        "本人正在测试学校0002（出勤或迟到 20 天）就读（学籍状态冲突）。"
    )
    assert set(out["severity"]) == {"medium"}


def test_every_attendance_rule_in_one_collect() -> None:
    # The rules share one window reduction; together they give each rule's own findings.
    registry = [ZHANG, LI, WANG_AT_B, SUSPENDED, OTHER]
    attendance = (
        attend(OTHER)
        + attend(ZHANG, "P" * 15 + "AAAAA", by_id=True)
        + attend(WANG_AT_B | {"school_code": A}, by_id=True)
        + attend(SUSPENDED, by_id=True)
        + attend(stranger("赵敏"))
    )
    codes = [
        "GHOST_RECORD",
        "SEPARATION",
        "UNREGISTERED_ATTENDEE",
        "DROPOUT_RISK",
        "STATUS_CONFLICT",
    ]
    out = run_rules(_tables(registry, attendance), AS_OF, codes=codes)
    assert out.select("rule", "student_no", "name").rows() == [
        ("DROPOUT_RISK", ZHANG["student_no"], "张伟"),
        ("GHOST_RECORD", LI["student_no"], "李娜"),
        ("SEPARATION", WANG_AT_B["student_no"], "王芳"),
        ("STATUS_CONFLICT", SUSPENDED["student_no"], "刘洋"),
        ("UNREGISTERED_ATTENDEE", None, "赵敏"),
    ]


def test_the_longest_window_uses_every_bit() -> None:
    # 64 school days: five absences on the oldest five days of the window are a run; a
    # sixth absence the day before the window is not part of it.
    days = "A" + "AAAAA" + "P" * 59
    rows = attend(ZHANG, days, by_id=True)
    out = _run("DROPOUT_RISK", [ZHANG], rows, window_school_days=64)
    assert json.loads(out["evidence"][0])["absent_streak_max"] == 5
    assert json.loads(out["evidence"][0])["window_school_days"] == 64
    assert (
        _run("DROPOUT_RISK", [ZHANG], rows, window_school_days=64, dropout_streak_days=6).height
        == 0
    )


def test_attendance_is_reduced_once_for_all_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    # The issue: "attendance reduced per student once and shared by all the rules that
    # need it". The rows are folded per sighting by the loader's digest; the per-person
    # masks every attendance rule reads are built once per audit, however many rules.
    registry = [ZHANG, LI, WANG_AT_B, SUSPENDED, OTHER]
    attendance = (
        attend(OTHER)
        + attend(ZHANG, "P" * 15 + "AAAAA", by_id=True)
        + attend(WANG_AT_B | {"school_code": A}, by_id=True)
        + attend(SUSPENDED, by_id=True)
        + attend(stranger("赵敏"))
    )
    tables = _tables(registry, attendance)
    cfg = default_config()
    ident = resolve_identities(tables, cfg, AS_OF)
    assert ident.attendance_masks["days"].sum() == len(attendance)  # every row folded
    built: list[str] = []
    original = attendance_window._person_masks

    def counted(ctx: AuditContext) -> pl.LazyFrame:
        built.append("person_masks")
        return original(ctx)

    monkeypatch.setattr(attendance_window, "_person_masks", counted)
    ctx = build_context(tables, AS_OF, cfg, ident)
    codes = [
        "GHOST_RECORD",
        "SEPARATION",
        "UNREGISTERED_ATTENDEE",
        "DROPOUT_RISK",
        "STATUS_CONFLICT",
    ]
    found, errors, _ = evaluate_rules(ctx, [rule_by_code(c) for c in codes])
    assert errors == {}
    assert sorted(found["rule"]) == sorted(codes)  # one finding of each rule
    assert built == ["person_masks"]
