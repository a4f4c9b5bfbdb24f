"""``report.html``: one self-contained page an inspector opens first (contract section 6).

Everything is inside the file: CSS, the charts (inline SVG drawn here from the summary
tables, a few dozen shapes), the findings of each rule as JSON, and a little JS that
renders a sortable, filterable, paged table from it. No script, font or image is
fetched, so the page opens offline and leaks nothing. Chinese text uses the system's
fonts through a CSS font stack.

The tables are rendered by JS from JSON rather than written out as HTML rows because
100,000 findings as DOM rows take the browser tens of seconds to lay out; a page of 50
rows at a time stays instant, and sorting and filtering run over plain arrays.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from xueji.reports.labels import (
    CHANGE_LABELS,
    COLUMN_LABELS,
    SEVERITIES,
    SEVERITY_COLOURS,
    SEVERITY_LABELS,
    rule_title,
)
from xueji.reports.runs import write_atomic
from xueji.reports.summary import Report

CHINA_TZ = "Asia/Shanghai"
# Columns of a rule's table in the page; evidence is left out (``xueji explain`` shows it)
# because it would double the file for little an inspector reads in a table.
TABLE_COLUMNS: tuple[str, ...] = (
    "violation_id",
    "change",
    "severity",
    "county_code",
    "school_code",
    "grade",
    "class_name",
    "student_no",
    "id_number",
    "name",
    "detail",
    "group_id",
    "dismissed_by",
    "dismissed_at",
    "dismissal_reason",
)
NUMERIC_COLUMNS = ("grade",)
MAX_COUNTIES_IN_CHART = 15


@dataclass
class Bar:
    """One bar of a horizontal stacked bar chart."""

    label: str
    total: int
    y: float
    segments: list[dict[str, Any]] = field(default_factory=list)
    href: str | None = None


@dataclass
class BarChart:
    """A horizontal stacked bar chart, laid out in SVG user units."""

    width: int
    height: int
    label_width: int
    plot_width: int
    row_height: int
    bars: list[Bar]
    legend: list[tuple[str, str]]
    ticks: list[tuple[float, str]]


@dataclass
class TrendChart:
    """A small line chart of one rule's counted findings over the last runs."""

    rule: str
    title: str
    colour: str
    last: int
    delta: int | None
    path: str
    area: str
    points: list[dict[str, Any]]
    width: int = 240
    height: int = 64


# Round axis maxima (as multiples of a power of ten) and how many whole-number ticks each gets.
_NICE_STEPS = {1: 5, 2: 4, 3: 3, 4: 4, 5: 5, 6: 6, 8: 4, 10: 5}


def _nice_axis(value: int) -> tuple[int, int]:
    """A round axis maximum at or above ``value`` and its number of tick intervals."""
    if value <= 0:
        return 1, 1
    magnitude = 10 ** (len(str(value)) - 1)
    for m, intervals in _NICE_STEPS.items():
        if m * magnitude >= value:
            if magnitude == 1:
                # Below ten, one tick per unit (two for 8 and 10).
                intervals = m if m <= 6 else m // 2
            return m * magnitude, intervals
    return 10 * magnitude, 5


def _bar_chart(
    rows: Sequence[tuple[str, Sequence[tuple[str, int, str]], str | None]], legend: list[tuple[str, str]]
) -> BarChart:
    """Lay out bars: each row is (label, [(segment name, value, colour)], link)."""
    label_width, plot_width, row_height = 190, 420, 28
    top = 8
    totals = [sum(v for _, v, _ in segs) for _, segs, _ in rows]
    axis, intervals = _nice_axis(max(totals, default=0))
    bars: list[Bar] = []
    for i, ((label, segs, href), total) in enumerate(zip(rows, totals, strict=True)):
        y = top + i * row_height
        x = 0.0
        parts = []
        for name, value, colour in segs:
            w = plot_width * value / axis
            if value:
                parts.append({"x": round(x, 2), "w": round(w, 2), "colour": colour, "name": name, "value": value})
            x += w
        bars.append(Bar(label, total, y, parts, href))
    ticks = [(round(plot_width * k / intervals, 2), f"{axis * k // intervals:,}") for k in range(intervals + 1)]
    height = top + len(rows) * row_height + 24
    return BarChart(label_width + plot_width + 60, height, label_width, plot_width, row_height, bars, legend, ticks)


