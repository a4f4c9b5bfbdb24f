"""Cell normalisation and parsing as Polars expressions, derived from the field schemas.

For every field, ``parse_field`` gives two expressions over the raw column: the
normalised, typed value (null when unreadable: "unknown" to the rules) and an error
message (null when the cell is fine). Both run inside one lazy plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from xueji.io.schema import FieldSchema

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, as Chinese systems export them.
_FULLWIDTH = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000"]
_HALFWIDTH = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" "]
_HALF_TABLE = str.maketrans(dict(zip(_FULLWIDTH, _HALFWIDTH, strict=True)))

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")
DATE_HINT = "use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD"

DTYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "integer": pl.Int64(),
    "date": pl.Date(),
    "boolean": pl.Boolean(),
}


def to_halfwidth(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII (for headers and single values)."""
    return text.translate(_HALF_TABLE)


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Full-width → half-width, trim spaces, empty → null."""
    out = expr.str.replace_many(_FULLWIDTH, _HALFWIDTH).str.strip_chars()
    return pl.when(out.str.len_bytes() > 0).then(out)


@dataclass(frozen=True)
class ParsedField:
    """The typed value and the error message of one field, as expressions."""

    value: pl.Expr
    error: pl.Expr


def _as_string(col: str, source_dtype: pl.DataType) -> pl.Expr:
    c = pl.col(col)
    if source_dtype == pl.String:
        return c
    if source_dtype == pl.Date:
        return c.dt.strftime("%Y-%m-%d")
    if source_dtype == pl.Datetime:
        return c.dt.strftime("%Y-%m-%d")
    if source_dtype.is_float():
        # Spreadsheets store whole numbers as floats; 7.0 is the grade 7.
        return pl.when(c == c.round(0)).then(c.cast(pl.Int64).cast(pl.String)).otherwise(c.cast(pl.String))
    return c.cast(pl.String)


def raw_string(f: FieldSchema, source_dtype: pl.DataType) -> pl.Expr:
    """The cell as text exactly as it stood (for data_errors.value)."""
    return _as_string(f.name, source_dtype)


def _enum_lookup(f: FieldSchema) -> dict[str, str]:
    table: dict[str, str] = {}
    for value in f.enum or ():
        table[str(value).lower()] = str(value)
        for alias in f.aliases.get(str(value), ()):
            table[alias.lower()] = str(value)
    return table


def _enum_hint(f: FieldSchema) -> str:
    parts = []
    for value in f.enum or ():
        aliases = f.aliases.get(str(value), ())
        parts.append(f"{value} ({'/'.join(aliases)})" if aliases else str(value))
    return ", ".join(parts)


def _fail(msg: pl.Expr | str) -> pl.Expr:
    return msg if isinstance(msg, pl.Expr) else pl.lit(msg)


def parse_field(f: FieldSchema, source_dtype: pl.DataType) -> ParsedField:
    """Expressions for ``f``'s normalised value and its error message (null when fine)."""
    target = DTYPES[f.type]
    src = pl.col(f.name)
    quoted = pl.lit("'") + raw_string(f, source_dtype) + pl.lit("'")
    already_typed = source_dtype == target or (f.type == "date" and source_dtype == pl.Datetime)

    if already_typed and f.type != "string":
        value = src.cast(target)
        present = src.is_not_null()
        parse_error: pl.Expr = pl.lit(None, pl.String)
    else:
        text = clean_text(_as_string(f.name, source_dtype))
        if f.kind == "id_number":
            text = text.str.to_uppercase()
        present = text.is_not_null()
        if f.type == "string" and f.enum is not None:
            value = text.str.to_lowercase().replace_strict(_enum_lookup(f), default=None, return_dtype=pl.String)
            bad = f"is not one of: {_enum_hint(f)}"
        elif f.type == "string":
            value = text
            bad = ""
        elif f.type == "integer":
            as_float = text.cast(pl.Float64, strict=False)
            value = pl.when(as_float == as_float.round(0)).then(as_float.cast(pl.Int64, strict=False))
            bad = "is not a whole number"
        elif f.type == "date":
            value = pl.coalesce([text.str.to_date(fmt, strict=False) for fmt in DATE_FORMATS])
            bad = f"is not a date ({DATE_HINT})"
        elif f.type == "boolean":
            lookup = {v.lower(): True for v in f.true_values} | {v.lower(): False for v in f.false_values}
            value = text.str.to_lowercase().replace_strict(lookup, default=None, return_dtype=pl.Boolean)
            bad = "is not a yes/no value (use true/false, 1/0 or 是/否)"
        else:  # pragma: no cover - schema files are checked by tests
            raise ValueError(f"unknown field type {f.type!r} for {f.name}")
        parse_error = pl.when(present & value.is_null()).then(quoted + pl.lit(" " + bad)) if bad else pl.lit(None, pl.String)

    checks: list[tuple[pl.Expr, pl.Expr | str]] = []
    if f.required:
        checks.append((~present, "is required but empty"))
    checks.append((parse_error.is_not_null(), parse_error))
    if f.pattern is not None:
        ok = value.str.contains(f.pattern)
        checks.append((value.is_not_null() & ~ok, quoted + pl.lit(f" does not have the expected form ({f.description})")))
        value = pl.when(ok).then(value)
    if f.enum is not None and f.type == "integer":
        ok = value.is_in(list(f.enum))
        allowed = " or ".join(str(v) for v in f.enum)
        checks.append((value.is_not_null() & ~ok, quoted + pl.lit(f" is not allowed (use {allowed})")))
        value = pl.when(ok).then(value)
    if f.minimum is not None or f.maximum is not None:
        lo = f.minimum if f.minimum is not None else -(2**62)
        hi = f.maximum if f.maximum is not None else 2**62
        ok = value.is_between(lo, hi)
        span = f"{f.minimum}–{f.maximum}" if f.maximum is not None else f"at least {f.minimum}"
        checks.append((value.is_not_null() & ~ok, quoted + pl.lit(f" is out of range ({span})")))
        value = pl.when(ok).then(value)

    error = pl.lit(None, pl.String)
    for cond, msg in reversed(checks):
        error = pl.when(cond).then(_fail(msg)).otherwise(error)
    if f.default is not None:
        value = pl.when(present).then(value).otherwise(pl.lit(f.default, dtype=target))
    return ParsedField(value.cast(target).alias(f.name), error.alias(f.name))
