"""GB 11643 checks and student-number forms against a plain reference implementation."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xueji.ids import (
    embedded_gender,
    id_is_valid,
    id_problem,
    mask_id,
    mask_id_text,
    student_no_problem,
)

PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
             50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}


def with_check(body: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def reference_valid(s: str) -> bool:
    """GB 11643 written out plainly, as a person would check it by hand."""
    if len(s) != 18 or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        return False
    if not s[:17].isascii():
        return False
    if int(s[:2]) not in PROVINCES:
        return False
    try:
        date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(c) * w for c, w in zip(s[:17], weights, strict=True))
    return "10X98765432"[total % 11] == s[17]


def check(values: list[str]) -> list[bool | None]:
    df = pl.DataFrame({"id": values}, schema={"id": pl.String})
    return df.select(id_is_valid(pl.col("id"))).to_series().to_list()


def wrong_check(body: str) -> str:
    right = with_check(body)[-1]
    return body + ("1" if right != "1" else "2")


def test_standard_examples_are_valid() -> None:
    assert check(["11010519491231002X", "440524188001010014"]) == [True, True]


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("11010519491231002X", None),
        (with_check("81000020080101001"), None),
        ("11010519491231002Y", "shape"),
        ("1101051949123100", "shape"),
        ("99010519491231002X", "province"),
        ("11010519490231002X", "birth_date"),
        ("110105194912310021", "check"),
    ],
)
def test_each_problem_is_named(number: str, problem: str | None) -> None:
    assert pl.DataFrame({"id": [number]}).select(id_problem(pl.col("id"))).item() == problem


digits = st.text(alphabet="0123456789", min_size=17, max_size=17)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(
    st.text(alphabet="0123456789X", min_size=16, max_size=19),
    digits.map(with_check),
    st.builds(lambda p, rest: with_check(p + rest), st.sampled_from(sorted(str(p) for p in PROVINCES)), st.text(alphabet="0123456789", min_size=15, max_size=15)),
), min_size=1, max_size=50))
def test_validator_agrees_with_reference(values: list[str]) -> None:
    assert check(values) == [reference_valid(v) for v in values]


def test_gender_from_17th_digit() -> None:
    df = pl.DataFrame({"id": ["11010519491231002X", "440524188001010014"]})
    assert df.select(embedded_gender(pl.col("id"))).to_series().to_list() == ["F", "M"]


@pytest.mark.parametrize(
    ("student_no", "id_number", "birth", "problem"),
    [
        ("G11010519491231002X", "11010519491231002X", date(1949, 12, 31), None),
        ("G11010519491231002X", "440524188001010014", date(1949, 12, 31), "g_id"),
        # Contract §1: only an L or J number may go without an ID number.
        ("G11010519491231002X", None, date(1949, 12, 31), "g_no_id"),
        (None, None, date(1949, 12, 31), None),
        ("J" + with_check("43010420150301123"), None, date(2015, 3, 1), None),
        ("J" + wrong_check("43010420150301123"), None, date(2015, 3, 1), "j_check"),
        ("L430104201503011234", None, date(2015, 3, 1), None),
        ("L430104201503021234", None, date(2015, 3, 1), "l_birth"),
        ("L430104201502301234", None, date(2015, 3, 1), "l_birth"),
    ],
)
def test_student_number_forms(student_no: str, id_number: str | None, birth: date, problem: str | None) -> None:
    df = pl.DataFrame({"s": [student_no], "i": [id_number], "b": [birth]}, schema={"s": pl.String, "i": pl.String, "b": pl.Date})
    assert df.select(student_no_problem(pl.col("s"), pl.col("i"), pl.col("b"))).item() == problem


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789X*", max_size=24))
def test_mask_expression_matches_python_twin_and_hides_the_middle(value: str) -> None:
    got = pl.DataFrame({"i": [value]}).select(mask_id(pl.col("i"))).item()
    assert got == mask_id_text(value)
    if len(value) == 18:
        assert got == value[:6] + "********" + value[-4:]
