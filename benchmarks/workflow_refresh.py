"""Benchmark: the nightly refresh of the workflow's registry view (``import_registry``).

At the end of every audit, ``xueji.audit.runner`` hands tonight's schools, registry and
residence to ``xueji.workflow.import_registry``. This times it the way the runner calls
it, on a generated city (median of ``--runs`` runs)::

    uv run python benchmarks/workflow_refresh.py                      # the 1M-student city
    uv run python benchmarks/workflow_refresh.py --data /tmp/xueji-city/city-100000-d60-s1
    uv run python benchmarks/workflow_refresh.py --runs 1 --no-postgres

Scenarios, on SQLite and (when reachable) PostgreSQL, each run in a new database:

- **first night**: the registry into an empty database (a bulk load);
- **steady night**: the next night's registry, with 1.5 % of students changed (0.5 %
  moved to another school, 0.5 % in another class, 0.5 % with another status), 0.1 %
  gone and 0.1 % new, into the database the first night left.

Each is set against a floor measured in the same run, so machine load affects both
alike: the first night against a raw load of the same rows into a bare table (SQLite
``executemany``, PostgreSQL ``COPY``: no indexes, no diff), the steady night against
reading every student back (``pl.read_database`` of the whole table), which is what a
diff that compared every column would have to do before writing anything. Wall and CPU
seconds are printed (CPU is this process only: the database server's is not in it).
The steady-night target is 2 s (exit code 1 when a backend's median misses it).

Data: ``--data`` (default ``/tmp/xueji-city/city-1000000-d60-s1``; make one with
``xueji sample generate --students 1000000 --days 60 --seed 1 --out DIR``), loaded once
with ``xueji.io.load_inputs``. PostgreSQL: ``--postgres URL`` of a database whose user
may create databases (default ``$XUEJI_TEST_PG`` or the test server's
``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, create_engine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _measure import cpu_seconds, load_average, median  # noqa: E402

from xueji.db import init_db, make_engine  # noqa: E402
from xueji.io import load_inputs  # noqa: E402
from xueji.workflow import import_registry  # noqa: E402
from xueji.workflow.registry import STUDENT_COLUMNS, incoming_students  # noqa: E402

DEFAULT_DATA = Path("/tmp/xueji-city/city-1000000-d60-s1")
DEFAULT_PG = os.environ.get("XUEJI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET_STEADY_S = 2.0
SEED = 20261123

# Shares of the registry changed for the steady night, in ten-thousandths.
MOVED, RECLASSED, RESTATUSED, GONE, NEW = 50, 50, 50, 10, 10


@dataclass
class Timing:
    """One timed call: wall and CPU seconds, and the load average at its end."""

    wall: float
    cpu: float
    load: float


@dataclass
class Scenario:
    """The runs of one backend × scenario, with their floors."""

    times: list[Timing] = field(default_factory=list)
    floors: list[Timing] = field(default_factory=list)
    describe: str = ""

    def summary(self) -> dict[str, float]:
        """Medians of wall, CPU, floor and the run-by-run ratio."""
        return {
            "wall": median([t.wall for t in self.times]),
            "cpu": median([t.cpu for t in self.times]),
            "floor": median([f.wall for f in self.floors]),
            "ratio": median(
                [t.wall / f.wall for t, f in zip(self.times, self.floors, strict=True)]
            ),
        }


def timed(work: Callable[[], Any]) -> tuple[Timing, Any]:
    """Run ``work`` once; its clocks and its result."""
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    result = work()
    return Timing(time.perf_counter() - wall0, cpu_seconds() - cpu0, load_average()), result


# --------------------------------------------------------------------------- data


def load_city(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """schools, registry, residence, collected as the audit runner collects them."""
    inputs = load_inputs(folder)
    schools = inputs.tables["schools"].collect()
    registry = inputs.tables["registry"].collect()
    residence = inputs.tables["residence"].collect() if "residence" in inputs.tables else None
    return schools, registry, residence


def next_night(registry: pl.DataFrame, schools: pl.DataFrame) -> pl.DataFrame:
    """The registry of the night after: students moved, reclassed, restatused, gone, new.

    Chosen by a seeded hash of the student number, so every run gets the same night.
    A moved student goes to the next school code (in sorted order) after their own.
    """
    codes = schools["school_code"].drop_nulls().unique().sort()
    following = pl.DataFrame(
        {"school_code": codes, "_next_school": pl.concat([codes.slice(1), codes.head(1)])}
    )
    bucket = (pl.col("student_no").hash(SEED) % 10_000).cast(pl.Int64)
    tagged = registry.with_columns(bucket.alias("_bucket")).join(
        following, on="school_code", how="left", maintain_order="left"
    )
    edges = [MOVED, MOVED + RECLASSED, MOVED + RECLASSED + RESTATUSED]
    gone_at, new_at = edges[-1], edges[-1] + GONE
    b = pl.col("_bucket")
    changed = tagged.with_columns(
        pl.when(b < edges[0])
        .then(pl.coalesce("_next_school", "school_code"))
        .otherwise("school_code")
        .alias("school_code"),
        pl.when((b >= edges[0]) & (b < edges[1]))
        .then(pl.lit("新1班"))
        .otherwise("class_name")
        .alias("class_name"),
        pl.when((b >= edges[1]) & (b < edges[2]))
        .then(
            pl.when(pl.col("status") == "enrolled")
            .then(pl.lit("suspended"))
            .otherwise(pl.lit("enrolled"))
        )
        .otherwise("status")
        .alias("status"),
    )
    kept = changed.filter((b < gone_at) | (b >= gone_at + GONE))
    new = changed.filter((b >= new_at) & (b < new_at + NEW)).with_columns(
        (pl.lit("N") + pl.col("student_no")).alias("student_no")
    )
    return pl.concat([kept, new]).drop("_bucket", "_next_school")


def stored_rows(registry: pl.DataFrame, residence: pl.DataFrame | None) -> pl.DataFrame:
    """The rows the import stores for ``registry``, as it writes them (for the floors)."""
    typed = registry.select(pl.col(c).cast(t) for c, t in STUDENT_COLUMNS.items())
    rows = incoming_students(typed, residence).rows
    return rows.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d"))


# --------------------------------------------------------------------------- databases


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[Engine]:
    """A new SQLite database at the schema's head (deleted afterwards)."""
    path = workdir / f"refresh-{uuid.uuid4().hex[:8]}.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def postgres_admin(url: str) -> Engine | None:
    """An AUTOCOMMIT engine on ``url``, or None when the server cannot be reached."""
    try:
        engine = create_engine(
            url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2}
        )
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        print(f"PostgreSQL not reachable at {url}: {type(exc).__name__}; skipped", flush=True)
        return None
    return engine


