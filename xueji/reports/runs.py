"""Run folders as reports read them: finding the run, its findings, summary and history.

A run folder (contract section 5) is ``runs/<as-of>-<n>/`` holding ``violations.parquet``
and ``summary.json``. Runs are ordered by the as-of date and number in their name, so
"the latest run" and "the run before this one" need no database.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from xueji.errors import InputError, NotFound
from xueji.reports.labels import VIOLATION_COLUMNS

RUNS_ENV = "XUEJI_RUNS"
DEFAULT_RUNS_DIR = Path("runs")
VIOLATIONS_FILE = "violations.parquet"
SUMMARY_FILE = "summary.json"

_RUN_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-(\d+)$")

# The dtype of each violations column; a column missing from an older or partial file
# is added as nulls of this type (``change`` defaults to new) so reports never break.
_VIOLATION_DTYPES: dict[str, pl.DataType] = {
    name: (pl.Int64() if name == "grade" else pl.String()) for name in VIOLATION_COLUMNS
}
_REQUIRED = ("violation_id", "rule", "severity")


def runs_dir(option: Path | str | None = None) -> Path:
    """Where run folders live: ``--runs`` > ``$XUEJI_RUNS`` > ``runs``."""
    if option:
        return Path(option)
    env = os.environ.get(RUNS_ENV)
    return Path(env) if env else DEFAULT_RUNS_DIR


def run_as_of(run_dir: Path) -> date | None:
    """The as-of date written in a run folder's name (``2026-11-20-1``), if it has one."""
    match = _RUN_NAME.match(run_dir.name)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def _order_key(run_dir: Path) -> tuple[int, str, int, float]:
    match = _RUN_NAME.match(run_dir.name)
    if match:
        return (1, match.group(1), int(match.group(2)), 0.0)
    # Folders named some other way sort before the dated ones, by age.
    return (0, "", 0, run_dir.stat().st_mtime)


def list_runs(folder: Path) -> list[Path]:
    """Run folders (those holding violations.parquet) under ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    # Hidden folders are runs still being written (the runner's ``.xueji-tmp-*``).
    found = [
        p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / VIOLATIONS_FILE).is_file()
    ]
    return sorted(found, key=_order_key)


def resolve_run(run: str | Path | None, folder: Path) -> Path:
    """The run folder meant by ``run``: a path, a run name under ``folder``, or None for the latest."""
    if run is None:
        runs = list_runs(folder)
        if not runs:
            raise NotFound(
                f"no audit runs in {folder}/: run `xueji audit DATA_DIR` first, or name a run folder"
            )
        return runs[-1]
    candidates = [Path(run), folder / str(run)]
    for candidate in candidates:
        if (candidate / VIOLATIONS_FILE).is_file():
            return candidate
        if candidate.is_dir():
            raise NotFound(f"{candidate}: not a run folder ({VIOLATIONS_FILE} is missing)")
    known = [p.name for p in list_runs(folder)][-5:]
    hint = f" (latest: {', '.join(reversed(known))})" if known else ""
    raise NotFound(f"no run {str(run)!r} in {folder}/{hint}")


def is_unfinished(run_dir: Path) -> bool:
    """Whether ``run_dir`` is a run still being written (a hidden temporary folder)."""
    return run_dir.name.startswith(".")


def previous_runs(run_dir: Path) -> list[Path]:
    """The sibling run folders older than ``run_dir``, oldest first.

    A run still being written (hidden folder) comes after every finished run of its
    as-of date or earlier: that is where the runner will rename it.
    """
    siblings = list_runs(run_dir.parent)
    resolved = run_dir.resolve()
    for i, sibling in enumerate(siblings):
        if sibling.resolve() == resolved:
            return siblings[:i]
    if is_unfinished(run_dir):
        as_of = summary_as_of(load_summary(run_dir), run_dir)
        if as_of is None:
            return siblings
        return [s for s in siblings if (run_as_of(s) or date.min) <= as_of]
    return [s for s in siblings if _order_key(s) < _order_key(run_dir)]


def display_name(run_dir: Path) -> str:
    """The run's name as people see it: the folder name, or for a run still being
    written, the ``<as-of>-<n>`` name the runner will give it (the next free number)."""
    if not is_unfinished(run_dir):
        return run_dir.name
    as_of = summary_as_of(load_summary(run_dir), run_dir)
    if as_of is None:
        return run_dir.name
    taken = [
        int(m.group(2))
        for p in run_dir.parent.iterdir()
        if (m := _RUN_NAME.match(p.name)) and m.group(1) == as_of.isoformat()
    ]
    return f"{as_of.isoformat()}-{max(taken, default=0) + 1}"


def scan_violations(run_dir: Path) -> pl.LazyFrame:
    """The run's findings, lazily, with every contract column present and typed."""
    path = run_dir / VIOLATIONS_FILE
    try:
        lf = pl.scan_parquet(path)
        names = lf.collect_schema().names()
    except FileNotFoundError as exc:
        raise NotFound(f"{run_dir}: {VIOLATIONS_FILE} is missing (is this a run folder?)") from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{path}: cannot be read as Parquet ({exc})") from exc
    missing = [c for c in _REQUIRED if c not in names]
    if missing:
        raise InputError(f"{path}: {len(missing)} required column(s) missing: {', '.join(missing)}")
    fill: list[pl.Expr] = []
    for name, dtype in _VIOLATION_DTYPES.items():
        if name not in names:
            default = pl.lit("new") if name == "change" else pl.lit(None)
            fill.append(default.cast(dtype).alias(name))
    if fill:
        lf = lf.with_columns(fill)
    cast = {n: d for n, d in _VIOLATION_DTYPES.items() if n in names}
    return lf.cast(cast, strict=False)  # type: ignore[arg-type]


def load_summary(run_dir: Path) -> dict[str, Any]:
    """The run's summary.json as a dict (empty when the file is absent)."""
    path = run_dir / SUMMARY_FILE
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc
    return doc if isinstance(doc, dict) else {}


def summary_as_of(summary: dict[str, Any], run_dir: Path) -> date | None:
    """The audit's reference date: summary.json's ``as_of``, else the folder name's."""
    raw = summary.get("as_of")
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw[:10])
        except ValueError:
            pass
    return run_as_of(run_dir)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target``, renamed onto it only when the block succeeds.

    A crash or an error leaves ``target`` as it was and no half-written file behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_atomic(target: Path, write: Callable[[Path], object], *, private: bool = False) -> Path:
    """Call ``write(tmp)`` and move the result onto ``target``; ``private`` makes it 0600."""
    with atomic_path(target) as tmp:
        write(tmp)
        # mkstemp already creates 0600; a shared export is made readable like any new file.
        os.chmod(tmp, 0o600 if private else 0o644 & ~_umask())
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
