"""The audit's history: each run, its findings, and the registry snapshot it saw.

A run row is written only when the run folder is complete (one transaction with its
findings and snapshot), so a crashed run leaves no row. The next night compares its
findings with the previous run of the same scope (``new`` / ``persisting`` and the
``resolved`` count) and its registry with the previous snapshot (changes of school
for UNAPPROVED_TRANSFER).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class AuditRun(SQLModel, table=True):
    """One completed audit: what it read, what it found, how long it took.

    ``scope`` names what was audited (``county=430104;rules=ID_INVALID,...`` or
    ``all``): findings are compared only with an earlier run of the same scope.
    """

    __tablename__ = "audit_runs"

    id: int | None = Field(default=None, primary_key=True)
    as_of: date = Field(index=True)
    started_at: datetime = Field(sa_type=DateTime(timezone=True))
    finished_at: datetime = Field(sa_type=DateTime(timezone=True))
    data_dir: str
    run_dir: str
    scope: str = Field(index=True)
    xueji_version: str
    inputs: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    timings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    findings_total: int
    new_total: int
    persisting_total: int
    dismissed_total: int
    resolved_total: int
    previous_run_id: int | None = None


class AuditFinding(SQLModel, table=True):
    """One finding of one run: enough to compare nights and to list it again."""

    __tablename__ = "audit_findings"
    __table_args__ = (UniqueConstraint("run_id", "violation_id", name="uq_audit_findings_run_violation"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("audit_runs.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    violation_id: str = Field(index=True)
    rule: str = Field(index=True)
    severity: str
    county_code: str | None = None
    school_code: str | None = None
    grade: int | None = None
    class_name: str | None = None
    student_no: str | None = None
    name: str | None = None
    change: str


class RegistrySnapshot(SQLModel, table=True):
    """student_no → school_code, status as one run saw it (kept for the newest runs only).

    Stored as one zstd-compressed Parquet document per run rather than a row per
    student: a city's million-row snapshot is one insert of ~10 MB and one read, on
    SQLite and PostgreSQL alike, instead of a million-row executemany each night.
    """

    __tablename__ = "audit_registry_snapshots"

    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("audit_runs.id", ondelete="CASCADE"), primary_key=True)
    )
    rows: int
    format: str = "parquet"
    data: bytes = Field(sa_type=LargeBinary)
