"""Chinese labels shared by every report format: column headers, severities, changes."""

from __future__ import annotations

from functools import cache
from typing import Any

from loguru import logger

# The violations columns (contract section 5) in the order reports show them, with the
# Chinese header an inspector reads. Columns a report adds (dismissal details) follow.
COLUMN_LABELS: dict[str, str] = {
    "violation_id": "问题编号",
    "rule": "规则",
    "change": "变化",
    "severity": "严重程度",
    "county_code": "区县代码",
    "school_code": "学校标识码",
    "grade": "年级",
    "class_name": "班级",
    "student_no": "学籍号",
    "id_number": "身份证件号",
    "name": "姓名",
    "detail": "问题说明",
    "group_id": "重复组编号",
    "evidence": "证据",
    "dismissed_by": "核销人",
    "dismissed_at": "核销时间",
    "dismissal_reason": "核销理由",
}

# The columns every violations file has (contract section 5).
VIOLATION_COLUMNS: tuple[str, ...] = (
    "violation_id",
    "rule",
    "severity",
    "county_code",
    "school_code",
    "grade",
    "class_name",
    "student_no",
    "id_number",
    "name",
    "detail",
    "evidence",
    "group_id",
    "change",
)

# Columns added to findings when a dismissal register was consulted.
DISMISSAL_COLUMNS: tuple[str, ...] = ("dismissed_by", "dismissed_at", "dismissal_reason")

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
SEVERITY_LABELS: dict[str, str] = {"critical": "严重", "high": "高", "medium": "中", "low": "低"}
# Colours used by both the workbook tabs and the HTML charts, so the two read alike.
SEVERITY_COLOURS: dict[str, str] = {
    "critical": "#b42318",
    "high": "#e8590c",
    "medium": "#d4a10b",
    "low": "#5c7cfa",
}

CHANGES: tuple[str, ...] = ("new", "persisting", "dismissed")
CHANGE_LABELS: dict[str, str] = {
    "new": "新增",
    "persisting": "持续",
    "dismissed": "已核销",
    "resolved": "已解决",
}


@cache
def _catalogue() -> tuple[Any, ...]:
    """The rule catalogue, or nothing when it cannot be loaded.

    Reports of a finished run must still open when the catalogue is broken or does
    not know a rule any more: titles then fall back to the rule codes. Cached, so
    the warning is given once per process.
    """
    try:
        from xueji.rules.catalogue import all_rules

        return tuple(all_rules())
    except Exception as exc:  # noqa: BLE001 - a report degrades to codes, never fails
        logger.warning("rule catalogue unavailable, showing rule codes only ({})", exc)
        return ()


def rule_titles() -> dict[str, str]:
    """Rule code → Chinese title, from the catalogue (an unknown code shows as itself)."""
    return {rule.code: rule.title for rule in _catalogue()}


def rule_severities() -> dict[str, str]:
    """Rule code → the rule's declared severity."""
    return {rule.code: rule.severity for rule in _catalogue()}


def rule_order() -> tuple[str, ...]:
    """Rule codes in catalogue (contract) order, the order every report lists them in."""
    return tuple(rule.code for rule in _catalogue())


def rule_title(code: str) -> str:
    """The Chinese title of a rule, or the code itself when the catalogue does not know it."""
    return rule_titles().get(code, code)
