"""Run history in the database: the previous run of a scope, its findings, the registry
snapshot, and recording a new run in one transaction.

Findings go through SQLAlchemy Core ``insert`` with lists of dicts (executemany), not
ORM objects. The registry snapshot (a million rows for a city) is one compressed
Parquet document per run.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import polars as pl
from sqlalchemy import Engine, Table, delete, func, insert, select
from sqlalchemy.orm import Session

from xueji.db import session_scope
from xueji.db.models_audit import AuditFinding, AuditRun, RegistrySnapshot

# Snapshots are only read by the next run; keep the newest few, drop the rest.
SNAPSHOTS_KEPT = 3
_BATCH = 20_000

FINDING_COLUMNS = ("violation_id", "rule", "severity", "county_code", "school_code", "grade", "class_name", "student_no", "name")
# Core tables (not the SQLModel classes) for bulk statements; typed for mypy.
RUNS = cast(Table, getattr(AuditRun, "__table__"))  # noqa: B009
FINDINGS = cast(Table, getattr(AuditFinding, "__table__"))  # noqa: B009
SNAPSHOTS = cast(Table, getattr(RegistrySnapshot, "__table__"))  # noqa: B009
SNAPSHOT_SCHEMA: dict[str, pl.DataType] = {"student_no": pl.String(), "school_code": pl.String(), "status": pl.String()}


def scope_key(county: str | None, codes: Sequence[str] | None) -> str:
    """``all``, ``county=430104``, ``rules=ID_INVALID,GRADE_LEVEL`` or both, joined by ``;``."""
    parts = []
    if county:
        parts.append(f"county={county}")
    if codes:
        parts.append("rules=" + ",".join(sorted(codes)))
    return ";".join(parts) or "all"


@dataclass(frozen=True)
class PreviousRun:
    """The run a new one is compared with."""

    id: int
    as_of: date
    run_dir: str
    finished_at: datetime


def previous_run(engine: Engine, as_of: date, scope: str) -> PreviousRun | None:
    """The latest recorded run of ``scope`` whose as-of date is on or before ``as_of``."""
    with session_scope(engine, read_only=True) as session:
        row = session.execute(
            select(RUNS.c.id, RUNS.c.as_of, RUNS.c.run_dir, RUNS.c.finished_at)
            .where(RUNS.c.scope == scope, RUNS.c.as_of <= as_of)
            .order_by(RUNS.c.as_of.desc(), RUNS.c.id.desc())
            .limit(1)
        ).first()
    return PreviousRun(*row) if row else None


def run_findings(engine: Engine, run_id: int) -> pl.DataFrame:
    """The findings recorded for ``run_id`` (violation_id, rule, severity, where, who)."""
    schema = {c: (pl.Int64() if c == "grade" else pl.String()) for c in FINDING_COLUMNS}
    with session_scope(engine, read_only=True) as session:
        rows = session.execute(
            select(*(FINDINGS.c[c] for c in FINDING_COLUMNS)).where(FINDINGS.c.run_id == run_id)
        ).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def previous_snapshot(engine: Engine, as_of: date) -> tuple[int, pl.DataFrame] | None:
    """(run id, student_no/school_code/status) of the newest run on or before ``as_of`` that
    kept a registry snapshot, or None on a first run."""
    with session_scope(engine, read_only=True) as session:
        run_id = session.execute(
            select(RUNS.c.id)
            .where(RUNS.c.as_of <= as_of)
            .where(select(SNAPSHOTS.c.run_id).where(SNAPSHOTS.c.run_id == RUNS.c.id).exists())
            .order_by(RUNS.c.as_of.desc(), RUNS.c.id.desc())
            .limit(1)
        ).scalar()
        if run_id is None:
            return None
        data = session.execute(select(SNAPSHOTS.c.data).where(SNAPSHOTS.c.run_id == run_id)).scalar_one()
    frame = pl.read_parquet(io.BytesIO(data))
    return int(run_id), frame.select(list(SNAPSHOT_SCHEMA)).cast(SNAPSHOT_SCHEMA)  # type: ignore[arg-type]


def _batches(frame: pl.DataFrame) -> Iterator[list[dict[str, Any]]]:
    for part in frame.iter_slices(_BATCH):
        yield part.to_dicts()


def record_run(
    session: Session,
    run: dict[str, Any],
    findings: pl.DataFrame,
    snapshot: pl.DataFrame,
) -> int:
    """Insert the run, its findings and its registry snapshot; prune old snapshots.

    Runs inside the caller's transaction: nothing is visible until it commits.
    """
    run_row = AuditRun(**run)
    session.add(run_row)
    session.flush()
    assert run_row.id is not None
    run_id = int(run_row.id)
    rows = findings.select(*FINDING_COLUMNS, "change").with_columns(pl.lit(run_id).alias("run_id"))
    for batch in _batches(rows):
        session.execute(insert(FINDINGS), batch)
    snap = snapshot.select(list(SNAPSHOT_SCHEMA)).filter(pl.col("student_no").is_not_null())
    buffer = io.BytesIO()
    snap.write_parquet(buffer, compression="zstd")
    session.execute(insert(SNAPSHOTS).values(run_id=run_id, rows=snap.height, format="parquet", data=buffer.getvalue()))
    _prune_snapshots(session)
    return run_id


def _prune_snapshots(session: Session) -> None:
    keep = (
        select(RUNS.c.id)
        .where(select(SNAPSHOTS.c.run_id).where(SNAPSHOTS.c.run_id == RUNS.c.id).exists())
        .order_by(RUNS.c.as_of.desc(), RUNS.c.id.desc())
        .limit(SNAPSHOTS_KEPT)
    )
    kept = [r for (r,) in session.execute(keep).all()]
    session.execute(delete(SNAPSHOTS).where(SNAPSHOTS.c.run_id.not_in(kept)))


def count_runs(engine: Engine) -> int:
    """How many runs are recorded (for tests and ``xueji runs``)."""
    with session_scope(engine, read_only=True) as session:
        return int(session.execute(select(func.count()).select_from(RUNS)).scalar() or 0)
