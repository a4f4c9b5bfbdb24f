"""Benchmark: export 100,000 findings to xlsx and to html (median of 3 runs each).

Builds a run folder of fabricated findings (tests/reports_factory.py) with two earlier
runs beside it for the trend, then times ``build_report`` + each writer, as
``xueji report -f xlsx|html`` and the audit runner do. The target is 30 s each on
2 cores.

    uv run python benchmarks/reports.py            # 100,000 findings
    uv run python benchmarks/reports.py 20000      # another size
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import reports_factory  # noqa: E402

from xueji.reports import build_report  # noqa: E402
from xueji.reports.html import write_html  # noqa: E402
from xueji.reports.xlsx import write_xlsx  # noqa: E402

RUNS = 3
TARGET_SECONDS = 30.0


def median_seconds(work: Callable[[], object]) -> tuple[float, list[float], float]:
    """The median wall time of ``RUNS`` calls of ``work``, every time, and the median CPU time.

    CPU time (this process, all threads) is printed too because wall time on a shared
    2-core machine depends on what else runs.
    """
    times, cpu = [], []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), times, statistics.median(cpu)


def main(n: int) -> int:
    """Time both exports of ``n`` findings; exit 1 when one misses the target."""
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        reports_factory.write_run(runs, "2026-11-18-1", reports_factory.findings(int(n * 1.1)))
        reports_factory.write_run(runs, "2026-11-19-1", reports_factory.findings(int(n * 1.05), offset=n // 20))
        run = reports_factory.write_run(runs, "2026-11-20-1", reports_factory.findings(n, offset=n // 10))
        out = Path(tmp)
        failed = False
        for fmt, writer in (("xlsx", write_xlsx), ("html", write_html)):
            target = out / f"report.{fmt}"

            def work(writer: Callable[..., Path] = writer, target: Path = target) -> Path:
                return writer(build_report(run), target)

            median, times, cpu = median_seconds(work)
            size = target.stat().st_size / 1e6
            verdict = "ok" if median <= TARGET_SECONDS else "TOO SLOW"
            failed |= median > TARGET_SECONDS
            print(
                f"{fmt:5s} {n:,} findings: median {median:.2f} s "
                f"(runs: {', '.join(f'{t:.2f}' for t in times)}; CPU {cpu:.2f} s; file {size:.1f} MB) "
                f"target <= {TARGET_SECONDS:.0f} s: {verdict}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
