"""The nightly audit: context building, the runner, fingerprints, run history, the run folder.

Entry points: ``run_audit(AuditOptions(...))`` (what ``xueji audit`` calls) and
``evaluate_rules`` (what ``xueji.testing.run_rules`` calls, so case tables run the
same code path as a night's audit).
"""

from xueji.audit.context import (
    RuleStatus,
    build_context,
    empty_transfers,
    evaluate_rules,
    parse_rule_codes,
    select_rules,
)
from xueji.audit.runner import AuditOptions, AuditResult, run_audit

__all__ = [
    "AuditOptions",
    "AuditResult",
    "RuleStatus",
    "build_context",
    "empty_transfers",
    "evaluate_rules",
    "parse_rule_codes",
    "run_audit",
    "select_rules",
]