@contextmanager
def postgres_database(admin: Engine) -> Iterator[Engine]:
    """A new PostgreSQL database at the schema's head (dropped afterwards)."""
    name = f"xueji_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        init_db(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------- floors


def raw_load(engine: Engine, rows: pl.DataFrame) -> None:
    """The rows into a bare table of the same columns: no index, no key, no diff."""
    columns = ", ".join(
        f"{c} {'BIGINT' if rows[c].dtype == pl.Int64 else 'TEXT'}" for c in rows.columns
    )
    names = ", ".join(rows.columns)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS students_floor")
        conn.exec_driver_sql(f"CREATE TABLE students_floor ({columns})")
        if engine.dialect.name == "postgresql":
            raw: Any = conn.connection.driver_connection
            with raw.cursor() as cursor:
                sql = f"COPY students_floor ({names}) FROM STDIN (FORMAT csv, NULL '\\N')"
                with cursor.copy(sql) as copy:
                    for batch in rows.iter_slices(100_000):
                        copy.write(batch.write_csv(include_header=False, null_value="\\N"))
        else:
            marks = ", ".join("?" for _ in rows.columns)
            for batch in rows.iter_slices(20_000):
                conn.exec_driver_sql(
                    f"INSERT INTO students_floor ({names}) VALUES ({marks})", batch.rows()
                )
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE students_floor")


