"""The Ray executor: the audit's heavy stages as tasks on a Ray cluster.

``RayExecutor`` offers the two entry points the runner calls on the local engine, with
the same signatures and the same results:

- ``evaluate_rules(ctx, rules, extra)`` — like ``xueji.audit.evaluate_rules``: the
  rules run per county on each county's closure (attendance arrives already folded per
  sighting by the loader's digest, so each county gets only its persons' masks) (``partition.memberships``) and each task keeps the
  findings it owns. Rules that read the workflow database (transfers) and the ``extra``
  plans run once on the driver.
- ``dedupe(feat, spec)`` — like ``xueji.identity.dedupe.dedupe_registry``: registry
  records are cut into hash partitions of blocking components and each partition is
  deduplicated in its own task.

Polars runs inside every task; frames travel as Arrow through Ray's object store.
Ray is an optional extra (``pip install 'xueji[ray]'``): nothing imports it until an
executor starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl
from loguru import logger

from xueji.audit.context import evaluate_rules
from xueji.distributed import partition, tasks
from xueji.distributed.partition import PART
from xueji.errors import ConfigError
from xueji.identity.dedupe import DedupeResult
from xueji.identity.spec import LinkSpec
from xueji.rules import attendance_window
from xueji.rules.base import FINDING_SCHEMA, AuditContext, Rule

# Tables cut into county closures; every other table is small and goes whole to each task.
_CLOSURE_TABLES = ("registry", "residence")

# Scratch files (a local Ray cluster's sockets, logs and spilled objects) go to a fresh folder under the system's temporary folder: a Unix socket path
# is limited to 107 bytes, so it must be short.
_SCRATCH_PREFIX = "xueji-dist-"


def ray_installed() -> bool:
    """Whether the optional ``ray`` extra is installed."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class RayOptions:
    """Where and how to run on Ray.

    ``address``: a running cluster (``ray://head:10001`` or ``auto``); None starts a
    local cluster of ``workers`` worker processes (default: one per core) and stops it
    at the end. ``dedupe_partitions``: hash partitions for duplicate detection
    (default: two per worker). ``polars_threads``: Polars threads inside each task (one
    task per core keeps the cores busy without oversubscribing them).
    """

    address: str | None = None
    workers: int | None = None
    dedupe_partitions: int | None = None
    polars_threads: int = 1


