"""Tonight's findings against the previous run's: new, persisting, resolved."""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

CHANGES = ("new", "persisting", "dismissed")


def mark_changes(findings: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """``findings`` with ``change``: ``persisting`` when the previous run had the same
    violation_id, else ``new`` (every finding is new on a first run)."""
    if previous is None or previous.height == 0:
        return findings.with_columns(pl.lit("new").alias("change"))
    seen = previous.select("violation_id").unique().with_columns(pl.lit(True).alias("_seen"))
    return (
        findings.join(seen, on="violation_id", how="left")
        .with_columns(pl.when(pl.col("_seen")).then(pl.lit("persisting")).otherwise(pl.lit("new")).alias("change"))
        .drop("_seen")
    )


def resolved_findings(current: pl.DataFrame, previous: pl.DataFrame | None, rules_run: Collection[str]) -> pl.DataFrame:
    """The previous run's findings that are gone tonight.

    Only rules that ran tonight can resolve a finding: a rule skipped for want of an
    optional table says nothing about last night's findings.
    """
    if previous is None:
        return pl.DataFrame(schema={"violation_id": pl.String, "rule": pl.String})
    return previous.filter(pl.col("rule").is_in(list(rules_run))).join(
        current.select("violation_id"), on="violation_id", how="anti"
    )
