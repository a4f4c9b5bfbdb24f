"""``violation_id``: a fingerprint of rule + subject that is the same night after night.

The digest is SHA-256 (``hashlib``) of a canonical text — the rule code and the
subject columns of its kind (``xueji.rules.base.SUBJECTS``), each written out as text
with a unit separator between them — cut to 16 hex characters. Polars' own ``hash``
is not used because its values may change between Polars versions; SHA-256 of a
fixed text never does. Detail, evidence and severity are left out on purpose: a class
that grows from 60 to 67 is still the same 大班额 finding.

Two findings with the same rule and subject (e.g. one student_no registered twice at
one school) are told apart by their order among equals, numbered from the second.
"""

from __future__ import annotations

import hashlib

import polars as pl

from xueji.rules.base import SUBJECTS
from xueji.rules.catalogue import all_rules

SEPARATOR = "\x1f"
NULL = "\x00"
ID_LENGTH = 16


def subject_key(findings: pl.DataFrame) -> pl.Expr:
    """The canonical text of each finding's rule and subject columns."""
    kinds = {rule.code: rule.subject for rule in all_rules()}
    key: pl.Expr = pl.lit(None, pl.String)
    for kind, columns in SUBJECTS.items():
        codes = [code for code, k in kinds.items() if k == kind]
        parts = [pl.col("rule")] + [pl.col(c).cast(pl.String).fill_null(NULL) for c in columns]
        key = pl.when(pl.col("rule").is_in(codes)).then(pl.concat_str(parts, separator=SEPARATOR)).otherwise(key)
    # A rule that is not in the catalogue (a test's own) is keyed on every identifying column.
    fallback = [pl.col("rule")] + [
        pl.col(c).cast(pl.String).fill_null(NULL) for c in ("county_code", "school_code", "grade", "class_name", "student_no", "id_number", "name")
    ]
    return key.fill_null(pl.concat_str(fallback, separator=SEPARATOR))


def digest(texts: list[str]) -> list[str]:
    """The first 16 hex characters of each text's SHA-256."""
    return [hashlib.sha256(t.encode("utf-8")).hexdigest()[:ID_LENGTH] for t in texts]


def add_violation_ids(findings: pl.DataFrame) -> pl.DataFrame:
    """``findings`` with ``violation_id`` as its first column."""
    if findings.height == 0:
        return findings.select(pl.lit(None, pl.String).alias("violation_id"), pl.all())
    order = [c for c in findings.columns if c != "evidence"] + ["evidence"]
    keyed = (
        findings.sort(order, nulls_last=True)
        .with_columns(subject_key(findings).alias("_key"))
        .with_columns(pl.int_range(pl.len()).over("_key").alias("_nth"))
        .with_columns(
            pl.when(pl.col("_nth") == 0)
            .then(pl.col("_key"))
            .otherwise(pl.concat_str(pl.col("_key"), pl.lit(SEPARATOR + "#"), pl.col("_nth").cast(pl.String)))
            .alias("_key")
        )
    )
    ids = pl.Series("violation_id", digest(keyed["_key"].to_list()), dtype=pl.String)
    return keyed.drop("_key", "_nth").with_columns(ids).select("violation_id", *findings.columns)
