"""``xueji rules``: the rule catalogue (list) and one rule's definition and query plan (show)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
import polars as pl
from loguru import logger
from rich.console import Console
from rich.table import Table

from xueji.audit.context import build_context
from xueji.config import Config, load_config
from xueji.errors import NotFound
from xueji.io import load_schemas
from xueji.rules.base import Rule
from xueji.rules.catalogue import all_rules, rule_by_code


def _console() -> Console:
    import sys

    return Console() if sys.stdout.isatty() else Console(width=160, soft_wrap=True)


def find_rule(code: str) -> Rule:
    """The rule called ``code`` (any case), or NotFound with the closest code."""
    try:
        return rule_by_code(code.strip().upper())
    except KeyError:
        import difflib

        close = difflib.get_close_matches(code.strip().upper(), [r.code for r in all_rules()], n=1)
        hint = f"; did you mean {close[0]}?" if close else " (see `xueji rules list`)"
        raise NotFound(f"no rule called {code!r}{hint}") from None


def query_plan(rule: Rule, cfg: Config, as_of: date) -> str:
    """The optimised Polars plan of ``rule`` on an empty context with every table present."""
    from xueji.identity import resolve_identities
    from xueji.testing import typed_tables

    tables = typed_tables(**{name: pl.DataFrame() for name in load_schemas()})
    # Linking empty tables is not news: keep its log lines off the screen.
    logger.disable("xueji.identity")
    try:
        ident = resolve_identities(tables, cfg, as_of)
    finally:
        logger.enable("xueji.identity")
    previous = pl.DataFrame(schema={"student_no": pl.String, "school_code": pl.String, "status": pl.String})
    ctx = build_context(tables, as_of, cfg, ident, previous_registry=previous)
    return rule.build(ctx).explain()


@click.group()
def rules() -> None:
    """The rule catalogue: what each rule checks, on what basis, with which thresholds.

    \b
    Example:
        xueji rules list
        xueji rules show OVERSIZED_CLASS
    """


@rules.command("list")
def list_rules() -> None:
    """Every rule: code, Chinese title, severity, the tables it needs, its basis.

    \b
    Example:
        xueji rules list
    """
    table = Table(title="xueji rule catalogue", title_justify="left")
    for column in ("code", "finding", "severity", "needs", "basis"):
        table.add_column(column, no_wrap=column != "basis")
    for rule in all_rules():
        needs = ", ".join(rule.needs) + (" + workflow" if rule.needs_workflow else "")
        table.add_row(rule.code, rule.title, rule.severity, needs, rule.basis)
    _console().print(table)


@rules.command("show")
@click.argument("code")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), envvar="XUEJI_CONFIG", help="Province profile (TOML) whose thresholds to show.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Reference date for date thresholds (default: today).")
@click.option("--no-plan", is_flag=True, help="Leave out the query plan.")
def show_rule(code: str, config_path: Path | None, as_of: object, no_plan: bool) -> None:
    """The definition, basis, thresholds (effective values) and query plan of rule CODE.

    \b
    Example:
        xueji rules show DROPOUT_RISK
        xueji rules show ENTRY_AGE --config hunan.toml
    """
    rule = find_rule(code)
    cfg = load_config(config_path)
    click.echo(rule.describe(cfg))
    click.echo(f"subject: {rule.subject} ({', '.join(rule.subject_columns)})")
    if rule.thresholds:
        click.echo("threshold sources: " + ", ".join(f"{name} from {cfg.sources[name]}" for name in rule.thresholds))
    if not no_plan:
        day = as_of.date() if hasattr(as_of, "date") else date.today()
        click.echo("query plan (optimised, on empty tables):")
        click.echo(query_plan(rule, cfg, day))


COMMANDS: tuple[click.Command, ...] = (rules,)
