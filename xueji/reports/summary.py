"""What every report format shows, computed once: filtered findings and their summary tables.

``build_report`` reads a run folder, applies the filters, masks identity numbers (unless
told not to) and gathers the resolved findings and the trend over earlier runs. Each
format (xlsx, html, csv, parquet, json) then only lays the same tables out.

Dismissed findings stay in the findings (marked ``dismissed``) but are left out of
every count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from xueji import __version__
from xueji.reports.labels import (
    CHANGE_LABELS,
    SEVERITIES,
    SEVERITY_LABELS,
    rule_order,
    rule_severities,
    rule_title,
)
from xueji.reports.masking import mask_findings
from xueji.reports.runs import (
    SUMMARY_FILE,
    VIOLATIONS_FILE,
    display_name,
    load_summary,
    previous_runs,
    scan_violations,
    summary_as_of,
)

DEFAULT_TREND_RUNS = 12
# Columns of the resolved list, when the run can tell which findings were resolved.
RESOLVED_COLUMNS = ("violation_id", "rule", "severity", "county_code", "school_code", "grade",
                    "class_name", "student_no", "id_number", "name", "detail")  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """Which findings a report covers; an empty tuple means "all"."""

    counties: tuple[str, ...] = ()
    schools: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()

    def expr(self, names: Iterable[str]) -> pl.Expr:
        """A filter over the columns in ``names`` (a filter on an absent column keeps nothing)."""
        present = set(names)
        cond = pl.lit(True)
        for column, values in self._pairs():
            if values:
                cond = cond & (pl.col(column).is_in(values) if column in present else pl.lit(False))
        return cond

    def _pairs(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return (
            ("county_code", self.counties),
            ("school_code", self.schools),
            ("rule", self.rules),
            ("severity", self.severities),
        )

    def as_dict(self) -> dict[str, list[str]]:
        """The filters that are set, for JSON and the unmasked-export record."""
        keys = {"county_code": "county", "school_code": "school", "rule": "rule", "severity": "severity"}
        return {keys[c]: list(v) for c, v in self._pairs() if v}

    def describe(self) -> str:
        """``区县 430104; 规则 ID_INVALID`` or ``全部``."""
        labels = {"county_code": "区县", "school_code": "学校", "rule": "规则", "severity": "严重程度"}
        parts = [f"{labels[c]} {', '.join(v)}" for c, v in self._pairs() if v]
        return "; ".join(parts) if parts else "全部"


@dataclass
class Report:
    """One run's findings, filtered and (by default) masked, with what the summaries need."""

    run_dir: Path
    run_name: str
    as_of: date | None
    generated_at: datetime
    masked: bool
    filters: Filters
    summary: dict[str, Any]
    findings: pl.DataFrame
    resolved: pl.DataFrame | None
    resolved_count: int
    trend: pl.DataFrame
    version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def counted(self) -> pl.DataFrame:
        """The findings that count: every one not dismissed."""
        return self.findings.filter(pl.col("change") != "dismissed")

    def rules(self) -> list[str]:
        """Rule codes with at least one finding (dismissed included), in catalogue order."""
        present = set(self.findings.get_column("rule").unique().drop_nulls().to_list())
        if self.resolved is not None:
            present |= set(self.resolved.get_column("rule").unique().drop_nulls().to_list())
        return ordered_rules(present)

    def by_rule(self) -> pl.DataFrame:
        """One row per rule: findings (counted), new, persisting, resolved, dismissed."""
        counts = self.findings.group_by("rule").agg(
            (pl.col("change") != "dismissed").sum().alias("findings"),
            (pl.col("change") == "new").sum().alias("new"),
            (pl.col("change") == "persisting").sum().alias("persisting"),
            (pl.col("change") == "dismissed").sum().alias("dismissed"),
            pl.col("severity").drop_nulls().mode().first().alias("severity"),
        )
        if self.resolved is not None:
            resolved = self.resolved.group_by("rule").agg(pl.len().alias("resolved"))
        else:
            resolved = pl.DataFrame(schema={"rule": pl.String, "resolved": pl.UInt32})
        codes = pl.DataFrame({"rule": self.rules()}, schema={"rule": pl.String})
        table = (
            codes.join(counts, on="rule", how="left")
            .join(resolved, on="rule", how="left")
            .with_columns(pl.col("findings", "new", "persisting", "dismissed", "resolved").fill_null(0).cast(pl.Int64))
        )
        return table.with_columns(
            pl.col("rule").replace_strict(_titles(table), default=pl.col("rule")).alias("title"),
            pl.col("severity").fill_null(pl.col("rule").replace_strict(rule_severities(), default=None)),
        ).select("rule", "title", "severity", "findings", "new", "persisting", "resolved", "dismissed")

    def by_severity(self) -> pl.DataFrame:
        """One row per severity, critical first: findings, new, persisting."""
        levels = pl.DataFrame({"severity": list(SEVERITIES)})
        counts = self.counted.group_by("severity").agg(
            pl.len().alias("findings"),
            (pl.col("change") == "new").sum().alias("new"),
            (pl.col("change") == "persisting").sum().alias("persisting"),
        )
        return (
            levels.join(counts, on="severity", how="left", maintain_order="left")
            .with_columns(pl.col("findings", "new", "persisting").fill_null(0).cast(pl.Int64))
            .with_columns(pl.col("severity").replace_strict(SEVERITY_LABELS).alias("label"))
            .select("severity", "label", "findings", "new", "persisting")
        )

    def counties(self) -> list[str]:
        """County codes with counted findings, sorted; a finding with no county shows as ``-``."""
        values = self.counted.get_column("county_code").fill_null("-").unique().to_list()
        return sorted(values)

    def rule_by_county(self) -> pl.DataFrame:
        """Counted findings as a rule × county table, with a total column and row."""
        counties = self.counties()
        rules = self.by_rule().select("rule", "title")
        if not counties:
            return rules.with_columns(pl.lit(0, pl.Int64).alias("total"))
        long = self.counted.group_by("rule", pl.col("county_code").fill_null("-")).agg(pl.len().alias("n"))
        wide = long.pivot(on="county_code", index="rule", values="n", on_columns=counties)
        table = rules.join(wide, on="rule", how="left").with_columns(
            pl.col(counties).fill_null(0).cast(pl.Int64)
        )
        return table.with_columns(pl.sum_horizontal(counties).alias("total"))

    def by_county(self) -> pl.DataFrame:
        """One row per county: counted findings by severity and in all, largest first."""
        long = self.counted.with_columns(pl.col("county_code").fill_null("-")).group_by("county_code").agg(
            *[(pl.col("severity") == s).sum().cast(pl.Int64).alias(s) for s in SEVERITIES],
            pl.len().cast(pl.Int64).alias("total"),
        )
        return long.sort(["total", "county_code"], descending=[True, False])

    def totals(self) -> dict[str, int]:
        """Headline numbers: findings (counted), each severity, new, persisting, resolved, dismissed."""
        change = self.findings.get_column("change")
        counted = self.counted
        out = {
            "findings": counted.height,
            "new": int((change == "new").sum()),
            "persisting": int((change == "persisting").sum()),
            "dismissed": int((change == "dismissed").sum()),
            "resolved": self.resolved_count,
        }
        for severity in SEVERITIES:
            out[severity] = int((counted.get_column("severity") == severity).sum())
        return out

    def rule_findings(self, rule: str) -> pl.DataFrame:
        """The findings of one rule: counted ones first by severity, then dismissed ones."""
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        return (
            self.findings.filter(pl.col("rule") == rule)
            .with_columns(
                (pl.col("change") == "dismissed").alias("_dismissed"),
                pl.col("severity").replace_strict(rank, default=len(rank)).alias("_rank"),
            )
            .sort(["_dismissed", "_rank", "county_code", "school_code", "violation_id"], nulls_last=True)
            .drop("_dismissed", "_rank")
        )

    def trend_wide(self) -> pl.DataFrame:
        """Counted findings per rule (rows) and run (columns, oldest first)."""
        if self.trend.is_empty():
            return pl.DataFrame(schema={"rule": pl.String})
        runs = self.trend.select("run").unique(maintain_order=True).get_column("run").to_list()
        return self.trend.pivot(on="run", index="rule", values="findings", on_columns=runs).fill_null(0)


