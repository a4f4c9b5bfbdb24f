"""splink (DuckDB backend) on the same registry, for ``benchmarks/identity.py``.

A reasonable configuration for Chinese registry data, given the same normalised
features xueji computes (``name_key``: script/spacing-normalised name; ``pinyin``;
``birth_date_swapped``; ``county``/``hukou``) and the same blocking keys, so the
comparison is about the engines, not about who blocks better:

- blocking: ``id_number``; ``pinyin`` + ``birth_date``; ``pinyin`` + swapped birth date;
- comparisons: ID number (exact / Damerau-Levenshtein 1 / 2 / else), name (exact key /
  same pinyin / else), birth date (exact / day-month swapped / else), gender (exact),
  place (same hukou / same county / else);
- training: λ from the deterministic rule ``id_number``, u by random sampling (10^6
  pairs, splink's default), m by
  expectation maximisation on two blocking rules; clusters at match probability 0.9.

splink's time starts when the prepared frame is handed to DuckDB: it does not include
the name normalisation, which xueji's time does include.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import polars as pl

SPLINK_COLUMNS = (
    "unique_id",
    "id_number",
    "name_key",
    "pinyin",
    "birth_date",
    "birth_date_swapped",
    "gender",
    "county",
    "hukou",
)
CLUSTER_THRESHOLD = 0.9


def splink_settings() -> Any:
    """The splink settings (SettingsCreator)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("id_number"),
            block_on("pinyin", "birth_date"),
            "l.pinyin = r.pinyin and l.birth_date_swapped = r.birth_date",
        ],
        comparisons=[
            cl.CustomComparison(
                output_column_name="id_number",
                comparison_levels=[
                    cll.NullLevel("id_number"),
                    cll.ExactMatchLevel("id_number"),
                    cll.DamerauLevenshteinLevel("id_number", 1),
                    cll.DamerauLevenshteinLevel("id_number", 2),
                    cll.ElseLevel(),
                ],
            ),
            cl.CustomComparison(
                output_column_name="name",
                comparison_levels=[
                    cll.NullLevel("name_key"),
                    cll.ExactMatchLevel("name_key"),
                    cll.ExactMatchLevel("pinyin"),
                    cll.ElseLevel(),
                ],
            ),
            cl.CustomComparison(
                output_column_name="birth_date",
                comparison_levels=[
                    cll.NullLevel("birth_date"),
                    cll.ExactMatchLevel("birth_date"),
                    cll.CustomLevel("birth_date_swapped_l = birth_date_r", "day and month swapped"),
                    cll.ElseLevel(),
                ],
            ),
            cl.ExactMatch("gender"),
            cl.CustomComparison(
                output_column_name="place",
                comparison_levels=[
                    cll.NullLevel("county"),
                    cll.ExactMatchLevel("hukou"),
                    cll.ExactMatchLevel("county"),
                    cll.ElseLevel(),
                ],
            ),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def run_splink(features: pl.DataFrame) -> tuple[pl.DataFrame, int, dict[str, float]]:
    """Cluster ``features`` (SPLINK_COLUMNS) with splink; returns (unique_id → cluster_id,
    pairs scored, seconds per phase)."""
    from splink import DuckDBAPI, Linker, block_on

    t0 = time.perf_counter()
    db_api = DuckDBAPI()
    table = db_api.register(features.select(list(SPLINK_COLUMNS)).to_arrow())
    linker = Linker(table, splink_settings(), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_number")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("pinyin", "birth_date")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("county", "birth_date", "gender")
    )
    t1 = time.perf_counter()
    pairs = linker.inference.predict()
    n_pairs = int(pairs.as_duckdbpyrelation().aggregate("count(*)").fetchall()[0][0])
    t2 = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, CLUSTER_THRESHOLD)
    out = pl.from_arrow(clusters.as_duckdbpyrelation().select("unique_id, cluster_id").arrow())
    assert isinstance(out, pl.DataFrame)
    t3 = time.perf_counter()
    return out, n_pairs, {"train": t1 - t0, "predict": t2 - t1, "cluster": t3 - t2}
