"""Findings register: dismissed findings (exceptions) and unmasked exports.

Revision ID: 0003_findings
Revises: 0001_workflow
Create Date: 2026-11-23

Written beside the audit's revision on the same parent; ``init_db`` upgrades to heads.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0003_findings"
down_revision: str | Sequence[str] | None = "0001_workflow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = AutoString
_UTC = sa.DateTime(timezone=True)
_LIVE = sa.text("revoked_at IS NULL AND lapsed_at IS NULL")


def upgrade() -> None:
    """Create the dismissal register and the unmasked-export record."""
    op.create_table(
        "finding_dismissals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("violation_id", _TEXT(), nullable=False),
        sa.Column("rule", _TEXT(), nullable=False),
        sa.Column("subject", _TEXT(), nullable=False),
        sa.Column("county_code", _TEXT(), nullable=True),
        sa.Column("school_code", _TEXT(), nullable=True),
        sa.Column("evidence_hash", _TEXT(), nullable=False),
        sa.Column("reason", _TEXT(), nullable=False),
        sa.Column("run_name", _TEXT(), nullable=False),
        sa.Column("dismissed_by", _TEXT(), nullable=False),
        sa.Column("dismissed_by_role", _TEXT(), nullable=False),
        sa.Column("dismissed_by_org", _TEXT(), nullable=True),
        sa.Column("dismissed_at", _UTC, nullable=False),
        sa.Column("revoked_at", _UTC, nullable=True),
        sa.Column("revoked_by", _TEXT(), nullable=True),
        sa.Column("revoke_reason", _TEXT(), nullable=True),
        sa.Column("lapsed_at", _UTC, nullable=True),
        sa.Column("lapsed_run", _TEXT(), nullable=True),
    )
    op.create_index("ix_finding_dismissals_violation_id", "finding_dismissals", ["violation_id"])
    op.create_index("ix_finding_dismissals_rule", "finding_dismissals", ["rule"])
    op.create_index("ix_finding_dismissals_county_code", "finding_dismissals", ["county_code"])
    op.create_index("ix_finding_dismissals_school_code", "finding_dismissals", ["school_code"])
    op.create_index(
        "uq_finding_dismissals_live",
        "finding_dismissals",
        ["violation_id"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )

    op.create_table(
        "unmasked_exports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("exported_by", _TEXT(), nullable=False),
        sa.Column("role", _TEXT(), nullable=False),
        sa.Column("org", _TEXT(), nullable=True),
        sa.Column("exported_at", _UTC, nullable=False),
        sa.Column("run_name", _TEXT(), nullable=False),
        sa.Column("run_dir", _TEXT(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("format", _TEXT(), nullable=False),
        sa.Column("path", _TEXT(), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
    )
    op.create_index("ix_unmasked_exports_exported_by", "unmasked_exports", ["exported_by"])


def downgrade() -> None:
    """Drop both tables (the register's history is lost)."""
    op.drop_table("unmasked_exports")
    op.drop_table("finding_dismissals")