def ordered_rules(codes: Iterable[str]) -> list[str]:
    """Rule codes in catalogue order; codes the catalogue does not know follow, sorted."""
    wanted = set(codes)
    known = [c for c in rule_order() if c in wanted]
    return known + sorted(wanted - set(known))


def _titles(table: pl.DataFrame) -> dict[str, str]:
    return {code: rule_title(code) for code in table.get_column("rule").to_list()}


def change_label(change: str) -> str:
    """``新增`` for new, and so on."""
    return CHANGE_LABELS.get(change, change)


def _trend(run_dir: Path, filters: Filters, runs: int, current: pl.DataFrame) -> pl.DataFrame:
    """Counted findings per rule for the last ``runs`` runs up to this one (this one included).

    Counts come from each run's violations.parquet, reading two or three columns only,
    so the trend honours the same filters as the report.
    """
    frames: list[pl.DataFrame] = []
    for earlier in previous_runs(run_dir)[-(runs - 1):] if runs > 1 else []:
        try:
            lf = scan_violations(earlier)
        except Exception:  # noqa: BLE001 - one unreadable old run must not stop today's report
            continue
        names = lf.collect_schema().names()
        counts = (
            lf.filter(filters.expr(names) & (pl.col("change") != "dismissed"))
            .group_by("rule")
            .agg(pl.len().cast(pl.Int64).alias("findings"))
            .with_columns(pl.lit(earlier.name).alias("run"), pl.lit(_as_of_of(earlier)).alias("as_of"))
        )
        frames.append(counts.collect())
    now = (
        current.filter(pl.col("change") != "dismissed")
        .group_by("rule")
        .agg(pl.len().cast(pl.Int64).alias("findings"))
        .with_columns(pl.lit(display_name(run_dir)).alias("run"), pl.lit(_as_of_of(run_dir)).alias("as_of"))
    )
    frames.append(now)
    schema = {"rule": pl.String, "findings": pl.Int64, "run": pl.String, "as_of": pl.Date}
    out = pl.concat([f.cast(schema) for f in frames], how="vertical")  # type: ignore[arg-type]
    return out.select("run", "as_of", "rule", "findings")