@dataclass
class PartitionedExecutor:
    """The partitioned audit, whatever runs the tasks (a context manager).

    Subclasses say how a task is submitted and its result gathered: ``SerialExecutor``
    runs each task in this process in turn, ``RayExecutor`` on a Ray cluster.
    """

    reports: list[tasks.TaskReport] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    dedupe_partitions: int | None = None
    _scratch: Path | None = None

    def __enter__(self) -> PartitionedExecutor:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Get ready to run tasks (a no-op when ready)."""

    def close(self) -> None:
        """Release what ``start`` took; remove the scratch files."""
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    @property
    def workers(self) -> int:
        """Tasks that run at once."""
        return 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Start ``fn(*args)`` as a task; returns a handle for ``gather``."""
        return fn(*args)

    def put(self, value: Any) -> Any:
        """Store a value several tasks read (once); returns what to pass them."""
        return value

    def gather(self, handles: list[Any]) -> list[Any]:
        """The results of submitted tasks, in order."""
        return handles

    def scratch(self) -> Path:
        """A folder for this session's files (made on first use, removed by ``close``)."""
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix=_SCRATCH_PREFIX))
        return self._scratch

    # --- duplicate detection ----------------------------------------------------------------

    def dedupe(self, feat: pl.DataFrame, spec: LinkSpec) -> DedupeResult:
        """``dedupe_registry`` over hash partitions of blocking components (same result)."""
        self.start()
        t0 = time.perf_counter()
        n = self.dedupe_partitions or 2 * self.workers
        parts = partition.component_parts(partition.blocking_components(feat, spec), n)
        pieces = feat.join(parts, on="_row", how="left", maintain_order="left").partition_by(
            PART, as_dict=True, include_key=False
        )
        refs = [self.submit(tasks.dedupe_task, str(key[0]), tasks.to_arrow(piece), spec) for key, piece in pieces.items()]
        outs = self.gather(refs)
        counts = {key.name: 0 for key in spec.blocking}
        records, pairs, refused = [], [], 0
        for out, report in outs:
            self.reports.append(report)
            records.append(tasks.from_arrow(out["records"]))
            pairs.append(tasks.from_arrow(out["pairs"]))
            refused += int(out["refused"])
            for name, value in out["counts"].items():
                counts[name] = counts.get(name, 0) + int(value)
        self.timings["dedupe"] = time.perf_counter() - t0
        logger.info(
            "ray dedupe: {:,} records in {} hash partitions of blocking components ({:.1f} s)",
            feat.height,
            len(pieces),
            self.timings["dedupe"],
        )
        return DedupeResult(
            records=pl.concat(records).sort("_row") if records else feat.select("_row").clear(),
            pairs=pl.concat(pairs, how="diagonal_relaxed") if pairs else pl.DataFrame(),
            counts=counts,
            refused=refused,
        )

    # --- rules ------------------------------------------------------------------------------

    def evaluate_rules(
        self, ctx: AuditContext, rules: Sequence[Rule], extra: Sequence[pl.LazyFrame] = ()
    ) -> tuple[pl.DataFrame, dict[str, str], list[pl.DataFrame]]:
        """``xueji.audit.evaluate_rules`` with the rules run per county on the cluster."""
        self.start()
        t0 = time.perf_counter()
        on_driver = [r for r in rules if r.needs_workflow]
        per_county = [r for r in rules if not r.needs_workflow]
        tables = _collect_tables(ctx)
        schools = tables["schools"]
        partitions = partition.county_partitions(schools)
        has_attendance = ctx.has("attendance")

        window_days: pl.DataFrame | None = None
        person_masks: pl.DataFrame | None = None
        if has_attendance and per_county:
            # The loader's digest already folded the rows per sighting: the window and
            # each attendance person's masks are a small computation on the driver,
            # memoised in ctx for the driver's own rules, then cut per county.
            t1 = time.perf_counter()
            window_days = attendance_window.window_days(ctx).collect()
            person_masks = attendance_window.person_masks(ctx).collect()
            self.timings["attendance"] = time.perf_counter() - t1

        refs: list[Any] = []
        if per_county:
            t1 = time.perf_counter()
            inputs = _partition_inputs(ctx, tables, partitions, person_masks)
            self.timings["partition"] = time.perf_counter() - t1
            small = {name: tasks.to_arrow(frame) for name, frame in tables.items() if name not in _CLOSURE_TABLES}
            job = tasks.RulesJob(
                partitions=partitions,
                codes=[r.code for r in per_county],
                as_of=ctx.as_of,
                cfg=ctx.cfg,
                small_tables=small,
                workflow={"completed": tasks.to_arrow(ctx.completed_transfers), "overdue": tasks.to_arrow(ctx.overdue_transfers)},
                has_attendance=has_attendance,
                window_days=tasks.to_arrow(window_days) if window_days is not None else None,
            )
            job_ref = self.put(job)
            refs = [self.submit(tasks.rules_task, part, job_ref, inputs[part]) for part in partitions if not inputs[part].is_empty()]

        # While the cluster works, the driver evaluates its own rules and the extra plans.
        found_here, errors, extra_frames = evaluate_rules(ctx, on_driver, extra)
        frames = [found_here]
        t2 = time.perf_counter()
        for table, report in self.gather(refs):
            self.reports.append(report)
            frames.append(tasks.from_arrow(table))
            errors.update(report.errors)
        self.timings["rules_wait"] = time.perf_counter() - t2
        self.timings["rules"] = time.perf_counter() - t0
        order = {r.code: i for i, r in enumerate(rules)}
        findings = (
            pl.concat([f.select(list(FINDING_SCHEMA)).cast(FINDING_SCHEMA) for f in frames], how="vertical")  # type: ignore[arg-type]
            .with_columns(pl.col("rule").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("_order"))
            .sort("_order", maintain_order=True)
            .drop("_order")
        )
        logger.info(
            "ray rules: {} rules on {} county partitions, {} on the driver; {:,} findings ({:.1f} s)",
            len(per_county),
            len(refs),
            len(on_driver),
            findings.height,
            self.timings["rules"],
        )
        return findings, errors, extra_frames


def _collect_tables(ctx: AuditContext) -> dict[str, pl.DataFrame]:
    """Every supplied table but attendance (reduced per county instead), collected once
    on the driver. All of them, not only those rules declare in ``needs``: a rule may
    read an optional table when it is there (CROSS_CITY reads residence permits)."""
    names = [t for t in ctx.tables if t != "attendance"]
    frames = pl.collect_all([ctx.tables[t] for t in names])
    return dict(zip(names, frames, strict=True))


