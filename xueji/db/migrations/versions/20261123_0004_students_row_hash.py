"""Students: a fingerprint per row, so a registry import rewrites only what changed.

Revision ID: 0004_students_row_hash
Revises: 0001_workflow
Create Date: 2026-11-23

``students.row_hash`` holds the fingerprint the import computed of the row it wrote.
The trigger ``students_row_hash_stale`` clears it whenever an UPDATE leaves it as it
was (a transfer moving a student, a hand-made fix), so a stale fingerprint can never
pass a changed row off as unchanged. Also drops ``ix_students_student_no``: the
unique index on (student_no, school_code) already serves lookups by student_no.

A later revision that rebuilds ``students`` (SQLite batch mode copies the table) loses
the trigger and must create it again; until then imports see no trigger and rewrite
every row (``xueji.workflow.bulk``), which is slow but right.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_students_row_hash"
down_revision: str | Sequence[str] | None = "0001_workflow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGER = "students_row_hash_stale"

_SQLITE_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} AFTER UPDATE ON students
FOR EACH ROW WHEN NEW.row_hash IS OLD.row_hash AND NEW.row_hash IS NOT NULL
BEGIN
    UPDATE students SET row_hash = NULL WHERE id = NEW.id;
END
"""
_PG_FUNCTION = f"""
CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.row_hash IS NOT DISTINCT FROM OLD.row_hash THEN
        NEW.row_hash := NULL;
    END IF;
    RETURN NEW;
END
$$
"""
_PG_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON students
FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()
"""


def _is_pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    """Add students.row_hash and the trigger that clears it; drop the redundant index."""
    op.add_column("students", sa.Column("row_hash", sa.BigInteger(), nullable=True))
    op.drop_index("ix_students_student_no", table_name="students")
    if _is_pg():
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    """Drop the trigger and students.row_hash; bring the student_no index back."""
    if _is_pg():
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON students")
        op.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    op.create_index("ix_students_student_no", "students", ["student_no"])
    with op.batch_alter_table("students") as batch:
        batch.drop_column("row_hash")
