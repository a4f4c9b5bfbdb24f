"""Helpers for rule case tables: run rules on crafted frames and get their findings.

Tests (and province teams writing their own cases) call ``run_rules`` with small
typed frames instead of files; the same identity resolution and rule plans run as in
an audit, so a case table asserts what an inspector would see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from xueji.config import Config, load_config
from xueji.ids import CHECK_CHARS, WEIGHTS
from xueji.io import ROW, load_schemas
from xueji.io.normalise import DTYPES, clean_text
from xueji.rules.catalogue import all_rules


def check_char_of(body17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character of a 17-digit body."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]


def make_id_number(birth_date: date, gender: str = "M", area: str = "430104", seq: int = 1) -> str:
    """A valid resident ID number: area code, birth date, a 2-digit sequence, the gender digit
    (odd for ``M``) and the check character; distinct for ``seq`` 0–499."""
    digit = 2 * ((seq // 100) % 5) + (1 if gender == "M" else 0)
    body = f"{area}{birth_date:%Y%m%d}{seq % 100:02d}{digit}"
    return body + check_char_of(body)


def school(school_code: str = "4301040001", **overrides: object) -> dict[str, object]:
    """One row of ``schools``: a public primary school of 岳麓区 unless overridden."""
    row: dict[str, object] = {
        "school_code": school_code,
        "school_name": f"测试学校{school_code[-4:]}",
        "county_code": school_code[:6],
        "level": "primary",
        "ownership": "public",
        "design_capacity": None,
    }
    return row | overrides


def record(
    seq: int = 1,
    birth_date: date | None = date(2017, 3, 1),
    gender: str | None = "M",
    **overrides: object,
) -> dict[str, Any]:
    """One row of ``registry``: an enrolled grade-3 student with a valid ID and a matching
    G student number at school 4301040001 unless overridden. ``seq`` makes the ID unique;
    an unknown (None) birth date or gender still gets an ID as if 2017-03-01 / M."""
    id_number = make_id_number(birth_date or date(2017, 3, 1), gender or "M", seq=seq)
    row: dict[str, Any] = {
        "student_no": "G" + id_number,
        "id_type": "resident_id",
        "id_number": id_number,
        "name": f"学生{seq}",
        "gender": gender,
        "birth_date": birth_date,
        "school_code": "4301040001",
        "grade": 3,
        "class_name": "1班",
        "status": "enrolled",
        "status_date": None,
        "enrol_date": date(2023, 9, 1),
        "hukou_area_code": "430104001001",
        "residence_area_code": "430104001001",
        "is_migrant": False,
        "placement": "none",
    }
    return row | overrides


def typed_table(table: str, rows: Iterable[Mapping[str, object]] | pl.DataFrame) -> pl.LazyFrame:
    """A crafted table as the loader would hand it over: every schema column present, typed,
    defaults filled, and ``_row`` numbered from 1."""
    schema = load_schemas()[table]
    df = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(list(rows), infer_schema_length=None)
    cols = []
    for f in schema.fields:
        dtype = DTYPES[f.type]
        if f.name in df.columns:
            expr = pl.col(f.name).cast(dtype)
            if f.default is not None:
                expr = expr.fill_null(pl.lit(f.default, dtype))
        else:
            expr = pl.lit(f.default, dtype) if f.default is not None else pl.lit(None, dtype)
        cols.append(expr.alias(f.name))
    if df.height == 0 and not df.columns:
        df = pl.DataFrame({"_dummy": []})
    out = df.lazy().with_row_index(ROW, offset=1).select(pl.col(ROW).cast(pl.Int64), *cols)
    return out


def typed_tables(**tables: Iterable[Mapping[str, object]] | pl.DataFrame) -> dict[str, pl.LazyFrame]:
    """``typed_table`` for each keyword (schools=..., registry=..., attendance=...)."""
    return {name: typed_table(name, rows) for name, rows in tables.items()}


def default_config(**overrides: object) -> Config:
    """The national defaults with some thresholds replaced (for near-miss cases)."""
    cfg = load_config()
    values = dict(cfg.values) | dict(overrides)
    return Config(values, cfg.sources, cfg.path, cfg.tables, cfg.holidays)


def empty_transfers(kind: str) -> pl.DataFrame:
    """The workflow facts a rule reads, with no rows (``completed`` or ``overdue``)."""
    from xueji.audit.context import empty_transfers as _empty

    return _empty(kind)


def run_rules(
    tables: Mapping[str, pl.LazyFrame],
    as_of: date,
    codes: Iterable[str] | None = None,
    cfg: Config | None = None,
    completed_transfers: pl.DataFrame | None = None,
    overdue_transfers: pl.DataFrame | None = None,
    previous_registry: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Resolve identities and evaluate ``codes`` (default: every rule whose tables are
    present) on typed frames; returns the findings sorted by rule and subject.

    The same functions as an audit build the context and collect the plans; a rule
    that fails raises here (an audit would report it and go on).
    """
    from xueji.audit.context import build_context, evaluate_rules, select_rules
    from xueji.identity import resolve_identities
    from xueji.rules.catalogue import rule_by_code

    cfg = cfg or load_config()
    ident = resolve_identities(dict(tables), cfg, as_of)
    ctx = build_context(tables, as_of, cfg, ident, completed_transfers, overdue_transfers, previous_registry)
    if codes is not None:
        rules = [rule_by_code(c) for c in codes]
    else:
        rules, _ = select_rules(tables, None, previous_registry is not None)
    found, errors, _ = evaluate_rules(ctx, rules)
    if errors:
        raise RuntimeError(f"rules failed: {errors}")
    return found.sort("rule", "school_code", "student_no", "name", nulls_last=True)


