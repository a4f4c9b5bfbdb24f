"""Exports for other systems: CSV, Parquet and a JSON findings report.

CSV and Parquet keep the violations columns of contract section 5 (English names, so a
program reading ``violations.csv`` reads these too), masked unless ``--show-ids``.

The JSON report follows the shape of a Frictionless validation report: a top-level
``valid`` flag and ``stats``, the run's metadata, then one object per finding with its
``type`` (the rule code), ``title``, ``message`` and the evidence as a JSON object
rather than a string. Every key is documented in the README.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from xueji.reports.labels import DISMISSAL_COLUMNS, VIOLATION_COLUMNS, rule_titles
from xueji.reports.runs import write_atomic
from xueji.reports.summary import Report

JSON_PROFILE = "xueji-findings/1"
FORMATS = ("xlsx", "html", "csv", "parquet", "json")


def export_columns(findings: pl.DataFrame) -> list[str]:
    """Contract columns, then dismissal details when the register filled any."""
    columns = [c for c in VIOLATION_COLUMNS if c in findings.columns]
    for column in DISMISSAL_COLUMNS:
        if column in findings.columns and findings.get_column(column).null_count() < findings.height:
            columns.append(column)
    return columns


def write_csv(report: Report, path: Path, *, private: bool = False) -> Path:
    """The report's findings as UTF-8 CSV with a BOM (Excel opens it as Chinese text)."""
    frame = report.findings.select(export_columns(report.findings))
    return write_atomic(
        path,
        lambda tmp: frame.write_csv(tmp, include_bom=True, datetime_format="%Y-%m-%dT%H:%M:%S%z"),
        private=private,
    )


def write_parquet(report: Report, path: Path, *, private: bool = False) -> Path:
    """The report's findings as Parquet (zstd), column types kept."""
    frame = report.findings.select(export_columns(report.findings))
    return write_atomic(path, lambda tmp: frame.write_parquet(tmp), private=private)


def _finding_objects(findings: pl.DataFrame) -> pl.Series:
    """One JSON object per finding, built in one vectorised pass.

    Evidence is already JSON text written by the rule; it is spliced in as an object
    instead of being quoted as a string (anything that is not an object or array stays
    a quoted string, so the document is always valid JSON).
    """
    titles = rule_titles()
    fields: dict[str, pl.Expr] = {
        "violation_id": pl.col("violation_id"),
        "type": pl.col("rule"),
        "title": pl.col("rule").replace_strict(titles, default=pl.col("rule")),
        "severity": pl.col("severity"),
        "change": pl.col("change"),
        "message": pl.col("detail"),
        "county_code": pl.col("county_code"),
        "school_code": pl.col("school_code"),
        "grade": pl.col("grade"),
        "class_name": pl.col("class_name"),
        "student_no": pl.col("student_no"),
        "id_number": pl.col("id_number"),
        "name": pl.col("name"),
        "group_id": pl.col("group_id"),
    }
    for column in DISMISSAL_COLUMNS:
        if column in findings.columns:
            expr = pl.col(column)
            if isinstance(findings.schema[column], pl.Datetime):
                expr = expr.dt.to_string("iso")
            fields[column] = expr
    body = pl.struct([expr.alias(name) for name, expr in fields.items()]).struct.json_encode()
    evidence = pl.col("evidence").str.strip_chars()
    evidence_json = (
        pl.when(evidence.str.contains(r"^[\[{]"))
        .then(evidence)
        .when(evidence.is_null())
        .then(pl.lit("null"))
        .otherwise(pl.struct(e=evidence).struct.json_encode().str.slice(5).str.strip_suffix("}"))
    )
    return findings.select(
        pl.concat_str(body.str.strip_suffix("}"), pl.lit(',"evidence":'), evidence_json, pl.lit("}")).alias("json")
    ).to_series()


def json_document(report: Report) -> tuple[dict[str, Any], pl.Series]:
    """The JSON report's head (everything but the findings) and the findings as JSON texts."""
    totals = report.totals()
    summary = report.summary
    by_rule = report.by_rule()
    head: dict[str, Any] = {
        "profile": JSON_PROFILE,
        "valid": totals["findings"] == 0,
        "run": {
            "name": report.run_name,
            "as_of": report.as_of.isoformat() if report.as_of else None,
            "inputs": summary.get("inputs"),
            "scope": summary.get("scope"),
            "timings": summary.get("timings_seconds", summary.get("timings")),
        },
        "generated_at": report.generated_at.isoformat(),
        "generator": f"xueji {report.version}",
        "masked": report.masked,
        "filters": report.filters.as_dict(),
        "stats": {
            "findings": totals["findings"],
            "new": totals["new"],
            "persisting": totals["persisting"],
            "resolved": totals["resolved"],
            "dismissed": totals["dismissed"],
            "by_severity": {r["severity"]: r["findings"] for r in report.by_severity().iter_rows(named=True)},
            "by_rule": {r["rule"]: r["findings"] for r in by_rule.iter_rows(named=True)},
        },
    }
    return head, _finding_objects(report.findings)


def write_json(report: Report, path: Path, *, private: bool = False) -> Path:
    """The JSON report: run metadata and stats, then ``findings`` (one object each)."""
    head, objects = json_document(report)
    opening = json.dumps(head, ensure_ascii=False, indent=2)
    # The head is a small dict; the findings list is joined as text so 100,000 findings
    # never become 100,000 Python dicts.
    items = ",\n    ".join(objects.to_list())
    listing = f"[\n    {items}\n  ]" if items else "[]"
    text = opening[:-2] + f',\n  "findings": {listing}\n}}\n'
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), private=private)
