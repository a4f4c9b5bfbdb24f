"""Candidate pairs per blocking key, counted without scoring (``explain-config --data``)."""

from __future__ import annotations

import polars as pl

from xueji.config import Config
from xueji.identity.attendance import attendance_pair_counts
from xueji.identity.link import count_pairs, registry_features
from xueji.identity.residence import residence_features
from xueji.identity.spec import attendance_spec, dedupe_spec, residence_spec
from xueji.io.digest import AttendanceDigest


def candidate_pair_counts(
    tables: dict[str, pl.LazyFrame], cfg: Config, attendance: AttendanceDigest | None = None
) -> dict[str, dict[str, int]]:
    """{linker: {blocking key: candidate pairs}} for the tables supplied (``attendance``:
    the loader's digest of the attendance table, made here when not given)."""
    feat = registry_features(tables["registry"].collect())
    dspec = dedupe_spec(cfg)
    out = {dspec.name: {b.name: count_pairs(feat, None, b) for b in dspec.blocking}}
    rec = feat.with_columns(pl.lit(None, pl.Int64).alias("person_id"))
    if "attendance" in tables:
        aspec = attendance_spec(cfg)
        out[aspec.name] = attendance_pair_counts(attendance or tables["attendance"], rec, aspec)
    if "residence" in tables:
        rspec = residence_spec(cfg)
        res = residence_features(tables["residence"].collect())
        out[rspec.name] = {b.name: count_pairs(res, rec, b) for b in rspec.blocking}
    return out
