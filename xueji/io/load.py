"""Load an input folder: every table validated, every bad cell collected.

files → ``open_table`` (headers) → ``parse_field`` (typed values + messages) →
``Inputs``: lazy typed frames for the rules and one ``data_errors`` frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
from loguru import logger

from xueji.errors import InputError
from xueji.io.digest import AttendanceDigest, digest_attendance
from xueji.io.normalise import DTYPES, REQUIRED, fullwidth_columns, plan_field, raw_string, staged
from xueji.io.readers import RawTable, find_table_file, open_table
from xueji.io.schema import TableSchema, load_schemas

ROW = "_row"  # 1-based data row number in the source file (header excluded)
DIGESTED = "attendance"  # the one big table: reduced by its distinct values, never read whole

DATA_ERROR_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(),
    "row": pl.Int64(),
    "column": pl.String(),
    "value": pl.String(),
    "message": pl.String(),
}


@dataclass(frozen=True)
class SourceInfo:
    """Where a table came from and how it was read."""

    table: str
    path: Path
    format: str
    encoding: str | None
    header_languages: tuple[str, ...]
    rows: int
    unknown_headers: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()  # required columns the file lacks (null on every row)


@dataclass
class Inputs:
    """Validated lazy frames (English column names, typed, unreadable cells null) and data errors."""

    folder: Path
    tables: dict[str, pl.LazyFrame]
    data_errors: pl.DataFrame
    sources: dict[str, SourceInfo]
    warnings: list[str] = field(default_factory=list)
    attendance: AttendanceDigest | None = None  # attendance reduced (when supplied)

    def has(self, table: str) -> bool:
        """Whether the optional ``table`` was supplied."""
        return table in self.tables

    def missing_columns(self) -> dict[str, tuple[str, ...]]:
        """Table → the required columns its file lacks, for the tables that lack some."""
        return {name: src.missing_columns for name, src in self.sources.items() if src.missing_columns}

    def lacking(self, tables: Iterable[str]) -> str | None:
        """``registry.csv: grade (年级), ...`` for the files of ``tables`` that lack required
        columns (``; `` between files), or None when none does."""
        schemas = load_schemas()
        parts = [
            f"{self.sources[t].path.name}: {', '.join(schemas[t].field(c).label for c in cols)}"
            for t, cols in self.missing_columns().items()
            if t in set(tables)
        ]
        return "; ".join(parts) or None


def empty_data_errors() -> pl.DataFrame:
    """A data_errors frame with no rows."""
    return pl.DataFrame(schema=DATA_ERROR_SCHEMA)


def _typed(raw: RawTable, materialise: bool = False) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(typed frame with _row, cell errors) for one table, both over one source scan."""
    source = raw.frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    if not materialise:
        return _typed_rows(source, raw.schema, raw.file)
    # Read into memory first: one look at every text column tells which ever hold a
    # full-width character, and only those pay for the replacement.
    cells = source.collect(engine="streaming")
    return _typed_rows(cells.lazy(), raw.schema, raw.file, materialise, fullwidth_columns(cells))


