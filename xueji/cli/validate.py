"""``xueji validate``: check an input folder against the data contract."""

from __future__ import annotations

from pathlib import Path

import click

from xueji.io import format_data_error
from xueji.io.validate import validate_folder

SHOWN_ERRORS = 20


@click.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option(
    "--errors",
    "errors_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("data_errors.csv"),
    show_default=True,
    help="Where to write every data error (file,row,column,value,message).",
)
@click.option("--show", default=SHOWN_ERRORS, show_default=True, help="How many error lines to print.")
def validate(data_dir: Path, errors_out: Path, show: int) -> None:
    """Load DATA_DIR, check every table against the contract and list the data errors.

    \b
    Example:
        xueji validate sample_data/demo --errors /tmp/data_errors.csv

    Exit code 0 when the folder is usable (data errors or not, and a file lacking some
    required columns is usable: each is one data error), 2 when it is not (a required
    table missing, a file with none of its table's required columns, an unreadable file).
    """
    report = validate_folder(data_dir, errors_out)
    click.echo(f"{'table':<18}{'file':<26}{'read as':<22}{'rows':>12}{'errors':>9}")
    for t in report.tables:
        read_as = f"{t.format}{'/' + t.encoding if t.encoding else ''}, {t.headers}"
        click.echo(f"{t.table:<18}{t.file:<26}{read_as:<22}{t.rows:>12,}{t.errors:>9,}")
        for column, n in t.errors_by_column.items():
            click.echo(f"{'':<18}  {column}: {n:,}")
    absent = [n for n in ("catchments", "attendance", "residence", "registry_changes") if not report.inputs.has(n)]
    if absent:
        click.echo(f"not supplied (optional): {', '.join(absent)}")
    for warning in report.inputs.warnings:
        click.echo(f"warning: {warning}")
    errors = report.inputs.data_errors
    for row in errors.head(show).iter_rows(named=True):
        click.echo(format_data_error(row))
    if errors.height > show:
        click.echo(f"... and {errors.height - show:,} more")
    noun = "error" if errors.height == 1 else "errors"
    click.echo(f"{errors.height:,} data {noun}; written to {report.errors_path}")


COMMANDS: tuple[click.Command, ...] = (validate,)
