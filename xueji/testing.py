"""Helpers for rule case tables: run rules on crafted frames and get their findings.

Tests (and province teams writing their own cases) call ``run_rules`` with small
typed frames instead of files; the same identity resolution and rule plans run as in
an audit, so a case table asserts what an inspector would see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import polars as pl

from xueji.config import Config, load_config
from xueji.io import ROW, load_schemas
from xueji.io.normalise import DTYPES


def typed_table(table: str, rows: Iterable[Mapping[str, object]] | pl.DataFrame) -> pl.LazyFrame:
    """A crafted table as the loader would hand it over: every schema column present, typed,
    defaults filled, and ``_row`` numbered from 1."""
    schema = load_schemas()[table]
    df = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(list(rows), infer_schema_length=None)
    cols = []
    for f in schema.fields:
        dtype = DTYPES[f.type]
        if f.name in df.columns:
            expr = pl.col(f.name).cast(dtype)
            if f.default is not None:
                expr = expr.fill_null(pl.lit(f.default, dtype))
        else:
            expr = pl.lit(f.default, dtype) if f.default is not None else pl.lit(None, dtype)
        cols.append(expr.alias(f.name))
    if df.height == 0 and not df.columns:
        df = pl.DataFrame({"_dummy": []})
    out = df.lazy().with_row_index(ROW, offset=1).select(pl.col(ROW).cast(pl.Int64), *cols)
    return out


def typed_tables(**tables: Iterable[Mapping[str, object]] | pl.DataFrame) -> dict[str, pl.LazyFrame]:
    """``typed_table`` for each keyword (schools=..., registry=..., attendance=...)."""
    return {name: typed_table(name, rows) for name, rows in tables.items()}


def default_config(**overrides: object) -> Config:
    """The national defaults with some thresholds replaced (for near-miss cases)."""
    cfg = load_config()
    values = dict(cfg.values) | dict(overrides)
    return Config(values, cfg.sources, cfg.path, cfg.tables, cfg.holidays)


def empty_transfers(kind: str) -> pl.DataFrame:
    """The workflow facts a rule reads, with no rows (``completed`` or ``overdue``)."""
    if kind == "completed":
        return pl.DataFrame(
            schema={"student_no": pl.String, "from_school_code": pl.String, "to_school_code": pl.String, "completed_on": pl.Date}
        )
    return pl.DataFrame(
        schema={
            "transfer_id": pl.Int64,
            "student_no": pl.String,
            "from_school_code": pl.String,
            "to_school_code": pl.String,
            "state": pl.String,
            "waiting_since": pl.Date,
            "working_days_waited": pl.Int64,
            "next_party": pl.String,
        }
    )


def run_rules(
    tables: Mapping[str, pl.LazyFrame],
    as_of: date,
    codes: Iterable[str] | None = None,
    cfg: Config | None = None,
    completed_transfers: pl.DataFrame | None = None,
    overdue_transfers: pl.DataFrame | None = None,
    previous_registry: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Resolve identities and evaluate ``codes`` (default: every rule whose tables are
    present) on typed frames; returns the findings sorted by rule and subject."""
    from xueji.identity import resolve_identities
    from xueji.rules.base import AuditContext
    from xueji.rules.catalogue import all_rules, rule_by_code

    cfg = cfg or load_config()
    ident = resolve_identities(dict(tables), cfg, as_of)
    ctx = AuditContext(
        as_of=as_of,
        cfg=cfg,
        tables=dict(tables),
        identity=ident,
        completed_transfers=completed_transfers if completed_transfers is not None else empty_transfers("completed"),
        overdue_transfers=overdue_transfers if overdue_transfers is not None else empty_transfers("overdue"),
        previous_registry=previous_registry,
    )
    rules = [rule_by_code(c) for c in codes] if codes is not None else [r for r in all_rules() if ctx.has(*r.needs)]
    if not rules:
        from xueji.rules.base import FINDING_SCHEMA

        return pl.DataFrame(schema=FINDING_SCHEMA)
    frames = pl.collect_all([r.build(ctx) for r in rules])
    return pl.concat(frames, how="vertical").sort("rule", "school_code", "student_no", "name", nulls_last=True)
