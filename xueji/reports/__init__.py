"""Inspector reports and exports of an audit run (contract sections 5 and 6).

``build_report`` reads a run folder once (filters, masking, summary tables, trend);
``export_report`` writes it in one of ``FORMATS``; ``write_run_reports`` is what the
audit runner calls to put ``report.xlsx`` and ``report.html`` into every run folder.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from loguru import logger

from xueji.reports.exports import FORMATS, write_csv, write_json, write_parquet
from xueji.reports.html import write_html
from xueji.reports.runs import list_runs, resolve_run, runs_dir
from xueji.reports.summary import Filters, Report, build_report
from xueji.reports.xlsx import EXCEL_MAX_ROWS, write_xlsx

REPORT_FILES = ("report.xlsx", "report.html")


def export_report(report: Report, fmt: str, path: Path, *, private: bool | None = None) -> Path:
    """Write ``report`` as ``fmt`` (one of FORMATS) to ``path``, atomically.

    ``private`` (default: when IDs are shown) makes the file readable by its owner only.
    """
    private = (not report.masked) if private is None else private
    if fmt == "xlsx":
        return write_xlsx(report, path, private=private)
    if fmt == "html":
        return write_html(report, path, private=private)
    if fmt == "csv":
        return write_csv(report, path, private=private)
    if fmt == "parquet":
        return write_parquet(report, path, private=private)
    if fmt == "json":
        return write_json(report, path, private=private)
    raise ValueError(f"unknown report format {fmt!r} (use one of {', '.join(FORMATS)})")


def write_run_reports(run_dir: Path, dismissals: pl.DataFrame | None = None) -> list[Path]:
    """Write masked ``report.xlsx`` and ``report.html`` into a run folder; returns their paths.

    Reads the folder's violations.parquet and summary.json, and the trend from the
    sibling run folders. ``dismissals`` (from ``xueji.findings.dismissal_details``)
    adds who dismissed a finding and why. Files are private (0600) like the folder.
    """
    report = build_report(run_dir, masked=True, dismissals=dismissals)
    written = [
        write_xlsx(report, run_dir / "report.xlsx", private=True),
        write_html(report, run_dir / "report.html", private=True),
    ]
    logger.debug("reports written to {}: {} findings", run_dir, report.findings.height)
    return written


__all__ = [
    "EXCEL_MAX_ROWS",
    "FORMATS",
    "REPORT_FILES",
    "Filters",
    "Report",
    "build_report",
    "export_report",
    "list_runs",
    "resolve_run",
    "runs_dir",
    "write_run_reports",
]
