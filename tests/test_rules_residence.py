"""Case tables for OUT_OF_SCHOOL_CHILD, CATCHMENT and CROSS_CITY."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
import pytest

from xueji.testing import default_config, make_id_number, record, run_rules, school, typed_tables

AS_OF = date(2026, 11, 20)  # school year 2026–27: starts 2026-09-01, age cut-off 2026-08-31
THIS_YEAR, LAST_YEAR = date(2026, 9, 1), date(2026, 8, 31)
A = "4301040001"  # public primary school, catchment 430104001 for grade 1
J = "4301040003"  # public junior school, catchment 430104002 for every entry grade
P = "4301040004"  # private primary school, catchment 430104001
N = "4301040005"  # public nine-year school with no catchment rows
SCHOOLS = [
    school(A),
    school(J, level="junior"),
    school(P, ownership="private"),
    school(N, level="nine_year"),
]
CATCHMENTS = [
    {"school_code": A, "area_code": "430104001", "entry_grade": 1},
    {"school_code": J, "area_code": "430104002", "entry_grade": None},
    {"school_code": J, "area_code": "430104003005", "entry_grade": None},
    {"school_code": P, "area_code": "430104001", "entry_grade": 1},
]
INSIDE_A, OUTSIDE_A = "430104001005", "430104002001"


def resident(
    id_number: str | None,
    name: str = "张伟",
    birth: date | None = date(2015, 3, 1),
    gender: str | None = "M",
    hukou: str | None = "430104001001",
    lives: str | None = None,
    permit: bool | None = False,
) -> dict[str, Any]:
    """One row of residence data."""
    return {
        "id_number": id_number,
        "name": name,
        "gender": gender,
        "birth_date": birth,
        "hukou_area_code": hukou,
        "residence_area_code": lives,
        "residence_permit": permit,
    }


def child(birth: date, seq: int = 1, **kwargs: Any) -> dict[str, Any]:
    """The residence row of a child with a valid ID number."""
    gender = kwargs.get("gender") or "M"
    return resident(make_id_number(birth, gender, seq=seq), birth=birth, **kwargs)


def _run(
    rule: str,
    registry: list[dict[str, Any]],
    residence: list[dict[str, Any]] | None = None,
    **cfg: object,
) -> pl.DataFrame:
    tables: dict[str, Any] = {"schools": SCHOOLS, "registry": registry, "catchments": CATCHMENTS}
    if residence is not None:
        tables["residence"] = residence
    return run_rules(typed_tables(**tables), AS_OF, codes=[rule], cfg=default_config(**cfg))


# --- OUT_OF_SCHOOL_CHILD ------------------------------------------------------------------

KID = child(date(2015, 3, 1))
ENROLLED_KID = record(1, birth_date=date(2015, 3, 1), name="张伟", grade=6)


def _with_record(**overrides: object) -> list[dict[str, Any]]:
    return [ENROLLED_KID | overrides]


OUT_OF_SCHOOL_CASES: list[
    tuple[str, list[dict[str, Any]], list[dict[str, Any]], dict[str, object], list[str]]
] = [
    ("11 years old, no record", [], [KID], {}, [KID["id_number"]]),
    (
        "6 on the cut-off day itself",
        [],
        [child(date(2020, 8, 31))],
        {},
        [child(date(2020, 8, 31))["id_number"]],
    ),
    ("5 on the cut-off day (born the day after)", [], [child(date(2020, 9, 1))], {}, []),
    (
        "15 on the cut-off day",
        [],
        [child(date(2010, 9, 1))],
        {},
        [child(date(2010, 9, 1))["id_number"]],
    ),
    ("16 on the cut-off day", [], [child(date(2010, 8, 31))], {}, []),
    (
        "16, province compulsory age up to 17",
        [],
        [child(date(2010, 8, 31))],
        {"compulsory_age_max": 17},
        [child(date(2010, 8, 31))["id_number"]],
    ),
    ("an enrolled record", _with_record(), [resident(ENROLLED_KID["id_number"])], {}, []),
    (
        "a suspended record",
        _with_record(status="suspended"),
        [resident(ENROLLED_KID["id_number"])],
        {},
        [],
    ),
    (
        "a dropped record",
        _with_record(status="dropped"),
        [resident(ENROLLED_KID["id_number"])],
        {},
        [ENROLLED_KID["id_number"]],
    ),
    (
        "a transferred-out record",
        _with_record(status="transferred_out"),
        [resident(ENROLLED_KID["id_number"])],
        {},
        [ENROLLED_KID["id_number"]],
    ),
    (
        "a record whose status is unreadable",
        _with_record(status=None),
        [resident(ENROLLED_KID["id_number"])],
        {},
        [],
    ),
    (
        "a record with a mistyped ID number, same name, birth date and gender",
        _with_record(
            id_number=ENROLLED_KID["id_number"][:17] + "0",
            student_no="G" + ENROLLED_KID["id_number"][:17] + "0",
        ),
        [resident(ENROLLED_KID["id_number"])],
        {},
        [],
    ),
    (
        "a record on an L number with no ID, same name, birth date and gender",
        _with_record(id_number=None, student_no="L430104201503010001"),
        [resident(ENROLLED_KID["id_number"])],
        {},
        [],
    ),
    ("birth date unreadable", [], [resident(KID["id_number"], birth=None)], {}, []),
    ("no ID number", [], [resident(None)], {}, []),
    (
        "two residence rows of one ID number",
        [],
        [KID, KID | {"residence_area_code": "430104002001"}],
        {},
        [KID["id_number"]],
    ),
]


@pytest.mark.parametrize(
    ("case", "registry", "residence", "cfg", "expected"),
    OUT_OF_SCHOOL_CASES,
    ids=[c[0] for c in OUT_OF_SCHOOL_CASES],
)
def test_out_of_school_child(
    case: str,
    registry: list[dict[str, Any]],
    residence: list[dict[str, Any]],
    cfg: dict[str, object],
    expected: list[str],
) -> None:
    # A classmate with a record keeps the registry non-empty in every case.
    registry = [*registry, record(7, name="陈静", birth_date=date(2016, 5, 1))]
    out = _run("OUT_OF_SCHOOL_CHILD", registry, residence, **cfg)
    assert out["id_number"].to_list() == expected
    assert out["student_no"].to_list() == [None] * len(expected)


def test_out_of_school_child_detail() -> None:
    kid = child(date(2015, 3, 1), hukou="430104001001", lives="430104002003") | {"name": "赵敏"}
    out = _run("OUT_OF_SCHOOL_CHILD", [record(7)], [kid])
    row = out.row(0, named=True)
    assert (row["county_code"], row["school_code"], row["name"], row["severity"]) == (
        "430104",
        None,
        "赵敏",
        "high",
    )
    assert row["detail"] == (
        f"赵敏（身份证号 430104********{kid['id_number'][-4:]}，2015-03-01 出生，居住地 430104002003）"
        "在 2026-08-31 为 11 周岁，属义务教育适龄儿童，但没有在籍或休学的学籍（适龄未入学）。"
    )
    proof = json.loads(row["evidence"])
    assert (proof["age_on_cutoff"], proof["cutoff_day"], proof["link_method"]) == (
        11,
        "2026-08-31",
        "unlinked",
    )


def test_out_of_school_child_names_the_inactive_record() -> None:
    out = _run(
        "OUT_OF_SCHOOL_CHILD", _with_record(status="dropped"), [resident(ENROLLED_KID["id_number"])]
    )
    assert "（已有学籍的状态为辍学）" in out["detail"][0]
    proof = json.loads(out["evidence"][0])
    assert [(r["registry_row"], r["status"]) for r in proof["records"]] == [(1, "dropped")]


# --- CATCHMENT ----------------------------------------------------------------------------


def entrant(
    school_code: str = A, grade: int = 1, lives: str | None = OUTSIDE_A, **overrides: object
) -> dict[str, Any]:
    """A record that entered this school year."""
    birth = date(2020, 3, 1) if grade == 1 else date(2014, 3, 1)
    row = record(1, birth_date=birth, school_code=school_code, grade=grade, enrol_date=THIS_YEAR)
    return row | {"residence_area_code": lives} | overrides


CATCHMENT_CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]] | None, bool]] = [
    ("lives inside the catchment", entrant(lives=INSIDE_A), None, False),
    ("lives outside the catchment", entrant(), None, True),
    ("private school", entrant(P), None, False),
    ("grade 2 is not an entry grade", entrant(grade=2), None, False),
    ("entered last school year", entrant(enrol_date=LAST_YEAR), None, False),
    ("entered on the first day of the school year", entrant(enrol_date=THIS_YEAR), None, True),
    ("enrol date unknown", entrant(enrol_date=None), None, False),
    ("school with no catchment rows", entrant(N), None, False),
    (
        "school with catchment rows for grade 1 only, grade 7 entrant",
        entrant(N, grade=7),
        None,
        False,
    ),
    (
        "grade 7, catchment for every entry grade, outside",
        entrant(J, grade=7, lives="430104001001"),
        None,
        True,
    ),
    (
        "grade 7, inside one of two catchment codes",
        entrant(J, grade=7, lives="430104003005"),
        None,
        False,
    ),
    (
        "grade 7, a 12-digit code it does not start with",
        entrant(J, grade=7, lives="430104003006"),
        None,
        True,
    ),
    ("suspended record", entrant(status="suspended"), None, False),
    ("no known residence", entrant(lives=None), None, False),
    (
        "residence data says outside, the record says inside",
        entrant(lives=INSIDE_A),
        [resident(entrant()["id_number"], lives=OUTSIDE_A)],
        True,
    ),
    (
        "residence data says inside, the record says outside",
        entrant(),
        [resident(entrant()["id_number"], lives=INSIDE_A)],
        False,
    ),
    (
        "residence data without a residence code: its hukou, inside",
        entrant(),
        [resident(entrant()["id_number"], hukou=INSIDE_A, lives=None)],
        False,
    ),
    (
        "residence data without a residence code: its hukou, outside",
        entrant(lives=INSIDE_A),
        [resident(entrant()["id_number"], hukou=OUTSIDE_A, lives=None)],
        True,
    ),
    (
        "someone else in residence data: the record's own code",
        entrant(),
        [resident(record(5)["id_number"], lives=INSIDE_A)],
        True,
    ),
]


@pytest.mark.parametrize(
    ("case", "row", "residence", "flagged"), CATCHMENT_CASES, ids=[c[0] for c in CATCHMENT_CASES]
)
def test_catchment(
    case: str, row: dict[str, Any], residence: list[dict[str, Any]] | None, flagged: bool
) -> None:
    out = _run("CATCHMENT", [row], residence)
    assert out.select("student_no", "school_code").rows() == (
        [(row["student_no"], row["school_code"])] if flagged else []
    )


def test_catchment_detail_and_evidence() -> None:
    out = _run("CATCHMENT", [entrant(J, grade=7, lives="430104001001")])
    assert out["detail"][0] == (
        "学生1（测试学校0003 7年级1班）为本学年公办学校 7 年级新生，学籍登记的现住址 430104001001 "
        "不在学校的招生片区（430104002、430104003005）内（违规跨片区招生）。"
    )
    assert out["severity"][0] == "medium"
    proof = json.loads(out["evidence"][0])
    assert proof["residence_source"] == "registry.residence_area_code"
    assert proof["catchment_codes"] == ["430104002", "430104003005"]


def test_catchment_is_skipped_without_catchments() -> None:
    tables = typed_tables(schools=SCHOOLS, registry=[entrant()])
    assert "CATCHMENT" not in run_rules(tables, AS_OF)["rule"].to_list()


# --- CROSS_CITY ---------------------------------------------------------------------------

GUANGZHOU = "440106001001"  # 广州市天河区: another city
CHANGSHA_COUNTY = "430121001001"  # 长沙县: the same city as the schools (4301)


def newcomer(hukou: str | None = GUANGZHOU, **overrides: object) -> dict[str, Any]:
    """An enrolled record at school A (430104) that entered this school year."""
    return record(1, school_code=A, enrol_date=THIS_YEAR, hukou_area_code=hukou) | overrides


CROSS_CITY_CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]] | None, bool]] = [
    ("hukou in another city, no residence data", newcomer(), None, True),
    (
        "hukou in another city, not in residence data",
        newcomer(),
        [resident(record(5)["id_number"])],
        True,
    ),
    ("a migrant child", newcomer(is_migrant=True), None, False),
    (
        "a migrant child with a residence permit",
        newcomer(is_migrant=True),
        [resident(newcomer()["id_number"], hukou=GUANGZHOU, permit=True)],
        False,
    ),
    ("hukou in another county of the same city", newcomer(CHANGSHA_COUNTY), None, False),
    ("hukou in the school's county", newcomer("430104001001"), None, False),
    (
        "holds a residence permit",
        newcomer(),
        [resident(newcomer()["id_number"], hukou=GUANGZHOU, permit=True)],
        False,
    ),
    (
        "in residence data without a permit",
        newcomer(),
        [resident(newcomer()["id_number"], hukou=GUANGZHOU, permit=False)],
        True,
    ),
    (
        "residence permit unreadable",
        newcomer(),
        [resident(newcomer()["id_number"], hukou=GUANGZHOU, permit=None)],
        False,
    ),
    (
        "residence data hukou is local, the record's is not",
        newcomer(),
        [resident(newcomer()["id_number"], hukou="430104001001")],
        False,
    ),
    (
        "residence data hukou is elsewhere, the record's is local",
        newcomer("430104001001"),
        [resident(newcomer()["id_number"], hukou=GUANGZHOU)],
        True,
    ),
    (
        "residence data hukou unreadable: the record's",
        newcomer(),
        [resident(newcomer()["id_number"], hukou=None)],
        True,
    ),
    ("entered last school year", newcomer(enrol_date=LAST_YEAR), None, False),
    ("suspended record", newcomer(status="suspended"), None, False),
    ("hukou unknown", newcomer(None), None, False),
    ("a senior-school entrant is checked too", newcomer(grade=10) | {"school_code": J}, None, True),
]


@pytest.mark.parametrize(
    ("case", "row", "residence", "flagged"), CROSS_CITY_CASES, ids=[c[0] for c in CROSS_CITY_CASES]
)
def test_cross_city(
    case: str, row: dict[str, Any], residence: list[dict[str, Any]] | None, flagged: bool
) -> None:
    out = _run("CROSS_CITY", [row], residence)
    assert out.select("student_no", "school_code").rows() == (
        [(row["student_no"], row["school_code"])] if flagged else []
    )


def test_cross_city_detail_and_evidence() -> None:
    out = _run(
        "CROSS_CITY",
        [newcomer()],
        [resident(newcomer()["id_number"], hukou=GUANGZHOU, permit=False)],
    )
    assert out["detail"][0] == (
        "学生1（测试学校0001 3年级1班）为本学年新入学学生，户籍地 440106001001 不在学校所在市州（4301），"
        "既不是随迁子女，也未持有居住证（违规跨市州招生）。"
    )
    proof = json.loads(out["evidence"][0])
    assert (proof["hukou_source"], proof["residence_permit"], proof["residence_row"]) == (
        "residence.hukou_area_code",
        False,
        1,
    )
    assert out["severity"][0] == "medium"
