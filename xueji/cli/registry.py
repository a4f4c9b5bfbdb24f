"""``xueji registry import DATA_DIR``: refresh the database's registry view from an input folder."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from xueji.cli.accounts import connect, db_option
from xueji.errors import InputError
from xueji.io import Inputs, load_inputs
from xueji.workflow import import_registry


def _refuse_missing_columns(inputs: Inputs, tables: list[str]) -> None:
    """Raise InputError when a file to import lacks required columns.

    The audit reads such a file (contract §4), but an import *replaces* each school's
    students with the file's rows: a column missing from every row would blank that
    field for the whole school (or, for student_no or school_code, remove its students)."""
    lacking = inputs.lacking(tables)
    if lacking is not None:
        raise InputError(
            f"{inputs.folder}: required columns missing ({lacking}); "
            "an import replaces each school's students with the file's rows, so nothing was imported"
        )


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
    number or a known school are left out. A file lacking a required column is
    refused (exit 2): importing it would empty that column for whole schools.
    """
    inputs = load_inputs(data_dir)
    wanted = ["schools", "registry"] + (["residence"] if inputs.has("residence") else [])
    _refuse_missing_columns(inputs, wanted)
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
