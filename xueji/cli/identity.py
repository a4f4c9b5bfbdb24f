"""``xueji identity``: how records are linked into persons, and why."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from xueji.config import load_config
from xueji.identity import resolve_identities
from xueji.identity.result import format_explanation
from xueji.identity.spec import all_specs


@click.group("identity")
def identity() -> None:
    """Identity resolution: blocking keys, comparisons, and the evidence behind each link.

    \b
    Example:
        xueji identity explain-config
        xueji identity explain G430104201503120111 --data sample_data/demo
    """


@identity.command("explain-config")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Province profile (TOML).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also count the candidate pairs each blocking key makes on this input folder.",
)
def explain_config(config_path: Path | None, data_dir: Path | None) -> None:
    """Print the three linkers' blocking keys, comparison levels, weights and decisions.

    \b
    Example:
        xueji identity explain-config
        xueji identity explain-config --data sample_data/demo

    With --data, the candidate pairs per blocking key are counted on that folder
    (before any pair is scored) and printed under each linker.
    """
    cfg = load_config(config_path)
    counts: dict[str, dict[str, int]] = {}
    if data_dir is not None:
        from xueji.identity.counts import candidate_pair_counts
        from xueji.io import load_inputs

        inputs = load_inputs(data_dir)
        counts = candidate_pair_counts(inputs.tables, cfg, attendance=inputs.attendance)
    for spec in all_specs(cfg):
        click.echo(spec.describe())
        if spec.name in counts:
            click.echo("  candidate pairs per blocking key:")
            for key, n in counts[spec.name].items():
                click.echo(f"    - {key}: {n:,}")
        click.echo("")


@identity.command("explain")
@click.argument("student_no")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Input folder.",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Reference date (default: today).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Province profile (TOML).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option(
    "--show-ids", is_flag=True, help="Show ID numbers in full (they are masked by default)."
)
def explain(
    student_no: str,
    data_dir: Path,
    as_of: object,
    config_path: Path | None,
    as_json: bool,
    show_ids: bool,
) -> None:
    """Show the person a record belongs to: the records clustered with it, the attendance
    persons and residence rows linked to it, and which comparisons agreed, with scores.

    \b
    Example:
        xueji identity explain G430104201503120111 --data sample_data/demo --as-of 2026-11-20

    Exit code 2 when the folder is unusable or no record has STUDENT_NO.
    """
    from xueji.io import load_inputs

    cfg = load_config(config_path)
    day = as_of.date() if hasattr(as_of, "date") else date.today()
    inputs = load_inputs(data_dir, as_of=day)
    ident = resolve_identities(inputs.tables, cfg, day, attendance=inputs.attendance)
    info = ident.explain(student_no.strip().upper(), show_ids=show_ids)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        click.echo(format_explanation(info))


COMMANDS: tuple[click.Command, ...] = (identity,)
