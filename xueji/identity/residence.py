"""Residence rows (户籍 and residence permits) linked to registry records.

By ID number first; a row that finds no record by ID is tried by name sound, birth
date and gender against records whose ID number is missing or mistyped — so a child
whose registry ID was typed wrong is not reported as out of school. A record with a
different *valid* ID number is another person (``residence_spec`` vetoes it).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from loguru import logger

from xueji.identity.idsim import id_state
from xueji.identity.link import add_pair_scores, block_pairs, count_pairs, log_counts, pair_frame
from xueji.identity.names import with_name_keys
from xueji.identity.result import RESIDENCE_LINKS_SCHEMA
from xueji.identity.spec import LinkSpec

_COLS = (
    "_row",
    "id_number",
    "id_state",
    "name_key",
    "pinyin",
    "birth_date",
    "gender",
    "hukou",
    "county",
)
_RECORD_COLS = (*_COLS, "active", "person_id")
# What ``_best`` reads of a scored pair frame.
_CAND_COLS = (
    "_i",
    "_j",
    "match_weight",
    "name_score",
    "active_r",
    "person_id_r",
    "id_number",
    "evidence",
)


@dataclass
class ResidenceResult:
    """One link row per residence row, and the candidate pairs per blocking key."""

    links: pl.DataFrame
    counts: dict[str, int]


def _best(cands: pl.DataFrame, method: str) -> pl.DataFrame:
    """The best record per residence row; a tie between two registry persons links nothing."""
    order = ["match_weight", "name_score", "active_r"]
    # A residence row with one candidate takes it: only rows with several are ranked.
    several = pl.len().over("_i") > 1
    single = cands.filter(~several)
    c = (
        cands.filter(several)
        .sort("_i", *order, "_j", descending=[False, True, True, True, False])
        .with_columns(pl.int_range(pl.len()).over("_i").alias("_rank"))
    )
    top = c.filter(pl.col("_rank") == 0)
    ties = c.join(
        top.select(
            "_i",
            *[pl.col(k).alias(f"_t_{k}") for k in order],
            pl.col("person_id_r").alias("_t_pid"),
        ),
        on="_i",
    ).filter(
        pl.all_horizontal([pl.col(k) == pl.col(f"_t_{k}") for k in order])
        & (pl.col("person_id_r") != pl.col("_t_pid"))
    )
    top = top.join(ties.select("_i").unique(), on="_i", how="anti")
    return pl.concat([single, top.drop("_rank")]).select(
        pl.col("_i").alias("_row"),
        pl.col("_j").alias("record_row"),
        pl.col("person_id_r").alias("person_id"),
        pl.lit(method).alias("method"),
        pl.when(pl.col("id_number") == "exact")
        .then(1.0)
        .otherwise(pl.col("name_score"))
        .alias("score"),
        "evidence",
    )


def residence_features(
    residence: pl.DataFrame, known: pl.DataFrame | None = None, with_id_state: bool = True
) -> pl.DataFrame:
    """Residence rows with the comparison features (``known``: names already keyed, see
    ``with_name_keys``; ``with_id_state`` False leaves ``id_state`` null)."""
    out = with_name_keys(
        residence.select(
            "_row",
            "id_number",
            "name",
            "birth_date",
            "gender",
            pl.col("hukou_area_code").alias("hukou"),
            pl.col("hukou_area_code").str.slice(0, 6).alias("county"),
        ),
        known=known,
    )
    state = id_state(pl.col("id_number")) if with_id_state else pl.lit(None, pl.String)
    return out.with_columns(state.alias("id_state")).select(list(_COLS))


def _exact_pairs(res: pl.DataFrame, rec: pl.DataFrame) -> pl.DataFrame:
    """The pair frame of the ``exact_id`` key (what ``block_pairs`` then ``pair_frame``
    give), made by one join of the two feature frames."""
    left = res.rename({c: f"{c}_l" for c in res.columns})
    right = rec.rename({c: f"{c}_r" for c in rec.columns})
    return left.join(
        right, left_on="id_number_l", right_on="id_number_r", how="inner", coalesce=False
    ).select(
        pl.col("_row_l").alias("_i"), pl.col("_row_r").alias("_j"), *left.columns, *right.columns
    )


def link_residence(
    residence: pl.DataFrame, records: pl.DataFrame, spec: LinkSpec, count_candidates: bool = True
) -> ResidenceResult:
    """Link each residence row to a registry record (``records``: features + person_id).

    ``count_candidates``: count (and log) the candidate pairs of every blocking key — a
    diagnostic join the nightly audit skips, as it does for attendance.
    """
    # The registry's name keys are reused (most residence names are registry names), and
    # GB 11643 is checked only for rows left to the name step: an exact-ID pair is decided
    # by its first ID level, whatever the state of the number.
    known = records if "name" in records.columns else None
    res = residence_features(residence, known=known, with_id_state=False)
    rec = records.select(list(_RECORD_COLS))
    keys = {b.name: b for b in spec.blocking}

    def scored(frame: pl.DataFrame) -> pl.DataFrame:
        return spec.score(add_pair_scores(frame), extra_scores=("name_score", "id_edits"))

    exact_frame = _exact_pairs(res, rec)
    counts: dict[str, int] = {}
    if count_candidates:
        counts = {
            k: exact_frame.height if k == "exact_id" else count_pairs(res, rec, b)
            for k, b in keys.items()
        }
        log_counts(spec.name, counts, res.height)
    exact = scored(exact_frame).select(_CAND_COLS).filter(pl.col("id_number") == "exact")
    by_id = _best(exact, "exact_id")
    rest = (
        res.join(by_id.select("_row"), on="_row", how="anti")
        .with_columns(id_state(pl.col("id_number")).alias("id_state"))
    )
    name_pairs = block_pairs(rest, rec, keys["pinyin_birth_gender"], "_row", "_row")
    cands = (
        scored(pair_frame(name_pairs, rest, rec, "_row", "_row"))
        .filter("is_match")
        .select(_CAND_COLS)
    )
    by_name = _best(cands, "name_birth_gender")
    linked = pl.concat([by_id, by_name])
    out = (
        residence.select("_row", "id_number")
        .join(linked, on="_row", how="left", maintain_order="left")
        .with_columns(
            pl.col("method").fill_null("unlinked"),
            pl.col("score").fill_null(0.0),
            pl.col("evidence").fill_null('{"linker":"residence","levels":null}'),
        )
        .select(list(RESIDENCE_LINKS_SCHEMA))
        .cast(pl.Schema(RESIDENCE_LINKS_SCHEMA))
    )
    if not out["_row"].is_sorted():  # the loader numbers rows in order: usually sorted
        out = out.sort("_row")
    by_method = out.group_by("method").len().sort("method").rows()
    logger.info(
        f"identity residence: {out.height:,} rows; " + ", ".join(f"{m} {n:,}" for m, n in by_method)
        + f"; pairs scored: exact_id {exact_frame.height:,}, pinyin_birth_gender {name_pairs.height:,}"
    )
    return ResidenceResult(out, counts)


def empty_residence() -> ResidenceResult:
    """The result when no residence table was supplied."""
    return ResidenceResult(pl.DataFrame(schema=RESIDENCE_LINKS_SCHEMA), {})
