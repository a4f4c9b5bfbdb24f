"""Find and open one table's file: CSV (UTF-8, UTF-8 with BOM or GB18030), Parquet or XLSX.

The readers map headers (English or Chinese, mixed) to field names and hand back a
lazy frame of raw cells. Nothing is parsed or dropped here: that is ``normalise``'s job.
"""

from __future__ import annotations

import codecs
import difflib
import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from xueji.errors import InputError
from xueji.io.schema import FieldSchema, TableSchema

SUFFIXES = (".csv", ".parquet", ".xlsx")
_CHUNK = 1 << 22
BOM = codecs.BOM_UTF8


@dataclass
class RawTable:
    """A table's raw cells with headers already mapped to field names."""

    schema: TableSchema
    path: Path
    format: str
    encoding: str | None
    frame: pl.LazyFrame
    header_languages: tuple[str, ...]
    unknown_headers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Required columns the file lacks (some, never all: that stops the load). Their
    # values are unknown on every row; the loader reports each once in data_errors.
    missing: tuple[FieldSchema, ...] = ()
    # Field name → the unknown header that probably meant it (a "did you mean" hint).
    hints: dict[str, str] = field(default_factory=dict)

    @property
    def file(self) -> str:
        """The file name as messages show it."""
        return self.path.name


def find_table_file(folder: Path, table: str) -> Path | None:
    """The one file holding ``table`` in ``folder``, or None; two candidates is an error."""
    found = [folder / f"{table}{s}" for s in SUFFIXES if (folder / f"{table}{s}").is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(f"{folder}: {len(found)} files for table {table}: {names} (keep one)")
    return found[0] if found else None


def detect_encoding(path: Path) -> str:
    """``utf-8-sig``, ``utf-8`` or ``gb18030``, decided by strict decoding, never assumed."""
    return _sniff(path)[0]


def _sniff(path: Path) -> tuple[str, bytes | None]:
    """(encoding, the text as UTF-8 when it had to be transcoded).

    A GB18030 file is decoded once, strictly: the same pass that proves the encoding
    gives the UTF-8 text Polars reads (decoding a city's residence file twice cost half
    a second)."""
    with path.open("rb") as fh:
        head = fh.read(len(BOM))
        if head == BOM:
            return "utf-8-sig", None
        fh.seek(0)
        decoder: codecs.IncrementalDecoder = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8", None
        except UnicodeDecodeError:
            pass
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("gb18030")("strict")
        parts: list[bytes] = []
        try:
            while chunk := fh.read(_CHUNK):
                parts.append(decoder.decode(chunk).encode("utf-8"))
            parts.append(decoder.decode(b"", final=True).encode("utf-8"))
            return "gb18030", b"".join(parts)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path.name}: the file is neither UTF-8 nor GB18030/GBK text "
                f"(undecodable byte at offset {exc.start}); save it as UTF-8 CSV"
            ) from exc


def _clean_header(h: str) -> str:
    from xueji.io.normalise import to_halfwidth

    return to_halfwidth(h.replace("\ufeff", "")).strip()


@dataclass(frozen=True)
class HeaderMap:
    """How a file's headers map to a table's fields."""

    rename: dict[str, str]  # file header → field name
    unknown: list[str]  # headers that name no field (ignored)
    languages: tuple[str, ...]  # "en" and/or "zh"
    warnings: list[str]
    missing: tuple[FieldSchema, ...]  # required fields no header names, by name
    hints: dict[str, str]  # field name → the unknown header that probably meant it


