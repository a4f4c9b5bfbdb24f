"""ID-number similarity: exact, masked-consistent, one or two edits, check failures.

ISO 7064 MOD 11-2 (the GB 11643 check character) catches every single substitution
and every adjacent transposition, so two numbers one edit apart cannot both pass: the
one that fails is a mistyped copy of the other. Two *different* numbers that both pass
belong to two people (twins get consecutive sequence numbers and different check
characters), whatever their names say.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA

from xueji.ids import id_is_valid

ID_LEN = 18
MASK = "*"


def id_state(id_number: pl.Expr, id_type: pl.Expr | None = None) -> pl.Expr:
    """``valid`` (passes GB 11643, or a non-resident document number, which is not
    checked), ``invalid`` (a resident ID that fails GB 11643), ``masked`` (contains ``*``)
    or null (no number)."""
    resident = (
        pl.lit(True) if id_type is None else id_type.fill_null("resident_id") == "resident_id"
    )
    return (
        pl.when(id_number.is_null())
        .then(pl.lit(None, pl.String))
        .when(id_number.str.contains(MASK, literal=True))
        .then(pl.lit("masked"))
        .when(~resident | id_is_valid(id_number))
        .then(pl.lit("valid"))
        .otherwise(pl.lit("invalid"))
    )


def mask_prefix_len(masked: pl.Expr) -> pl.Expr:
    """Characters visible before the first ``*`` of a masked number."""
    return masked.str.find(MASK, literal=True).cast(pl.Int64)


def mask_suffix_len(masked: pl.Expr) -> pl.Expr:
    """Characters visible after the last ``*`` of a masked number."""
    return masked.str.reverse().str.find(MASK, literal=True).cast(pl.Int64)


def masked_consistent(masked: pl.Expr, full: pl.Expr) -> pl.Expr:
    """Whether a masked number agrees with a full number at every visible position
    (same length 18, ``*`` matches anything). Null where either is missing."""
    same = [
        (masked.str.slice(i, 1) == MASK) | (masked.str.slice(i, 1) == full.str.slice(i, 1))
        for i in range(ID_LEN)
    ]
    shape = (masked.str.len_chars() == ID_LEN) & (full.str.len_chars() == ID_LEN)
    return pl.when(masked.is_not_null() & full.is_not_null()).then(shape & pl.all_horizontal(same))


def osa_distance(a: pl.Series, b: pl.Series) -> pl.Series:
    """Optimal-string-alignment distance of aligned pairs: substitutions, insertions,
    deletions and adjacent transpositions cost 1 each (rapidfuzz, vectorised).
    Null where either side is missing."""
    frame = pl.DataFrame({"a": a, "b": b}).with_row_index("i")
    both = frame.filter(pl.col("a").is_not_null() & pl.col("b").is_not_null())
    out = np.full(frame.height, -1, dtype=np.int64)
    if both.height:
        dist = process.cpdist(
            both["a"].to_list(), both["b"].to_list(), scorer=OSA.distance, workers=1
        )
        out[both["i"].to_numpy()] = np.asarray(dist, dtype=np.int64)
    return pl.Series("id_edits", out).replace(-1, None)
