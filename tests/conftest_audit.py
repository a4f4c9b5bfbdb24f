"""Helpers for the audit tests: crafted input folders and a CLI driver (imported by test_audit_*)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner, Result

from xueji.cli import main
from xueji.testing import make_id_number, record, school, write_inputs

AS_OF = date(2026, 11, 20)
A, B, C = "4301040001", "4301040002", "4301050001"  # C is in 开福区 (430105)


def schools() -> list[dict[str, object]]:
    """Three public schools: A primary and B junior in 岳麓区, C nine-year in 开福区."""
    return [school(A, level="primary"), school(B, level="junior"), school(C, level="nine_year")]


def bad_check(id_number: str) -> str:
    """``id_number`` with a wrong check character."""
    return id_number[:-1] + ("0" if id_number[-1] != "0" else "1")


def night(folder: Path, registry: Iterable[Mapping[str, object]], **more: Iterable[Mapping[str, object]] | pl.DataFrame) -> Path:
    """An input folder with the three schools, ``registry`` and any further tables."""
    return write_inputs(folder, schools=schools(), registry=list(registry), **more)


def run_cli(*args: str | Path) -> Result:
    """``xueji ARGS`` through click's runner (stdout and stderr kept apart)."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def audit(data: Path, db: str, *args: str | Path, as_of: date = AS_OF) -> Result:
    """``xueji audit DATA --db DB --as-of AS_OF ARGS``."""
    return run_cli("audit", data, "--db", db, "--as-of", as_of.isoformat(), *args)


def violations(run_dir: Path) -> pl.DataFrame:
    """A run folder's violations.parquet."""
    return pl.read_parquet(run_dir / "violations.parquet")


def student(seq: int, **overrides: Any) -> dict[str, Any]:
    """``xueji.testing.record`` at school A in grade 3."""
    return record(seq, **({"school_code": A} | overrides))


def id_of(seq: int) -> str:
    """The ID number ``student(seq)`` gets."""
    return make_id_number(date(2017, 3, 1), "M", seq=seq)
