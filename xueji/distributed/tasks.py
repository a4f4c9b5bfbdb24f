"""What runs inside one cluster task: Polars in, Arrow (or Parquet bytes) out.

Each function is plain Python over plain data, so it can run in a Ray worker, in a
test, or in a loop on one machine; ``executor`` wraps them in ``ray.remote``. A task
builds a partition's ``AuditContext`` from the frames it was sent and evaluates rules
with ``xueji.audit.evaluate_rules`` — the very function the local engine uses — so a
partition differs from the whole city only in the rows it holds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
import pyarrow as pa

from xueji.audit.context import build_context, evaluate_rules
from xueji.config import Config
from xueji.distributed.partition import owner
from xueji.identity.dedupe import DedupeResult, dedupe_registry
from xueji.identity.result import ATTENDANCE_DAYS_SCHEMA, ATTENDANCE_MASKS_SCHEMA, Identity
from xueji.identity.spec import LinkSpec
from xueji.io.normalise import DTYPES
from xueji.io.schema import load_schemas
from xueji.rules.base import FINDING_SCHEMA, AuditContext
from xueji.rules.catalogue import rule_by_code

# The frames of ``attendance_window`` a partition receives ready-made, by the key under
# which ``AuditContext.shared`` memoises them (the test suite checks the rules still read
# them under these keys).
WINDOW_DAYS = "attendance.window_days"
PERSON_MASKS = "attendance.person_masks"


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    """A frame as Arrow, the form frames travel in between tasks."""
    return frame.to_arrow()


def from_arrow(table: pa.Table) -> pl.DataFrame:
    """An Arrow table back as a Polars frame."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def warm_up() -> int:
    """Nothing but the imports above: run once per worker while the driver loads data."""
    return len(FINDING_SCHEMA)


def provide(ctx: AuditContext, key: str, frame: pl.DataFrame) -> None:
    """Hand ``ctx`` a shared frame computed elsewhere: rules asking for ``key`` get it."""
    ctx.shared(key, lambda _ctx: frame.lazy())


@dataclass
class TaskReport:
    """What a task did: partition, rows in and out, seconds, bytes received."""

    stage: str
    part: str
    rows_in: int
    rows_out: int
    seconds: float
    bytes_in: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def _bytes(tables: Sequence[pa.Table]) -> int:
    return sum(t.nbytes for t in tables)


# --- rules: one county's closure → the findings it owns ------------------------------------


@dataclass
class RulesJob:
    """What every partition's rules task shares (put once into the object store)."""

    partitions: list[str]
    codes: list[str]
    as_of: date
    cfg: Config
    small_tables: dict[str, pa.Table]  # read whole by every partition (schools, catchments)
    workflow: dict[str, pa.Table]  # completed and overdue transfers
    has_attendance: bool
    window_days: pa.Table | None


@dataclass
class PartitionInputs:
    """One partition's closure (Arrow): its input rows, identity rows, attendance masks."""

    tables: dict[str, pa.Table]
    records: pa.Table
    attendance_persons: pa.Table
    residence_links: pa.Table
    person_masks: pa.Table | None

    def nbytes(self) -> int:
        """Bytes this partition ships."""
        masks = [self.person_masks] if self.person_masks is not None else []
        return _bytes([*self.tables.values(), self.records, self.attendance_persons, self.residence_links, *masks])

    def is_empty(self) -> bool:
        """Whether the partition holds no row any rule could report on."""
        return not (self.records.num_rows or self.attendance_persons.num_rows or self.residence_links.num_rows)


def rules_task(part: str, job: RulesJob, inputs: PartitionInputs) -> tuple[pa.Table, TaskReport]:
    """Evaluate the job's rules on one partition and keep the findings it owns."""
    t0 = time.perf_counter()
    tables = {name: from_arrow(t).lazy() for name, t in (job.small_tables | inputs.tables).items()}
    if job.has_attendance:
        # The rules see that attendance was supplied; it was reduced on the driver and
        # arrives as window days and this partition's masks.
        fields = load_schemas()["attendance"].fields
        tables["attendance"] = pl.LazyFrame(schema={f.name: DTYPES[f.type] for f in fields})
    identity = Identity(
        records=from_arrow(inputs.records),
        attendance_persons=from_arrow(inputs.attendance_persons),
        attendance_masks=pl.DataFrame(schema=ATTENDANCE_MASKS_SCHEMA),
        attendance_days=pl.DataFrame(schema=ATTENDANCE_DAYS_SCHEMA),
        residence_links=from_arrow(inputs.residence_links),
    )
    ctx = build_context(
        tables,
        job.as_of,
        job.cfg,
        identity,
        from_arrow(job.workflow["completed"]),
        from_arrow(job.workflow["overdue"]),
        previous_registry=None,
    )
    if job.window_days is not None and inputs.person_masks is not None:
        provide(ctx, WINDOW_DAYS, from_arrow(job.window_days))
        provide(ctx, PERSON_MASKS, from_arrow(inputs.person_masks))
    found, errors, _ = evaluate_rules(ctx, [rule_by_code(c) for c in job.codes])
    mine = found.filter(owner(pl.col("county_code"), job.partitions) == part)
    rows = inputs.tables["registry"].num_rows
    report = TaskReport("rules", part, rows, mine.height, time.perf_counter() - t0, inputs.nbytes(), errors)
    return to_arrow(mine), report


def empty_findings_arrow() -> pa.Table:
    """No findings, as Arrow."""
    return to_arrow(pl.DataFrame(schema=FINDING_SCHEMA))


# --- duplicate detection: one hash partition of blocking components -------------------------


def dedupe_task(part: str, feat: pa.Table, spec: LinkSpec) -> tuple[dict[str, Any], TaskReport]:
    """Deduplicate one partition of whole blocking components with the local linker."""
    t0 = time.perf_counter()
    frame = from_arrow(feat)
    result: DedupeResult = dedupe_registry(frame, spec)
    out = {
        "records": to_arrow(result.records),
        "pairs": to_arrow(result.pairs),
        "counts": result.counts,
        "refused": result.refused,
    }
    report = TaskReport("dedupe", part, frame.height, result.pairs.height, time.perf_counter() - t0, feat.nbytes)
    return out, report
