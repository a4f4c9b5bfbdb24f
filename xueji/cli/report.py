"""``xueji report`` (inspector reports and exports) and ``xueji explain`` (one finding in full)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import polars as pl
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from xueji.cli.accounts import connect, db_option, print_json, print_table, signed_in
from xueji.config import load_config
from xueji.db import resolve_url
from xueji.errors import ConfigError, InputError
from xueji.findings import (
    Actor,
    actor_of,
    apply_dismissals,
    dismissal_details,
    find_finding,
    list_dismissals,
    record_unmasked_export,
    require_show_ids,
)
from xueji.reports import FORMATS, Filters, build_report, export_report, resolve_run, runs_dir
from xueji.reports.labels import (
    CHANGE_LABELS,
    COLUMN_LABELS,
    SEVERITIES,
    SEVERITY_LABELS,
    rule_order,
)
from xueji.reports.masking import mask_findings
from xueji.reports.runs import load_summary, scan_violations

F = TypeVar("F", bound=Callable[..., Any])


def runs_option(func: F) -> F:
    """``--runs DIR``: the folder holding run folders."""
    return click.option(
        "--runs",
        "runs_folder",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder of run folders (default: $XUEJI_RUNS, else ./runs).",
    )(func)


def filter_options(func: F) -> F:
    """``--county``, ``--school``, ``--rule``, ``--severity`` (each repeatable)."""
    for option in reversed(
        (
            click.option("--county", "counties", multiple=True, metavar="CODE", help="Only this county (repeatable)."),
            click.option("--school", "schools", multiple=True, metavar="CODE", help="Only this school (repeatable)."),
            click.option("--rule", "rules", multiple=True, metavar="CODE", help="Only this rule, e.g. ID_INVALID (repeatable)."),
            click.option(
                "--severity",
                "severities",
                multiple=True,
                type=click.Choice(SEVERITIES),
                help="Only this severity (repeatable).",
            ),
        )
    ):
        func = option(func)
    return func


def make_filters(
    run_dir: Path, counties: tuple[str, ...], schools: tuple[str, ...], rules: tuple[str, ...], severities: tuple[str, ...]
) -> Filters:
    """Filters from the options; an unknown rule code is an error with a hint."""
    wanted = tuple(r.strip().upper() for r in rules)
    if wanted:
        present = set(scan_violations(run_dir).select("rule").unique().collect().get_column("rule").drop_nulls().to_list())
        known = set(rule_order()) | present
        unknown = sorted(set(wanted) - known)
        if unknown:
            hints = []
            for code in unknown:
                close = difflib.get_close_matches(code, sorted(known), n=1)
                hints.append(f"{code} (did you mean {close[0]}?)" if close else code)
            raise InputError(f"{len(unknown)} unknown rule code(s): {', '.join(hints)} (see `xueji rules list`)")
    return Filters(
        counties=tuple(c.strip() for c in counties),
        schools=tuple(s.strip() for s in schools),
        rules=wanted,
        severities=tuple(severities),
    )


def register_engine(db_url: str | None) -> Engine | None:
    """The database holding the findings register, or None when there is none yet.

    Reports work without a database: a default SQLite file that does not exist is not
    created, and a database that was never initialised simply has no dismissals.
    """
    url = resolve_url(db_url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (not parsed.database or not Path(parsed.database).is_file()):
        return None
    engine = connect(db_url)
    try:
        if not inspect(engine).has_table("finding_dismissals"):
            return None
    except OperationalError as exc:
        raise ConfigError(f"database {engine.url.render_as_string(hide_password=True)} cannot be reached ({exc.orig})") from exc
    return engine


def _require_register(engine: Engine) -> None:
    """Unmasked output is allowed only where it can be recorded."""
    if not inspect(engine).has_table("unmasked_exports"):
        raise ConfigError("this database cannot record unmasked exports yet: run `xueji db init` to upgrade it")


def _default_out(run_dir: Path, fmt: str, filters: Filters) -> Path:
    tags = [*filters.counties, *filters.schools, *filters.rules, *filters.severities]
    suffix = ("-" + "-".join(tags)) if tags else ""
    return Path(f"report-{run_dir.name}{suffix}.{fmt}")


@click.command("report")
@click.argument("run", required=False)
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="xlsx", show_default=True, help="Output format.")
@filter_options
@click.option("--show-ids", is_flag=True, help="Show full ID numbers (inspector or admin token; the export is recorded).")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Output file (default: ./report-RUN[-FILTERS].FORMAT).")
@runs_option
@db_option
def report(
    run: str | None,
    fmt: str,
    counties: tuple[str, ...],
    schools: tuple[str, ...],
    rules: tuple[str, ...],
    severities: tuple[str, ...],
    show_ids: bool,
    out: Path | None,
    runs_folder: Path | None,
    db_url: str | None,
) -> None:
    """Export an audit run's findings for inspectors (xlsx, html) or other systems (csv, parquet, json).

    RUN is a run folder or its name under --runs (default: the latest run). ID numbers
    are masked (430104********1234) unless --show-ids is given with an inspector's or
    admin's token; every such export is recorded in the database (who, when, what).
    Findings dismissed in the exceptions register show as dismissed and are not counted.

    \b
    Example:
        xueji report --format html --county 430104 -o 芙蓉区.html
        xueji report 2026-11-20-1 --format json --rule DUPLICATE_RECORD
    """
    run_dir = resolve_run(run, runs_dir(runs_folder))
    filters = make_filters(run_dir, counties, schools, rules, severities)
    actor: Actor | None = None
    engine: Engine | None
    if show_ids:
        engine, me = signed_in(db_url)
        actor = actor_of(me)
        require_show_ids(actor)
        _require_register(engine)
    else:
        engine = register_engine(db_url)
    violations = scan_violations(run_dir).collect()
    details = None
    if engine is not None and inspect(engine).has_table("finding_dismissals"):
        # Dismissals made since the run count now; lapses are the audit's to record.
        violations = apply_dismissals(engine, violations, record_lapses=False)
        details = dismissal_details(engine)
    built = build_report(run_dir, filters, masked=not show_ids, findings=violations, dismissals=details)
    target = out or _default_out(run_dir, fmt, filters)
    export_report(built, fmt, target)
    if actor is not None and engine is not None:
        try:
            record_unmasked_export(
                engine,
                actor,
                run_dir=run_dir,
                filters=built.filters.as_dict(),
                fmt=fmt,
                path=str(target.resolve()),
                findings=built.findings.height,
            )
        except BaseException:
            # An unmasked export that cannot be recorded must not be left behind.
            target.unlink(missing_ok=True)
            raise
    totals = built.totals()
    ids = "full ID numbers, export recorded" if show_ids else "ID numbers masked"
    click.echo(
        f"Wrote {target} ({fmt}; run {run_dir.name}, {built.filters.describe()}): "
        f"{totals['findings']} findings, {totals['new']} new, {totals['resolved']} resolved, "
        f"{totals['dismissed']} dismissed; {ids}."
    )


def _thresholds(summary: dict[str, Any], config: Path | None) -> tuple[dict[str, Any], str]:
    """Threshold values as the run used them (summary.json), else the effective config."""
    config_doc = summary.get("config")
    if isinstance(config_doc, dict) and config_doc:
        # The runner writes {name: {"value": v, "source": where}}.
        recorded = {k: (v.get("value") if isinstance(v, dict) else v) for k, v in config_doc.items()}
        return recorded, "as used by this run"
    cfg = load_config(config)
    return dict(cfg.values), f"current configuration ({cfg.path or 'national defaults'})"


def _rule_text(code: str, thresholds: dict[str, Any], source: str) -> list[str]:
    try:
        from xueji.rules.catalogue import rule_by_code

        rule = rule_by_code(code)
    except Exception:  # noqa: BLE001 - a finding of an unknown or retired rule is still explained
        return [f"{code}: not in this version's rule catalogue"]
    lines = [
        f"{rule.code} {rule.title}",
        f"  severity:   {rule.severity} ({SEVERITY_LABELS.get(rule.severity, '')})",
        f"  basis:      {rule.basis}",
        f"  definition: {rule.definition}",
    ]
    if rule.thresholds:
        lines.append(f"  thresholds ({source}):")
        for name in rule.thresholds:
            lines.append(f"    {name} = {thresholds.get(name, '(not recorded)')}")
    return lines


def _evidence_tables(evidence: Any) -> list[tuple[str, list[str], list[list[Any]]]]:
    """Lists of objects inside the evidence (the rows behind a finding), as tables."""
    tables = []
    if isinstance(evidence, dict):
        for key, value in evidence.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                columns = list(dict.fromkeys(k for row in value for k in row))
                tables.append((key, columns, [[row.get(c) for c in columns] for row in value]))
    return tables


@click.command("explain")
@click.argument("violation_id")
@click.option("--run", "run", default=None, help="Run folder or name (default: the latest run).")
@click.option("--show-ids", is_flag=True, help="Show full ID numbers (inspector or admin token; recorded).")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Province profile for thresholds (default: $XUEJI_CONFIG).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@runs_option
@db_option
def explain(
    violation_id: str,
    run: str | None,
    show_ids: bool,
    config: Path | None,
    as_json: bool,
    runs_folder: Path | None,
    db_url: str | None,
) -> None:
    """Show one finding in full: what was found, the rule and its thresholds, and the evidence.

    VIOLATION_ID may be shortened to its first characters when that is unambiguous.

    \b
    Example:
        xueji explain 3f9a2c41
        xueji explain 3f9a2c41 --run 2026-11-20-1 --json
    """
    run_dir = resolve_run(run, runs_dir(runs_folder))
    actor: Actor | None = None
    engine: Engine | None
    if show_ids:
        engine, me = signed_in(db_url)
        actor = actor_of(me)
        require_show_ids(actor)
        _require_register(engine)
    else:
        engine = register_engine(db_url)
    finding = find_finding(run_dir, violation_id)
    shown = finding if show_ids else mask_findings(pl.DataFrame([finding])).collect().row(0, named=True)
    try:
        evidence: Any = json.loads(shown["evidence"]) if shown.get("evidence") else None
    except json.JSONDecodeError:
        evidence = shown["evidence"]
    summary = load_summary(run_dir)
    thresholds, source = _thresholds(summary, config)
    register = list_dismissals(engine, include_ended=True) if engine is not None else None
    history = (
        register.filter(pl.col("violation_id") == finding["violation_id"]).to_dicts() if register is not None else []
    )
    if actor is not None and engine is not None:
        record_unmasked_export(
            engine, actor, run_dir=run_dir, filters={"violation_id": finding["violation_id"]}, fmt="explain", path="-", findings=1
        )
    if as_json:
        print_json(
            {
                "run": run_dir.name,
                "finding": {k: v for k, v in shown.items() if k != "evidence"},
                "evidence": evidence,
                "rule": finding["rule"],
                "thresholds": thresholds,
                "dismissals": history,
            }
        )
        return
    click.echo(f"Finding {shown['violation_id']} in run {run_dir.name}")
    for key in ("rule", "severity", "change", "county_code", "school_code", "grade", "class_name",
                "student_no", "id_number", "name", "group_id"):  # fmt: skip
        value = shown.get(key)
        if value is None:
            continue
        if key == "severity":
            value = f"{value} ({SEVERITY_LABELS.get(str(value), '')})"
        if key == "change":
            value = f"{value} ({CHANGE_LABELS.get(str(value), '')})"
        click.echo(f"  {COLUMN_LABELS.get(key, key)} {key}: {value}")
    click.echo(f"  {COLUMN_LABELS['detail']}: {shown.get('detail') or '-'}")
    click.echo("")
    click.echo("Rule")
    for line in _rule_text(finding["rule"], thresholds, source):
        click.echo(f"  {line}")
    click.echo("")
    click.echo("Evidence")
    if evidence is None:
        click.echo("  (none recorded)")
    else:
        text = json.dumps(evidence, ensure_ascii=False, indent=2) if not isinstance(evidence, str) else evidence
        for line in text.splitlines():
            click.echo(f"  {line}")
        for title, columns, rows in _evidence_tables(evidence):
            print_table(title, columns, rows)
    if history:
        click.echo("")
        click.echo("Exceptions register")
        for entry in history:
            ended = f"; {entry['state']} {entry['ended']} by {entry['ended_by']}" if entry["ended"] else ""
            click.echo(f"  dismissed {entry['dismissed_at']} by {entry['dismissed_by']}: {entry['reason']}{ended}")


COMMANDS: tuple[click.Command, ...] = (report, explain)
