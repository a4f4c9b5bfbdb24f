"""Masking of identity numbers in everything made for people outside the bureau's team.

The run folder keeps full numbers (contract section 5); reports, exports and log lines
show ``430104********1234``. A number can hide in more places than the id_number
column: a ``G`` student number is ``G`` + the ID number, and ``detail`` sentences and
``evidence`` JSON quote the rows that prove a finding. So every text column is masked
too, by pattern, in one vectorised pass.
"""

from __future__ import annotations

import polars as pl

from xueji.ids import mask_id

# An 18-character number in the GB 11643 shape anywhere in a text, not preceded by a
# digit: student numbers (G/J/L + 18) and quoted IDs in sentences or JSON. The prefix
# group keeps the character before the number (Rust regex has no look-behind). A longer
# run of digits is masked too: hiding too much is the safe mistake here.
_ID_IN_TEXT = r"(^|[^0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])"
_ID_IN_TEXT_MASKED = "${1}${2}********${3}"

# A JSON member whose key names an identity number and whose value looks like a document
# number (letters and digits, a digit before the last four) but not like a resident ID
# (passports, permits): everything but the last 4 characters is hidden. Values that are
# labels ("typo", "exact") or already hold a '*' are left alone.
_ID_MEMBER = r'("[A-Za-z_]*id_number"\s*:\s*")[A-Za-z0-9]*[0-9][A-Za-z0-9]*([A-Za-z0-9]{4})"'
_ID_MEMBER_MASKED = '${1}****${2}"'

# Columns holding free text that may quote a number.
TEXT_COLUMNS: tuple[str, ...] = ("student_no", "detail", "evidence", "name", "class_name")


def mask_text(text: pl.Expr) -> pl.Expr:
    """``text`` with every 18-character ID-shaped number masked to first 6 + last 4."""
    return text.str.replace_all(_ID_IN_TEXT, _ID_IN_TEXT_MASKED).str.replace_all(
        _ID_MEMBER, _ID_MEMBER_MASKED
    )


def mask_findings(findings: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Findings with identity numbers masked in ``id_number`` and in every text column.

    Columns that are absent are skipped, so the same function serves violations, the
    resolved list and evidence-only frames.
    """
    lf = findings.lazy()
    names = lf.collect_schema().names()
    exprs: list[pl.Expr] = []
    if "id_number" in names:
        exprs.append(mask_id(pl.col("id_number")).alias("id_number"))
    exprs.extend(mask_text(pl.col(c)).alias(c) for c in TEXT_COLUMNS if c in names)
    return lf.with_columns(exprs) if exprs else lf
