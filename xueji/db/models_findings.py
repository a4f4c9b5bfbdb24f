"""The exceptions register (dismissed findings) and the record of unmasked exports.

A dismissal says "this finding is not a violation" (twins confirmed as two people, an
approved extension of a suspension), with who, when and why. It holds while the
finding's evidence is unchanged: ``evidence_hash`` is taken at dismissal, and a later
run whose evidence hashes differently lapses it (``lapsed_at``), so the finding counts
again. A dismissal can also be revoked by hand (``xueji finding restore``). Rows are
never deleted: the register is the history.

An unmasked export is every report or explain output made with ``--show-ids``: who,
when, which run, which filters, which format, and where it was written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, text
from sqlmodel import Field, SQLModel

# A dismissal is live until revoked or lapsed; at most one live dismissal per finding.
LIVE_DISMISSAL = "revoked_at IS NULL AND lapsed_at IS NULL"


class FindingDismissal(SQLModel, table=True):
    """One dismissal of one finding (violation_id), live until revoked or lapsed."""

    __tablename__ = "finding_dismissals"
    __table_args__ = (
        # Enforced by the database so two simultaneous dismissals cannot both pass.
        Index(
            "uq_finding_dismissals_live",
            "violation_id",
            unique=True,
            sqlite_where=text(LIVE_DISMISSAL),
            postgresql_where=text(LIVE_DISMISSAL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    violation_id: str = Field(index=True)
    rule: str = Field(index=True)
    # Who or what the finding is about, as readable text with the ID number masked.
    subject: str
    county_code: str | None = Field(default=None, index=True)
    school_code: str | None = Field(default=None, index=True)
    evidence_hash: str
    reason: str
    run_name: str
    dismissed_by: str
    dismissed_by_role: str
    dismissed_by_org: str | None = None
    dismissed_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_by: str | None = None
    revoke_reason: str | None = None
    lapsed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    lapsed_run: str | None = None


class UnmaskedExport(SQLModel, table=True):
    """One export or explain output that showed full ID numbers (``--show-ids``)."""

    __tablename__ = "unmasked_exports"

    id: int | None = Field(default=None, primary_key=True)
    exported_by: str = Field(index=True)
    role: str
    org: str | None = None
    exported_at: datetime = Field(sa_type=DateTime(timezone=True))
    run_name: str
    run_dir: str
    filters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    format: str
    path: str
    findings: int
