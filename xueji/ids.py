"""GB 11643 citizen identity numbers and the G/J/L student numbers, as Polars expressions.

Every check here is a vectorised expression over a String column, so a million
records are checked in one pass of the plan with no Python per row.
"""

from __future__ import annotations

import polars as pl

# ISO 7064 MOD 11-2 weights for the first 17 digits, and the check character by remainder.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

# First two digits of GB/T 2260 province-level codes; 71 is Taiwan, 81/82/83 are the
# Hong Kong, Macao and Taiwan residence-permit prefixes.
PROVINCE_CODES = (
    "11", "12", "13", "14", "15",
    "21", "22", "23",
    "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46",
    "50", "51", "52", "53", "54",
    "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
)  # fmt: skip

ID_SHAPE = r"^[0-9]{17}[0-9X]$"


def check_char(body17: pl.Expr) -> pl.Expr:
    """The MOD 11-2 check character of a 17-digit body (null when the body is not 17 digits)."""
    total = pl.sum_horizontal(
        [body17.str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(WEIGHTS)]
    )
    ok = body17.str.contains(r"^[0-9]{17}$")
    return pl.when(ok).then(pl.lit(CHECK_CHARS).str.slice(total % 11, 1))


def embedded_birth_date(id_number: pl.Expr) -> pl.Expr:
    """The birth date written in positions 7–14 (null when not a real calendar date)."""
    return id_number.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)


def embedded_gender(id_number: pl.Expr) -> pl.Expr:
    """``M`` when the 17th digit is odd, ``F`` when even, null when it is not a digit."""
    digit = id_number.str.slice(16, 1).cast(pl.Int32, strict=False)
    return pl.when(digit.is_not_null()).then(pl.when(digit % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("F")))


def id_problem(id_number: pl.Expr) -> pl.Expr:
    """Why a resident ID number fails GB 11643 (a short English code), or null when it passes.

    Codes: ``shape`` (not 17 digits + check character), ``province`` (unknown first two
    digits), ``birth_date`` (impossible date), ``check`` (wrong check character).
    """
    shape_ok = id_number.str.contains(ID_SHAPE)
    return (
        pl.when(id_number.is_null())
        .then(pl.lit(None, pl.String))
        .when(~shape_ok)
        .then(pl.lit("shape"))
        .when(~id_number.str.slice(0, 2).is_in(PROVINCE_CODES))
        .then(pl.lit("province"))
        .when(embedded_birth_date(id_number).is_null())
        .then(pl.lit("birth_date"))
        .when(check_char(id_number.str.slice(0, 17)) != id_number.str.slice(17, 1))
        .then(pl.lit("check"))
        .otherwise(pl.lit(None, pl.String))
    )


def id_is_valid(id_number: pl.Expr) -> pl.Expr:
    """True when the number passes GB 11643 (null for a null number)."""
    return pl.when(id_number.is_not_null()).then(id_problem(id_number).is_null())


ID_PROBLEM_TEXT = {
    "shape": "不是17位数字加校验码",
    "province": "省级行政区划代码不存在",
    "birth_date": "出生日期不存在",
    "check": "校验码错误",
}


def student_no_kind(student_no: pl.Expr) -> pl.Expr:
    """``G``, ``J`` or ``L``: the form of a student number."""
    return student_no.str.slice(0, 1)


def student_no_problem(student_no: pl.Expr, id_number: pl.Expr, birth_date: pl.Expr) -> pl.Expr:
    """Why a student number disagrees with the record (code), or null when it agrees.

    ``g_no_id`` a G number on a record with no id_number (contract §1: only an L or J
    number may go without one); ``g_id`` a G number whose last 18 characters are not the
    id_number; ``j_check`` a J number whose check character is wrong; ``l_birth`` an L
    number whose birth-date part is not the record's birth date. An unknown student
    number or birth date (null) gives null.
    """
    kind = student_no_kind(student_no)
    tail = student_no.str.slice(1, 18)
    return (
        # The registry's id_number has no form a cell could break: null is an empty cell
        # (or a file without the column), so a G number beside it disagrees with it.
        pl.when((kind == "G") & id_number.is_null())
        .then(pl.lit("g_no_id"))
        .when((kind == "G") & (tail != id_number))
        .then(pl.lit("g_id"))
        .when((kind == "J") & (check_char(tail.str.slice(0, 17)) != tail.str.slice(17, 1)))
        .then(pl.lit("j_check"))
        .when(
            (kind == "L")
            & birth_date.is_not_null()
            & (student_no.str.slice(7, 8).str.to_date("%Y%m%d", strict=False).fill_null(pl.date(1, 1, 1)) != birth_date)
        )
        .then(pl.lit("l_birth"))
        .otherwise(pl.lit(None, pl.String))
    )


def mask_id(id_number: pl.Expr) -> pl.Expr:
    """``430104********1234``: keep the first 6 and last 4 characters of a number."""
    n = id_number.str.len_chars()
    stars = pl.lit("*").repeat_by(n - 10).list.join("")
    return (
        pl.when(n >= 15)
        .then(id_number.str.slice(0, 6) + stars + id_number.str.slice(-4, 4))
        .when(n > 4)
        .then(pl.lit("*").repeat_by(n - 4).list.join("") + id_number.str.slice(-4, 4))
        .when(n > 0)
        .then(pl.lit("*").repeat_by(n).list.join(""))
        .otherwise(id_number)
    )


def mask_id_text(id_number: str | None) -> str | None:
    """The Python twin of ``mask_id`` for single values in log lines and messages."""
    if not id_number:
        return id_number
    n = len(id_number)
    if n >= 15:
        return id_number[:6] + "*" * (n - 10) + id_number[-4:]
    if n > 4:
        return "*" * (n - 4) + id_number[-4:]
    return "*" * n
