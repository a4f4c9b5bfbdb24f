"""``xueji validate``: load a folder, summarise rows and errors per table, keep the errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from xueji.io.files import write_csv_atomic
from xueji.io.load import Inputs, load_inputs


@dataclass(frozen=True)
class TableSummary:
    """One line of the validation summary."""

    table: str
    file: str
    format: str
    encoding: str | None
    headers: str
    rows: int
    errors: int
    errors_by_column: dict[str, int]


@dataclass(frozen=True)
class ValidationReport:
    """What ``validate_folder`` found."""

    inputs: Inputs
    tables: list[TableSummary]
    errors_path: Path | None

    @property
    def error_count(self) -> int:
        """All data errors in all tables."""
        return self.inputs.data_errors.height


def summarise(inputs: Inputs) -> list[TableSummary]:
    """Rows and errors by column for each supplied table."""
    by_file = (
        inputs.data_errors.group_by("file", "column").agg(pl.len().alias("n")).sort("file", "column")
        if inputs.data_errors.height
        else pl.DataFrame(schema={"file": pl.String, "column": pl.String, "n": pl.UInt32})
    )
    out = []
    for name, src in inputs.sources.items():
        rows = by_file.filter(pl.col("file") == src.path.name)
        per_col = {r["column"]: int(r["n"]) for r in rows.iter_rows(named=True)}
        headers = "+".join({"en": "English", "zh": "Chinese"}[lang] for lang in src.header_languages)
        out.append(
            TableSummary(name, src.path.name, src.format, src.encoding, headers, src.rows, sum(per_col.values()), per_col)
        )
    return out


def validate_folder(folder: Path, errors_out: Path | None) -> ValidationReport:
    """Load and validate ``folder``; write data_errors.csv to ``errors_out`` when given."""
    inputs = load_inputs(folder)
    path = write_csv_atomic(inputs.data_errors, errors_out) if errors_out is not None else None
    return ValidationReport(inputs, summarise(inputs), path)
