"""The rule catalogue: one module per rule family, each ending with ``RULES = (...)``."""

from xueji.rules.base import (
    FINDING_SCHEMA,
    SUBJECTS,
    AuditContext,
    Rule,
    empty_findings,
    evidence,
    findings,
)

__all__ = ["FINDING_SCHEMA", "SUBJECTS", "AuditContext", "Rule", "empty_findings", "evidence", "findings"]