def write_inputs(folder: Path, **tables: Iterable[Mapping[str, object]] | pl.DataFrame) -> Path:
    """Write crafted tables as UTF-8 CSV files with English headers into ``folder``
    (created if needed), as an input folder for ``xueji audit``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        frame = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(list(rows), infer_schema_length=None)
        frame.write_csv(folder / f"{name}.csv")
    return folder


def read_truth(folder: Path) -> pl.DataFrame:
    """A generated dataset's ``truth.csv`` as the loader would read its values: every
    column as text (grade as an integer), names cleaned like every input text
    (full-width characters, the ideographic space included, become ASCII; contract §1),
    since findings carry the loaded value."""
    truth = pl.read_csv(folder / "truth.csv", infer_schema=False)
    return truth.with_columns(pl.col("grade").cast(pl.Int64), clean_text(pl.col("name")).alias("name"))


def truth_scores(found: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per rule of the catalogue: truth rows, findings, matches on the rule's subject
    columns, precision and recall (1.0 where there is nothing to find and nothing found)."""
    rows = []
    for rule in all_rules():
        keys = list(rule.subject_columns)
        mine = found.filter(pl.col("rule") == rule.code).select(keys).unique()
        want = truth.filter(pl.col("rule") == rule.code).select(keys).unique()
        hits = mine.join(want, on=keys, how="semi", nulls_equal=True).height
        rows.append(
            {
                "rule": rule.code,
                "truth": want.height,
                "found": mine.height,
                "matched": hits,
                "precision": hits / mine.height if mine.height else 1.0,
                "recall": hits / want.height if want.height else 1.0,
            }
        )
    return pl.DataFrame(rows)


def attendance_rows(
    person: Mapping[str, Any],
    school_code: str,
    days: Iterable[date],
    *,
    by_id: bool = True,
    absent_from: int | None = None,
) -> list[dict[str, object]]:
    """Attendance rows of ``person`` (a registry row: grade, class_name, name, id_number)
    at ``school_code``, one per day of ``days``: present, then absent from the
    ``absent_from``-th day on (0-based); ``by_id`` False leaves the ID number out."""
    return [
        {
            "school_code": school_code,
            "date": day,
            "grade": person["grade"],
            "class_name": person["class_name"],
            "name": person["name"],
            "id_number": person["id_number"] if by_id else None,
            "local_id": None,
            "status": "absent" if absent_from is not None and i >= absent_from else "present",
        }
        for i, day in enumerate(days)
    ]
