"""Running the audit on a cluster: the Ray executor (``xueji audit --engine ray``).

The local engine stays the default; ``RayExecutor`` gives the runner the same two entry
points on a Ray cluster (``SerialExecutor`` the same cuts in one process) — ``evaluate_rules`` (rules per county, attendance reduced per
county) and ``dedupe`` (duplicate detection over hash partitions of blocking keys) —
and returns exactly what the local engine returns. ``partition`` holds the cuts, plain
Polars; ``tasks`` what runs in one task. Ray itself is imported only when an executor
starts (``pip install 'xueji[ray]'``).
"""

from xueji.distributed.executor import (
    PartitionedExecutor,
    RayExecutor,
    RayOptions,
    SerialExecutor,
    ray_installed,
)
from xueji.distributed.partition import (
    RESIDUAL,
    blocking_components,
    county_partitions,
    memberships,
)

__all__ = [
    "RESIDUAL",
    "PartitionedExecutor",
    "RayExecutor",
    "RayOptions",
    "SerialExecutor",
    "blocking_components",
    "county_partitions",
    "memberships",
    "ray_installed",
]
