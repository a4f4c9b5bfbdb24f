"""One thresholds table, overridden by a province profile (TOML).

Every number a rule or a linker uses is declared here once, with its default (the
national default of the contract), a help line and its basis. A province's 实施细则
overrides them in a TOML file::

    [thresholds]
    age_cutoff = "09-01"
    class_standard_primary = 40

``xueji config show`` prints the effective values and where each came from.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from xueji.errors import ConfigError

CONFIG_ENV = "XUEJI_CONFIG"


@dataclass(frozen=True)
class Threshold:
    """One configurable value."""

    name: str
    default: Any
    help: str
    basis: str
    maximum: float | None = None


_MGMT = "《中小学生学籍管理办法》(2025)"
_CONTRACT = "xueji data contract §3"

THRESHOLDS: tuple[Threshold, ...] = (
    # Calendar
    Threshold("school_year_start", "09-01", "first day of the school year (MM-DD)", _CONTRACT),
    Threshold("age_cutoff", "08-31", "day on which entry age and compulsory age are counted (MM-DD)", "《义务教育法》第十一条; provinces differ"),
    Threshold("compulsory_age_min", 6, "youngest compulsory-education age in full years", "《义务教育法》第十一条"),
    Threshold("compulsory_age_max", 15, "oldest compulsory-education age in full years", "《义务教育法》; 控辍保学"),
    Threshold("entry_age_min", 6, "youngest age for grade 1 on the cut-off day", "《义务教育法》第十一条"),
    # Attendance
    # At most 64: the attendance rules hold a person's window as 64-bit day masks.
    Threshold("window_school_days", 20, "school days in the attendance window, ending at the as-of date (1–64)", _CONTRACT, maximum=64),
    Threshold("attends_min_days", 5, "present/late days in the window that make a person attend a school", _CONTRACT),
    Threshold("dropout_streak_days", 5, "consecutive unexcused absent school days that flag dropout risk", "控辍保学 工作要求 (a school week)"),
    Threshold("dropout_total_days", 8, "unexcused absent days in the window that flag dropout risk", "控辍保学 工作要求"),
    Threshold("dropout_max_grade", 9, "highest grade checked for dropout risk (compulsory education)", "《义务教育法》"),
    # Records
    Threshold("temp_number_max_days", 365, "days after enrol_date an active record may keep an L number", _MGMT),
    Threshold("suspension_max_days", 365, "days a suspension may last before it conflicts", _MGMT + " 休学"),
    # Class and school size
    Threshold("class_large", 56, "enrolled students from which a class is 大班额 (high)", "教育部 消除大班额 专项规划"),
    Threshold("class_super_large", 66, "enrolled students from which a class is 超大班额 (critical)", "教育部 消除大班额 专项规划"),
    Threshold("class_standard_primary", 45, "standard class size for grades 1–6", "《城市普通中小学校校舍建设标准》"),
    Threshold("class_standard_secondary", 50, "standard class size for grades 7–12", "《城市普通中小学校校舍建设标准》"),
    Threshold("home_delivery_max_share", 0.08, "largest share of home_delivery among special placements per county", "《“十四五”特殊教育发展提升行动计划》"),
    # Transfers
    Threshold("transfer_overdue_working_days", 10, "working days a transfer step may wait", _MGMT + " 第十五条"),
    # Identity resolution
    Threshold("dup_id_max_edits", 2, "character edits within which a failing ID number still points to the same person", _CONTRACT + " DUPLICATE_RECORD"),
    Threshold("link_name_min_score", 0.8, "name similarity (0–1) for a name-based attendance or residence link", "xueji identity spec"),
    Threshold("link_class_name_min_score", 0.8, "name similarity (0–1) for linking an attendance person to a record of the same class", "xueji identity spec"),
    Threshold("dup_min_weight", 6.0, "match weight from which two records with no decisive level are one person (at 6, when one record has no ID number, different hukou counties make them namesakes; 1 drops that, so every pair the contract's wording names is one person; no value lifts the veto on a homophone in the same school and grade: twins)", "xueji identity spec; " + _CONTRACT + " DUPLICATE_RECORD"),
    Threshold("residence_min_weight", 6.0, "match weight from which a residence row links by name, birth date and gender", "xueji identity spec"),
)

_BY_NAME = {t.name: t for t in THRESHOLDS}
_TABLES = ("thresholds", "transfer", "holidays")


@dataclass(frozen=True)
class Config:
    """Effective configuration: values, where each came from, and the raw extra tables."""

    values: dict[str, Any]
    sources: dict[str, str]
    path: Path | None = None
    tables: dict[str, Any] = field(default_factory=dict)
    holidays: tuple[date, ...] = ()

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def month_day(self, name: str) -> tuple[int, int]:
        """A ``MM-DD`` value as (month, day)."""
        month, day = (int(p) for p in str(self.values[name]).split("-"))
        return month, day


def _check_value(name: str, value: Any, where: str) -> Any:
    default = _BY_NAME[name].default
    if isinstance(default, str):
        try:
            month, day = (int(p) for p in str(value).split("-"))
            date(2024, month, day)
        except ValueError as exc:
            raise ConfigError(f"{where}: {name} = {value!r} is not a MM-DD day") from exc
        return str(value)
    if isinstance(default, bool) or not isinstance(value, int | float) or isinstance(value, bool):
        raise ConfigError(f"{where}: {name} = {value!r} must be a number like {default!r}")
    if isinstance(default, int) and not isinstance(value, int):
        raise ConfigError(f"{where}: {name} = {value!r} must be a whole number")
    if value < 0:
        raise ConfigError(f"{where}: {name} = {value!r} must not be negative")
    maximum = _BY_NAME[name].maximum
    if maximum is not None and value > maximum:
        raise ConfigError(f"{where}: {name} = {value!r} is more than the largest allowed, {maximum:g}")
    return value


def load_config(path: Path | str | None = None) -> Config:
    """Defaults, overridden by ``path`` (or ``$XUEJI_CONFIG``) when given.

    Unknown keys are an error with a "did you mean" hint.
    """
    values = {t.name: t.default for t in THRESHOLDS}
    sources = {t.name: "default" for t in THRESHOLDS}
    if path is None and os.environ.get(CONFIG_ENV):
        path = os.environ[CONFIG_ENV]
    if path is None:
        return Config(values, sources)
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such config file") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    for table in doc:
        if table not in _TABLES:
            hint = difflib.get_close_matches(table, _TABLES, n=1)
            fix = f"; did you mean [{hint[0]}]?" if hint else f" (known: {', '.join(_TABLES)})"
            raise ConfigError(f"{path}: unknown table [{table}]{fix}")
    for key, value in doc.get("thresholds", {}).items():
        if key not in _BY_NAME:
            hint = difflib.get_close_matches(key, list(_BY_NAME), n=1)
            fix = f"; did you mean {hint[0]}?" if hint else " (see `xueji config show`)"
            raise ConfigError(f"{path}: unknown threshold {key!r}{fix}")
        values[key] = _check_value(key, value, str(path))
        sources[key] = str(path)
    holidays: list[date] = []
    for raw in doc.get("holidays", {}).get("dates", []):
        try:
            holidays.append(raw if isinstance(raw, date) else date.fromisoformat(str(raw)))
        except ValueError as exc:
            raise ConfigError(f"{path}: holiday {raw!r} is not a YYYY-MM-DD date") from exc
    return Config(values, sources, path, {k: v for k, v in doc.items() if k != "thresholds"}, tuple(sorted(holidays)))
