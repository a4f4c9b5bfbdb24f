"""Inspector reports and exports of an audit run (contract sections 5 and 6).

``build_report`` reads a run folder once (filters, masking, summary tables, trend);
``export_report`` writes it in one of ``FORMATS``; ``write_run_reports`` is what the
audit runner calls to put ``report.xlsx`` and ``report.html`` into every run folder.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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


class PendingReports:
    """Run reports being written: ``report.xlsx`` on a thread, ``report.html`` already
    written. ``wait()`` returns both paths once the workbook is done (or raises its error).

    XlsxWriter is pure Python and takes seconds on a city's findings; on its own thread
    it overlaps the run's other writing, which is mostly Polars and SQLite, both of which
    release the GIL.
    """

    def __init__(self, run_dir: Path, dismissals: pl.DataFrame | None, findings: pl.DataFrame | None = None) -> None:
        # One report for both files: built once, read-only afterwards, so the thread and
        # the caller never read the run folder while the caller rewrites summary.json.
        report = build_report(run_dir, masked=True, dismissals=dismissals, findings=findings)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-xlsx")
        self._xlsx = self._pool.submit(write_xlsx, report, run_dir / "report.xlsx", private=True)
        try:
            self._html = write_html(report, run_dir / "report.html", private=True)
        except BaseException:
            self.wait_quietly()
            raise
        self._findings = report.findings.height
        self._run_dir = run_dir

    def wait(self) -> list[Path]:
        """Both reports' paths, once written; the workbook's error if it failed."""
        try:
            xlsx = self._xlsx.result()
        finally:
            self._pool.shutdown(wait=True)
        logger.debug("reports written to {}: {} findings", self._run_dir, self._findings)
        return [xlsx, self._html]

    def wait_quietly(self) -> None:
        """Wait for the thread without raising (the run is failing anyway): nothing may
        still be writing into a folder that is about to be removed."""
        self._pool.shutdown(wait=True)


def start_run_reports(
    run_dir: Path, dismissals: pl.DataFrame | None = None, findings: pl.DataFrame | None = None
) -> PendingReports:
    """Start writing masked ``report.xlsx`` and ``report.html`` into a run folder.

    Reads the folder's summary.json, its violations.parquet unless ``findings`` (the
    run's violations, as that file will hold them) is given, and the trend from the
    sibling run folders. ``dismissals`` (from ``xueji.findings.dismissal_details``)
    adds who dismissed a finding and why. Files are private (0600) like the folder.
    """
    return PendingReports(run_dir, dismissals, findings)


def write_run_reports(run_dir: Path, dismissals: pl.DataFrame | None = None) -> list[Path]:
    """Write masked ``report.xlsx`` and ``report.html`` into a run folder; returns their
    paths (``start_run_reports``, waited for)."""
    return start_run_reports(run_dir, dismissals).wait()


__all__ = [
    "EXCEL_MAX_ROWS",
    "FORMATS",
    "REPORT_FILES",
    "Filters",
    "PendingReports",
    "Report",
    "build_report",
    "export_report",
    "list_runs",
    "resolve_run",
    "runs_dir",
    "start_run_reports",
    "write_run_reports",
]
