"""ID-number similarity: masked numbers, one substitution or adjacent transposition,
check-character failures, non-resident documents."""

from __future__ import annotations

import polars as pl

from xueji.identity.idsim import (
    id_state,
    mask_prefix_len,
    mask_suffix_len,
    masked_consistent,
    osa_distance,
)
from xueji.identity.synth import valid_id

A = valid_id("430104", "20150312", 11)


def test_valid_id_helper_makes_valid_numbers() -> None:
    assert pl.select(id_state(pl.lit("11010519491231002X"))).item() == "valid"
    assert pl.select(id_state(pl.lit(A))).item() == "valid"


def test_states() -> None:
    frame = pl.DataFrame(
        {
            "id": [
                A,
                A[:-1] + ("0" if A[-1] != "0" else "1"),
                "430104********0111",
                None,
                "E12345678",
            ],
            "type": ["resident_id", "resident_id", "resident_id", "resident_id", "passport"],
        }
    )
    got = frame.select(id_state(pl.col("id"), pl.col("type")))
    assert got.to_series().to_list() == ["valid", "invalid", "masked", None, "valid"]


def test_masked_numbers() -> None:
    masked = A[:6] + "********" + A[-4:]
    other = valid_id("430104", "20150312", 13)
    frame = pl.DataFrame(
        {
            "m": [masked, masked, "************" + A[-6:], masked, None],
            "f": [A, other, A, A[:17], A],
        }
    )
    got = frame.select(
        masked_consistent(pl.col("m"), pl.col("f")).alias("ok"),
        mask_prefix_len(pl.col("m")).alias("p"),
        mask_suffix_len(pl.col("m")).alias("s"),
    )
    assert got["ok"].to_list() == [True, False, True, False, None]
    assert got["p"].to_list()[:3] == [6, 6, 0]
    assert got["s"].to_list()[:3] == [4, 4, 6]


def test_osa_counts_a_substitution_and_a_transposition_as_one_edit() -> None:
    sub = A[:8] + ("9" if A[8] != "9" else "8") + A[9:]
    trans = A[:10] + A[11] + A[10] + A[12:]
    got = osa_distance(pl.Series([A, A, A, None, A]), pl.Series([A, sub, trans, A, "X"]))
    assert got.to_list() == [0, 1, 1, None, 18]


def test_a_single_substitution_always_fails_the_check() -> None:
    # GB 11643's MOD 11-2 check catches every single substitution: the basis of the
    # "typo" level (a failing number one edit from a valid one is a mistyped copy).
    variants = [
        A[:i] + str((int(A[i]) + d) % 10) + A[i + 1 :] for i in range(17) for d in range(1, 10)
    ]
    states = pl.DataFrame({"id": variants}).select(id_state(pl.col("id"))).to_series()
    assert set(states.to_list()) == {"invalid"}