def read_back(engine: Engine) -> pl.DataFrame:
    """Every student, every column, into a frame."""
    with engine.connect() as conn:
        return pl.read_database("SELECT * FROM students", conn, infer_schema_length=None)


# --------------------------------------------------------------------------- runs


def run_backend(
    name: str,
    database: Callable[[], Any],
    nights: tuple[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None], ...],
    rows: pl.DataFrame,
    runs: int,
) -> dict[str, Scenario]:
    """``runs`` × (first night, steady night) on new databases of one backend."""
    first, steady = Scenario(), Scenario()
    (schools, night1, residence), (_, night2, _) = nights
    for run in range(1, runs + 1):
        with database() as engine:
            t1, r1 = timed(
                lambda e=engine: import_registry(e, schools, night1, residence, "night 1")
            )
            t2, r2 = timed(
                lambda e=engine: import_registry(e, schools, night2, residence, "night 2")
            )
            read, back = timed(lambda e=engine: read_back(e))
            floor, _ = timed(lambda e=engine: raw_load(e, rows))
        first.times.append(t1)
        first.floors.append(floor)
        steady.times.append(t2)
        steady.floors.append(read)
        first.describe, steady.describe = r1.describe(), r2.describe()
        print(
            f"  {name} run {run}: first night {t1.wall:.2f} s (raw load {floor.wall:.2f} s), "
            f"steady night {t2.wall:.2f} s (read-back of {back.height:,} rows {read.wall:.2f} s), "
            f"load {t2.load:.2f}",
            flush=True,
        )
    return {"first night": first, "steady night": steady}


def main() -> int:
    """Measure, print the table, exit 1 when a steady night misses its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=DEFAULT_PG, help="admin URL (CREATE DATABASE)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where SQLite files go (a temp folder)"
    )
    args = parser.parse_args()

    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )
    t0 = time.perf_counter()
    schools, night1, residence = load_city(args.data)
    night2 = next_night(night1, schools)
    rows = stored_rows(night1, residence)
    print(
        f"{args.data}: {night1.height:,} registry rows, {schools.height:,} schools, "
        f"{0 if residence is None else residence.height:,} residence rows "
        f"(loaded in {time.perf_counter() - t0:.0f} s)",
        flush=True,
    )
    nights = ((schools, night1, residence), (schools, night2, residence))

    results: dict[str, dict[str, Scenario]] = {}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        results["SQLite"] = run_backend(
            "SQLite", lambda: sqlite_database(Path(tmp)), nights, rows, args.runs
        )
    admin = None if args.no_postgres else postgres_admin(args.postgres)
    if admin is not None:
        try:
            results["PostgreSQL"] = run_backend(
                "PostgreSQL", lambda: postgres_database(admin), nights, rows, args.runs
            )
        finally:
            admin.dispose()

    print(
        f"\nmedians of {args.runs} run(s); floor: raw load (first night), read-back (steady night)"
    )
    print(
        f"{'backend':<11} {'scenario':<13} {'wall s':>7} {'cpu s':>6} {'floor s':>8} {'× floor':>8}  target"
    )
    failed = False
    for backend, scenarios in results.items():
        for scenario, s in scenarios.items():
            m = s.summary()
            target = ""
            if scenario == "steady night":
                ok = m["wall"] <= TARGET_STEADY_S
                failed |= not ok
                target = f"≤ {TARGET_STEADY_S:.0f} s {'ok' if ok else 'MISSED'}"
            print(
                f"{backend:<11} {scenario:<13} {m['wall']:>7.2f} {m['cpu']:>6.2f} "
                f"{m['floor']:>8.2f} {m['ratio']:>8.2f}  {target}"
            )
    for backend, scenarios in results.items():
        for scenario, s in scenarios.items():
            print(f"{backend} {scenario}: {s.describe}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
