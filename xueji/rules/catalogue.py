"""The rule catalogue: every family module's ``RULES``, in contract order."""

from __future__ import annotations

from functools import cache

from xueji.rules import (
    attendance,
    capacity,
    duplicates,
    enrolment,
    identity_checks,
    residence,
    transfers,
)
from xueji.rules.base import Rule

FAMILIES = (identity_checks, duplicates, attendance, residence, enrolment, capacity, transfers)


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule, each code once."""
    rules = tuple(rule for family in FAMILIES for rule in family.RULES)
    codes = [r.code for r in rules]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise RuntimeError(f"rule codes declared twice: {dupes}")
    return rules


def rule_by_code(code: str) -> Rule:
    """The rule with ``code`` (KeyError when unknown)."""
    for rule in all_rules():
        if rule.code == code:
            return rule
    raise KeyError(code)
