"""Every identity number the sample generator writes is valid unless planted invalid,
checked against a plain-Python reference of GB 11643 (independent of the package)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xueji.sample import SampleConfig, generate
from xueji.sample import ids as sample_ids

PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
}  # fmt: skip


def reference_check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2, written out the way the standard describes it."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(c) * w for c, w in zip(body17, weights, strict=True))
    return "10X98765432"[total % 11]


def reference_valid(number: str) -> bool:
    """GB 11643: 17 digits + check character, known province, real birth date."""
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return False
    if number[:2] not in PROVINCES:
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return reference_check_char(number[:17]) == number[17]


def test_reference_accepts_the_standards_examples() -> None:
    assert reference_valid("11010519491231002X")
    assert reference_valid("440524188001010014")
    assert not reference_valid("11010519491231002Y")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["430104", "430181", "430124", "110105", "440305", "810000"]),
            st.dates(min_value=date(1950, 1, 1), max_value=date(2024, 12, 31)),
            st.booleans(),
        ),
        min_size=1,
        max_size=200,
    ),
    st.integers(0, 2**32 - 1),
)
def test_generated_ids_are_valid_and_carry_birth_date_and_gender(
    people: list[tuple[str, date, bool]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    area = np.array([int(a) for a, _, _ in people])
    ymd = np.array([int(d.strftime("%Y%m%d")) for _, d, _ in people])
    male = np.array([m for _, _, m in people])
    body = sample_ids.unique_bodies(rng, area, ymd, male)
    text = sample_ids.render(body, sample_ids.check_index(body)).to_list()
    assert len(set(text)) == len(text)
    for number, (a, d, m) in zip(text, people, strict=True):
        assert reference_valid(number), number
        assert number[:6] == a and number[6:14] == d.strftime("%Y%m%d")
        assert int(number[16]) % 2 == (1 if m else 0)


@given(st.integers(10**16, 10**17 - 1), st.integers(0, 2**32 - 1))
def test_one_mistyped_digit_always_breaks_the_check_character(body: int, seed: int) -> None:
    from xueji.sample.plants import _typo

    rng = np.random.default_rng(seed)
    b = np.array([body], dtype=np.int64)
    typo = _typo(b, rng)
    right = sample_ids.render(b, sample_ids.check_index(b))[0]
    wrong = sample_ids.render(typo, sample_ids.check_index(b))[0]
    assert sum(x != y for x, y in zip(right, wrong, strict=True)) == 1
    assert reference_check_char(wrong[:17]) != wrong[17]


@given(st.text(alphabet="0123456789X", min_size=18, max_size=18))
def test_numeric_validity_agrees_with_the_reference(number: str) -> None:
    if "X" in number[:17]:
        return
    body = np.array([int(number[:17])], dtype=np.int64)
    check = np.array(["10X98765432".index(number[17])])
    ok = sample_ids.valid_numeric(body, check, np.array([False]))[0]
    expected = reference_valid(number) and int(number[6:10]) >= 1900
    assert bool(ok) == expected
    frame = pl.DataFrame({"n": [number]}).select(sample_ids.is_valid_resident_id(pl.col("n")))
    assert frame.item() == reference_valid(number)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000))
def test_every_id_in_a_generated_city_is_valid_unless_planted_invalid(seed: int) -> None:
    s = generate(SampleConfig(students=1_000, days=20, seed=seed))
    truth = s.truth
    invalid = set(
        truth.filter(pl.col("rule") == "ID_INVALID").select("student_no", "school_code").iter_rows()
    )
    no_mismatch = set(
        truth.filter(pl.col("rule") == "STUDENT_NO_MISMATCH")
        .select("student_no", "school_code")
        .iter_rows()
    )
    id_mismatch = set(
        truth.filter(pl.col("rule") == "ID_MISMATCH")
        .select("student_no", "school_code")
        .iter_rows()
    )
    planted_invalid_ids = set()
    for row in s.registry.iter_rows(named=True):
        key = (row["student_no"], row["school_code"])
        number = row["id_number"]
        if row["id_type"] == "resident_id" and number is not None:
            if key in invalid:
                assert not reference_valid(number)
                planted_invalid_ids.add(number)
            else:
                assert reference_valid(number), (key, number)
                if key not in id_mismatch:
                    assert number[6:14] == row["birth_date"].strftime("%Y%m%d")
                    assert int(number[16]) % 2 == (1 if row["gender"] == "M" else 0)
        sn = row["student_no"]
        if sn[0] in "GJ" and key not in no_mismatch and key not in invalid:
            assert reference_valid(sn[1:]), (key, sn)
        if sn[0] == "L" and key not in no_mismatch:
            assert sn[7:15] == row["birth_date"].strftime("%Y%m%d")
    for number in s.residence["id_number"].to_list():
        assert reference_valid(number), number
    shown = s.attendance.people.filter(pl.col("id_number").str.contains(r"^\d{17}[\dX]$"))[
        "id_number"
    ].to_list()
    for number in shown:
        assert reference_valid(number) or number in planted_invalid_ids, number
    assert s.registry["id_number"].drop_nulls().n_unique() > 0.95 * s.registry.height
