"""The nightly audit: load → link → rules → fingerprints → compare → write.

``run_audit`` is the library function behind ``xueji audit``. Its promises:

- unusable input (a missing required table or columns) raises ``InputError`` before
  anything is written;
- the run folder appears complete or not at all: files are written to a hidden
  temporary folder, flushed, and renamed into place inside the database transaction
  that records the run, its findings and its registry snapshot — a failure at any
  point before the commit leaves neither a folder nor a run row;
- findings carry a ``violation_id`` that is stable from night to night and a
  ``change`` (new · persisting · dismissed) against the previous run of the same scope.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from loguru import logger
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from xueji import __version__
from xueji.audit import compare, history, summary
from xueji.audit.context import (
    RuleStatus,
    build_context,
    empty_transfers,
    evaluate_rules,
    select_rules,
)
from xueji.audit.fingerprint import add_violation_ids
from xueji.audit.progress import LogProgress, Progress
from xueji.audit.writer import RunFolder, check_free, default_run_dir
from xueji.config import Config, load_config
from xueji.db import init_db, make_engine, session_scope
from xueji.errors import InputError, XuejiError
from xueji.io import Inputs, load_inputs
from xueji.rules.base import FINDING_SCHEMA, SEVERITIES
from xueji.rules.catalogue import all_rules

VIOLATION_COLUMNS = ("violation_id", *FINDING_SCHEMA, "change")
DATA_ERROR_COLUMNS = ("file", "row", "column", "value", "message")
LOG_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {message}"


@dataclass(frozen=True)
class AuditOptions:
    """What to audit and where to write (the options of ``xueji audit``)."""

    data_dir: Path
    out: Path | None = None
    as_of: date | None = None
    config: Path | None = None
    db_url: str | None = None
    rules: list[str] | None = None
    county: str | None = None
    runs_root: Path = Path("runs")
    engine: str = "local"  # "local" or "ray": where the rule plans run
    ray_address: str | None = None


@dataclass
class AuditResult:
    """A finished run: where it is, what it found, what it skipped."""

    run_id: int
    run_dir: Path
    violations: pl.DataFrame
    summary: dict[str, Any]
    statuses: list[RuleStatus] = field(default_factory=list)

    @property
    def failed_rules(self) -> dict[str, str]:
        """Rules whose plan failed: {code: error}."""
        return {s.code: s.error for s in self.statuses if s.error}


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` when that module exists and defines it (parts built by others)."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise
    found = getattr(mod, name, None)
    return found if callable(found) else None


def _transfer_settings(cfg: Config, options: AuditOptions) -> tuple[Config, tuple[date, ...], int]:
    """(config with the effective overdue limit, holidays, limit) from the profile's [transfer]."""
    load = _optional("xueji.workflow", "load_transfer_settings")
    holidays, limit = tuple(cfg.holidays), int(cfg["transfer_overdue_working_days"])
    if load is not None:
        settings = load(options.config)
        holidays, limit = tuple(settings.holidays), int(settings.overdue_working_days)
    if limit != cfg["transfer_overdue_working_days"]:
        # One limit for the workflow query and the rule: [transfer] overdue_working_days wins.
        values = dict(cfg.values) | {"transfer_overdue_working_days": limit}
        sources = dict(cfg.sources) | {"transfer_overdue_working_days": f"{cfg.path} [transfer] overdue_working_days"}
        cfg = replace(cfg, values=values, sources=sources)
    return cfg, holidays, limit


