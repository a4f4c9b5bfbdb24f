"""Users: revocation (who revoked a user, when and why).

Revision ID: 0005_user_revocation
Revises: 0001_workflow
Create Date: 2026-12-06

A revoked user keeps its row, because events and transfers name it, but its token no
longer signs in. Three nullable columns, so existing users stay active.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0005_user_revocation"
down_revision: str | Sequence[str] | None = "0001_workflow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.revoked_at, revoked_by and revoked_reason."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("revoked_by", AutoString(), nullable=True))
        batch.add_column(sa.Column("revoked_reason", AutoString(), nullable=True))


def downgrade() -> None:
    """Drop the revocation columns."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("revoked_reason")
        batch.drop_column("revoked_by")
        batch.drop_column("revoked_at")
