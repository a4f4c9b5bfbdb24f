"""``xueji registry import DATA_DIR``: refresh the database's registry view from an input folder."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from xueji.cli.accounts import connect, db_option
from xueji.io import load_inputs
from xueji.workflow import import_registry


@click.group("registry")
def registry_group() -> None:
    """The registry view the transfer workflow checks against.

    \b
    Example:
        xueji registry import sample_data/demo
    """


@registry_group.command("import")
@click.argument("data_dir", type=click.Path(file_okay=False, path_type=Path))
@db_option
def import_cmd(data_dir: Path, db_url: str | None) -> None:
    """Load schools and registry (and residence, when present) into the database.

    \b
    Example:
        xueji registry import sample_data/demo --db sqlite:///xueji.db

    Each school in the folder gets exactly the folder's registry rows; schools of other
    imports are left alone. Rows whose cells could not be read are reported by
    `xueji validate` and imported with those cells empty; rows without a student
    number or a known school are left out.
    """
    inputs = load_inputs(data_dir)
    wanted = ["schools", "registry"] + (["residence"] if inputs.has("residence") else [])
    frames = dict(zip(wanted, pl.collect_all([inputs.tables[n] for n in wanted]), strict=True))
    engine = connect(db_url)
    result = import_registry(
        engine, frames["schools"], frames["registry"], frames.get("residence"), source=str(data_dir)
    )
    click.echo(f"Imported {data_dir}: {result.describe()}.")
    if inputs.data_errors.height:
        click.echo(
            f"{inputs.data_errors.height:,} data error(s) in the folder: see `xueji validate {data_dir}`."
        )


COMMANDS: tuple[click.Command, ...] = (registry_group,)
