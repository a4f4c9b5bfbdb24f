"""The workflow's tables: the registry view, users, transfers and their event log.

All tables share ``SQLModel.metadata`` (see ``xueji.db.metadata``). Changing a table
here means adding an Alembic revision too (see ``xueji/db/migrations/README.md``);
a test compares the migrated schema with these classes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

# States that end a transfer; every other state is open (see xueji.workflow.chain).
TERMINAL_STATES = ("completed", "rejected", "withdrawn")
_OPEN = "state NOT IN (" + ", ".join(f"'{s}'" for s in TERMINAL_STATES) + ")"


def _utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_type=DateTime(timezone=True), nullable=nullable, index=index)


class School(SQLModel, table=True):
    """A school of the imported registry (contract table ``schools``)."""

    __tablename__ = "schools"

    school_code: str = Field(primary_key=True, max_length=10)
    school_name: str
    county_code: str = Field(index=True, max_length=6)
    level: str
    ownership: str | None = None
    design_capacity: int | None = None
    updated_at: datetime = _utc_column()


class Student(SQLModel, table=True):
    """One registry record: the current view, refreshed school by school on each import.

    A student number may appear at two schools (a duplicate record), so the key is
    (student_no, school_code); its unique index also serves lookups by student_no
    alone. ``res_*`` columns come from the residence table of the same import, joined
    on id_number; they are empty when that person was not found.

    ``row_hash`` is the fingerprint the import computed of the row it wrote (see
    ``xueji.workflow.registry``), so the next import rewrites only the rows that
    changed. Any other UPDATE clears it (a trigger, migration 0004), and other writers
    leave it empty: an empty fingerprint only means "rewrite this row next time".
    """

    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("student_no", "school_code", name="uq_students_no_school"),)

    id: int | None = Field(default=None, primary_key=True)
    student_no: str
    school_code: str = Field(index=True)
    id_number: str | None = None
    name: str | None = None
    gender: str | None = None
    birth_date: date | None = None
    grade: int | None = None
    class_name: str | None = None
    status: str | None = None
    res_hukou_area_code: str | None = None
    res_residence_area_code: str | None = None
    res_hukou_moved_in_date: date | None = None
    row_hash: int | None = Field(default=None, sa_type=BigInteger)


class RegistryImport(SQLModel, table=True):
    """One registry import: when, from where, and whether residence data came with it."""

    __tablename__ = "registry_imports"

    id: int | None = Field(default=None, primary_key=True)
    imported_at: datetime = _utc_column()
    source: str
    schools: int
    students: int
    residence_rows: int | None = None


class User(SQLModel, table=True):
    """A person who uses the CLI. The token is stored only as an Argon2 hash of its secret."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str
    org: str | None = None
    token_key: str = Field(unique=True)
    token_hash: str
    created_at: datetime = _utc_column()
    created_by: str | None = None
    # Revoked users keep their row (events and transfers name them) but no token of theirs
    # signs in again.
    revoked_at: datetime | None = _utc_column(nullable=True)
    revoked_by: str | None = None
    revoked_reason: str | None = None


class Transfer(SQLModel, table=True):
    """A transfer application (转学申请) and where it stands.

    ``steps`` is the chain that applies to this transfer, fixed at submission (skipped
    steps removed), so a change of province profile never re-routes a transfer in
    flight. ``version`` counts the transfer's events; every change of state is an
    ``UPDATE ... WHERE version = :seen`` (optimistic locking).
    """

    __tablename__ = "transfers"
    __table_args__ = (
        # One open transfer per student, enforced by the database itself so two
        # simultaneous submissions cannot both pass the "another open transfer" guard.
        Index(
            "uq_transfers_open_student",
            "student_no",
            unique=True,
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    student_no: str = Field(index=True)
    from_school_code: str
    from_county_code: str | None = None
    to_school_code: str = Field(index=True)
    to_county_code: str | None = None
    grade: int | None = None
    to_class: str
    reason: str
    explanation: str | None = None
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    steps: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(index=True)
    next_party: str | None = Field(default=None, index=True)
    version: int = 1
    submitted_by: str
    submitted_at: datetime = _utc_column()


class TransferEvent(SQLModel, table=True):
    """One entry of the append-only event log, hash-chained over all transfers.

    ``hash = sha256(prev_hash + canonical JSON of the other columns except id)``.
    Ids are assigned under the chain-head lock, so they have no gaps: a gap is a deletion.
    """

    __tablename__ = "transfer_events"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    transfer_id: int = Field(foreign_key="transfers.id", index=True)
    action: str
    from_state: str | None = None
    to_state: str
    actor: str
    actor_org: str | None = None
    at: datetime = _utc_column()
    note: str | None = None
    payload: str | None = None
    prev_hash: str
    hash: str = Field(unique=True)


class EventChainHead(SQLModel, table=True):
    """The newest event's id and hash: the lock writers take, and the anchor of the tail."""

    __tablename__ = "event_chain_head"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_event_id: int = 0
    last_hash: str