def map_headers(schema: TableSchema, file: str, headers: list[str]) -> HeaderMap:
    """Map file headers to field names.

    Two headers naming one field raise InputError, and so does a file with none of the
    table's required columns (contract §4). A file lacking
    only some required columns is read: those columns are listed in ``missing``.
    """
    accepted = schema.header_map()
    rename: dict[str, str] = {}
    seen: dict[str, str] = {}
    unknown: list[str] = []
    languages: set[str] = set()
    warnings: list[str] = []
    hints: dict[str, str] = {}
    for h in headers:
        key = _clean_header(h)
        target = accepted.get(key) or accepted.get(key.lower())
        if target is None:
            unknown.append(h)
            choices = list(accepted)
            hint = difflib.get_close_matches(key.lower(), choices, n=1, cutoff=0.6) or difflib.get_close_matches(
                key, choices, n=1, cutoff=0.5
            )
            fix = f"; did you mean {accepted[hint[0]]} ({schema.field(accepted[hint[0]]).title})?" if hint else ""
            if hint:
                hints.setdefault(accepted[hint[0]], h)
            warnings.append(f"{file}: unknown column {h!r} is ignored{fix}")
            continue
        if target in seen:
            raise InputError(
                f"{file}: columns {seen[target]!r} and {h!r} both give {schema.field(target).label}; keep one"
            )
        seen[target] = h
        rename[h] = target
        languages.add("zh" if key == schema.field(target).title else "en")
    missing = tuple(sorted((f for f in schema.required_fields if f.name not in seen), key=lambda f: f.name))
    listed = ", ".join(f.label for f in missing)
    noun = "column" if len(missing) == 1 else "columns"
    if missing and len(missing) == len(schema.required_fields):
        extra = "; ".join(h.split(": ", 1)[1] for h in warnings if "did you mean" in h)
        raise InputError(
            f"{file}: all {len(missing)} required {noun} missing: {listed}" + (f" ({extra})" if extra else "")
        )
    if missing:
        pronoun = "it" if len(missing) == 1 else "them"
        warnings.append(
            f"{file}: {len(missing)} required {noun} missing: {listed}; "
            f"rules that need {pronoun} skip every row of this file"
        )
    # Only hints at a missing column help: one at a column the file has is a near-miss.
    hints = {name: h for name, h in hints.items() if name not in seen}
    return HeaderMap(rename, unknown, tuple(sorted(languages)), warnings, missing, hints)


def _read_csv(path: Path, schema: TableSchema) -> tuple[pl.LazyFrame, str]:
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: the file is empty (expected a header row with {schema.title} columns)")
    encoding, data = _sniff(path)
    opts = {"infer_schema": False, "truncate_ragged_lines": True}
    try:
        if data is not None:
            # Polars reads only UTF-8: the file was transcoded in memory. Government GBK
            # exports of the small tables are common; big tables arrive as Parquet.
            lf = pl.read_csv(io.BytesIO(data), **opts).lazy()  # type: ignore[arg-type]
        else:
            lf = pl.scan_csv(path, **opts)  # type: ignore[arg-type]
            lf.collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path.name}: not a readable CSV file ({_first_line(exc)})") from exc
    return lf, encoding


def _read_parquet(path: Path) -> pl.LazyFrame:
    try:
        pl.read_parquet_schema(path)
        lf = pl.scan_parquet(path)
        lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{path.name}: not a readable Parquet file ({_first_line(exc)})") from exc
    return lf


# Excel keeps a date as a date-time cell, which the engine reads as text
# ``2023-09-01 00:00:00``: the date part is the value (a date cell is not unreadable).
XLSX_DATETIME = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?$"


def _read_xlsx(path: Path) -> pl.LazyFrame:
    try:
        df = pl.read_excel(path, sheet_id=1, engine="calamine", infer_schema_length=0)
    except Exception as exc:  # noqa: BLE001 - the engine raises its own types
        raise InputError(f"{path.name}: not a readable XLSX workbook ({_first_line(exc)})") from exc
    return df.lazy()


def _xlsx_dates(frame: pl.LazyFrame, schema: TableSchema) -> pl.LazyFrame:
    """``frame`` (fields by name, read from a workbook) with the date-time text of its
    date cells cut to the date, so they parse like any ``YYYY-MM-DD`` cell."""
    names = frame.collect_schema()
    dates = [f.name for f in schema.fields if f.type == "date" and names.get(f.name) == pl.String]
    return frame.with_columns(pl.col(c).str.replace(XLSX_DATETIME, "${1}") for c in dates)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def open_table(path: Path, schema: TableSchema) -> RawTable:
    """Open ``path`` as ``schema``'s table with headers mapped; unknown columns are dropped.

    Raises InputError when the file has none of the table's required columns."""
    suffix = path.suffix.lower()
    encoding: str | None = None
    if suffix == ".csv":
        lf, encoding = _read_csv(path, schema)
        fmt = "csv"
    elif suffix == ".parquet":
        lf, fmt = _read_parquet(path), "parquet"
    else:
        lf, fmt = _read_xlsx(path), "xlsx"
    headers = lf.collect_schema().names()
    if not headers or headers == [""]:
        raise InputError(f"{path.name}: no header row found")
    mapped = map_headers(schema, path.name, headers)
    frame = lf.select([pl.col(src).alias(dst) for src, dst in mapped.rename.items()])
    if fmt == "xlsx":
        frame = _xlsx_dates(frame, schema)
    return RawTable(
        schema, path, fmt, encoding, frame, mapped.languages, mapped.unknown, mapped.warnings, mapped.missing, mapped.hints
    )
