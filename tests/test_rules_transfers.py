"""Case tables for UNAPPROVED_TRANSFER and TRANSFER_OVERDUE."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
import pytest

from xueji.testing import default_config, empty_transfers, record, run_rules, school, typed_tables

AS_OF = date(2026, 11, 20)
A, B, C = "4301040001", "4301040002", "4301050001"  # C is in another county
MOVED = record(1, school_code=B, name="李四", grade=5, class_name="2班")
SNO = MOVED["student_no"]
SCHOOLS = [school(A), school(B), school(C)]


def _completed(*rows: tuple[str, str, date]) -> pl.DataFrame:
    frame = pl.DataFrame(
        [{"student_no": SNO, "from_school_code": f, "to_school_code": t, "completed_on": d} for f, t, d in rows],
        schema=empty_transfers("completed").schema,
    )
    return frame


def _change(change_type: str = "transfer", from_school: str | None = A, to_school: str | None = B, on: date | None = date(2026, 10, 10)) -> dict[str, Any]:
    return {"student_no": SNO, "change_type": change_type, "from_school_code": from_school, "to_school_code": to_school, "change_date": on}


CHANGE_CASES: list[tuple[str, list[dict[str, Any]], pl.DataFrame, list[str]]] = [
    ("no completed transfer", [_change()], _completed(), [B]),
    ("completed the day before the change", [_change()], _completed((A, B, date(2026, 10, 9))), []),
    ("completed on the change date", [_change()], _completed((A, B, date(2026, 10, 10))), []),
    ("completed only after the change", [_change()], _completed((A, B, date(2026, 10, 11))), [B]),
    ("completed to another school", [_change()], _completed((A, C, date(2026, 10, 1))), [B]),
    ("completed from another school", [_change()], _completed((C, B, date(2026, 10, 1))), [B]),
    ("a suspension is not a transfer", [_change("suspend", to_school=None)], _completed(), []),
    ("receiving school unknown", [_change(to_school=None)], _completed(), []),
    ("same school on both sides", [_change(to_school=A)], _completed(), []),
    ("change date unknown, a completed transfer exists", [_change(on=None)], _completed((A, B, date(2026, 10, 1))), []),
    ("change date unknown, no completed transfer", [_change(on=None)], _completed(), [B]),
    ("cross-county change", [_change(to_school=C)], _completed(), [C]),
    ("the same change listed twice", [_change(), _change(on=date(2026, 10, 12))], _completed(), [B]),
]


@pytest.mark.parametrize(("case", "changes", "completed", "schools"), CHANGE_CASES, ids=[c[0] for c in CHANGE_CASES])
def test_unapproved_transfer_from_registry_changes(
    case: str, changes: list[dict[str, Any]], completed: pl.DataFrame, schools: list[str]
) -> None:
    registry = [MOVED, record(1, school_code=A, status="transferred_out")]
    tables = typed_tables(schools=SCHOOLS, registry=registry, registry_changes=changes)
    out = run_rules(tables, AS_OF, codes=["UNAPPROVED_TRANSFER"], completed_transfers=completed)
    assert out.select("student_no", "school_code").rows() == [(SNO, s) for s in schools]


def test_unapproved_transfer_finding_names_the_receiving_record() -> None:
    tables = typed_tables(schools=SCHOOLS, registry=[MOVED], registry_changes=[_change()])
    out = run_rules(tables, AS_OF, codes=["UNAPPROVED_TRANSFER"])
    row = out.row(0, named=True)
    assert (row["county_code"], row["grade"], row["class_name"], row["name"], row["severity"]) == ("430104", 5, "2班", "李四", "high")
    assert row["detail"] == "李四：学籍异动记录（2026-10-10）显示学籍由 测试学校0001 转至 测试学校0002，但转学审批系统中没有相应的已完成转学。"
    proof = json.loads(row["evidence"])
    assert proof["source"] == "registry_changes" and proof["registry_changes_row"] == 1


def _snapshot(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"student_no": pl.String, "school_code": pl.String, "status": pl.String}, orient="row")


SNAPSHOT_CASES: list[tuple[str, list[dict[str, Any]], pl.DataFrame, pl.DataFrame, list[str]]] = [
    ("moved from A to B without approval", [MOVED, record(1, school_code=A, status="transferred_out")], _snapshot((SNO, A, "enrolled")), _completed(), [B]),
    ("moved with a completed transfer", [MOVED], _snapshot((SNO, A, "enrolled")), _completed((A, B, date(2026, 11, 2))), []),
    ("transfer completed after the as-of date", [MOVED], _snapshot((SNO, A, "enrolled")), _completed((A, B, date(2026, 11, 21))), [B]),
    ("still at the same school", [record(1, school_code=A)], _snapshot((SNO, A, "enrolled")), _completed(), []),
    ("suspended then at B", [MOVED], _snapshot((SNO, A, "suspended")), _completed(), [B]),
    ("a new student is not a change of school", [MOVED], _snapshot(("G000000000000000000", A, "enrolled")), _completed(), []),
    ("previously graduated", [MOVED], _snapshot((SNO, A, "graduated")), _completed(), []),
    ("now inactive at B", [MOVED | {"status": "dropped"}], _snapshot((SNO, A, "enrolled")), _completed(), []),
    ("a second active record appears at B", [MOVED, record(1, school_code=A)], _snapshot((SNO, A, "enrolled")), _completed(), [B]),
    (
        "was at A and B, now at B and C",
        [MOVED, record(1, school_code=C)],
        _snapshot((SNO, A, "enrolled"), (SNO, B, "enrolled")),
        _completed(),
        [C],
    ),
    (
        "was at A and B, completed B to C",
        [MOVED, record(1, school_code=C)],
        _snapshot((SNO, A, "enrolled"), (SNO, B, "enrolled")),
        _completed((B, C, date(2026, 11, 2))),
        [],
    ),
]


@pytest.mark.parametrize(
    ("case", "registry", "previous", "completed", "schools"), SNAPSHOT_CASES, ids=[c[0] for c in SNAPSHOT_CASES]
)
def test_unapproved_transfer_against_previous_snapshot(
    case: str, registry: list[dict[str, Any]], previous: pl.DataFrame, completed: pl.DataFrame, schools: list[str]
) -> None:
    tables = typed_tables(schools=SCHOOLS, registry=registry)
    out = run_rules(tables, AS_OF, codes=["UNAPPROVED_TRANSFER"], completed_transfers=completed, previous_registry=previous)
    assert out.select("student_no", "school_code").rows() == [(SNO, s) for s in schools]
    if schools:
        assert json.loads(out["evidence"][0])["source"] == "snapshot"
        assert "与上次审计的学籍快照相比" in out["detail"][0]


def test_a_snapshot_change_names_the_first_earlier_school() -> None:
    tables = typed_tables(schools=SCHOOLS, registry=[MOVED, record(1, school_code=C)])
    previous = _snapshot((SNO, B, "enrolled"), (SNO, A, "suspended"))
    out = run_rules(tables, AS_OF, codes=["UNAPPROVED_TRANSFER"], previous_registry=previous)
    assert out.select("student_no", "school_code").rows() == [(SNO, C)]
    assert json.loads(out["evidence"][0])["from_school_code"] == A


def test_a_change_seen_in_both_sources_is_one_finding() -> None:
    tables = typed_tables(schools=SCHOOLS, registry=[MOVED], registry_changes=[_change()])
    out = run_rules(tables, AS_OF, codes=["UNAPPROVED_TRANSFER"], previous_registry=_snapshot((SNO, A, "enrolled")))
    assert out.height == 1
    assert json.loads(out["evidence"][0])["source"] == "registry_changes"


def test_no_changes_and_no_previous_run_find_nothing() -> None:
    tables = typed_tables(schools=SCHOOLS, registry=[MOVED])
    assert run_rules(tables, AS_OF, codes=["UNAPPROVED_TRANSFER"]).height == 0


def _overdue(waited: int, state: str = "receiving_school_approved") -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "transfer_id": 12,
                "student_no": SNO,
                "from_school_code": A,
                "to_school_code": C,
                "state": state,
                "waiting_since": date(2026, 10, 28),
                "working_days_waited": waited,
                "next_party": "receiving_bureau:430105",
            }
        ],
        schema=empty_transfers("overdue").schema,
    )


OVERDUE_CASES: list[tuple[str, pl.DataFrame, dict[str, object], bool]] = [
    ("11 working days", _overdue(11), {}, True),
    ("10 working days is within the limit", _overdue(10), {}, False),
    ("province allows 15", _overdue(11), {"transfer_overdue_working_days": 15}, False),
    ("nothing open", empty_transfers("overdue"), {}, False),
]


@pytest.mark.parametrize(("case", "overdue", "cfg", "flagged"), OVERDUE_CASES, ids=[c[0] for c in OVERDUE_CASES])
def test_transfer_overdue(case: str, overdue: pl.DataFrame, cfg: dict[str, object], flagged: bool) -> None:
    tables = typed_tables(schools=SCHOOLS, registry=[record(1, school_code=A, name="王五", grade=4)])
    out = run_rules(tables, AS_OF, codes=["TRANSFER_OVERDUE"], cfg=default_config(**cfg), overdue_transfers=overdue)
    if not flagged:
        assert out.height == 0
        return
    row = out.row(0, named=True)
    # The finding sits with the receiving school (and its county), named after the student.
    assert (row["student_no"], row["school_code"], row["county_code"], row["name"], row["grade"]) == (SNO, C, "430105", "王五", 4)
    assert "在「转入地教育行政部门审核」环节已等待 11 个工作日（自 2026-10-28 起）" in row["detail"]
    assert json.loads(row["evidence"])["next_party"] == "receiving_bureau:430105"