def _partition_inputs(
    ctx: AuditContext, tables: dict[str, pl.DataFrame], partitions: Sequence[str], person_masks: pl.DataFrame | None
) -> dict[str, tasks.PartitionInputs]:
    """Each partition's closure, cut from the whole-city frames (see ``partition``)."""
    identity = ctx.identity
    residence = tables.get("residence")
    members = partition.memberships(
        tables["registry"], identity.records, tables["schools"], residence, identity.residence_links, identity.attendance_persons
    )
    logger.debug("county partitions: {}", members.describe())
    registry = partition.split(tables["registry"], members.registry, "_row", partitions)
    records = partition.split(identity.records, members.registry, "_row", partitions)
    persons = partition.split(identity.attendance_persons, members.att_persons, "att_person", partitions)
    res_links = partition.split(identity.residence_links, members.residence, "_row", partitions)
    res_rows = partition.split(residence, members.residence, "_row", partitions) if residence is not None else None
    masks = partition.split(person_masks, members.att_persons, "att_person", partitions) if person_masks is not None else None
    out = {}
    for p in partitions:
        part_tables = {"registry": tasks.to_arrow(registry[p])}
        if res_rows is not None:
            part_tables["residence"] = tasks.to_arrow(res_rows[p])
        out[p] = tasks.PartitionInputs(
            tables=part_tables,
            records=tasks.to_arrow(records[p]),
            attendance_persons=tasks.to_arrow(persons[p]),
            residence_links=tasks.to_arrow(res_links[p]),
            person_masks=tasks.to_arrow(masks[p]) if masks is not None else None,
        )
    return out


class SerialExecutor(PartitionedExecutor):
    """Every task in this process, one after the other: the partitioned audit without a
    cluster (the reference the cuts are tested against, and a way to debug them)."""


@dataclass
class RayExecutor(PartitionedExecutor):
    """The partitioned audit on a Ray cluster, one session per audit."""

    options: RayOptions = field(default_factory=RayOptions)
    _ray: Any = None
    _own_cluster: bool = False
    _warming: list[Any] = field(default_factory=list)

    def start(self) -> None:
        """Connect to the cluster (or start a local one); a no-op when connected."""
        super().start()
        if self._ray is not None:
            return
        # Under `uv run`, Ray would start each worker with `uv run` too (re-resolving the
        # project in every worker); the driver's own interpreter already has everything.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        try:
            import ray
        except ImportError as exc:
            raise ConfigError("--engine ray needs the ray extra: pip install 'xueji[ray]' (or uv sync --extra ray)") from exc
        t0 = time.perf_counter()
        env = {"env_vars": {"POLARS_MAX_THREADS": str(self.options.polars_threads)}}
        self._own_cluster = not ray.is_initialized()
        if not self._own_cluster:
            pass
        elif self.options.address:
            ray.init(address=self.options.address, runtime_env=env, log_to_driver=False)
        else:
            ray.init(
                num_cpus=self.options.workers or os.cpu_count() or 1,
                include_dashboard=False,
                log_to_driver=False,
                _temp_dir=str(self.scratch() / "ray"),
                runtime_env=env,
            )
        self._ray = ray
        self.dedupe_partitions = self.dedupe_partitions or self.options.dedupe_partitions
        self.timings["start"] = time.perf_counter() - t0
        # Workers import Polars and xueji on their first task (seconds each): start them
        # now, so they are ready by the time the driver has loaded and linked the data.
        self._warming = [self.submit(tasks.warm_up) for _ in range(self.workers)]
        logger.info(
            "ray: {} cluster with {} CPUs ({:.1f} s to start)",
            self.options.address or "local",
            self.workers,
            self.timings["start"],
        )

    def close(self) -> None:
        """Disconnect (and stop a cluster this executor started); remove its files."""
        if self._ray is not None and self._own_cluster:
            self._ray.shutdown()
        self._ray = None
        super().close()

    @property
    def workers(self) -> int:
        """CPUs of the cluster (tasks that run at once)."""
        self.start()
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn`` as a Ray task of one CPU."""
        return self._ray.remote(num_cpus=1)(fn).remote(*args)

    def put(self, value: Any) -> Any:
        """``value`` in Ray's object store."""
        return self._ray.put(value)

    def gather(self, handles: list[Any]) -> list[Any]:
        """``ray.get`` of the handles."""
        results: list[Any] = self._ray.get(handles)
        return results