def rule_chart(report: Report) -> BarChart:
    """Counted findings by rule, split into new and persisting."""
    rows = []
    for rec in report.by_rule().iter_rows(named=True):
        if rec["findings"] == 0:
            continue
        rows.append(
            (
                rec["title"],
                [("新增", rec["new"], "#1c7ed6"), ("持续", rec["persisting"], "#91c3f5")],
                f"#rule-{rec['rule']}",
            )
        )
    return _bar_chart(rows, [("新增", "#1c7ed6"), ("持续", "#91c3f5")])


def county_chart(report: Report) -> BarChart:
    """Counted findings by county (the largest 15), split by severity."""
    rows = []
    for rec in report.by_county().head(MAX_COUNTIES_IN_CHART).iter_rows(named=True):
        segs = [(SEVERITY_LABELS[s], rec[s], SEVERITY_COLOURS[s]) for s in SEVERITIES]
        rows.append((rec["county_code"], segs, None))
    return _bar_chart(rows, [(SEVERITY_LABELS[s], SEVERITY_COLOURS[s]) for s in SEVERITIES])


def trend_charts(report: Report) -> list[TrendChart]:
    """One small line chart per rule over the runs in the report's trend (oldest first)."""
    wide = report.trend_wide()
    runs = [c for c in wide.columns if c != "rule"]
    if len(runs) < 2:
        return []
    by_rule = {rec["rule"]: rec for rec in wide.iter_rows(named=True)}
    severity = {rec["rule"]: rec["severity"] for rec in report.by_rule().iter_rows(named=True)}
    charts = []
    width, height, pad = 240, 64, 6
    for rule in report.rules():
        rec = by_rule.get(rule, {})
        values = [int(rec.get(run) or 0) for run in runs]
        top = max(values) or 1
        step = (width - 2 * pad) / (len(values) - 1)
        points = [
            {
                "x": round(pad + i * step, 2),
                "y": round(height - pad - (height - 2 * pad) * v / top, 2),
                "value": v,
                "run": run,
            }
            for i, (v, run) in enumerate(zip(values, runs, strict=True))
        ]
        path = "M" + " L".join(f"{p['x']},{p['y']}" for p in points)
        area = f"{path} L{points[-1]['x']},{height - pad} L{points[0]['x']},{height - pad} Z"
        charts.append(
            TrendChart(
                rule=rule,
                title=rule_title(rule),
                colour=SEVERITY_COLOURS.get(severity.get(rule) or "", "#1c7ed6"),
                last=values[-1],
                delta=values[-1] - values[-2],
                path=path,
                area=area,
                points=points,
                width=width,
                height=height,
            )
        )
    return charts


def heat_table(report: Report) -> dict[str, Any]:
    """The rule × county table with a shade per cell (darker = more findings)."""
    matrix = report.rule_by_county()
    counties = [c for c in matrix.columns if c not in ("rule", "title", "total")]
    peak = max((int(matrix.get_column(c).cast(pl.Int64).max() or 0) for c in counties), default=0) or 1  # type: ignore[arg-type]
    rows = []
    for rec in matrix.iter_rows(named=True):
        cells = [{"value": rec[c], "alpha": round(0.08 + 0.82 * rec[c] / peak, 3) if rec[c] else 0} for c in counties]
        rows.append({"rule": rec["rule"], "title": rec["title"], "cells": cells, "total": rec["total"]})
    totals = [int(matrix.get_column(c).sum()) for c in counties]
    return {"counties": counties, "rows": rows, "totals": totals, "total": sum(totals)}


