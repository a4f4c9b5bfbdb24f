"""Workflow tables: registry view, users, transfers, hash-chained transfer events.

Revision ID: 0001_workflow
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0001_workflow"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = AutoString
_UTC = sa.DateTime(timezone=True)
_OPEN = sa.text("state NOT IN ('completed', 'rejected', 'withdrawn')")
GENESIS_HASH = "0" * 64


def upgrade() -> None:
    """Create the workflow tables and the event chain's genesis head."""
    op.create_table(
        "schools",
        sa.Column("school_code", _TEXT(length=10), primary_key=True),
        sa.Column("school_name", _TEXT(), nullable=False),
        sa.Column("county_code", _TEXT(length=6), nullable=False),
        sa.Column("level", _TEXT(), nullable=False),
        sa.Column("ownership", _TEXT(), nullable=True),
        sa.Column("design_capacity", sa.Integer(), nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
    )
    op.create_index("ix_schools_county_code", "schools", ["county_code"])

    op.create_table(
        "students",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("student_no", _TEXT(), nullable=False),
        sa.Column("school_code", _TEXT(), nullable=False),
        sa.Column("id_number", _TEXT(), nullable=True),
        sa.Column("name", _TEXT(), nullable=True),
        sa.Column("gender", _TEXT(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("class_name", _TEXT(), nullable=True),
        sa.Column("status", _TEXT(), nullable=True),
        sa.Column("res_hukou_area_code", _TEXT(), nullable=True),
        sa.Column("res_residence_area_code", _TEXT(), nullable=True),
        sa.Column("res_hukou_moved_in_date", sa.Date(), nullable=True),
        sa.UniqueConstraint("student_no", "school_code", name="uq_students_no_school"),
    )
    op.create_index("ix_students_student_no", "students", ["student_no"])
    op.create_index("ix_students_school_code", "students", ["school_code"])

    op.create_table(
        "registry_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("imported_at", _UTC, nullable=False),
        sa.Column("source", _TEXT(), nullable=False),
        sa.Column("schools", sa.Integer(), nullable=False),
        sa.Column("students", sa.Integer(), nullable=False),
        sa.Column("residence_rows", sa.Integer(), nullable=True),
    )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", _TEXT(), nullable=False, unique=True),
        sa.Column("role", _TEXT(), nullable=False),
        sa.Column("org", _TEXT(), nullable=True),
        sa.Column("token_key", _TEXT(), nullable=False, unique=True),
        sa.Column("token_hash", _TEXT(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("created_by", _TEXT(), nullable=True),
    )

    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("student_no", _TEXT(), nullable=False),
        sa.Column("from_school_code", _TEXT(), nullable=False),
        sa.Column("from_county_code", _TEXT(), nullable=True),
        sa.Column("to_school_code", _TEXT(), nullable=False),
        sa.Column("to_county_code", _TEXT(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("to_class", _TEXT(), nullable=False),
        sa.Column("reason", _TEXT(), nullable=False),
        sa.Column("explanation", _TEXT(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("state", _TEXT(), nullable=False),
        sa.Column("next_party", _TEXT(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_by", _TEXT(), nullable=False),
        sa.Column("submitted_at", _UTC, nullable=False),
    )
    op.create_index("ix_transfers_student_no", "transfers", ["student_no"])
    op.create_index("ix_transfers_to_school_code", "transfers", ["to_school_code"])
    op.create_index("ix_transfers_state", "transfers", ["state"])
    op.create_index("ix_transfers_next_party", "transfers", ["next_party"])
    op.create_index(
        "uq_transfers_open_student",
        "transfers",
        ["student_no"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )

    op.create_table(
        "transfer_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("transfer_id", sa.Integer(), sa.ForeignKey("transfers.id"), nullable=False),
        sa.Column("action", _TEXT(), nullable=False),
        sa.Column("from_state", _TEXT(), nullable=True),
        sa.Column("to_state", _TEXT(), nullable=False),
        sa.Column("actor", _TEXT(), nullable=False),
        sa.Column("actor_org", _TEXT(), nullable=True),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("note", _TEXT(), nullable=True),
        sa.Column("payload", _TEXT(), nullable=True),
        sa.Column("prev_hash", _TEXT(), nullable=False),
        sa.Column("hash", _TEXT(), nullable=False, unique=True),
    )
    op.create_index("ix_transfer_events_transfer_id", "transfer_events", ["transfer_id"])

    head = op.create_table(
        "event_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", _TEXT(), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "last_event_id": 0, "last_hash": GENESIS_HASH}])


def downgrade() -> None:
    """Drop the workflow tables (their data is lost)."""
    for table in (
        "event_chain_head",
        "transfer_events",
        "transfers",
        "users",
        "registry_imports",
        "students",
        "schools",
    ):
        op.drop_table(table)
