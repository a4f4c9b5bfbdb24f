"""The workflow's part of the province profile: the ``[transfer]`` table.

::

    [transfer]
    overdue_working_days = 10
    holidays = ["2026-10-01", "2026-10-02"]
    chain = [
      {state = "submitted", party = "receiving_school"},
      {state = "receiving_school_approved", party = "receiving_school", differs_from_submitter = true},
      ...
    ]

The file is read by ``xueji.config.load_config`` (``--config FILE`` or ``$XUEJI_CONFIG``),
which owns the profile as a whole. When ``[transfer]`` leaves out ``holidays`` or
``overdue_working_days``, the profile's ``[holidays] dates`` and the
``transfer_overdue_working_days`` threshold apply.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from xueji.config import load_config
from xueji.errors import ConfigError
from xueji.workflow.chain import DEFAULT_CHAIN, Step, parse_chain

_KEYS = ("chain", "holidays", "overdue_working_days")


@dataclass(frozen=True)
class TransferSettings:
    """The chain, the holiday list and the overdue limit in working days."""

    chain: tuple[Step, ...] = DEFAULT_CHAIN
    holidays: tuple[date, ...] = ()
    overdue_working_days: int = 10


def _holidays(raw: Any, where: str) -> tuple[date, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: [transfer] holidays must be a list of YYYY-MM-DD dates")
    days: list[date] = []
    bad: list[str] = []
    for value in raw:
        if isinstance(value, date):
            days.append(value)
            continue
        try:
            days.append(date.fromisoformat(str(value)))
        except ValueError:
            bad.append(repr(value))
    if bad:
        raise ConfigError(
            f"{where}: [transfer] holidays: {len(bad)} not a YYYY-MM-DD date: {', '.join(bad)}"
        )
    return tuple(sorted(set(days)))


def load_transfer_settings(path: Path | str | None = None) -> TransferSettings:
    """The effective ``[transfer]`` settings of the profile at ``path`` (or ``$XUEJI_CONFIG``)."""
    cfg = load_config(path)
    where = str(cfg.path) if cfg.path else "profile"
    table = cfg.tables.get("transfer", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [transfer] must be a table")
    for key in table:
        if key not in _KEYS:
            hint = difflib.get_close_matches(key, _KEYS, n=1)
            fix = f"; did you mean {hint[0]}?" if hint else f" (known: {', '.join(_KEYS)})"
            raise ConfigError(f"{where}: unknown key {key!r} in [transfer]{fix}")
    chain = parse_chain(table["chain"], where) if "chain" in table else DEFAULT_CHAIN
    holidays = _holidays(table["holidays"], where) if "holidays" in table else tuple(cfg.holidays)
    limit = table.get("overdue_working_days", cfg["transfer_overdue_working_days"])
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(
            f"{where}: [transfer] overdue_working_days = {limit!r} must be a whole number ≥ 1"
        )
    return TransferSettings(chain, holidays, limit)