def _script_json(value: Any) -> Markup:
    """JSON safe inside a <script> element: no ``</script>``, no HTML entities."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup(text)


def table_data(findings: pl.DataFrame) -> dict[str, Any]:
    """A rule's findings as {columns, rows} for the page's table (column-empty extras dropped)."""
    present = [c for c in TABLE_COLUMNS if c in findings.columns]
    for optional in ("group_id", "dismissed_by", "dismissed_at", "dismissal_reason"):
        if optional in present and findings.get_column(optional).null_count() == findings.height:
            present.remove(optional)
    exprs: list[pl.Expr] = []
    for name in present:
        dtype = findings.schema[name]
        if isinstance(dtype, pl.Datetime):
            local = pl.col(name) if dtype.time_zone else pl.col(name).dt.replace_time_zone("UTC")
            exprs.append(local.dt.convert_time_zone(CHINA_TZ).dt.strftime("%Y-%m-%d %H:%M").alias(name))
        elif isinstance(dtype, pl.Date):
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d").alias(name))
        elif name == "severity":
            exprs.append(pl.col(name).replace(SEVERITY_LABELS))
        elif name == "change":
            exprs.append(pl.col(name).replace(CHANGE_LABELS))
        else:
            exprs.append(pl.col(name))
    frame = findings.select(exprs)
    columns = [
        {"key": c, "label": COLUMN_LABELS.get(c, c), "type": "number" if c in NUMERIC_COLUMNS else "text"}
        for c in present
    ]
    return {"columns": columns, "rows": frame.rows()}


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("xueji.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v: f"{int(v):,}"
    env.filters["json"] = _script_json
    return env


def _asset(name: str) -> str:
    """A CSS or JS file shipped beside the template, to be inlined into the page."""
    return (files("xueji.reports") / "templates" / name).read_text(encoding="utf-8")


def render_html(report: Report) -> str:
    """The report page as one HTML string."""
    by_rule = report.by_rule()
    tables = []
    for rec in by_rule.iter_rows(named=True):
        rows = report.rule_findings(rec["rule"])
        if rows.height == 0:
            continue
        tables.append(
            {
                "rule": rec["rule"],
                "title": rec["title"],
                "severity": rec["severity"],
                "count": rec["findings"],
                "dismissed": rec["dismissed"],
                "data": table_data(rows),
            }
        )
    if report.resolved is not None and report.resolved.height:
        tables.append(
            {
                "rule": "RESOLVED",
                "title": "已解决",
                "severity": None,
                "count": report.resolved.height,
                "dismissed": 0,
                "data": table_data(report.resolved.with_columns(pl.lit("resolved").alias("change"))),
            }
        )
    generated_local = report.generated_at
    if isinstance(generated_local, datetime):
        generated_local = pl.select(pl.lit(report.generated_at).dt.convert_time_zone(CHINA_TZ)).item()
    context = {
        "report": report,
        "as_of": report.as_of.isoformat() if isinstance(report.as_of, date) else "-",
        "generated": generated_local.strftime("%Y-%m-%d %H:%M") if isinstance(generated_local, datetime) else "",
        "totals": report.totals(),
        "by_rule": list(by_rule.iter_rows(named=True)),
        "by_severity": list(report.by_severity().iter_rows(named=True)),
        "rule_chart": rule_chart(report),
        "county_chart": county_chart(report),
        "trends": trend_charts(report),
        "heat": heat_table(report),
        "tables": tables,
        "severity_labels": SEVERITY_LABELS,
        "severity_colours": SEVERITY_COLOURS,
        "scope": report.filters.describe(),
        "css": Markup(_asset("report.css")),
        "js": Markup(_asset("report.js").replace("</", "<\\/")),
    }
    return _environment().get_template("report.html.j2").render(**context)


def write_html(report: Report, path: Path, *, private: bool = True) -> Path:
    """Write ``report`` as a self-contained page at ``path`` (atomically)."""
    page = render_html(report)
    return write_atomic(path, lambda tmp: tmp.write_text(page, encoding="utf-8"), private=private)
