"""Case tables for ID_INVALID, STUDENT_NO_MISMATCH, TEMP_NUMBER_STALE and ID_MISMATCH."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from xueji.testing import (
    check_char_of,
    default_config,
    make_id_number,
    record,
    run_rules,
    school,
    typed_tables,
)

AS_OF = date(2026, 11, 20)
SCHOOL = "4301040001"


def _findings(rule: str, rows: list[dict[str, Any]], **cfg: object) -> pl.DataFrame:
    tables = typed_tables(schools=[school(SCHOOL)], registry=rows)
    out = run_rules(tables, AS_OF, codes=[rule], cfg=default_config(**cfg) if cfg else None)
    assert out["rule"].unique().to_list() in ([], [rule])
    return out


def _flagged(out: pl.DataFrame) -> set[str]:
    return set(out["student_no"].to_list())


def _with_check(body17: str) -> str:
    return body17 + check_char_of(body17)


def _wrong_check(id_number: str) -> str:
    good = id_number[-1]
    return id_number[:-1] + ("0" if good != "0" else "1")


VALID = make_id_number(date(2017, 3, 1), "M", seq=1)
BAD_CHECK = _wrong_check(VALID)
BAD_DATE = _with_check("43010420170230" + "011")  # 30 February
BAD_PROVINCE = _with_check("990104201703010" + "11")
HK_PERMIT = _with_check("810000201703010" + "11")
L_NUMBER = "L430104" + "20170301" + "0001"


# (case, registry rows, flagged student_nos, detail fragment of the first finding)
ID_INVALID_CASES = [
    ("valid number", [record(1)], set(), None),
    (
        "the standard's own examples",
        [
            record(1, id_number="11010519491231002X", student_no="G11010519491231002X", birth_date=date(1949, 12, 31), gender="F"),
            record(2, id_number="440524188001010014", student_no="G440524188001010014", birth_date=date(1880, 1, 1)),
        ],
        set(),
        None,
    ),
    ("wrong check character", [record(1, id_number=BAD_CHECK)], {"G" + VALID}, "校验码错误"),
    ("impossible birth date", [record(1, id_number=BAD_DATE)], {"G" + VALID}, "出生日期不存在"),
    ("unknown province code", [record(1, id_number=BAD_PROVINCE)], {"G" + VALID}, "省级行政区划代码不存在"),
    ("81 residence permit prefix is valid", [record(1, id_number=HK_PERMIT)], set(), None),
    ("17 characters only", [record(1, id_number=VALID[:17])], {"G" + VALID}, "不是17位数字加校验码"),
    ("letter inside the number", [record(1, id_number=VALID[:5] + "A" + VALID[6:])], {"G" + VALID}, "不是17位数字加校验码"),
    ("passport numbers are not GB 11643", [record(1, id_type="passport", id_number="E12345678")], set(), None),
    ("empty number with an L student number", [record(1, id_number=None, student_no=L_NUMBER)], set(), None),
    ("graduated record is still checked", [record(1, id_number=BAD_CHECK, status="graduated")], {"G" + VALID}, "校验码错误"),
    ("unknown status is still checked", [record(1, id_number=BAD_CHECK, status=None)], {"G" + VALID}, "校验码错误"),
]


@pytest.mark.parametrize(("case", "rows", "flagged", "fragment"), ID_INVALID_CASES, ids=[c[0] for c in ID_INVALID_CASES])
def test_id_invalid(case: str, rows: list[dict[str, Any]], flagged: set[str], fragment: str | None) -> None:
    out = _findings("ID_INVALID", rows)
    assert _flagged(out) == flagged
    if fragment:
        first = out.row(0, named=True)
        assert fragment in first["detail"]
        assert first["severity"] == "medium"
        assert first["county_code"] == "430104" and first["grade"] == 3 and first["class_name"] == "1班"
        # The sentence and evidence name the record without the full ID number.
        assert first["id_number"] not in first["detail"] and first["id_number"] not in first["evidence"]
        assert json.loads(first["evidence"])["registry_row"] == 1


def test_id_invalid_detail_masks_the_number() -> None:
    out = _findings("ID_INVALID", [record(1, id_number=BAD_CHECK)])
    masked = BAD_CHECK[:6] + "********" + BAD_CHECK[-4:]
    assert masked in out["detail"][0]
    proof = json.loads(out["evidence"][0])
    assert proof["problem"] == "check" and proof["expected_check_char"] == VALID[-1]


J_NUMBER = "J" + make_id_number(date(2016, 5, 5), "F", area="430104", seq=7)

STUDENT_NO_CASES = [
    ("G number equals the ID", [record(1)], set()),
    ("G number of an older ID (ID changed)", [record(1, student_no="G" + make_id_number(date(2017, 3, 1), seq=2))], {"G" + make_id_number(date(2017, 3, 1), seq=2)}),
    # Contract §1: an empty id_number is allowed with an L or J number only.
    ("G number with no ID number recorded", [record(1, id_number=None)], {"G" + VALID}),
    ("J number with a right check character", [record(1, student_no=J_NUMBER, id_number=None)], set()),
    ("J number with a wrong check character", [record(1, student_no=_wrong_check(J_NUMBER), id_number=None)], {_wrong_check(J_NUMBER)}),
    ("L number with the record's birth date", [record(1, student_no=L_NUMBER, id_number=None)], set()),
    ("L number with another birth date", [record(1, student_no=L_NUMBER, id_number=None, birth_date=date(2017, 1, 3))], {L_NUMBER}),
    ("L number, birth date unknown", [record(1, student_no=L_NUMBER, id_number=None, birth_date=None)], set()),
    (
        "graduated record is still checked",
        [record(1, student_no=L_NUMBER, id_number=None, birth_date=date(2017, 1, 3), status="graduated")],
        {L_NUMBER},
    ),
]


@pytest.mark.parametrize(("case", "rows", "flagged"), STUDENT_NO_CASES, ids=[c[0] for c in STUDENT_NO_CASES])
def test_student_no_mismatch(case: str, rows: list[dict[str, Any]], flagged: set[str]) -> None:
    out = _findings("STUDENT_NO_MISMATCH", rows)
    assert _flagged(out) == flagged
    assert set(out["severity"].to_list()) <= {"low"}


def test_student_no_mismatch_g_number_without_id_number() -> None:
    out = _findings("STUDENT_NO_MISMATCH", [record(1, id_number=None)])
    first = out.row(0, named=True)
    assert first["detail"] == "学生1（测试学校0001 3年级1班）：G字头学籍号的记录未登记身份证件号（只有J字头、L字头学籍号可以不登记身份证件号）。"
    proof = json.loads(first["evidence"])
    assert proof["problem"] == "g_no_id" and proof["id_number"] is None
    assert proof["student_no_id_part"] == VALID[:6] + "********" + VALID[-4:]


def _l_record(days_ago: int, **overrides: object) -> dict[str, Any]:
    return record(1, student_no=L_NUMBER, id_number=None, enrol_date=AS_OF - timedelta(days=days_ago)) | overrides


TEMP_CASES: list[tuple[str, dict[str, Any], bool, dict[str, object]]] = [
    ("365 days is still allowed", _l_record(365), False, {}),
    ("366 days is stale", _l_record(366), True, {}),
    ("suspended counts as active", _l_record(400, status="suspended"), True, {}),
    ("graduated is not checked", _l_record(400, status="graduated"), False, {}),
    ("G number is not temporary", record(1, enrol_date=AS_OF - timedelta(days=900)), False, {}),
    ("enrol date unknown", _l_record(400, enrol_date=None), False, {}),
    ("province allows 500 days", _l_record(400), False, {"temp_number_max_days": 500}),
]


@pytest.mark.parametrize(("case", "row", "stale", "cfg"), TEMP_CASES, ids=[c[0] for c in TEMP_CASES])
def test_temp_number_stale(case: str, row: dict[str, Any], stale: bool, cfg: dict[str, object]) -> None:
    out = _findings("TEMP_NUMBER_STALE", [row], **cfg)
    assert _flagged(out) == ({row["student_no"]} if stale else set())
    if stale:
        days = (AS_OF - row["enrol_date"]).days
        assert f"已 {days} 天" in out["detail"][0]
        assert json.loads(out["evidence"][0])["days_on_temporary_number"] == days


def _id_for(birth: date, gender: str) -> dict[str, Any]:
    id_number = make_id_number(birth, gender, seq=3)
    return {"id_number": id_number, "student_no": "G" + id_number}


ID_MISMATCH_CASES = [
    ("ID agrees with the record", record(3), None),
    ("birth date differs", record(3, **_id_for(date(2017, 3, 2), "M")), "出生日期 2017-03-02（登记为 2017-03-01）"),
    ("gender differs (17th digit even = F)", record(3, **_id_for(date(2017, 3, 1), "F")), "性别女（登记为男）"),
    ("both differ", record(3, **_id_for(date(2016, 3, 1), "F")), "出生日期 2016-03-01（登记为 2017-03-01）、性别女（登记为男）"),
    ("invalid ID is ID_INVALID's, not this rule's", record(3, id_number=_wrong_check(make_id_number(date(2016, 3, 1), seq=3))), None),
    ("passport holder", record(3, id_type="passport", id_number="E12345678"), None),
    ("birth date unknown, gender agrees", record(3, birth_date=None) | _id_for(date(2017, 3, 1), "M"), None),
    ("gender unknown, birth agrees", record(3, gender=None) | _id_for(date(2017, 3, 1), "F"), None),
    ("day and month swapped", record(3, birth_date=date(2017, 1, 3)) | _id_for(date(2017, 3, 1), "M"), "出生日期 2017-03-01（登记为 2017-01-03）"),
    ("transferred-out record is still checked", record(3, status="transferred_out", **_id_for(date(2017, 3, 2), "M")), "出生日期"),
]


@pytest.mark.parametrize(("case", "row", "fragment"), ID_MISMATCH_CASES, ids=[c[0] for c in ID_MISMATCH_CASES])
def test_id_mismatch(case: str, row: dict[str, Any], fragment: str | None) -> None:
    out = _findings("ID_MISMATCH", [row])
    if fragment is None:
        assert out.height == 0
        return
    assert out.height == 1
    assert fragment in out["detail"][0]
    assert row["id_number"] not in out["detail"][0]


def test_one_finding_per_record_and_nothing_on_clean_rows() -> None:
    rows = [record(i) for i in range(1, 40)] + [record(90, id_number=BAD_CHECK), record(91, **_id_for(date(2017, 3, 9), "M"))]
    tables = typed_tables(schools=[school(SCHOOL)], registry=rows)
    out = run_rules(tables, AS_OF, codes=["ID_INVALID", "STUDENT_NO_MISMATCH", "TEMP_NUMBER_STALE", "ID_MISMATCH"])
    assert out.select("rule", "student_no").rows() == [
        ("ID_INVALID", "G" + make_id_number(date(2017, 3, 1), seq=90)),
        ("ID_MISMATCH", "G" + make_id_number(date(2017, 3, 9), seq=3)),
        # record 90's G number no longer matches its (mistyped) ID number
        ("STUDENT_NO_MISMATCH", "G" + make_id_number(date(2017, 3, 1), seq=90)),
    ]
