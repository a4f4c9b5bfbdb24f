"""Case tables for DUPLICATE_RECORD and PERSON_MISMATCH."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
import pytest

from xueji.ids import id_is_valid
from xueji.testing import record, run_rules, school, typed_tables

AS_OF = date(2026, 11, 20)
A, B = "4301040001", "4301040002"
BORN = date(2017, 3, 1)

ZHANG = record(1, name="张伟")


def _valid(id_number: str) -> bool:
    return bool(pl.select(id_is_valid(pl.lit(id_number))).item())


def no_id(
    name: str = "张伟",
    birth: date = BORN,
    gender: str = "M",
    suffix: str = "0001",
    **overrides: object,
) -> dict[str, Any]:
    """A record on a temporary L number with no ID number, at school B."""
    row = record(1, birth_date=birth, gender=gender, name=name, school_code=B, grade=4)
    return row | {"student_no": f"L430104{birth:%Y%m%d}{suffix}", "id_number": None} | overrides


def mistyped(id_number: str, positions: tuple[int, ...], **overrides: object) -> dict[str, Any]:
    """ZHANG's record at school B with the digits at ``positions`` changed: the number fails GB 11643."""
    chars = list(id_number)
    for p in positions:
        chars[p] = str((int(chars[p]) + 1) % 10) if chars[p].isdigit() else "0"
    wrong = "".join(chars)
    assert not _valid(wrong), wrong
    return (
        ZHANG
        | {"id_number": wrong, "student_no": "G" + wrong, "school_code": B, "grade": 4}
        | overrides
    )


def _dups(registry: list[dict[str, Any]]) -> pl.DataFrame:
    tables = typed_tables(schools=[school(A), school(B)], registry=registry)
    return run_rules(tables, AS_OF, codes=["DUPLICATE_RECORD"])


SAME_ID_AT_B = ZHANG | {"school_code": B, "grade": 4, "class_name": "2班"}

DUPLICATE_CASES: list[tuple[str, list[dict[str, Any]], list[int]]] = [
    ("one record", [ZHANG], []),
    ("the same ID number at two schools", [ZHANG, SAME_ID_AT_B], [0, 1]),
    ("the same ID number, one suspended", [ZHANG, SAME_ID_AT_B | {"status": "suspended"}], [0, 1]),
    (
        "the same ID number, one transferred out",
        [ZHANG, SAME_ID_AT_B | {"status": "transferred_out"}],
        [],
    ),
    ("the same ID number, one graduated", [ZHANG | {"status": "graduated"}, SAME_ID_AT_B], []),
    ("no ID number, same name, gender and birth date", [ZHANG, no_id()], [0, 1]),
    ("no ID number, day and month swapped", [ZHANG, no_id(birth=date(2017, 1, 3))], [0, 1]),
    ("no ID number, another birth date", [ZHANG, no_id(birth=date(2017, 3, 2))], []),
    ("no ID number, another gender", [ZHANG, no_id(gender="F")], []),
    ("no ID number, a homophone of the name", [ZHANG, no_id(name="张玮")], [0, 1]),
    ("no ID number, the traditional spelling", [ZHANG, no_id(name="張偉")], [0, 1]),
    ("no ID number, a space in the name", [ZHANG, no_id(name="张 伟")], [0, 1]),
    ("no ID number, another name", [ZHANG, no_id(name="张华")], []),
    ("no ID number, the other record inactive", [ZHANG | {"status": "dropped"}, no_id()], []),
    ("a failing ID one digit off", [ZHANG, mistyped(ZHANG["id_number"], (10,))], [0, 1]),
    ("a failing ID, check character wrong", [ZHANG, mistyped(ZHANG["id_number"], (17,))], [0, 1]),
    ("a failing ID two digits off", [ZHANG, mistyped(ZHANG["id_number"], (10, 12))], [0, 1]),
    ("a failing ID three digits off", [ZHANG, mistyped(ZHANG["id_number"], (7, 10, 12))], []),
    (
        "twins: two valid ID numbers, homophone names",
        [ZHANG, record(2, name="张玮", school_code=A)],
        [],
    ),
    (
        "two valid ID numbers, one name",
        [ZHANG, record(2, name="张伟", school_code=B)],
        [],
    ),
    (
        "three records of one person",
        [ZHANG, SAME_ID_AT_B, no_id(school_code="4301040003")],
        [0, 1, 2],
    ),
]


@pytest.mark.parametrize(
    ("case", "registry", "expected"), DUPLICATE_CASES, ids=[c[0] for c in DUPLICATE_CASES]
)
def test_duplicate_record(case: str, registry: list[dict[str, Any]], expected: list[int]) -> None:
    registry = [*registry, record(7, name="陈静")]  # someone else, never part of a group
    out = _dups(registry)
    want = sorted((registry[i]["student_no"], registry[i]["school_code"]) for i in expected)
    assert sorted(out.select("student_no", "school_code").rows()) == want
    # One group per person: every finding carries the same group_id.
    assert out["group_id"].n_unique() == (1 if expected else 0)
    assert out["group_id"].null_count() == 0


