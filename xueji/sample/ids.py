"""Identity and student numbers for the sample generator, built as whole numpy columns.

The generator writes its own numbers here (GB 11643 body + ISO 7064 MOD 11-2 check
character) rather than borrowing the audit's checks, so the audit is tested against
an independent construction.
"""

from __future__ import annotations

import numpy as np
import polars as pl

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"

# First two digits of GB/T 2260 province-level codes (81/82/83: residence permits of
# Hong Kong, Macao and Taiwan residents).
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)


def check_index(body: np.ndarray) -> np.ndarray:
    """Index into ``CHECK_CHARS`` of the MOD 11-2 check character of each body."""
    total = np.zeros(body.shape[0], dtype=np.int64)
    rest = body.astype(np.int64)
    for weight in WEIGHTS[::-1]:
        rest, digit = np.divmod(rest, 10)
        total += digit * weight
    return total % 11


def make_body(area: np.ndarray, yyyymmdd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """17-digit bodies from 6-digit area codes, 8-digit birth dates and 3-digit sequences."""
    return area.astype(np.int64) * 10**11 + yyyymmdd.astype(np.int64) * 1000 + seq.astype(np.int64)


def render(body: np.ndarray, check: np.ndarray, prefix: str = "") -> pl.Series:
    """Bodies and check indices as 18-character strings (optionally prefixed, e.g. ``J``)."""
    chars = pl.Series(list(CHECK_CHARS)).gather(pl.Series(check.astype(np.int64)))
    text = pl.Series(body).cast(pl.String).str.zfill(17) + chars
    return (prefix + text) if prefix else text


def draw_sequence(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """3-digit sequence numbers whose last digit is odd for men and even for women."""
    seq = rng.integers(0, 500, size=male.shape[0]) * 2
    return seq + male.astype(np.int64)


def unique_bodies(
    rng: np.random.Generator,
    area: np.ndarray,
    yyyymmdd: np.ndarray,
    male: np.ndarray,
    taken: np.ndarray | None = None,
) -> np.ndarray:
    """Draw sequence numbers until every body is distinct and none is in ``taken``."""
    body = make_body(area, yyyymmdd, draw_sequence(rng, male))
    for _ in range(100):
        order = np.argsort(body, kind="stable")
        repeat = np.zeros(body.shape[0], dtype=bool)
        repeat[order[1:]] = body[order][1:] == body[order][:-1]
        if taken is not None and taken.size:
            repeat |= np.isin(body, taken)
        if not repeat.any():
            return body
        idx = np.flatnonzero(repeat)
        body[idx] = make_body(area[idx], yyyymmdd[idx], draw_sequence(rng, male[idx]))
    raise RuntimeError("could not draw distinct identity numbers; the area is too small")


def is_valid_resident_id(id_number: pl.Expr) -> pl.Expr:
    """GB 11643 as a Polars expression: shape, province, real birth date, check character."""
    body = id_number.str.slice(0, 17)
    total = pl.sum_horizontal(
        [body.str.slice(i, 1).cast(pl.Int64, strict=False) * int(w) for i, w in enumerate(WEIGHTS)]
    )
    check = pl.lit(CHECK_CHARS).str.slice(total % 11, 1)
    return (
        id_number.str.contains(r"^[0-9]{17}[0-9X]$")
        & id_number.str.slice(0, 2).is_in(sorted(PROVINCES))
        & id_number.str.slice(6, 8).str.to_date("%Y%m%d", strict=False).is_not_null()
        & (check == id_number.str.slice(17, 1))
    ).fill_null(False)


def embedded_birth(id_number: pl.Expr) -> pl.Expr:
    """Birth date in positions 7–14 of an ID (null when not a date)."""
    return id_number.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)


def embedded_gender(id_number: pl.Expr) -> pl.Expr:
    """``M`` when the 17th digit is odd, else ``F``."""
    digit = id_number.str.slice(16, 1).cast(pl.Int64, strict=False)
    return pl.when(digit % 2 == 1).then(pl.lit("M")).when(digit.is_not_null()).then(pl.lit("F"))


def j_check_ok(student_no: pl.Expr) -> pl.Expr:
    """Whether a ``J`` number's 18 characters carry the right MOD 11-2 check character."""
    body = student_no.str.slice(1, 17)
    total = pl.sum_horizontal(
        [body.str.slice(i, 1).cast(pl.Int64, strict=False) * int(w) for i, w in enumerate(WEIGHTS)]
    )
    return (pl.lit(CHECK_CHARS).str.slice(total % 11, 1) == student_no.str.slice(18, 1)).fill_null(
        False
    )


def valid_numeric(body: np.ndarray, check: np.ndarray, shape_bad: np.ndarray) -> np.ndarray:
    """GB 11643 validity of numbers held as (17-digit body, check index): a known
    province, a real birth date, the right check character, all 18 characters written."""
    province = np.isin(body // 10**15, np.array(sorted(int(p) for p in PROVINCES)))
    ymd = (body // 1000) % 10**8
    y, m, d = ymd // 10000, (ymd // 100) % 100, ymd % 100
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_len = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)] + (
        (m == 2) & leap
    )
    real = (m >= 1) & (m <= 12) & (d >= 1) & (d <= month_len) & (y >= 1900)
    return (body > 0) & province & real & (check_index(body) == check) & ~shape_bad
