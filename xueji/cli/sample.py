"""``xueji sample``: generate a sample city with planted problems and its truth."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import click

from xueji.sample import DEFAULT_AS_OF, SampleConfig, generate, write_sample


@click.group("sample")
def sample() -> None:
    """Sample data for trying and testing xueji.

    \b
    Example:
        xueji sample generate --students 10000 --seed 1 --out /tmp/city
    """


@sample.command("generate")
@click.option(
    "--students",
    type=int,
    default=10_000,
    show_default=True,
    help="Active pupils in the city (1000 to 5000000).",
)
@click.option(
    "--days",
    type=int,
    default=60,
    show_default=True,
    help="School days of attendance, ending at --as-of (20 to 150).",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Random seed: the same seed gives the same files.",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=DEFAULT_AS_OF.isoformat(),
    show_default=True,
    help="The audit date the truth is computed for (YYYY-MM-DD).",
)
@click.option(
    "--county",
    default=None,
    help="Only this county of 长沙市 (e.g. 430104 岳麓区); default: the whole city.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write (created).",
)
@click.option("--force", is_flag=True, help="Replace an earlier sample in --out.")
def generate_command(
    students: int, days: int, seed: int, as_of: date, county: str | None, out: Path, force: bool
) -> None:
    """Write a sample city: input tables, truth.csv, labels and a manifest.

    \b
    Example:
        xueji sample generate --students 5000 --days 40 --seed 7 --county 430104 --out sample_data/demo

    The tables follow the data contract (schools.csv and residence.csv in GB18030 with
    Chinese headers, registry.csv in UTF-8 with a BOM, attendance.parquet, catchments.xlsx,
    registry_changes.csv). Every rule's findings on them are listed in truth.csv; the
    rows written unreadable on purpose are in expected_data_errors.csv.
    """
    # click hands a datetime; the generator works with the date
    reference = as_of.date() if isinstance(as_of, datetime) else as_of
    cfg = SampleConfig(students=students, days=days, seed=seed, as_of=reference, county=county)
    cfg.validate()
    started = time.perf_counter()
    result = generate(cfg)
    manifest = write_sample(result, out, force=force)
    counts = manifest["counts"]
    if not isinstance(counts, dict):  # pragma: no cover - write_sample always counts
        raise TypeError("manifest without counts")
    click.echo(
        f"Wrote {out}: {counts['schools']:,} schools, {counts['registry']:,} registry records, "
        f"{counts['attendance']:,} attendance rows, {counts['residence']:,} residents, "
        f"{counts['truth']:,} findings in truth.csv ({time.perf_counter() - started:.1f} s)."
    )


COMMANDS: tuple[click.Command, ...] = (sample,)
