"""``xueji finding dismiss | restore | list``: the exceptions register and the run's findings."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from xueji.cli.accounts import db_option, json_option, print_json, print_table, signed_in
from xueji.cli.report import filter_options, make_filters, register_engine, runs_option
from xueji.findings import actor_of, apply_dismissals, dismiss, list_dismissals, restore
from xueji.reports import resolve_run, runs_dir
from xueji.reports.masking import mask_findings
from xueji.reports.runs import scan_violations
from xueji.reports.summary import ordered_rules


@click.group("finding")
def finding_group() -> None:
    """Dismiss findings that are not violations, restore them, and list findings.

    \b
    Example:
        xueji finding dismiss 3f9a2c41 --reason "双胞胎，经核实为两人"
        xueji finding list --dismissed
    """


@finding_group.command("dismiss")
@click.argument("violation_id")
@click.option("--reason", required=True, help="Why this is not a violation (recorded with your name and the time).")
@click.option("--run", "run", default=None, help="Run folder or name the finding is in (default: the latest run).")
@runs_option
@db_option
def finding_dismiss(violation_id: str, reason: str, run: str | None, runs_folder: Path | None, db_url: str | None) -> None:
    """Mark a finding as not a violation (registrar of its school, or bureau officer of its county).

    Later runs show it as dismissed and leave it out of counts until the data behind it
    changes; then the dismissal lapses and the finding is new again.

    \b
    Example:
        xueji finding dismiss 3f9a2c41 --reason "双胞胎，经核实为两人"
    """
    engine, me = signed_in(db_url)
    run_dir = resolve_run(run, runs_dir(runs_folder))
    row = dismiss(engine, actor_of(me), run_dir, violation_id, reason)
    click.echo(
        f"Dismissed {row.violation_id} ({row.rule}; {row.subject}) for {me.describe()}: {row.reason}. "
        "Reports leave it out of counts until its data changes."
    )


@finding_group.command("restore")
@click.argument("violation_id")
@click.option("--reason", default=None, help="Why the dismissal no longer holds (recorded).")
@db_option
def finding_restore(violation_id: str, reason: str | None, db_url: str | None) -> None:
    """Revoke a dismissal, so the finding counts again (its school's registrar, county officer, inspector, admin).

    \b
    Example:
        xueji finding restore 3f9a2c41 --reason "复核发现为同一人"
    """
    engine, me = signed_in(db_url)
    row = restore(engine, actor_of(me), violation_id, reason)
    click.echo(f"Restored {row.violation_id} ({row.rule}; {row.subject}): it counts again in reports.")


@finding_group.command("list")
@click.argument("run", required=False)
@click.option("--dismissed", is_flag=True, help="List the exceptions register (live dismissals) instead of findings.")
@click.option("--all", "include_ended", is_flag=True, help="With --dismissed: also revoked and lapsed dismissals.")
@filter_options
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=0), help="Rows to show (0: all).")
@json_option
@runs_option
@db_option
def finding_list(
    run: str | None,
    dismissed: bool,
    include_ended: bool,
    counties: tuple[str, ...],
    schools: tuple[str, ...],
    rules: tuple[str, ...],
    severities: tuple[str, ...],
    limit: int,
    as_json: bool,
    runs_folder: Path | None,
    db_url: str | None,
) -> None:
    """List a run's findings (ID numbers masked), or with --dismissed the exceptions register.

    \b
    Example:
        xueji finding list --school 4301040001 --rule DUPLICATE_RECORD
        xueji finding list --dismissed --all --county 430104
    """
    if include_ended and not dismissed:
        raise click.UsageError("--all goes with --dismissed")
    if dismissed:
        if severities:
            raise click.UsageError("--severity does not apply to --dismissed")
        engine = register_engine(db_url)
        register = (
            list_dismissals(engine, include_ended=include_ended, counties=counties, schools=schools, rules=tuple(r.upper() for r in rules))
            if engine is not None
            else list_dismissals_empty()
        )
        _show(register, limit, as_json, "dismissed findings")
        return
    run_dir = resolve_run(run, runs_dir(runs_folder))
    filters = make_filters(run_dir, counties, schools, rules, severities)
    engine = register_engine(db_url)
    violations = scan_violations(run_dir).collect()
    if engine is not None:
        violations = apply_dismissals(engine, violations, record_lapses=False)
    frame = mask_findings(violations.lazy().filter(filters.expr(violations.columns))).collect()
    order = {code: i for i, code in enumerate(ordered_rules(frame.get_column("rule").unique().to_list()))}
    frame = (
        frame.with_columns(pl.col("rule").replace_strict(order, default=len(order)).alias("_order"))
        .sort("_order", "school_code", "violation_id", nulls_last=True)
        .select("violation_id", "rule", "severity", "change", "school_code", "student_no", "name", "detail")
    )
    _show(frame, limit, as_json, f"findings of run {run_dir.name}")


def list_dismissals_empty() -> pl.DataFrame:
    """An empty register listing (no database yet)."""
    names = ("violation_id", "rule", "subject", "state", "dismissed_by", "dismissed_at", "reason", "ended", "ended_by")
    return pl.DataFrame(schema={n: pl.String for n in names})


def _show(frame: pl.DataFrame, limit: int, as_json: bool, what: str) -> None:
    shown = frame if limit == 0 else frame.head(limit)
    if as_json:
        print_json(shown.to_dicts())
        return
    if frame.is_empty():
        click.echo(f"No {what}.")
        return
    print_table(None, shown.columns, shown.rows())
    if shown.height < frame.height:
        click.echo(f"{shown.height} of {frame.height} {what} shown (use --limit 0 for all, or `xueji report`).")
    else:
        click.echo(f"{frame.height} {what}.")


COMMANDS: tuple[click.Command, ...] = (finding_group,)
