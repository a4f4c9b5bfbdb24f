"""Case tables for ENTRY_AGE and GRADE_LEVEL."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from xueji.testing import default_config, record, run_rules, school, typed_tables

AS_OF = date(2026, 11, 20)  # school year 2026–27; age cut-off 2026-08-31
THIS_YEAR = date(2026, 9, 1)


def _grade1(birth: date | None, **overrides: object) -> dict[str, Any]:
    return record(1, birth_date=birth, grade=1, enrol_date=THIS_YEAR) | overrides


ENTRY_AGE_CASES: list[tuple[str, dict[str, Any], int | None, dict[str, object]]] = [
    ("six on the cut-off day itself", _grade1(date(2020, 8, 31)), None, {}),
    ("six the day after the cut-off", _grade1(date(2020, 9, 1)), 5, {}),
    ("well under age", _grade1(date(2021, 2, 1)), 5, {}),
    ("four years old", _grade1(date(2022, 1, 1)), 4, {}),
    ("entered last school year", _grade1(date(2020, 9, 1), enrol_date=date(2026, 8, 31)), None, {}),
    ("entered on the first day of the school year", _grade1(date(2020, 9, 1), enrol_date=date(2026, 9, 1)), 5, {}),
    ("grade 2 is not an entry grade", _grade1(date(2020, 9, 1), grade=2), None, {}),
    ("suspended is not enrolled", _grade1(date(2020, 9, 1), status="suspended"), None, {}),
    ("birth date unknown", _grade1(None), None, {}),
    ("enrol date unknown", _grade1(date(2020, 9, 1), enrol_date=None), None, {}),
    ("province cut-off 1 September", _grade1(date(2020, 9, 1)), None, {"age_cutoff": "09-01"}),
    ("province cut-off 1 September, born 2 September", _grade1(date(2020, 9, 2)), 5, {"age_cutoff": "09-01"}),
]


@pytest.mark.parametrize(("case", "row", "age", "cfg"), ENTRY_AGE_CASES, ids=[c[0] for c in ENTRY_AGE_CASES])
def test_entry_age(case: str, row: dict[str, Any], age: int | None, cfg: dict[str, object]) -> None:
    tables = typed_tables(schools=[school()], registry=[row])
    out = run_rules(tables, AS_OF, codes=["ENTRY_AGE"], cfg=default_config(**cfg))
    if age is None:
        assert out.height == 0
        return
    assert out.select("student_no", "school_code").rows() == [(row["student_no"], row["school_code"])]
    proof = json.loads(out["evidence"][0])
    assert proof["age_on_cutoff"] == age
    assert f"仅 {age} 周岁" in out["detail"][0]


def _at(level: str, grade: int | None, **overrides: object) -> tuple[list[dict[str, object]], dict[str, Any]]:
    return [school(level=level)], record(1, grade=grade) | overrides


GRADE_LEVEL_CASES = [
    ("primary holds 6", *_at("primary", 6), False),
    ("primary cannot hold 7", *_at("primary", 7), True),
    ("junior cannot hold 6", *_at("junior", 6), True),
    ("junior holds 7", *_at("junior", 7), False),
    ("junior holds 9", *_at("junior", 9), False),
    ("junior cannot hold 10", *_at("junior", 10), True),
    ("nine-year holds 1 and 9", *_at("nine_year", 9), False),
    ("nine-year cannot hold 10", *_at("nine_year", 10), True),
    ("twelve-year holds 1", *_at("twelve_year", 1), False),
    ("complete secondary cannot hold 6", *_at("complete_secondary", 6), True),
    ("complete secondary holds 12", *_at("complete_secondary", 12), False),
    ("senior cannot hold 9", *_at("senior", 9), True),
    ("special school holds 12", *_at("special", 12), False),
    ("suspended record is active", *_at("primary", 8, status="suspended"), True),
    ("graduated record is not checked", *_at("primary", 8, status="graduated"), False),
    ("grade unknown", *_at("primary", None), False),
    ("level unknown", [school(level=None)], record(1, grade=8), False),
]


@pytest.mark.parametrize(("case", "schools", "row", "flagged"), GRADE_LEVEL_CASES, ids=[c[0] for c in GRADE_LEVEL_CASES])
def test_grade_level(case: str, schools: list[dict[str, object]], row: dict[str, Any], flagged: bool) -> None:
    out = run_rules(typed_tables(schools=schools, registry=[row]), AS_OF, codes=["GRADE_LEVEL"])
    assert out.select("student_no", "school_code").rows() == ([(row["student_no"], row["school_code"])] if flagged else [])
    if flagged:
        assert "却登记在" in out["detail"][0]
        assert out["severity"][0] == "medium"
