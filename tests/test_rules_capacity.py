"""Case tables for OVERSIZED_CLASS, CLASS_OVER_STANDARD, OVER_CAPACITY and HOME_DELIVERY_RATIO."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from xueji.testing import default_config, record, run_rules, school, typed_tables

AS_OF = date(2026, 11, 20)
SCHOOL = "4301040001"


def _class(n: int, grade: int = 3, class_name: str = "1班", start: int = 0, **overrides: object) -> list[dict[str, Any]]:
    return [record(start + i, grade=grade, class_name=class_name, **overrides) for i in range(n)]


def _classes(rows: list[dict[str, Any]], rule: str, level: str = "nine_year", **cfg: object) -> list[tuple[Any, ...]]:
    tables = typed_tables(schools=[school(SCHOOL, level=level)], registry=rows)
    out = run_rules(tables, AS_OF, codes=[rule], cfg=default_config(**cfg) if cfg else None)
    return out.select("school_code", "grade", "class_name", "severity").rows()


OVERSIZED_CASES: list[tuple[str, list[dict[str, Any]], list[tuple[Any, ...]]]] = [
    ("55 is not a large class", _class(55), []),
    ("56 is a large class (56人以上 includes 56)", _class(56), [(SCHOOL, 3, "1班", "high")]),
    ("65 is still large, not super-large", _class(65), [(SCHOOL, 3, "1班", "high")]),
    ("66 is super-large", _class(66), [(SCHOOL, 3, "1班", "critical")]),
    ("suspended students are not counted", _class(55) + _class(1, start=55, status="suspended"), []),
    ("two classes of 30 in one grade", _class(30) + _class(30, class_name="2班", start=30), []),
    ("the same class name in two grades", _class(40) + _class(40, grade=4, start=40), []),
    ("unknown class names are not counted", _class(55) + _class(3, start=55, class_name=None), []),
    ("secondary grade, 56", _class(56, grade=8), [(SCHOOL, 8, "1班", "high")]),
]


@pytest.mark.parametrize(("case", "rows", "expected"), OVERSIZED_CASES, ids=[c[0] for c in OVERSIZED_CASES])
def test_oversized_class(case: str, rows: list[dict[str, Any]], expected: list[tuple[Any, ...]]) -> None:
    assert _classes(rows, "OVERSIZED_CLASS") == expected


def test_oversized_class_detail_and_thresholds() -> None:
    tables = typed_tables(schools=[school(SCHOOL)], registry=_class(60))
    out = run_rules(tables, AS_OF, codes=["OVERSIZED_CLASS"])
    assert out["detail"][0] == "测试学校0001 3年级1班 在籍 60 人，属于大班额（56人及以上）。"
    assert json.loads(out["evidence"][0])["enrolled"] == 60
    assert out["county_code"][0] == "430104" and out["student_no"][0] is None
    # A province that counts from 61 does not flag 60.
    assert run_rules(tables, AS_OF, codes=["OVERSIZED_CLASS"], cfg=default_config(class_large=61)).height == 0


OVER_STANDARD_CASES: list[tuple[str, list[dict[str, Any]], list[tuple[Any, ...]]]] = [
    ("primary 45 is the standard", _class(45), []),
    ("primary 46 is over", _class(46), [(SCHOOL, 3, "1班", "low")]),
    ("primary 55 is over, not large", _class(55), [(SCHOOL, 3, "1班", "low")]),
    ("primary 56 is large instead", _class(56), []),
    ("grade 7 at 50 is the standard", _class(50, grade=7), []),
    ("grade 7 at 51 is over", _class(51, grade=7), [(SCHOOL, 7, "1班", "low")]),
    ("grade 6 at 46 uses the primary standard", _class(46, grade=6), [(SCHOOL, 6, "1班", "low")]),
    ("grade 12 at 50", _class(50, grade=12), []),
]


@pytest.mark.parametrize(("case", "rows", "expected"), OVER_STANDARD_CASES, ids=[c[0] for c in OVER_STANDARD_CASES])
def test_class_over_standard(case: str, rows: list[dict[str, Any]], expected: list[tuple[Any, ...]]) -> None:
    assert _classes(rows, "CLASS_OVER_STANDARD", level="twelve_year") == expected


def test_class_over_standard_province_standard() -> None:
    assert _classes(_class(42), "CLASS_OVER_STANDARD", class_standard_primary=40) == [(SCHOOL, 3, "1班", "low")]


CAPACITY_CASES: list[tuple[str, int | None, list[dict[str, Any]], bool]] = [
    ("exactly at capacity", 50, _class(25) + _class(25, class_name="2班", start=25), False),
    ("one over capacity", 50, _class(25) + _class(26, class_name="2班", start=25), True),
    ("no design capacity given", None, _class(51), False),
    ("capacity 0 with one student", 0, _class(1), True),
    ("suspended and graduated are not counted", 3, _class(3) + _class(2, start=3, status="suspended") + _class(2, start=5, status="graduated"), False),
]


@pytest.mark.parametrize(("case", "capacity", "rows", "flagged"), CAPACITY_CASES, ids=[c[0] for c in CAPACITY_CASES])
def test_over_capacity(case: str, capacity: int | None, rows: list[dict[str, Any]], flagged: bool) -> None:
    tables = typed_tables(schools=[school(SCHOOL, design_capacity=capacity), school("4301040002", design_capacity=1)], registry=rows)
    out = run_rules(tables, AS_OF, codes=["OVER_CAPACITY"])
    assert out.select("school_code", "county_code").rows() == ([(SCHOOL, "430104")] if flagged else [])
    if flagged:
        proof = json.loads(out["evidence"][0])
        assert proof == {"enrolled": len([r for r in rows if r["status"] == "enrolled"]), "design_capacity": capacity}


def _placed(n: int, placement: str, start: int, school_code: str = SCHOOL, **overrides: object) -> list[dict[str, Any]]:
    return [record(start + i, placement=placement, school_code=school_code, **overrides) for i in range(n)]


HOME_CASES: list[tuple[str, list[dict[str, Any]], list[str]]] = [
    ("2 of 25 is exactly 8%", _placed(2, "home_delivery", 0) + _placed(23, "regular_class", 2), []),
    ("3 of 25 exceeds 8%", _placed(3, "home_delivery", 0) + _placed(22, "special_class", 3), ["430104"]),
    ("placement none is not a special placement", _placed(2, "home_delivery", 0) + _placed(23, "special_school", 2) + _placed(100, "none", 25), []),
    ("only home delivery", _placed(1, "home_delivery", 0), ["430104"]),
    ("no special placements at all", _placed(10, "none", 0), []),
    ("graduated home delivery is not counted", _placed(2, "home_delivery", 0) + _placed(5, "home_delivery", 2, status="graduated") + _placed(23, "regular_class", 7), []),
    ("suspended home delivery is active", _placed(2, "home_delivery", 0) + _placed(1, "home_delivery", 2, status="suspended") + _placed(22, "regular_class", 3), ["430104"]),
    ("unknown placement is not counted", _placed(2, "home_delivery", 0) + _placed(23, "regular_class", 2) + _placed(1, None, 25), []),  # type: ignore[arg-type]
    (
        "counties are separate",
        _placed(3, "home_delivery", 0) + _placed(22, "regular_class", 3) + _placed(1, "home_delivery", 25, "4301050001") + _placed(24, "regular_class", 26, "4301050001"),
        ["430104"],
    ),
]


@pytest.mark.parametrize(("case", "rows", "counties"), HOME_CASES, ids=[c[0] for c in HOME_CASES])
def test_home_delivery_ratio(case: str, rows: list[dict[str, Any]], counties: list[str]) -> None:
    tables = typed_tables(schools=[school(SCHOOL, level="special"), school("4301050001", level="special")], registry=rows)
    out = run_rules(tables, AS_OF, codes=["HOME_DELIVERY_RATIO"])
    assert out["county_code"].to_list() == counties
    assert out["school_code"].null_count() == out.height


def test_home_delivery_ratio_evidence_and_province_share() -> None:
    rows = _placed(3, "home_delivery", 0) + _placed(22, "special_class", 3)
    tables = typed_tables(schools=[school(SCHOOL, level="special")], registry=rows)
    out = run_rules(tables, AS_OF, codes=["HOME_DELIVERY_RATIO"])
    assert json.loads(out["evidence"][0]) == {"home_delivery": 3, "special_placements": 25, "share": 0.12, "max_share": 0.08}
    assert "占 12.0%" in out["detail"][0]
    assert run_rules(tables, AS_OF, codes=["HOME_DELIVERY_RATIO"], cfg=default_config(home_delivery_max_share=0.12)).height == 0
