"""``xueji config``: the effective thresholds and where each value came from."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from xueji.config import THRESHOLDS, load_config


@click.group()
def config() -> None:
    """The thresholds table and a province profile's overrides.

    \b
    Example:
        xueji config show --config hunan.toml
    """


@config.command("show")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), envvar="XUEJI_CONFIG", help="Province profile (TOML); also $XUEJI_CONFIG.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: {name: {value, default, source, help, basis}}.")
def show_config(config_path: Path | None, as_json: bool) -> None:
    """Every threshold: its effective value, default, source (default or the profile), help and basis.

    \b
    Example:
        xueji config show
        xueji config show --config hunan.toml --json

    A profile overrides values under [thresholds]; an unknown key is an error with a hint.
    """
    cfg = load_config(config_path)
    if as_json:
        doc = {
            t.name: {"value": cfg[t.name], "default": t.default, "source": cfg.sources[t.name], "help": t.help, "basis": t.basis}
            for t in THRESHOLDS
        }
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    title = f"effective thresholds ({cfg.path})" if cfg.path else "effective thresholds (national defaults)"
    table = Table(title=title, title_justify="left")
    for column in ("name", "value", "source", "help", "basis"):
        table.add_column(column, no_wrap=column in ("name", "value"))
    for t in THRESHOLDS:
        source = cfg.sources[t.name]
        changed = source != "default"
        table.add_row(t.name, str(cfg[t.name]), source if not changed else f"[bold]{source}[/] (default {t.default})", t.help, t.basis)
    if cfg.holidays:
        table.caption = f"holidays: {', '.join(d.isoformat() for d in cfg.holidays)}"
    console = Console() if sys.stdout.isatty() else Console(width=200, soft_wrap=True)
    console.print(table)


COMMANDS: tuple[click.Command, ...] = (config,)
