"""Audit history: runs, their findings, and the registry snapshot each run saw.

Revision ID: 0002_audit_runs
Revises: 0001_workflow
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0002_audit_runs"
down_revision: str | Sequence[str] | None = "0001_workflow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = AutoString
_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create audit_runs, audit_findings and audit_registry_snapshots."""
    op.create_table(
        "audit_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", _UTC, nullable=False),
        sa.Column("finished_at", _UTC, nullable=False),
        sa.Column("data_dir", _TEXT(), nullable=False),
        sa.Column("run_dir", _TEXT(), nullable=False),
        sa.Column("scope", _TEXT(), nullable=False),
        sa.Column("xueji_version", _TEXT(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("findings_total", sa.Integer(), nullable=False),
        sa.Column("new_total", sa.Integer(), nullable=False),
        sa.Column("persisting_total", sa.Integer(), nullable=False),
        sa.Column("dismissed_total", sa.Integer(), nullable=False),
        sa.Column("resolved_total", sa.Integer(), nullable=False),
        sa.Column("previous_run_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_audit_runs_as_of", "audit_runs", ["as_of"])
    op.create_index("ix_audit_runs_scope", "audit_runs", ["scope"])

    op.create_table(
        "audit_findings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("audit_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("violation_id", _TEXT(), nullable=False),
        sa.Column("rule", _TEXT(), nullable=False),
        sa.Column("severity", _TEXT(), nullable=False),
        sa.Column("county_code", _TEXT(), nullable=True),
        sa.Column("school_code", _TEXT(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("class_name", _TEXT(), nullable=True),
        sa.Column("student_no", _TEXT(), nullable=True),
        sa.Column("name", _TEXT(), nullable=True),
        sa.Column("change", _TEXT(), nullable=False),
        sa.UniqueConstraint("run_id", "violation_id", name="uq_audit_findings_run_violation"),
    )
    op.create_index("ix_audit_findings_run_id", "audit_findings", ["run_id"])
    op.create_index("ix_audit_findings_violation_id", "audit_findings", ["violation_id"])
    op.create_index("ix_audit_findings_rule", "audit_findings", ["rule"])

    # One compressed Parquet document (student_no, school_code, status) per run.
    op.create_table(
        "audit_registry_snapshots",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("audit_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("format", _TEXT(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    """Drop the audit history tables."""
    op.drop_table("audit_registry_snapshots")
    op.drop_index("ix_audit_findings_rule", table_name="audit_findings")
    op.drop_index("ix_audit_findings_violation_id", table_name="audit_findings")
    op.drop_index("ix_audit_findings_run_id", table_name="audit_findings")
    op.drop_table("audit_findings")
    op.drop_index("ix_audit_runs_scope", table_name="audit_runs")
    op.drop_index("ix_audit_runs_as_of", table_name="audit_runs")
    op.drop_table("audit_runs")