def _as_of_of(run_dir: Path) -> date | None:
    return summary_as_of(load_summary(run_dir), run_dir)


def _resolved(
    run_dir: Path, summary: dict[str, Any], filters: Filters
) -> tuple[pl.DataFrame | None, int]:
    """The findings resolved since the previous run: a list when it can be had, and a count.

    The audit runner knows which earlier run is comparable (same scope), so its
    summary.json wins: a list of findings, or a count. Without either, the previous
    sibling run's findings that are gone from this run are the resolved ones.
    """
    raw = summary.get("resolved")
    if isinstance(raw, dict):
        # {"count": n, "findings": [...]} is accepted as well.
        raw = raw.get("findings", raw.get("count"))
    if isinstance(raw, list):
        frame = pl.DataFrame(raw, infer_schema_length=None) if raw else pl.DataFrame()
        for column in RESOLVED_COLUMNS:
            if column not in frame.columns:
                frame = frame.with_columns(pl.lit(None, pl.String).alias(column))
        frame = frame.select(RESOLVED_COLUMNS).cast({c: pl.String for c in RESOLVED_COLUMNS if c != "grade"})
        frame = frame.with_columns(pl.col("grade").cast(pl.Int64, strict=False))
        frame = frame.filter(filters.expr(frame.columns))
        return frame, frame.height
    if isinstance(raw, int) and not isinstance(raw, bool):
        # A bare count cannot be filtered; it is shown only for an unfiltered report.
        return None, raw if not filters.as_dict() else 0
    earlier = previous_runs(run_dir)
    if not earlier:
        return pl.DataFrame(schema=_resolved_schema()), 0
    previous = scan_violations(earlier[-1])
    current = scan_violations(run_dir).select("violation_id")
    names = previous.collect_schema().names()
    gone = (
        previous.filter(filters.expr(names) & (pl.col("change") != "dismissed"))
        .join(current, on="violation_id", how="anti")
        .select(RESOLVED_COLUMNS)
        .collect()
    )
    return gone, gone.height


def _resolved_schema() -> dict[str, pl.DataType]:
    return {c: (pl.Int64() if c == "grade" else pl.String()) for c in RESOLVED_COLUMNS}


def build_report(
    run_dir: Path,
    filters: Filters | None = None,
    *,
    masked: bool = True,
    findings: pl.DataFrame | None = None,
    dismissals: pl.DataFrame | None = None,
    trend_runs: int = DEFAULT_TREND_RUNS,
    now: datetime | None = None,
) -> Report:
    """Read one run folder into a ``Report``.

    ``dismissals`` (violation_id, dismissed_by, dismissed_at, dismissal_reason), when
    given, is joined onto the findings the register marks dismissed, so reports say who
    dismissed a finding and why. ``findings`` replaces the folder's violations.parquet
    (full, unmasked: the caller has applied the register to it).
    """
    filters = filters or Filters()
    lf = scan_violations(run_dir) if findings is None else findings.lazy()
    names = lf.collect_schema().names()
    lf = lf.filter(filters.expr(names))
    if dismissals is not None and not dismissals.is_empty():
        lf = lf.join(dismissals.lazy(), on="violation_id", how="left").with_columns(
            [
                pl.when(pl.col("change") == "dismissed").then(pl.col(c)).alias(c)
                for c in ("dismissed_by", "dismissed_at", "dismissal_reason")
            ]
        )
    shown = (mask_findings(lf) if masked else lf).collect()
    summary = load_summary(run_dir)
    resolved, resolved_count = _resolved(run_dir, summary, filters)
    if resolved is not None and masked:
        resolved = mask_findings(resolved).collect()
    return Report(
        run_dir=run_dir,
        run_name=display_name(run_dir),
        as_of=summary_as_of(summary, run_dir),
        generated_at=now or datetime.now(UTC),
        masked=masked,
        filters=filters,
        summary=summary,
        findings=shown,
        resolved=resolved,
        resolved_count=resolved_count,
        trend=_trend(run_dir, filters, trend_runs, shown),
    )


__all__ = [
    "DEFAULT_TREND_RUNS",
    "SUMMARY_FILE",
    "VIOLATIONS_FILE",
    "Filters",
    "Report",
    "build_report",
    "change_label",
    "ordered_rules",
]