def _typed_rows(
    source: pl.LazyFrame,
    schema: TableSchema,
    file: str,
    materialise: bool = False,
    fullwidth: set[str] | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(typed frame with _row, cell errors) of ``source`` (raw cells and ``_row``);
    ``fullwidth``: the columns that hold a full-width character, when known (else all may).

    The plan is staged (clean text → parse → error code) so each expression runs once
    per cell; the error frame keeps only rows with a non-zero code before it builds
    any message. With ``materialise`` the typed values, codes and raw cells are
    computed once into memory and both frames read them (tables that are read many
    times); without, both stay plans over the source (attendance, never collected whole).
    """
    dtypes = source.collect_schema()
    plans = [
        plan_field(f, dtypes[f.name], fullwidth is None or f.name in fullwidth)
        for f in schema.fields
        if f.name in dtypes
    ]
    stages = staged(
        source.with_columns([raw_string(p.field, dtypes[p.field.name]).alias(f"__r_{p.field.name}") for p in plans]),
        plans,
    )
    values: list[pl.Expr] = []
    planned = {p.field.name: p for p in plans}
    for f in schema.fields:
        if f.name in planned:
            values.append(planned[f.name].final)
        else:
            default = pl.lit(f.default, dtype=DTYPES[f.type]) if f.default is not None else pl.lit(None, DTYPES[f.type])
            values.append(default.alias(f.name))
    compact = stages.select(
        pl.col(ROW), *values, *[pl.col(f"__r_{p.field.name}") for p in plans], *[pl.col(p.code_col) for p in plans]
    )
    if materialise:
        compact = compact.collect(engine="streaming").lazy()
    typed = compact.select(ROW, *[f.name for f in schema.fields])
    if not plans:
        return typed, empty_data_errors().lazy()

    message_table = pl.DataFrame(
        [
            {"column": pl_.field.name, "code": code, "text": text}
            for pl_ in plans
            for code, text in pl_.messages.items()
        ],
        schema={"column": pl.String, "code": pl.UInt8, "text": pl.String},
    ).lazy()
    cells = [
        pl.struct(value=pl.col(f"__r_{p.field.name}"), code=pl.col(p.code_col)).alias(p.field.name) for p in plans
    ]
    cell_errors = (
        compact.filter(pl.any_horizontal([pl.col(p.code_col) != 0 for p in plans]))
        .select(pl.col(ROW), *cells)
        .unpivot(index=ROW, variable_name="column", value_name="cell")
        .select(
            pl.col(ROW),
            pl.col("column"),
            pl.col("cell").struct.field("value").alias("value"),
            pl.col("cell").struct.field("code").alias("code"),
        )
        .filter(pl.col("code") != 0)
        .join(message_table, on=["column", "code"], how="left")
        .select(
            pl.lit(file).alias("file"),
            pl.col(ROW).alias("row"),
            pl.col("column"),
            pl.col("value"),
            pl.when(pl.col("code") == REQUIRED)
            .then(pl.col("text"))
            .otherwise(pl.lit("'") + pl.col("value") + pl.lit("' ") + pl.col("text"))
            .alias("message"),
        )
    )
    return typed, cell_errors


def missing_column_errors(raw: RawTable) -> pl.DataFrame:
    """One data_errors row per required column the file lacks (contract §4).

    The column's value is unknown on every row, so one row with ``row`` null stands for
    all of them: a row per data row would repeat one fact millions of times (attendance).
    """
    messages = [
        f"required column missing: every row of this file lacks {f.label}; rules that need it skip these rows"
        + (f" (unknown column {raw.hints[f.name]!r} is ignored; did you mean {f.label}?)" if f.name in raw.hints else "")
        for f in raw.missing
    ]
    return pl.DataFrame(
        {
            "file": [raw.file] * len(raw.missing),
            "row": [None] * len(raw.missing),
            "column": [f.name for f in raw.missing],
            "value": [None] * len(raw.missing),
            "message": messages,
        },
        schema=DATA_ERROR_SCHEMA,
    )


def _unique_errors(file: str, schema: TableSchema, typed: pl.LazyFrame) -> list[pl.LazyFrame]:
    out = []
    for f in schema.fields:
        if not f.unique:
            continue
        c = pl.col(f.name)
        dup = (
            typed.select(ROW, f.name)
            .filter(c.is_not_null())
            .with_columns(pl.col(ROW).min().over(f.name).alias("_first"))
            .filter(pl.col(ROW) != pl.col("_first"))
        )
        out.append(
            dup.select(
                pl.lit(file).alias("file"),
                pl.col(ROW).alias("row"),
                pl.lit(f.name).alias("column"),
                pl.col(f.name).alias("value"),
                (pl.lit("'") + pl.col(f.name) + pl.lit("' is a duplicate (first on row ") + pl.col("_first").cast(pl.String) + pl.lit(")")).alias("message"),
            )
        )
    return out


def load_inputs(folder: Path, as_of: date | None = None) -> Inputs:
    """Open, normalise and validate every table in ``folder``.

    Raises InputError (exit 2) for a missing folder, a missing required table, an
    unreadable file or a file with none of its table's required columns — before
    anything is written. Bad cells become nulls in the typed frames and rows of
    ``data_errors``; a required column the file lacks is null on every row and one row
    of ``data_errors`` (``row`` null).

    Every table but attendance is read once, into memory: the typed frames are lazy
    frames over those rows, so the stages that read them again re-parse nothing.
    Attendance stays a plan over its file and is reduced by ``digest_attendance`` in
    two streaming passes; ``as_of`` (default: today) is the day its masks end on.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such input folder")
    schemas = load_schemas()
    raws: dict[str, RawTable] = {}
    missing = []
    for name, schema in schemas.items():
        path = find_table_file(folder, name)
        if path is None:
            if schema.required:
                missing.append(name)
            continue
        raws[name] = open_table(path, schema)
    if missing:
        listed = ", ".join(f"{m} ({schemas[m].title})" for m in missing)
        raise InputError(
            f"{folder}: {len(missing)} required table{'s' if len(missing) > 1 else ''} missing: {listed} "
            "(expected NAME.csv, NAME.parquet or NAME.xlsx)"
        )

    typed: dict[str, pl.LazyFrame] = {}
    row_counts: dict[str, pl.LazyFrame] = {}
    error_plans: list[pl.LazyFrame] = []
    warnings: list[str] = []
    for name, raw in raws.items():
        warnings.extend(raw.warnings)
        if raw.missing:
            error_plans.append(missing_column_errors(raw).lazy())
        if name == DIGESTED:
            continue
        try:
            frame, cell_errors = _typed(raw, materialise=True)
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"{raw.file}: could not be read to the end ({str(exc).splitlines()[0]})") from exc
        typed[name] = frame
        row_counts[name] = frame.select(pl.len())
        error_plans.append(cell_errors)
        error_plans.extend(_unique_errors(raw.file, raw.schema, frame))
        if raw.schema.primary_key:
            # A repeated key row is reported (above) and kept out of the rules: joins on
            # the key would otherwise count its students twice.
            key = list(raw.schema.primary_key)
            typed[name] = frame.filter(
                pl.any_horizontal(pl.col(key).is_null()) | (pl.col(ROW) == pl.col(ROW).min().over(key))
            )

    # Foreign keys: a code that names no row of the referenced table is an error and
    # unknown. The referenced tables (schools) are small: their codes are collected once.
    # A referenced column its file lacks gives no codes to check against: every code
    # would be "not in" it, an error per row that says nothing about the row.
    known_codes: dict[tuple[str, str], pl.Series] = {}
    for raw in raws.values():
        for _column, ref_table, ref_column in raw.schema.foreign_keys:
            if ref_table not in typed or any(f.name == ref_column for f in raws[ref_table].missing):
                continue
            if (ref_table, ref_column) not in known_codes:
                frame = typed[ref_table].select(pl.col(ref_column).drop_nulls().unique())
                known_codes[(ref_table, ref_column)] = frame.collect().to_series()

    def fk_errors(name: str, frame: pl.LazyFrame) -> tuple[pl.LazyFrame, list[pl.LazyFrame]]:
        """``frame`` with unknown codes nulled, and the errors that name them."""
        raw, found = raws[name], []
        for column, ref_table, ref_column in raw.schema.foreign_keys:
            if (ref_table, ref_column) not in known_codes:
                continue
            known = pl.col(column).is_in(known_codes[(ref_table, ref_column)].implode())
            found.append(
                frame.filter(pl.col(column).is_not_null() & ~known).select(
                    pl.lit(raw.file).alias("file"),
                    pl.col(ROW).alias("row"),
                    pl.lit(column).alias("column"),
                    pl.col(column).alias("value"),
                    (pl.lit("'") + pl.col(column) + pl.lit(f"' is not in {raws[ref_table].file}")).alias("message"),
                )
            )
            frame = frame.with_columns(pl.when(known).then(pl.col(column)).alias(column))
        return frame, found

    for name in list(typed):
        typed[name], found = fk_errors(name, typed[name])
        error_plans.extend(found)

    digest: AttendanceDigest | None = None
    if DIGESTED in raws:
        raw = raws[DIGESTED]
        rows_frame, _ = _typed(raw)
        typed[DIGESTED], _ = fk_errors(DIGESTED, rows_frame)
        known = {
            column: known_codes[(ref_table, ref_column)]
            for column, ref_table, ref_column in raw.schema.foreign_keys
            if (ref_table, ref_column) in known_codes
        }

        def check_rows(rows: pl.DataFrame, raw: RawTable = raw) -> pl.DataFrame:
            source = rows.lazy().with_columns(pl.col(ROW).cast(pl.Int64))
            checked, errors = _typed_rows(source, raw.schema, raw.file)
            _, found = fk_errors(raw.schema.name, checked)
            return pl.concat([errors, *found], how="vertical").collect()

        try:
            digest, bad_cells = digest_attendance(raw.frame, raw.schema, as_of or date.today(), known, check_rows)
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"{raw.file}: could not be read to the end ({str(exc).splitlines()[0]})") from exc
        if bad_cells is not None:
            error_plans.append(bad_cells.lazy())

    names = list(row_counts)
    try:
        collected = pl.collect_all(
            [*(typed[n] for n in names), *(row_counts[n] for n in names), pl.concat(error_plans, how="vertical")]
        )
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{folder}: an input file could not be read to the end ({str(exc).splitlines()[0]})") from exc
    counts: dict[str, int] = {}
    for i, n in enumerate(names):
        typed[n] = collected[i].lazy()
        counts[n] = int(collected[len(names) + i].item())
    if digest is not None:
        counts[DIGESTED] = digest.rows
    data_errors = collected[-1].cast(DATA_ERROR_SCHEMA).sort("file", "row", "column")  # type: ignore[arg-type]

    sources = {
        name: SourceInfo(
            name,
            raw.path,
            raw.format,
            raw.encoding,
            raw.header_languages,
            counts[name],
            tuple(raw.unknown_headers),
            tuple(f.name for f in raw.missing),
        )
        for name, raw in raws.items()
    }
    for w in warnings:
        logger.warning(w)
    logger.info(
        "loaded {} tables from {}: {}; {} data errors",
        len(typed),
        folder,
        ", ".join(f"{n} {c:,}" for n, c in counts.items()),
        data_errors.height,
    )
    return Inputs(folder, typed, data_errors, sources, warnings, attendance=digest)


def format_data_error(row: dict[str, object], schemas: dict[str, TableSchema] | None = None) -> str:
    """``registry.csv row 17, birth_date (出生日期): '2013-02-30' is not a date (...)``;
    ``registry.csv, grade (年级): required column missing: ...`` for a column the file
    lacks (its row is null: it concerns every row)."""
    schemas = schemas or load_schemas()
    file = str(row["file"])
    table = file.rsplit(".", 1)[0]
    column = str(row["column"])
    label = column
    if table in schemas:
        try:
            label = schemas[table].field(column).label
        except KeyError:
            pass
    where = file if row["row"] is None else f"{file} row {row['row']}"
    return f"{where}, {label}: {row['message']}"
