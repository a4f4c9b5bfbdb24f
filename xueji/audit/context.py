"""Choosing the rules to run, building their context, and evaluating them together.

``evaluate_rules`` is the one place rule plans are executed: the nightly runner and
``xueji.testing.run_rules`` both call it, so a case table exercises the same path as
an audit. Every plan goes to one ``pl.collect_all`` so the frames rules share (records,
class sizes, the attendance window) are computed once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl
from loguru import logger

from xueji.config import Config
from xueji.errors import ConfigError
from xueji.io import load_schemas
from xueji.rules.base import FINDING_SCHEMA, AuditContext, Rule
from xueji.rules.catalogue import all_rules

# A Polars panic (a bug inside Polars) derives from BaseException, not Exception; one
# rule's plan tripping it must not end the night's audit either.
PLAN_FAILURES: tuple[type[BaseException], ...] = (Exception, pl.exceptions.PanicException)

TRANSFER_COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "completed": {
        "student_no": pl.String(),
        "from_school_code": pl.String(),
        "to_school_code": pl.String(),
        "completed_on": pl.Date(),
    },
    "overdue": {
        "transfer_id": pl.Int64(),
        "student_no": pl.String(),
        "from_school_code": pl.String(),
        "to_school_code": pl.String(),
        "state": pl.String(),
        "waiting_since": pl.Date(),
        "working_days_waited": pl.Int64(),
        "next_party": pl.String(),
    },
}


@dataclass(frozen=True)
class RuleStatus:
    """Whether a rule ran, and if not, why; ``note`` says what a partial run could not see."""

    code: str
    ran: bool
    reason: str | None = None
    note: str | None = None
    error: str | None = None


def parse_rule_codes(text: str | None) -> list[str] | None:
    """``"ID_INVALID, grade_level"`` → known codes in catalogue order; None means every rule.

    Unknown codes are an error naming each and the closest known code.
    """
    if text is None or not text.strip():
        return None
    import difflib

    known = [r.code for r in all_rules()]
    asked = [c.strip().upper() for c in text.split(",") if c.strip()]
    unknown = sorted({c for c in asked if c not in known})
    if unknown:
        hints = []
        for code in unknown:
            close = difflib.get_close_matches(code, known, n=1)
            hints.append(f"{code} (did you mean {close[0]}?)" if close else code)
        raise ConfigError(
            f"{len(unknown)} unknown rule code{'s' if len(unknown) > 1 else ''}: {', '.join(hints)} "
            "(see `xueji rules list`)"
        )
    return [c for c in known if c in set(asked)]


def _table_label(table: str) -> str:
    schemas = load_schemas()
    return f"{table} ({schemas[table].title})" if table in schemas else table


def _absent_needed(rule: Rule, missing_columns: Mapping[str, Sequence[str]]) -> str | None:
    """Why ``rule`` cannot run when files lack columns it needs, or None when it can."""
    schemas = load_schemas()
    absent: dict[str, list[str]] = {}
    for needed in rule.needs_columns:
        table, column = needed.split(".", 1)
        if column in missing_columns.get(table, ()):
            absent.setdefault(table, []).append(schemas[table].field(column).label)
    if not absent:
        return None
    listed = "; ".join(f"{_table_label(t)}: {', '.join(cols)}" for t, cols in absent.items())
    return f"needs columns the input files lack ({listed}): every row would be unknown to it"


def select_rules(
    tables: Mapping[str, object],
    codes: Iterable[str] | None,
    has_previous_registry: bool,
    missing_columns: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[Rule], list[RuleStatus]]:
    """The rules to evaluate and the status of every rule asked for (skipped ones say why).

    ``missing_columns``: table → required columns its file lacks; a rule that needs one
    of them (``Rule.needs_columns``) is skipped."""
    wanted = set(codes) if codes is not None else None
    run: list[Rule] = []
    statuses: list[RuleStatus] = []
    for rule in all_rules():
        if wanted is not None and rule.code not in wanted:
            continue
        missing = [t for t in rule.needs if t not in tables]
        if missing:
            reason = "needs " + ", ".join(_table_label(t) for t in missing) + ", which was not supplied"
            statuses.append(RuleStatus(rule.code, False, reason=reason))
            continue
        lacking = _absent_needed(rule, missing_columns or {})
        if lacking is not None:
            statuses.append(RuleStatus(rule.code, False, reason=lacking))
            continue
        note = None
        if rule.code == "UNAPPROVED_TRANSFER":
            # Two sources feed this rule; with neither there is nothing it could see.
            has_changes = "registry_changes" in tables
            if not has_changes and not has_previous_registry:
                statuses.append(
                    RuleStatus(
                        rule.code,
                        False,
                        reason="needs registry_changes (学籍异动) or a previous run's registry snapshot; neither is available",
                    )
                )
                continue
            if not has_changes:
                note = "registry_changes (学籍异动) not supplied: only changes of school against the previous run's snapshot"
            elif not has_previous_registry:
                note = "no previous run: only the transfer rows of registry_changes (学籍异动)"
        run.append(rule)
        statuses.append(RuleStatus(rule.code, True, note=note))
    return run, statuses


def empty_transfers(kind: str) -> pl.DataFrame:
    """The workflow facts a rule reads, with no rows (``completed`` or ``overdue``)."""
    return pl.DataFrame(schema=TRANSFER_COLUMNS[kind])


def build_context(
    tables: Mapping[str, pl.LazyFrame],
    as_of: date,
    cfg: Config,
    identity: object,
    completed_transfers: pl.DataFrame | None = None,
    overdue_transfers: pl.DataFrame | None = None,
    previous_registry: pl.DataFrame | None = None,
) -> AuditContext:
    """An ``AuditContext`` with the workflow facts cast to the columns rules expect."""
    completed = completed_transfers if completed_transfers is not None else empty_transfers("completed")
    overdue = overdue_transfers if overdue_transfers is not None else empty_transfers("overdue")
    return AuditContext(
        as_of=as_of,
        cfg=cfg,
        tables=dict(tables),
        identity=identity,  # type: ignore[arg-type]
        completed_transfers=completed.select(list(TRANSFER_COLUMNS["completed"])).cast(TRANSFER_COLUMNS["completed"]),  # type: ignore[arg-type]
        overdue_transfers=overdue.select(list(TRANSFER_COLUMNS["overdue"])).cast(TRANSFER_COLUMNS["overdue"]),  # type: ignore[arg-type]
        previous_registry=previous_registry,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def evaluate_rules(
    ctx: AuditContext, rules: Sequence[Rule], extra: Sequence[pl.LazyFrame] = ()
) -> tuple[pl.DataFrame, dict[str, str], list[pl.DataFrame]]:
    """Build every rule's plan and collect them together (plus ``extra`` plans).

    Returns (findings in FINDING_SCHEMA order, {code: error} for rules that failed,
    the collected ``extra`` frames). A rule whose plan cannot be built or run is
    reported and left out; the others' findings are kept.
    """
    plans: list[tuple[Rule, pl.LazyFrame]] = []
    errors: dict[str, str] = {}
    for rule in rules:
        try:
            plans.append((rule, rule.build(ctx)))
        except PLAN_FAILURES as exc:  # one broken rule must not sink the night's audit
            logger.opt(exception=exc).error("rule {} could not be planned", rule.code)
            errors[rule.code] = _first_line(exc)
    lazy = [plan for _, plan in plans] + list(extra)
    try:
        frames = pl.collect_all(lazy) if lazy else []
    except PLAN_FAILURES as exc:  # find the culprit(s) one plan at a time
        logger.opt(exception=exc).warning("collecting all rule plans failed; retrying one by one")
        frames = []
        for rule, plan in plans:
            try:
                frames.append(plan.collect())
            except PLAN_FAILURES as one:
                logger.opt(exception=one).error("rule {} failed", rule.code)
                errors[rule.code] = _first_line(one)
                frames.append(pl.DataFrame(schema=FINDING_SCHEMA))
        frames.extend(plan.collect() for plan in extra)
    found = [f.select(list(FINDING_SCHEMA)).cast(FINDING_SCHEMA) for f in frames[: len(plans)]]  # type: ignore[arg-type]
    findings = pl.concat(found, how="vertical") if found else pl.DataFrame(schema=FINDING_SCHEMA)
    return findings, errors, frames[len(plans) :]
