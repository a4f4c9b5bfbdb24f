"""Placeholder: this rule family is not built yet."""

from __future__ import annotations

from xueji.rules.base import Rule

RULES: tuple[Rule, ...] = ()