def test_duplicate_record_detail_and_evidence() -> None:
    out = _dups([ZHANG, no_id(name="張偉")]).sort("school_code")
    assert out["severity"].to_list() == ["high", "high"]
    assert (
        out["detail"][0]
        == "张伟（测试学校0001 3年级1班）与另外 1 条在籍或休学学籍属同一人：测试学校0002 4年级1班（学籍号 L43010*********0001）（一人多籍）。"
    )
    assert out["detail"][1].startswith(
        "張偉（测试学校0002 4年级1班）与另外 1 条在籍或休学学籍属同一人：测试学校0001 3年级1班（学籍号 G43010*********"
    )
    proof = json.loads(out["evidence"][0])
    assert proof["group_id"] == out["group_id"][0]
    assert [(r["registry_row"], r["school_code"], r["name"]) for r in proof["records"]] == [
        (1, A, "张伟"),
        (2, B, "張偉"),
    ]
    # The comparisons that agreed come from identity resolution.
    assert proof["comparisons"] is not None
    # No full ID number anywhere in what an inspector reads.
    assert ZHANG["id_number"] not in out["detail"][0] + out["evidence"][0]


def test_duplicate_group_id_is_stable_across_runs() -> None:
    first = _dups([ZHANG, SAME_ID_AT_B])["group_id"].unique().to_list()
    second = _dups([record(7, name="陈静"), SAME_ID_AT_B, ZHANG])["group_id"].unique().to_list()
    assert first == second


# --- PERSON_MISMATCH ----------------------------------------------------------------------


def resident(row: dict[str, Any], **overrides: object) -> dict[str, Any]:
    """The residence-data row of a registry record's person (agreeing unless overridden)."""
    base = {
        "id_number": row["id_number"],
        "name": row["name"],
        "gender": row["gender"],
        "birth_date": row["birth_date"],
        "hukou_area_code": "430104001001",
        "residence_area_code": "430104001001",
        "residence_permit": False,
    }
    return base | overrides


def _mismatch(registry: list[dict[str, Any]], residence: list[dict[str, Any]]) -> pl.DataFrame:
    tables = typed_tables(schools=[school(A), school(B)], registry=registry, residence=residence)
    return run_rules(tables, AS_OF, codes=["PERSON_MISMATCH"])


MISMATCH_CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], list[str] | None]] = [
    ("everything agrees", ZHANG, [resident(ZHANG)], None),
    ("the traditional spelling", ZHANG, [resident(ZHANG, name="張偉")], None),
    ("a homophone", ZHANG, [resident(ZHANG, name="张玮")], None),
    ("spaces in the name", ZHANG, [resident(ZHANG, name="张　伟")], None),
    ("another name", ZHANG, [resident(ZHANG, name="王芳")], ["name"]),
    ("another given name that sounds different", ZHANG, [resident(ZHANG, name="张华")], ["name"]),
    ("another gender", ZHANG, [resident(ZHANG, gender="F")], ["gender"]),
    ("another birth date", ZHANG, [resident(ZHANG, birth_date=date(2017, 3, 2))], ["birth_date"]),
    (
        "another name and gender",
        ZHANG,
        [resident(ZHANG, name="王芳", gender="F")],
        ["name", "gender"],
    ),
    ("residence birth date unknown", ZHANG, [resident(ZHANG, birth_date=None)], None),
    ("residence gender unknown", ZHANG, [resident(ZHANG, gender=None)], None),
    ("residence name unknown", ZHANG, [resident(ZHANG, name=None)], None),
    ("record name unknown", ZHANG | {"name": None}, [resident(ZHANG)], None),
    ("ID number not in residence data", ZHANG, [resident(record(2), name="王芳")], None),
    (
        "suspended record is active",
        ZHANG | {"status": "suspended"},
        [resident(ZHANG, name="王芳")],
        ["name"],
    ),
    (
        "graduated record is not checked",
        ZHANG | {"status": "graduated"},
        [resident(ZHANG, name="王芳")],
        None,
    ),
    (
        "two residence rows, one agrees",
        ZHANG,
        [resident(ZHANG, name="王芳"), resident(ZHANG)],
        None,
    ),
    (
        "a minority name with and without the middle dot",
        record(3, name="阿依古丽·买买提", gender="F"),
        [resident(record(3, name="阿依古丽买买提", gender="F"))],
        None,
    ),
    (
        "a heteronym surname read as a surname",
        record(4, name="单丽"),
        [resident(record(4, name="善丽"))],
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "row", "residence", "differs"), MISMATCH_CASES, ids=[c[0] for c in MISMATCH_CASES]
)
def test_person_mismatch(
    case: str, row: dict[str, Any], residence: list[dict[str, Any]], differs: list[str] | None
) -> None:
    out = _mismatch([row], residence)
    if differs is None:
        assert out.height == 0
        return
    assert out.select("student_no", "school_code").rows() == [
        (row["student_no"], row["school_code"])
    ]
    assert json.loads(out["evidence"][0])["differs"] == differs


def test_person_mismatch_detail() -> None:
    out = _mismatch([ZHANG], [resident(ZHANG, name="王芳", gender="F")])
    assert out["detail"][0] == (
        "张伟（测试学校0001 3年级1班）的身份证号 430104********011X 在户籍人口数据中登记为王芳（女，2017-03-01 出生），"
        "与学籍的姓名、性别不一致（人籍不一致）。"
    )
    assert out["severity"][0] == "critical"
    proof = json.loads(out["evidence"][0])
    assert proof["registry"] == {"name": "张伟", "gender": "M", "birth_date": "2017-03-01"}
    assert proof["residence"] == {"name": "王芳", "gender": "F", "birth_date": "2017-03-01"}
    assert (proof["registry_row"], proof["residence_row"]) == (1, 1)


def test_person_mismatch_is_skipped_without_residence_data() -> None:
    tables = typed_tables(schools=[school(A)], registry=[ZHANG])
    assert "PERSON_MISMATCH" not in run_rules(tables, AS_OF)["rule"].to_list()
