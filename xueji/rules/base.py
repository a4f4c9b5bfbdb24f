"""What a rule is: a declaration (code, title, severity, basis, needs, thresholds) plus one
lazy Polars pipeline that returns findings in the violations schema.

Rules never import the database or the CLI: the runner hands them an ``AuditContext``
holding validated frames, identity links and the workflow facts they need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

from xueji.config import Config

if TYPE_CHECKING:  # pragma: no cover
    from xueji.identity import Identity

SEVERITIES = ("critical", "high", "medium", "low")

# The columns every rule returns, in this order (the runner adds violation_id and change).
FINDING_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "severity": pl.String(),
    "county_code": pl.String(),
    "school_code": pl.String(),
    "grade": pl.Int64(),
    "class_name": pl.String(),
    "student_no": pl.String(),
    "id_number": pl.String(),
    "name": pl.String(),
    "detail": pl.String(),
    "evidence": pl.String(),
    "group_id": pl.String(),
}

# How a finding's subject is named, per kind: the columns that identify "the same
# finding" from one night to the next (violation_id) and that truth.csv is matched on.
SUBJECTS: dict[str, tuple[str, ...]] = {
    "record": ("student_no", "school_code"),
    "attendee": ("school_code", "name"),
    "person": ("id_number",),
    "class": ("school_code", "grade", "class_name"),
    "school": ("school_code",),
    "county": ("county_code",),
}


@dataclass
class AuditContext:
    """Everything a rule may read: the reference date, config, validated frames, links.

    ``tables`` holds the validated lazy frames of the input tables that were supplied;
    ``identity`` the identity-resolution result; ``completed_transfers`` and
    ``overdue_transfers`` come from the workflow database (empty frames when none);
    ``previous_registry`` is the previous run's snapshot (student_no, school_code,
    status) or None on a first run. ``shared`` memoises derived frames that several
    rules use, so a plan is built once and ``collect_all`` computes it once.
    """

    as_of: date
    cfg: Config
    tables: dict[str, pl.LazyFrame]
    identity: Identity
    completed_transfers: pl.DataFrame
    overdue_transfers: pl.DataFrame
    previous_registry: pl.DataFrame | None = None
    _memo: dict[str, Any] = field(default_factory=dict)

    def has(self, *tables: str) -> bool:
        """Whether all of ``tables`` were supplied."""
        return all(t in self.tables for t in tables)

    def shared(self, key: str, build: Callable[[AuditContext], Any]) -> Any:
        """``build(self)`` computed once per audit and reused by every rule that asks."""
        if key not in self._memo:
            self._memo[key] = build(self)
        return self._memo[key]


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue."""

    code: str
    title: str
    severity: str
    basis: str
    definition: str
    subject: str
    needs: tuple[str, ...]
    build: Callable[[AuditContext], pl.LazyFrame]
    thresholds: tuple[str, ...] = ()
    needs_workflow: bool = False
    # ``table.column`` pairs whose absence from a whole file leaves the rule nothing it
    # could judge (contract §4: rows lacking a value are not checked by the rules that
    # need it). Rules whose findings come from a link *not* being found belong here: with
    # a linking column missing, every unlinked row would be reported.
    needs_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.code}: unknown severity {self.severity!r}")
        if self.subject not in SUBJECTS:
            raise ValueError(f"{self.code}: unknown subject kind {self.subject!r}")

    @property
    def subject_columns(self) -> tuple[str, ...]:
        """The finding columns that identify this rule's subject."""
        return SUBJECTS[self.subject]

    def describe(self, cfg: Config | None = None) -> str:
        """A few lines for ``xueji rules show``: title, severity, basis, definition, thresholds."""
        lines = [
            f"{self.code} {self.title}",
            f"severity: {self.severity}",
            f"basis: {self.basis}",
            f"needs: {', '.join(self.needs)}",
            *([f"needs columns: {', '.join(self.needs_columns)}"] if self.needs_columns else []),
            f"definition: {self.definition}",
        ]
        if self.thresholds:
            lines.append("thresholds:")
            for name in self.thresholds:
                value = cfg[name] if cfg is not None else "(default)"
                lines.append(f"  {name} = {value}")
        return "\n".join(lines)


def findings(rule: Rule, frame: pl.LazyFrame, **columns: pl.Expr | str | None) -> pl.LazyFrame:
    """Select ``frame`` into the finding schema.

    Each keyword gives a column's expression (a string names a column of ``frame``);
    absent columns are null. ``rule`` and ``severity`` default to the rule's own.
    """
    exprs: list[pl.Expr] = []
    for name, dtype in FINDING_SCHEMA.items():
        given = columns.get(name)
        if name == "rule" and given is None:
            given = pl.lit(rule.code)
        if name == "severity" and given is None:
            given = pl.lit(rule.severity)
        if given is None:
            expr = pl.lit(None, dtype)
        elif isinstance(given, str):
            expr = pl.col(given)
        else:
            expr = given
        exprs.append(expr.cast(dtype).alias(name))
    unknown = set(columns) - set(FINDING_SCHEMA)
    if unknown:
        raise ValueError(f"{rule.code}: not finding columns: {sorted(unknown)}")
    return frame.select(exprs)


def evidence(**fields: pl.Expr) -> pl.Expr:
    """A JSON object built from expressions: the rows and scores that prove a finding."""
    return pl.struct([expr.alias(name) for name, expr in fields.items()]).struct.json_encode()


def empty_findings() -> pl.LazyFrame:
    """No findings, in the finding schema."""
    return pl.DataFrame(schema=FINDING_SCHEMA).lazy()
