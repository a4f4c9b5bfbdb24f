"""Measuring helpers for the scale benchmarks: stage clocks, peak memory, the I/O floor.

A figure is only worth something next to the conditions it was taken in, so every
stage records wall time *and* the CPU time of the process (all threads), and every run
records the load average: on a shared machine wall time stretches while CPU time
does not.
"""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import psutil

# One group-by per table for the I/O floor: a column every row of that table has.
FLOOR_KEYS = {
    "schools": "county_code",
    "catchments": "school_code",
    "registry": "school_code",
    "attendance": "school_code",
    "residence": "hukou_area_code",
    "registry_changes": "change_type",
}


def cpu_seconds() -> float:
    """CPU time (user + system) of this process so far, all threads included."""
    t = os.times()
    return t.user + t.system


def load_average() -> float:
    """The one-minute load average of the machine."""
    return os.getloadavg()[0]


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Samples this process's RSS in a thread, so each stage gets its own peak.

    ``ru_maxrss`` only ever grows; the sampler resets at each ``take()``, which gives
    the highest RSS seen since the previous one (sampled every ``interval`` seconds,
    so a spike shorter than that can be missed; ``peak_rss_mb`` is the exact total).
    """

    def __init__(self, interval: float = 0.05) -> None:
        self._proc = psutil.Process()
        self._interval = interval
        self._peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            rss = self._proc.memory_info().rss
            with self._lock:
                self._peak = max(self._peak, rss)

    def take(self) -> float:
        """The highest RSS (MB) since the last ``take``; starts a new interval."""
        now = self._proc.memory_info().rss
        with self._lock:
            peak, self._peak = max(self._peak, now), now
        return peak / 2**20

    def stop(self) -> None:
        """End the sampling thread."""
        self._stop.set()
        self._thread.join()


@dataclass
class Stage:
    """One stage's clocks: wall and CPU seconds, peak RSS, load average at its end."""

    name: str
    wall: float
    cpu: float
    peak_rss_mb: float
    load: float


@dataclass
class StageClock:
    """Times named stages; also usable as the audit runner's ``Progress``."""

    sampler: RssSampler = field(default_factory=RssSampler)
    stages: list[Stage] = field(default_factory=list)
    _open: dict[str, tuple[float, float]] = field(default_factory=dict)

    def start(self, stage: str) -> None:
        """A stage begins (``Progress`` protocol)."""
        self.sampler.take()
        self._open[stage] = (time.perf_counter(), cpu_seconds())

    def finish(self, stage: str, message: str = "") -> None:
        """A stage ended (``Progress`` protocol); ``message`` is ignored."""
        del message
        wall0, cpu0 = self._open.pop(stage)
        self.stages.append(
            Stage(stage, time.perf_counter() - wall0, cpu_seconds() - cpu0, self.sampler.take(), load_average())
        )

    def close(self) -> None:
        """The run ended (``Progress`` protocol): nothing to do, the sampler stays."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """``with clock.stage("name"):`` times the block."""
        self.start(name)
        try:
            yield
        finally:
            self.finish(name)

    def as_dicts(self) -> list[dict[str, Any]]:
        """The stages as plain dicts (for JSON)."""
        return [asdict(s) for s in self.stages]


def io_floor(data_dir: Path) -> dict[str, Any]:
    """The I/O floor of an input folder: every table read once through the project's
    readers (encoding detection and transcoding included, nothing parsed) and one
    group-by per table taking the maximum of every column — so every column of every
    file is read and decoded, none is skipped by projection — all collected together
    on the streaming engine.

    No audit can do less work than this: it is the yardstick the audit's wall time is
    divided by, measured in the same run so machine load affects both alike.
    """
    from xueji.io.readers import find_table_file, open_table
    from xueji.io.schema import load_schemas

    schemas = load_schemas()
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    plans: list[pl.LazyFrame] = []
    names: list[str] = []
    for name, key in FLOOR_KEYS.items():
        path = find_table_file(Path(data_dir), name)
        if path is None:
            continue
        raw = open_table(path, schemas[name])
        plans.append(raw.frame.group_by(key).agg(pl.len().alias("_rows"), pl.all().max()))
        names.append(name)
    groups = pl.collect_all(plans, engine="streaming")
    return {
        "wall": time.perf_counter() - wall0,
        "cpu": cpu_seconds() - cpu0,
        "groups": {n: g.height for n, g in zip(names, groups, strict=True)},
        "load": load_average(),
    }


def median(values: Sequence[float]) -> float:
    """The median (of 3 runs, usually)."""
    return float(statistics.median(values))
