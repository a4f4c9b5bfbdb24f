"""``resolve_identities``: run the three linkers and assemble the ``Identity``."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, TypeVar

import polars as pl
from loguru import logger

from xueji.config import Config
from xueji.identity.attendance import empty_attendance, link_attendance
from xueji.identity.dedupe import DedupeResult, dedupe_registry
from xueji.identity.link import registry_features
from xueji.identity.residence import empty_residence, link_residence
from xueji.identity.result import RECORDS_SCHEMA, Identity, beside
from xueji.identity.spec import LinkSpec, attendance_spec, dedupe_spec, residence_spec
from xueji.io.digest import AttendanceDigest, digest_attendance
from xueji.io.schema import load_schemas

# Registry columns ``Identity.explain`` shows.
_EXPLAIN_COLS = (
    "_row",
    "student_no",
    "id_type",
    "id_number",
    "name",
    "gender",
    "birth_date",
    "school_code",
    "grade",
    "class_name",
    "status",
    "enrol_date",
)


T = TypeVar("T")

# How registry records are deduplicated: ``dedupe_registry`` itself, or an executor's
# partitioned equivalent (``RayExecutor.dedupe``), which gives the same result.
Dedupe = Callable[[pl.DataFrame, LinkSpec], DedupeResult]


def _timed(func: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``func(*args, **kwargs)`` and the seconds it took."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def resolve_identities(
    tables: dict[str, pl.LazyFrame],
    cfg: Config,
    as_of: date,
    attendance: AttendanceDigest | None = None,
    dedupe: Dedupe = dedupe_registry,
) -> Identity:
    """Resolve who is who across registry, attendance and residence (see ``Identity``).

    ``tables`` are the loader's validated lazy frames; ``attendance`` and ``residence``
    are optional. ``attendance`` is the loader's digest of the attendance table (made
    here from ``tables["attendance"]`` when not given); its day masks end on ``as_of``.
    ``dedupe`` runs the registry's duplicate detection (``--engine ray``: on a cluster).
    """
    t0 = time.perf_counter()
    reg = tables["registry"].collect()
    feat = registry_features(reg)
    dup = dedupe(feat, dedupe_spec(cfg))
    # The ID check travels with the records: the rules re-check only the numbers it did
    # not find valid (GB 11643 on a million numbers is the costly part).
    records = (
        beside(dup.records, feat, ["id_state"])
        .select(list(RECORDS_SCHEMA))
        .cast(pl.Schema(RECORDS_SCHEMA))
    )
    rec = beside(feat, records, ["person_id"])
    t1 = time.perf_counter()

    # Residence linking runs on a thread beside attendance linking: both are chains of
    # mid-sized Polars steps that leave a core idle (the GIL is released inside Polars),
    # and neither reads the other's result.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="link-residence") as pool:
        res_job = (
            pool.submit(
                _timed,
                link_residence,
                tables["residence"].collect(),
                rec,
                residence_spec(cfg),
                count_candidates=False,
            )
            if "residence" in tables
            else None
        )
        if "attendance" in tables:
            if attendance is None:
                attendance, _ = digest_attendance(
                    tables["attendance"], load_schemas()["attendance"], as_of
                )
            att = link_attendance(
                attendance,
                rec,
                attendance_spec(cfg),
                name_min=float(cfg["link_name_min_score"]),
                class_min=float(cfg["link_class_name_min_score"]),
                count_candidates=False,
            )
        else:
            att = empty_attendance()
        t2 = time.perf_counter()
        res, res_seconds = res_job.result() if res_job is not None else (empty_residence(), 0.0)
    t3 = time.perf_counter()
    logger.info(
        f"identity: registry {reg.height:,} records in {t1 - t0:.1f}s, attendance {t2 - t1:.1f}s, "
        f"residence {res_seconds:.1f}s (alongside attendance; {t3 - t2:.1f}s waited for it)"
    )
    return Identity(
        records=records,
        attendance_persons=att.persons,
        attendance_masks=att.masks,
        attendance_days=att.days,
        residence_links=res.links,
        registry=reg.select([c for c in _EXPLAIN_COLS if c in reg.columns]),
        candidate_pairs={
            "registry_dedupe": dup.counts,
            "attendance": att.counts,
            "residence": res.counts,
        },
    )