def _workflow_facts(engine: Engine, as_of: date, holidays: tuple[date, ...], limit: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    completed = _optional("xueji.workflow", "completed_transfers")
    overdue = _optional("xueji.workflow", "overdue_transfers")
    read = _optional("xueji.workflow.queries", "transfers_frame")
    # One read of the transfers for both frames.
    transfers = read(engine) if read is not None else None
    done = completed(engine, transfers) if completed else empty_transfers("completed")
    late = overdue(engine, as_of, holidays, limit, transfers) if overdue else empty_transfers("overdue")
    if completed is None or overdue is None:
        logger.warning("the transfer workflow is not installed: no completed or overdue transfers are known")
    return done, late


def _open_database(url: str | None) -> Engine:
    """The run-history database, migrated to the current schema; one clear error if it
    cannot be reached (the password, if any, is not repeated)."""
    engine = make_engine(url)
    try:
        init_db(engine)
    except OperationalError as exc:
        engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise XuejiError(f"cannot open the database {where}: {reason} (check --db or $XUEJI_DB)") from exc
    return engine


def _check_county(inputs: Inputs, county: str | None) -> None:
    if county is None:
        return
    if not (len(county) == 6 and county.isdigit()):
        raise InputError(f"--county {county!r}: a county code is 6 digits (GB/T 2260), e.g. 430104")
    known = inputs.tables["schools"].select(pl.col("county_code").drop_nulls().unique()).collect()["county_code"].to_list()
    if county not in known:
        listed = ", ".join(sorted(known)[:12]) or "none"
        raise InputError(f"--county {county}: no school of the schools table is in that county (counties present: {listed})")


def _sort_violations(frame: pl.DataFrame) -> pl.DataFrame:
    order = {r.code: i for i, r in enumerate(all_rules())}
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return (
        frame.with_columns(
            pl.col("rule").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("_r"),
            pl.col("severity").replace_strict(rank, default=len(rank), return_dtype=pl.Int32).alias("_s"),
        )
        .sort("_r", "_s", "county_code", "school_code", "grade", "class_name", "student_no", "name", "violation_id", nulls_last=True)
        .drop("_r", "_s")
    )


class _LogBuffer:
    """Log lines kept from the start of a run until its folder exists to hold them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.sink_id = logger.add(self.lines.append, level="DEBUG", format=LOG_FORMAT, colorize=False)

    def flush_to(self, path: Path) -> int:
        """Write the kept lines to ``path``, stop buffering, and log straight to the file."""
        logger.remove(self.sink_id)
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines(self.lines)
        path.chmod(0o600)
        return logger.add(path, level="DEBUG", format=LOG_FORMAT, backtrace=True, diagnose=False, colorize=False)

    def close(self) -> None:
        """Stop buffering (if still buffering)."""
        try:
            logger.remove(self.sink_id)
        except ValueError:
            pass


def run_audit(options: AuditOptions, progress: Progress | None = None) -> AuditResult:
    """Audit ``options.data_dir`` and write its run folder; see the module docstring."""
    progress = progress or LogProgress()
    buffer = _LogBuffer()
    stack = ExitStack()  # the Ray session, when --engine ray
    executor: Any = None
    file_sink: int | None = None
    folder: RunFolder | None = None
    engine: Engine | None = None
    reports: Any = None  # xueji.reports.PendingReports while the run's reports are written
    try:
        t_start = time.perf_counter()
        started_at = datetime.now(UTC)
        as_of = options.as_of or date.today()
        cfg = load_config(options.config)
        cfg, holidays, limit = _transfer_settings(cfg, options)
        scope = history.scope_key(options.county, options.rules)
        final = options.out if options.out is not None else default_run_dir(options.runs_root, as_of)
        if options.out is not None:
            check_free(final)
        logger.info("audit of {} as of {} (scope {}), xueji {}", options.data_dir, as_of, scope, __version__)
        timings: dict[str, float] = {}

        # load -------------------------------------------------------------------------
        progress.start("load")
        t = time.perf_counter()
        inputs = load_inputs(options.data_dir, as_of=as_of)
        _check_county(inputs, options.county)
        rows = {name: src.rows for name, src in inputs.sources.items()}
        # The inputs' SHA-256 for summary.json, on a thread while the audit goes on (the
        # hash releases the GIL): hashed in the write stage, it delayed the reports.
        inputs_doc = stack.enter_context(ThreadPoolExecutor(1, "input-sha256")).submit(summary.inputs_section, inputs)
        timings["load"] = time.perf_counter() - t
        progress.finish(
            "load",
            f"{len(inputs.tables)} tables ({', '.join(f'{n} {c:,}' for n, c in rows.items())}); "
            f"{inputs.data_errors.height:,} data errors",
        )

        engine = _open_database(options.db_url)

        # link -------------------------------------------------------------------------
        progress.start("link")
        t = time.perf_counter()
        from xueji.identity import resolve_identities
        from xueji.identity.dedupe import dedupe_registry

        if options.engine == "ray":
            # One cluster session for the whole audit: duplicate detection over hash
            # partitions of blocking components now, the rules per county below.
            from xueji.distributed import RayExecutor, RayOptions

            executor = stack.enter_context(RayExecutor(options=RayOptions(address=options.ray_address)))
        identity = resolve_identities(
            inputs.tables,
            cfg,
            as_of,
            attendance=inputs.attendance,
            dedupe=executor.dedupe if executor is not None else dedupe_registry,
        )
        timings["link"] = time.perf_counter() - t
        persons = identity.attendance_persons
        linked = int(persons["record_row"].is_not_null().sum()) if persons.height else 0
        dup_records = int(identity.records["dup_group_id"].is_not_null().sum())
        progress.finish(
            "link",
            f"{identity.records.height:,} records, {dup_records:,} in duplicate groups; "
            f"{persons.height:,} attendance persons ({linked:,} linked); "
            f"{identity.residence_links.height:,} residence rows",
        )

        # rules ------------------------------------------------------------------------
        progress.start("rules")
        t = time.perf_counter()
        completed, overdue = _workflow_facts(engine, as_of, holidays, limit)
        snap = history.previous_snapshot(engine, as_of)
        ctx = build_context(
            inputs.tables, as_of, cfg, identity, completed, overdue, previous_registry=snap[1] if snap else None
        )
        rules, statuses = select_rules(inputs.tables, options.rules, snap is not None, inputs.missing_columns())
        for st in statuses:
            if not st.ran:
                logger.info("rule {} skipped: {}", st.code, st.reason)
            elif st.note:
                logger.info("rule {}: {}", st.code, st.note)
        snapshot_plan = inputs.tables["registry"].select("student_no", "school_code", "status")
        cov = summary.coverage_plans(ctx)
        if executor is not None:
            # Same context, same rules: the executor cuts them per county and returns
            # exactly what evaluate_rules returns (tests/test_ray_executor.py).
            found, errors, extra = executor.evaluate_rules(ctx, rules, [snapshot_plan, *cov])
            stack.close()  # the cluster is not needed for writing
        else:
            found, errors, extra = evaluate_rules(ctx, rules, [snapshot_plan, *cov])
        snapshot = extra[0]
        statuses = [replace(st, error=errors.get(st.code)) for st in statuses]
        if options.county:
            found = found.filter(pl.col("county_code") == options.county)
        violations = add_violation_ids(found)

        previous = history.previous_run(engine, as_of, scope)
        prev_findings = history.run_findings(engine, previous.id) if previous else None
        violations = compare.mark_changes(violations, prev_findings)
        dismiss = _optional("xueji.findings", "apply_dismissals")
        if dismiss is not None:
            violations = dismiss(engine, violations, run_name=final.name)
        violations = _sort_violations(violations.select(VIOLATION_COLUMNS))
        # Only a rule that saw all its sources tonight can say last night's finding is gone.
        ran = [st.code for st in statuses if st.ran and not st.error and not st.note]
        resolved = compare.resolved_findings(violations, prev_findings, ran)
        timings["rules"] = time.perf_counter() - t
        by_change = violations["change"].value_counts()
        change_counts = {str(c): int(n) for c, n in by_change.iter_rows()}
        skipped = [st.code for st in statuses if not st.ran]
        progress.finish(
            "rules",
            f"{len(rules)} rules, {violations.height:,} findings "
            f"({change_counts.get('new', 0):,} new, {change_counts.get('persisting', 0):,} persisting, "
            f"{resolved.height:,} resolved)" + (f"; skipped: {', '.join(skipped)}" if skipped else "")
            + (f"; FAILED: {', '.join(errors)}" if errors else ""),
        )

        # write ------------------------------------------------------------------------
        progress.start("write")
        t = time.perf_counter()
        folder = RunFolder(final)
        file_sink = buffer.flush_to(folder.path("audit.log"))
        previous_info = (
            {"run_id": previous.id, "as_of": previous.as_of.isoformat(), "run_dir": previous.run_dir} if previous else None
        )
        doc: dict[str, Any] = {
            "run_id": None,
            "xueji_version": __version__,
            "as_of": as_of.isoformat(),
            "data_dir": str(Path(options.data_dir).resolve()),
            "scope": {"key": scope, "county": options.county, "rules": options.rules},
            "started_at": started_at.isoformat(),
            "inputs": inputs_doc.result(),
            "coverage": summary.coverage(ctx, extra[1:], inputs),
            "config": {name: {"value": cfg[name], "source": cfg.sources[name]} for name in cfg.values},
            "rules": summary.rules_section(statuses, violations),
            "skipped_rules": [{"rule": st.code, "reason": st.reason} for st in statuses if not st.ran],
            "failed_rules": [{"rule": code, "error": err} for code, err in errors.items()],
            "findings": summary.findings_section(violations),
            "resolved": summary.resolved_section(resolved, previous_info),
            "previous_registry_snapshot_run_id": snap[0] if snap else None,
            "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        }
        folder.write_json(doc, "summary.json")
        start_reports = _optional("xueji.reports", "start_run_reports")
        if start_reports is not None:
            details = _optional("xueji.findings", "dismissal_details")
            # The workbook is written on a thread while the run is recorded below; it is
            # waited for before the folder is committed.
            reports = start_reports(
                folder.tmp, dismissals=details(engine) if details else None, findings=violations
            )
        else:
            logger.warning("xueji.reports is not installed: report.xlsx and report.html were not written")
        # The data files while the workbook is written (the reports read none of them).
        folder.write_parquet(violations, "violations.parquet")
        folder.write_csv(violations, "violations.csv", bom=True)
        folder.write_csv(inputs.data_errors.select(DATA_ERROR_COLUMNS), "data_errors.csv", bom=True)
        finished_at = datetime.now(UTC)
        run_row = {
            "as_of": as_of,
            "started_at": started_at,
            "finished_at": finished_at,
            "data_dir": str(Path(options.data_dir).resolve()),
            "run_dir": str(final.resolve()),
            "scope": scope,
            "xueji_version": __version__,
            "inputs": doc["inputs"],
            "counts": {"findings": doc["findings"], "rules": doc["rules"], "data_errors": inputs.data_errors.height},
            "findings_total": violations.height,
            "new_total": change_counts.get("new", 0),
            "persisting_total": change_counts.get("persisting", 0),
            "dismissed_total": change_counts.get("dismissed", 0),
            "resolved_total": resolved.height,
            "previous_run_id": previous.id if previous else None,
        }
        try:
            with session_scope(engine) as session:
                run_id = history.record_run(session, run_row, violations, snapshot)
                if reports is not None:
                    for path in reports.wait():
                        logger.debug("wrote {}", Path(path).name)
                    reports = None
                # Timed once the workbook is in: the write stage ends here, in the same
                # transaction that records the run.
                timings["write"] = time.perf_counter() - t
                timings["total"] = time.perf_counter() - t_start
                rounded = {k: round(v, 3) for k, v in timings.items()}
                session.get(history.AuditRun, run_id).timings = rounded  # type: ignore[union-attr]
                doc["run_id"] = run_id
                doc["finished_at"] = finished_at.isoformat()
                doc["timings_seconds"] = rounded
                folder.write_json(doc, "summary.json")
                if options.out is None and final.exists():
                    # Another run took this number meanwhile: take the next one.
                    final = folder.final = default_run_dir(options.runs_root, as_of)
                    session.get(history.AuditRun, run_id).run_dir = str(final.resolve())  # type: ignore[union-attr]
                logger.info("run {} recorded; {} findings written to {}", run_id, violations.height, final)
                folder.commit()
        except BaseException:
            if reports is not None:
                reports.wait_quietly()
            folder.uncommit()
            raise
        progress.finish("write", f"run {run_id}: {final}")
        _refresh_workflow_view(engine, inputs, str(options.data_dir))
        return AuditResult(run_id, final, violations, doc, statuses)
    except BaseException as exc:
        if reports is not None:
            reports.wait_quietly()  # nothing may still write into the folder removed below
        if folder is not None and not folder.committed:
            _keep_failure_log(folder, exc)
            folder.abort()
        raise
    finally:
        stack.close()
        progress.close()
        buffer.close()
        if engine is not None:
            # Return pooled connections now, not when the engine is garbage collected.
            engine.dispose()
        if file_sink is not None:
            logger.remove(file_sink)


def _keep_failure_log(folder: RunFolder, exc: BaseException) -> None:
    """Keep a failed run's log next to where its folder would have been (no data in it)."""
    if isinstance(exc, KeyboardInterrupt | InputError):
        return
    log = folder.path("audit.log")
    if log.exists():
        logger.opt(exception=exc).error("run failed; nothing of it was kept except this log")
        target = folder.final.parent / f"failed-{folder.final.name}-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
        try:
            log.replace(target)
        except OSError:
            pass


def _refresh_workflow_view(engine: Engine, inputs: Inputs, source: str) -> None:
    """Give the transfer workflow tonight's registry (its students and their schools)."""
    refresh = _optional("xueji.workflow", "import_registry")
    if refresh is None:
        return
    lacking = inputs.lacking(["schools", "registry", "residence"])
    if lacking is not None:
        # The import replaces each school's students with the file's rows: a column the
        # file lacks would be blanked for whole schools (or their students removed).
        logger.warning("the workflow's registry view was not refreshed: required columns missing ({})", lacking)
        return
    try:
        schools = inputs.tables["schools"].collect()
        registry = inputs.tables["registry"].collect()
        residence = inputs.tables["residence"].collect() if "residence" in inputs.tables else None
        result = refresh(engine, schools, registry, residence=residence, source=source)
        describe = getattr(result, "describe", None)
        logger.info("workflow registry view refreshed: {}", describe() if callable(describe) else result)
    except Exception as exc:  # noqa: BLE001 - the audit is recorded; a stale view is only a warning
        logger.opt(exception=exc).warning("the workflow's registry view was not refreshed: {}", exc)
