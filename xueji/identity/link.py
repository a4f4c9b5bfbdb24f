"""Machinery the three linkers share: features, candidate pairs per blocking key, scoring.

Candidate pairs come from joins on a blocking key (``block_pairs``) or, for the wide
name blocks of attendance (a class, a school), from rapidfuzz ``cdist`` run block by
block on whole name matrices (``name_pairs_in_blocks``) so no pair list of the block is
ever built in Python. Pair frames carry each side's features with the suffixes
``_l`` / ``_r`` that ``xueji.identity.spec`` level conditions read.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from loguru import logger
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from xueji.identity.idsim import id_state, masked_consistent, osa_distance
from xueji.identity.names import (
    HOMOPHONE_SCORE,
    combine_name_scores,
    name_score_pairs,
    with_name_keys,
)
from xueji.identity.spec import BlockingKey, swapped_date
from xueji.vocabulary import ACTIVE

# Registry features every linker reads (right side of attendance and residence pairs).
RECORD_FEATURES = (
    "_row",
    "student_no",
    "id_number",
    "id_state",
    "name",
    "name_key",
    "pinyin",
    "birth_date",
    "birth_date_swapped",
    "gender",
    "school_code",
    "grade",
    "class_name",
    "hukou",
    "county",
    "active",
    "status",
)


def registry_features(reg: pl.DataFrame) -> pl.DataFrame:
    """Registry rows with the comparison features (name keys once per distinct name)."""
    # Lazily, so the ID check's repeated sub-expressions are computed once.
    out = reg.lazy().select(
        "_row",
        "student_no",
        "id_number",
        id_state(pl.col("id_number"), pl.col("id_type")).alias("id_state"),
        "name",
        "birth_date",
        swapped_date(pl.col("birth_date")).alias("birth_date_swapped"),
        "gender",
        "school_code",
        "grade",
        "class_name",
        pl.col("hukou_area_code").alias("hukou"),
        # Only the hukou places a person: the area in an ID number is where the child was
        # born, the one in an L number where the number was issued.
        pl.col("hukou_area_code").str.slice(0, 6).alias("county"),
        pl.col("status").is_in(ACTIVE).fill_null(False).alias("active"),
        "status",
        "enrol_date",
        "status_date",
    ).collect()
    return with_name_keys(out)


def _key_filter(frame: pl.DataFrame, cols: Sequence[str]) -> pl.DataFrame:
    return frame.filter(pl.all_horizontal([pl.col(c).is_not_null() for c in cols]))


def count_pairs(left: pl.DataFrame, right: pl.DataFrame | None, key: BlockingKey) -> int:
    """Candidate pairs a blocking key makes (``right`` None: a deduplication, pairs i<j)."""
    # Int64 counts: pl.len() is UInt32, whose products and sums wrap past 2**32 pairs.
    lk = (
        _key_filter(left, key.left)
        .group_by(list(key.left))
        .agg(pl.len().cast(pl.Int64).alias("n_l"))
    )
    if right is None:
        if key.left == key.right:
            return int(lk.select((pl.col("n_l") * (pl.col("n_l") - 1) // 2).sum()).item() or 0)
        right = left
    # Each right row pairs with the n_l left rows of its key: one group_by, not two.
    rk = _key_filter(right, key.right).select(list(key.right))
    joined = rk.join(lk, left_on=list(key.right), right_on=list(key.left), how="inner")
    return int(joined.select(pl.col("n_l").sum()).item() or 0)


def block_pairs(
    left: pl.DataFrame, right: pl.DataFrame | None, key: BlockingKey, lid: str, rid: str
) -> pl.DataFrame:
    """Index pairs (``lid``, ``rid``) agreeing on ``key``; ``right`` None: a self-join
    keeping each unordered pair once."""
    dedupe = right is None
    rframe = left if right is None else right
    lk = _key_filter(left, key.left).select(lid, *key.left)
    rk = _key_filter(rframe, key.right).select(
        pl.col(lid if dedupe else rid).alias("_rid"), *key.right
    )
    if dedupe:
        # Only keys seen at least twice can pair; drop the rest before the join.
        lk = lk.filter(pl.len().over(list(key.left)) >= 2) if key.left == key.right else lk
    pairs = lk.join(rk, left_on=list(key.left), right_on=list(key.right), how="inner").select(
        pl.col(lid).alias("_i"), pl.col("_rid").alias("_j")
    )
    if dedupe:
        pairs = pairs.filter(pl.col("_i") != pl.col("_j")).select(
            pl.min_horizontal("_i", "_j").alias("_i"), pl.max_horizontal("_i", "_j").alias("_j")
        )
    return pairs.unique()


def pair_frame(
    pairs: pl.DataFrame, left: pl.DataFrame, right: pl.DataFrame, lid: str, rid: str
) -> pl.DataFrame:
    """Pairs (``_i``, ``_j``) with every column of each side suffixed ``_l`` / ``_r``."""
    lcols = left.rename({c: f"{c}_l" for c in left.columns})
    rcols = right.rename({c: f"{c}_r" for c in right.columns})
    return pairs.join(lcols, left_on="_i", right_on=f"{lid}_l", how="left", coalesce=False).join(
        rcols, left_on="_j", right_on=f"{rid}_r", how="left", coalesce=False
    )


def add_pair_scores(pairs: pl.DataFrame) -> pl.DataFrame:
    """``name_score`` (names, rapidfuzz), ``id_edits`` (OSA distance) and ``id_mask_ok``
    (a masked left number consistent with the right one) for every pair.

    Each score is computed only where it can differ from the obvious: equal keys score
    1.0 and equal pinyin 0.95 without calling rapidfuzz; edits are counted only between
    two full numbers; masks are checked only for masked numbers."""
    pairs = pairs.with_row_index("_p")
    if "name_score" not in pairs.columns:
        pairs = pairs.with_columns(pl.lit(None, pl.Float64).alias("name_score"))
    same = pl.col("name_key_l") == pl.col("name_key_r")
    sound = pl.col("pinyin_l") == pl.col("pinyin_r")
    pairs = pairs.with_columns(
        pl.when(pl.col("name_score").is_not_null())
        .then(pl.col("name_score"))
        .when(same)
        .then(1.0)
        .when(sound)
        .then(HOMOPHONE_SCORE)
        .cast(pl.Float64)
        .alias("name_score")
    )
    rest = pairs.filter(pl.col("name_score").is_null())
    if rest.height:
        scores = name_score_pairs(
            rest["name_key_l"].fill_null("").to_list(),
            rest["pinyin_l"].fill_null("").to_list(),
            rest["name_key_r"].fill_null("").to_list(),
            rest["pinyin_r"].fill_null("").to_list(),
        )
        filled = rest.select("_p", pl.Series("_ns", scores, dtype=pl.Float64))
        pairs = (
            pairs.join(filled, on="_p", how="left", maintain_order="left")
            .with_columns(pl.coalesce("name_score", "_ns").alias("name_score"))
            .drop("_ns")
        )
    both_full = (
        pl.col("id_number_l").is_not_null()
        & pl.col("id_number_r").is_not_null()
        & (pl.col("id_state_l") != "masked")
        & (pl.col("id_number_l") != pl.col("id_number_r"))
    )
    full = pairs.filter(both_full).select("_p", "id_number_l", "id_number_r")
    edits = full.select(
        "_p", osa_distance(full["id_number_l"], full["id_number_r"]).alias("id_edits")
    )
    known = "id_mask_ok" in pairs.columns
    todo = pl.col("id_state_l") == "masked"
    if known:
        todo = todo & pl.col("id_mask_ok").is_null()
    masked = pairs.filter(todo).select(
        "_p", masked_consistent(pl.col("id_number_l"), pl.col("id_number_r")).alias("_mask_ok")
    )
    # Joined in the pairs' order (``_p``): no sort of the whole pair frame afterwards; a
    # score computed for no pair is a null column (no join copying the frame for nothing).
    out = pairs
    for part, col, dtype in ((edits, "id_edits", pl.Int64), (masked, "_mask_ok", pl.Boolean)):
        if part.height:
            out = out.join(part, on="_p", how="left", maintain_order="left")
        else:
            out = out.with_columns(pl.lit(None, dtype).alias(col))
    out = out.with_columns(
        (pl.coalesce("id_mask_ok", "_mask_ok") if known else pl.col("_mask_ok")).alias("id_mask_ok")
    ).drop("_mask_ok")
    out = out.with_columns(
        pl.when(pl.col("id_number_l") == pl.col("id_number_r"))
        .then(0)
        .otherwise(pl.col("id_edits"))
        .alias("id_edits"),
        pl.col("name_score").round(4),
    )
    return out.drop("_p")


def name_pairs_in_blocks(
    left: pl.DataFrame,
    right: pl.DataFrame,
    block: Sequence[str],
    lid: str,
    rid: str,
    min_score: float,
) -> pl.DataFrame:
    """(``_i``, ``_j``, ``name_score``) for every pair in a common block whose name score
    reaches ``min_score``: one rapidfuzz ``cdist`` per block on the block's names, never
    a Python loop over records."""
    empty = pl.DataFrame(schema={"_i": pl.Int64, "_j": pl.Int64, "name_score": pl.Float64})
    lk = _key_filter(left, [*block, "name_key"]).select(lid, *block, "name_key", "pinyin")
    rk = _key_filter(right, [*block, "name_key"]).select(rid, *block, "name_key", "pinyin")
    if lk.height == 0 or rk.height == 0:
        return empty
    blocks = (
        lk.select(block)
        .unique()
        .join(rk.select(block).unique(), on=list(block), how="inner")
        .with_row_index("_b")
    )
    if blocks.height == 0:
        return empty
    lk = lk.join(blocks, on=list(block), how="inner").sort("_b")
    rk = rk.join(blocks, on=list(block), how="inner").sort("_b")
    lb, rb = lk["_b"].to_numpy(), rk["_b"].to_numpy()
    nb = blocks.height
    l_start = np.searchsorted(lb, np.arange(nb + 1))
    r_start = np.searchsorted(rb, np.arange(nb + 1))
    l_keys, l_py, l_ids = lk["name_key"].to_list(), lk["pinyin"].to_list(), lk[lid].to_numpy()
    r_keys, r_py, r_ids = rk["name_key"].to_list(), rk["pinyin"].to_list(), rk[rid].to_numpy()
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_s: list[np.ndarray] = []
    # One iteration per block (a class or a school), each a matrix computation.
    for b in range(nb):
        l0, l1, r0, r1 = l_start[b], l_start[b + 1], r_start[b], r_start[b + 1]
        char_sim = process.cdist(
            l_keys[l0:l1], r_keys[r0:r1], scorer=Levenshtein.normalized_similarity, workers=1
        )
        py_sim = process.cdist(
            l_py[l0:l1], r_py[r0:r1], scorer=Levenshtein.normalized_similarity, workers=1
        )
        score = combine_name_scores(char_sim, py_sim)
        ii, jj = np.nonzero(score >= min_score)
        if ii.size:
            out_i.append(l_ids[l0 + ii])
            out_j.append(r_ids[r0 + jj])
            out_s.append(score[ii, jj])
    if not out_i:
        return empty
    return pl.DataFrame(
        {
            "_i": np.concatenate(out_i).astype(np.int64),
            "_j": np.concatenate(out_j).astype(np.int64),
            "name_score": np.concatenate(out_s).astype(np.float64),
        }
    )


def log_counts(linker: str, counts: dict[str, int], records: int) -> None:
    """Log candidate pairs per blocking key, before scoring (as splink prints them)."""
    for key, n in counts.items():
        per = n / records if records else 0.0
        logger.info(
            f"identity {linker}: blocking key {key}: {n:,} candidate pairs ({per:.3f} per record)"
        )
