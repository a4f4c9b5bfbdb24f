"""``xueji audit``: the nightly batch job (a thin layer over ``xueji.audit.run_audit``)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

import click
from loguru import logger
from rich.console import Console
from rich.table import Table

from xueji.audit import AuditOptions, AuditResult, parse_rule_codes, run_audit
from xueji.audit.progress import LogProgress, Progress, TerminalProgress
from xueji.errors import XuejiError
from xueji.logging import configure
from xueji.rules.base import SEVERITIES
from xueji.rules.catalogue import rule_by_code

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


class RulesFailedError(XuejiError):
    """Some rules failed; the run folder holds the others' findings (exit 1)."""

    exit_code = 1


def manifest_as_of(data_dir: Path) -> date | None:
    """The as-of date a generated dataset was made for (``manifest.json``), if any."""
    path = data_dir / "manifest.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return date.fromisoformat(str(doc["as_of"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def findings_table(result: AuditResult) -> Table:
    """Findings by rule and severity (rules with findings only), with the new ones."""
    table = Table(title=f"xueji audit — run {result.run_id}, as of {result.summary['as_of']}", title_justify="left")
    table.add_column("rule", no_wrap=True)
    table.add_column("finding")
    for severity in SEVERITIES:
        table.add_column(severity, justify="right", style=SEVERITY_STYLE[severity], no_wrap=True, min_width=len(severity))
    table.add_column("total", justify="right", style="bold", no_wrap=True, min_width=5)
    table.add_column("new", justify="right", no_wrap=True)
    v = result.violations
    by = {(r, s): n for r, s, n in v.group_by("rule", "severity").len().iter_rows()} if v.height else {}
    new = {r: n for r, n in v.filter(v["change"] == "new").group_by("rule").len().iter_rows()} if v.height else {}
    for code, entry in result.summary["rules"].items():
        counts = [by.get((code, s), 0) for s in SEVERITIES]
        if entry["status"] != "ran" or not sum(counts):
            continue
        table.add_row(code, rule_by_code(code).title, *[str(n) if n else "·" for n in counts], str(sum(counts)), str(new.get(code, 0)))
    totals = result.summary["findings"]["by_severity"]
    table.add_section()
    table.add_row(
        "total", "", *[str(totals[s]) for s in SEVERITIES], str(v.height), str(result.summary["findings"]["by_change"].get("new", 0)), style="bold"
    )
    return table


def print_result(result: AuditResult, console: Console) -> None:
    """The closing summary: the table, then what changed, what was not checked, where the run is."""
    console.print(findings_table(result))
    s = result.summary
    resolved = s["resolved"]
    change = s["findings"]["by_change"]
    if resolved["previous_run"]:
        console.print(
            f"against run {resolved['previous_run']['run_id']} ({resolved['previous_run']['as_of']}): "
            f"{change.get('new', 0)} new, {change.get('persisting', 0)} persisting, "
            f"{change.get('dismissed', 0)} dismissed, {resolved['total']} resolved"
        )
    else:
        console.print("first run of this scope: every finding is new")
    clean = [code for code, e in s["rules"].items() if e["status"] == "ran" and not e.get("findings")]
    if clean:
        console.print(f"no findings: {', '.join(clean)}")
    for skipped in s["skipped_rules"]:
        console.print(f"skipped {skipped['rule']}: {skipped['reason']}")
    for code, entry in s["rules"].items():
        if entry.get("note"):
            console.print(f"partial {code}: {entry['note']}")
    errors = s["coverage"]["data_errors"]["total"]
    if errors:
        console.print(f"{errors} data errors (those values are unknown to the rules): {result.run_dir / 'data_errors.csv'}")
    console.print(f"run folder: {result.run_dir}")


@click.command()
@click.argument("data_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Run folder to create (default: runs/<as-of>-<n>/).")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Reference date YYYY-MM-DD (default: today, or the as_of of a generated dataset's manifest.json).",
)
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), envvar="XUEJI_CONFIG", help="Province profile (TOML); also $XUEJI_CONFIG.")
@click.option("--db", "db_url", help="Database URL (default: $XUEJI_DB, else sqlite:///xueji.db).")
@click.option("--rules", "rules_text", metavar="CODE,...", help="Only these rules (see `xueji rules list`).")
@click.option("--county", metavar="CODE", help="Only findings in this county (6-digit code); the whole city is still read.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where the rules run: this process, or per-county tasks on a Ray cluster (needs the ray extra).",
)
@click.option("--ray-address", metavar="ADDR", help="A running Ray cluster (ray://head:10001 or auto); default: start a local one.")
def audit(
    data_dir: Path,
    out: Path | None,
    as_of: datetime | None,
    config_path: Path | None,
    db_url: str | None,
    rules_text: str | None,
    county: str | None,
    engine: str,
    ray_address: str | None,
) -> None:
    """Audit the input folder DATA_DIR and write a run folder.

    \b
    Example:
        xueji audit sample_data/demo
        xueji audit /data/exports/2026-11-20 --as-of 2026-11-20 --db postgresql://xueji@db/xueji

    Reads the contract tables, resolves identities, evaluates every rule and writes
    violations.parquet/.csv, data_errors.csv, summary.json, the reports and audit.log
    into the run folder, atomically. Each finding is marked new or persisting against
    the previous run of the same scope. Exit code 0 when the audit ran (findings or
    not), 2 for unusable input or options, 1 for an internal error.
    """
    day = as_of.date() if as_of else None
    if day is None:
        day = manifest_as_of(data_dir)
        if day is not None:
            logger.info("as-of {} taken from {} (generated data)", day, data_dir / "manifest.json")
    options = AuditOptions(
        data_dir=data_dir,
        out=out,
        as_of=day,
        config=config_path,
        db_url=db_url,
        rules=parse_rule_codes(rules_text),
        county=county,
        engine=engine,
        ray_address=ray_address,
    )
    progress: Progress
    if sys.stderr.isatty():
        root = click.get_current_context().find_root().params
        if root.get("verbose", 0) - root.get("quiet", 0) == 0 and not root.get("log_json"):
            # The live display shows the stages; keep routine log lines off the screen
            # (every line still goes to the run's audit.log).
            configure(-1)
        progress = TerminalProgress()
    else:
        progress = LogProgress()
    result = run_audit(options, progress)
    # Off a terminal (cron, a pipe) rich would wrap at 80 columns; the table needs more.
    print_result(result, Console(highlight=False) if sys.stdout.isatty() else Console(width=120, soft_wrap=True, highlight=False))
    if result.failed_rules:
        listed = "; ".join(f"{code}: {err}" for code, err in result.failed_rules.items())
        raise RulesFailedError(f"{len(result.failed_rules)} rule(s) failed ({listed}); the run folder holds the other rules' findings")


COMMANDS: tuple[click.Command, ...] = (audit,)
