"""``summary.json``: what a run read, how much of it the rules could see, what it found.

Coverage figures are lazy plans collected together with the rule plans, so they reuse
the scans the rules make instead of reading the inputs again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from xueji.audit.context import RuleStatus
from xueji.io import Inputs
from xueji.rules.base import SEVERITIES, AuditContext
from xueji.rules.catalogue import rule_by_code
from xueji.rules.frames import records

COVERAGE_KEYS = ("registry", "attendance", "enrolled_at_schools_with_attendance")


def coverage_plans(ctx: AuditContext) -> list[pl.LazyFrame]:
    """Plans for the coverage figures, in COVERAGE_KEYS order (one row each)."""
    recs = records(ctx)
    registry = recs.select(
        pl.len().alias("rows"),
        pl.col("is_active").sum().alias("active"),
        pl.col("is_enrolled").sum().alias("enrolled"),
        pl.col("school_code").is_null().sum().alias("school_unknown"),
        pl.col("status").is_null().sum().alias("status_unknown"),
    )
    if not ctx.has("attendance"):
        return [registry]
    # Rows per school day, from the attendance digest: the rows are never read again.
    att = ctx.identity.attendance_days.lazy().filter(pl.col("date") <= ctx.as_of)
    attendance = att.select(
        pl.col("rows").sum().alias("rows_up_to_as_of"),
        pl.col("school_code").drop_nulls().n_unique().alias("schools_with_attendance"),
        pl.col("date").min().dt.to_string("%Y-%m-%d").alias("first_date"),
        pl.col("date").max().dt.to_string("%Y-%m-%d").alias("last_date"),
    )
    att_schools = att.select("school_code").drop_nulls().unique()
    enrolled_there = recs.filter(pl.col("is_enrolled")).join(att_schools, on="school_code", how="semi").select(pl.len().alias("records"))
    return [registry, attendance, enrolled_there]


def _method_counts(frame: pl.DataFrame) -> dict[str, int]:
    if frame.height == 0:
        return {}
    counts = frame.group_by("method").len().sort("method")
    return {str(m): int(n) for m, n in counts.iter_rows()}


def coverage(ctx: AuditContext, collected: Sequence[pl.DataFrame], inputs: Inputs) -> dict[str, Any]:
    """The coverage section: registry, schools, attendance and residence linking, data errors."""
    out: dict[str, Any] = {}
    registry = collected[0].row(0, named=True) if collected else {}
    out["registry"] = {k: int(v or 0) for k, v in registry.items()}
    schools_total = int(ctx.tables["schools"].select(pl.len()).collect().item())
    out["schools"] = {"total": schools_total}
    if ctx.has("attendance") and len(collected) >= 3:
        att = collected[1].row(0, named=True)
        with_att = int(att["schools_with_attendance"] or 0)
        out["schools"]["with_attendance"] = with_att
        out["schools"]["share_with_attendance"] = round(with_att / schools_total, 4) if schools_total else None
        persons = ctx.identity.attendance_persons
        linked = int(persons["record_row"].is_not_null().sum()) if persons.height else 0
        out["attendance"] = {
            "rows_up_to_as_of": int(att["rows_up_to_as_of"] or 0),
            "first_date": att["first_date"],
            "last_date": att["last_date"],
            "persons": persons.height,
            "persons_linked": linked,
            "share_linked": round(linked / persons.height, 4) if persons.height else None,
            "link_methods": _method_counts(persons),
            "enrolled_records_at_schools_with_attendance": int(collected[2].item()),
        }
    if ctx.has("residence"):
        links = ctx.identity.residence_links
        linked = int(links["record_row"].is_not_null().sum()) if links.height else 0
        out["residence"] = {
            "rows": links.height,
            "rows_linked": linked,
            "share_linked": round(linked / links.height, 4) if links.height else None,
            "link_methods": _method_counts(links),
        }
    errors = inputs.data_errors
    out["data_errors"] = {
        "total": errors.height,
        "rows_with_errors": _rows_with_errors(inputs),
        "by_column": {
            f"{f}:{c}": int(n) for f, c, n in errors.group_by("file", "column").len().sort("file", "column").iter_rows()
        },
    }
    return out


def _rows_with_errors(inputs: Inputs) -> dict[str, int]:
    """Per file, the data rows with at least one error. A required column the file lacks
    (an error whose row is null) is an error on every row of that file."""
    errors = inputs.data_errors
    every_row = set(errors.filter(pl.col("row").is_null())["file"].to_list())
    rows = {src.path.name: src.rows for src in inputs.sources.values()}
    counted = errors.group_by("file").agg(pl.col("row").drop_nulls().n_unique().alias("n")).sort("file")
    return {str(f): rows.get(str(f), int(n)) if f in every_row else int(n) for f, n in counted.iter_rows()}


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def inputs_section(inputs: Inputs) -> dict[str, Any]:
    """Each table's file, format, encoding, header languages, row count and SHA-256."""
    out: dict[str, Any] = {}
    for name, src in inputs.sources.items():
        out[name] = {
            "file": src.path.name,
            "format": src.format,
            "encoding": src.encoding,
            "header_languages": list(src.header_languages),
            "rows": src.rows,
            "sha256": file_sha256(src.path),
        }
        if src.unknown_headers:
            out[name]["unknown_headers"] = list(src.unknown_headers)
        if src.missing_columns:
            out[name]["missing_columns"] = list(src.missing_columns)
    return out


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    if frame.height == 0:
        return {}
    counts = frame.group_by(column).len().sort(column, nulls_last=True)
    return {("(unknown)" if k is None else str(k)): int(n) for k, n in counts.iter_rows()}


def findings_section(violations: pl.DataFrame) -> dict[str, Any]:
    """Counts by rule, severity, county and change, and rule × severity."""
    by_severity = _counts(violations, "severity")
    return {
        "total": violations.height,
        "by_rule": _counts(violations, "rule"),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
        "by_county": _counts(violations, "county_code"),
        "by_change": _counts(violations, "change"),
        "by_rule_and_severity": {
            rule: {str(sev): int(n) for _, sev, n in part.iter_rows()}
            for (rule,), part in violations.group_by("rule", "severity").len().sort("rule", "severity").group_by("rule", maintain_order=True)
        }
        if violations.height
        else {},
    }


def rules_section(statuses: Sequence[RuleStatus], violations: pl.DataFrame) -> dict[str, Any]:
    """Every rule asked for: title, severity, whether it ran (or why not) and its findings."""
    counts = _counts(violations, "rule")
    out: dict[str, Any] = {}
    for st in statuses:
        rule = rule_by_code(st.code)
        entry: dict[str, Any] = {
            "title": rule.title,
            "severity": rule.severity,
            "status": "failed" if st.error else ("ran" if st.ran else "skipped"),
        }
        if st.ran and not st.error:
            entry["findings"] = counts.get(st.code, 0)
        if st.reason:
            entry["reason"] = st.reason
        if st.note:
            entry["note"] = st.note
        if st.error:
            entry["error"] = st.error
        out[st.code] = entry
    return out


def resolved_section(resolved: pl.DataFrame, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The previous run's findings that are gone: count, by rule, and the list."""
    return {
        "previous_run": previous,
        "total": resolved.height,
        "by_rule": _counts(resolved, "rule"),
        "findings": resolved.sort("rule", "violation_id").to_dicts(),
    }
