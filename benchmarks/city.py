"""City-scale benchmark of the nightly audit: 100k, 300k and 1M students.

Run from the repository root (psutil comes with the ``bench`` extra, Ray with ``ray``)::

    uv sync --locked --extra dev --extra bench --inexact
    uv run python benchmarks/city.py                          # 100k, 300k, 1M; 3 runs each
    uv run python benchmarks/city.py --sizes 1000000 --runs 3 --no-breakdown
    uv run python benchmarks/city.py --sizes 300000 --runs 1 --ray   # + `xueji audit --engine ray`
    uv run python benchmarks/city.py --ray --ray-sizes 100000 300000  # all sizes, Ray on two

Data: ``xueji sample generate --students N --days 60 --seed 1`` (≈1 school per 1,070
students, ≈53 attendance rows per student, ≈0.97 residence rows per student), cached
under ``--workdir`` (default ``/tmp/xueji-city``; never inside the repository).

Each measured run is its own process, so peak RSS is that run's own:

1. the **I/O floor** of the input folder (every table read once through the project's
   readers, one group-by per table, streaming engine), in a fresh process;
2. the **full audit** — ``run_audit`` exactly as ``xueji audit`` runs it — with wall
   and CPU seconds and peak RSS per stage (load, link, rules, write) and for the whole
   process (imports and the workflow registry refresh after the write included). The
   measured runs are *later nights*: each starts from a copy of the SQLite database of
   one first-night run (reported apart), so it compares with a previous run and
   updates the registry view as every night but the first does. That database holds
   what a bureau's does: the registry view and the transfers its workflow completed
   (the generator's ``transfers_seed.csv``); the findings of the first measured run
   are scored against the generator's ``truth.csv``, rule by rule.

Figures are medians of ``--runs`` runs; the ratio to the I/O floor is taken run by run
(floor and audit back to back, under the same machine load). A separate **breakdown**
run per size loads and links once, then evaluates each rule family alone, for the
wall time of each family. ``--ray`` repeats the audit as ``xueji audit --engine ray``
(a local cluster, one worker per core), compares its findings with the local run's,
and in the breakdown run also runs the executor's tasks on a ``--ray-workers`` cluster
to report each task's cost (per county, per hash partition) for the scaling model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _measure import (  # noqa: E402 - the helpers sit next to this script
    StageClock,
    cpu_seconds,
    io_floor,
    load_average,
    median,
    peak_rss_mb,
)

AS_OF = date(2026, 11, 20)
DEFAULT_SIZES = (100_000, 300_000, 1_000_000)
TARGETS = {"wall_s": 60.0, "rss_mb": 6 * 1024, "floor_ratio": 8.0, "growth": 1.25}


# --------------------------------------------------------------------------- data


def dataset(size: int, days: int, seed: int, workdir: Path) -> Path:
    """The generated city of ``size`` students (made on first use, then reused)."""
    from xueji.sample.config import GENERATOR_VERSION

    folder = workdir / f"city-{size}-d{days}-s{seed}"
    manifest = folder / "manifest.json"
    made_by = json.loads(manifest.read_text(encoding="utf-8")).get("generator_version") if manifest.exists() else None
    if made_by == GENERATOR_VERSION:
        return folder
    # A city of another generator version has other data and another truth: made again.
    why = "" if made_by is None else f" (cached by generator version {made_by}, now {GENERATOR_VERSION})"
    print(f"generating {size:,} students, {days} school days (seed {seed}) into {folder}{why} ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("xueji")), "sample", "generate",
            "--students", str(size), "--days", str(days), "--seed", str(seed),
            "--as-of", AS_OF.isoformat(), "--out", str(folder), "--force",
        ],
        check=True,
    )  # fmt: skip
    print(f"  generated in {time.perf_counter() - t0:.0f} s", flush=True)
    return folder


def counts(folder: Path) -> dict[str, int]:
    """Rows per table, from the generator's manifest."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {k: int(v) for k, v in manifest["counts"].items()}


# --------------------------------------------------------------------------- workers


def _worker(args: list[str]) -> dict[str, Any]:
    """Run this script as a worker process and return the JSON it prints last."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"worker {args[0]} failed (exit {out.returncode})")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def worker_floor(data: Path) -> dict[str, Any]:
    """The I/O floor, in this (fresh) process."""
    floor = io_floor(data)
    floor["peak_rss_mb"] = peak_rss_mb()
    return floor


def worker_seed(data: Path, out: Path) -> dict[str, Any]:
    """The bureau's workflow database before the first measured night: the registry
    view imported, then the generator's completed and open transfers
    (``transfers_seed.csv``), as the truth test seeds it. An empty database knows no
    approved transfer, so every transfer of registry_changes would be
    UNAPPROVED_TRANSFER (10,400 false findings at 1M students), and the nights after
    would each report them resolved: no night a bureau has."""
    import polars as pl

    from xueji.db import init_db, make_engine
    from xueji.io import load_inputs
    from xueji.workflow import import_registry, seed_transfers

    engine = make_engine(f"sqlite:///{_db(out)}")
    try:
        init_db(engine)
        inputs = load_inputs(data, as_of=AS_OF)
        started = time.perf_counter()
        import_registry(engine, inputs.tables["schools"].collect(), inputs.tables["registry"].collect())
        imported = time.perf_counter() - started
        seed = pl.read_csv(data / "transfers_seed.csv", infer_schema=False).with_columns(
            pl.col("submitted_on", "state_entered_on").str.to_date()
        )
        return {"import_seconds": imported, "transfers": seed_transfers(engine, seed)}
    finally:
        engine.dispose()


def worker_audit(data: Path, out: Path, engine: str) -> dict[str, Any]:
    """One full audit as ``xueji audit [--engine ray]`` runs it, timed per stage."""
    from xueji.audit import AuditOptions, run_audit

    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    db = f"sqlite:///{_db(out)}"
    clock = StageClock()
    result = run_audit(AuditOptions(data_dir=data, out=out, as_of=AS_OF, db_url=db, engine=engine), clock)
    doc = {
        "stages": clock.as_dicts(),
        "wall": time.perf_counter() - wall0,
        "cpu": cpu_seconds() - cpu0,
        "peak_rss_mb": peak_rss_mb(),
        "findings": result.violations.height,
        "by_rule": {r: n for r, n in result.violations.group_by("rule").len().iter_rows()},
        "load": load_average(),
    }
    # Scored after the clock stopped: the generator's truth, rule by rule.
    import polars as pl

    from xueji.testing import read_truth, truth_scores

    scores = truth_scores(result.violations, read_truth(data))
    doc["truth"] = {
        "precision_min": float(scores["precision"].min()),  # type: ignore[arg-type]
        "recall_min": float(scores["recall"].min()),  # type: ignore[arg-type]
        "below_1": scores.filter((pl.col("precision") < 1) | (pl.col("recall") < 1)).to_dicts(),
    }
    return doc


def worker_breakdown(data: Path, ray_workers: int) -> dict[str, Any]:
    """Load and link once, then evaluate each rule family on its own (wall and CPU);
    with ``ray_workers``, also run the Ray executor's tasks on the same context and keep
    each task's report (partition, rows, seconds, bytes shipped) for the scaling model."""
    from xueji.audit import build_context, evaluate_rules, select_rules
    from xueji.config import load_config
    from xueji.identity import resolve_identities
    from xueji.identity.link import registry_features
    from xueji.identity.spec import dedupe_spec
    from xueji.io import load_inputs
    from xueji.rules.catalogue import FAMILIES

    clock = StageClock()
    cfg = load_config(None)
    with clock.stage("load"):
        inputs = load_inputs(data, as_of=AS_OF)
    with clock.stage("link"):
        identity = resolve_identities(inputs.tables, cfg, AS_OF, attendance=inputs.attendance)
    rules, _ = select_rules(inputs.tables, None, False)
    ctx = build_context(inputs.tables, AS_OF, cfg, identity)
    for family in FAMILIES:
        codes = {r.code for r in family.RULES}
        mine = [r for r in rules if r.code in codes]
        if mine:
            with clock.stage("rules:" + family.__name__.rsplit(".", 1)[-1]):
                evaluate_rules(ctx, mine)
    doc: dict[str, Any] = {"stages": clock.as_dicts(), "peak_rss_mb": peak_rss_mb(), "load": load_average()}
    if ray_workers:
        from xueji.distributed import RayExecutor, RayOptions

        with RayExecutor(options=RayOptions(workers=ray_workers)) as executor:
            executor.evaluate_rules(build_context(inputs.tables, AS_OF, cfg, identity), rules)
            feat = registry_features(inputs.tables["registry"].collect())
            executor.dedupe(feat, dedupe_spec(cfg))
            doc["ray"] = {
                "timings": executor.timings,
                "tasks": [vars(r) for r in executor.reports],
                "dedupe_bytes_per_record": feat.estimated_size() / max(1, feat.height),
            }
    return doc


# --------------------------------------------------------------------------- report


def _stage(doc: dict[str, Any], name: str, key: str = "wall") -> float:
    return float(next((s[key] for s in doc["stages"] if s["name"] == name), 0.0))


def audit_wall(doc: dict[str, Any]) -> float:
    """The audit's wall time: load + link + rules + write (what summary.json times)."""
    return sum(_stage(doc, s) for s in ("load", "link", "rules", "write"))


def print_size(size: int, rows: dict[str, int], runs: list[dict[str, Any]], first: dict[str, Any]) -> dict[str, float]:
    """One size's table of runs and its medians."""
    print(
        f"\n== {size:,} students: {rows['registry']:,} records, {rows['schools']:,} schools, "
        f"{rows['attendance']:,} attendance rows, {rows['residence']:,} residence rows"
    )
    print(
        f"  registry import into an empty workflow database {first['seed']['import_seconds']:.1f} s, "
        f"{first['seed']['transfers']:,} transfers entered; first night (no previous run): audit {audit_wall(first):.1f} s, "
        f"process {first['wall']:.1f} s, peak {first['peak_rss_mb']:.0f} MB; the runs below are later nights"
    )
    head = f"{'run':>3} {'loadavg':>7} {'floor':>6} {'load':>6} {'link':>6} {'rules':>6} {'write':>6} {'audit':>7} {'×floor':>6} {'cpu':>6} {'process':>7} {'peakMB':>7}"
    print(head)
    for i, r in enumerate(runs, 1):
        a, f = r["audit"], r["floor"]
        wall = audit_wall(a)
        print(
            f"{i:>3} {a['load']:>7.1f} {f['wall']:>6.1f} {_stage(a, 'load'):>6.1f} {_stage(a, 'link'):>6.1f} "
            f"{_stage(a, 'rules'):>6.1f} {_stage(a, 'write'):>6.1f} {wall:>7.1f} {wall / f['wall']:>6.1f} "
            f"{sum(_stage(a, s, 'cpu') for s in ('load', 'link', 'rules', 'write')):>6.1f} {a['wall']:>7.1f} {a['peak_rss_mb']:>7.0f}"
        )
    med = {
        "audit_wall": median([audit_wall(r["audit"]) for r in runs]),
        "audit_cpu": median([sum(_stage(r["audit"], s, "cpu") for s in ("load", "link", "rules", "write")) for r in runs]),
        "process_wall": median([r["audit"]["wall"] for r in runs]),
        "floor": median([r["floor"]["wall"] for r in runs]),
        "floor_ratio": median([audit_wall(r["audit"]) / r["floor"]["wall"] for r in runs]),
        "process_floor_ratio": median([r["audit"]["wall"] / r["floor"]["wall"] for r in runs]),
        "peak_rss_mb": median([r["audit"]["peak_rss_mb"] for r in runs]),
        "loadavg": median([r["audit"]["load"] for r in runs]),
    }
    for s in ("load", "link", "rules", "write"):
        med[s] = median([_stage(r["audit"], s) for r in runs])
        med[s + "_cpu"] = median([_stage(r["audit"], s, "cpu") for r in runs])
    print(
        f"med {med['loadavg']:>7.1f} {med['floor']:>6.1f} {med['load']:>6.1f} {med['link']:>6.1f} {med['rules']:>6.1f} "
        f"{med['write']:>6.1f} {med['audit_wall']:>7.1f} {med['floor_ratio']:>6.1f} {med['audit_cpu']:>6.1f} "
        f"{med['process_wall']:>7.1f} {med['peak_rss_mb']:>7.0f}"
    )
    truth = runs[0]["audit"].get("truth")
    if truth:
        below = ", ".join(f"{r['rule']} p={r['precision']:.3f} r={r['recall']:.3f}" for r in truth["below_1"]) or "none"
        print(
            f"  against truth.csv (run 1, {runs[0]['audit']['findings']:,} findings): precision ≥ {truth['precision_min']:.3f}, "
            f"recall ≥ {truth['recall_min']:.3f} on every rule; rules below 1.0: {below}"
        )
    print("  (seconds; audit = load+link+rules+write as summary.json times them; cpu = CPU seconds of those stages;")
    print("   process = the whole `xueji audit` process incl. imports and the workflow registry refresh)")
    return med


def print_breakdown(doc: dict[str, Any]) -> None:
    """Per-family wall and CPU seconds of one breakdown run, and the Ray tasks' costs."""
    parts = ", ".join(f"{s['name']} {s['wall']:.1f}s (cpu {s['cpu']:.1f})" for s in doc["stages"])
    print(f"  breakdown (load avg {doc['load']:.1f}, peak {doc['peak_rss_mb']:.0f} MB): {parts}")
    if "ray" not in doc:
        return
    print(f"  ray executor timings: {', '.join(f'{k} {v:.1f}s' for k, v in doc['ray']['timings'].items())}")
    for stage, unit in (("attendance", "attendance rows"), ("rules", "records"), ("dedupe", "records")):
        tasks = [t for t in doc["ray"]["tasks"] if t["stage"] == stage]
        if not tasks:
            continue
        rows = sum(t["rows_in"] for t in tasks)
        secs = sum(t["seconds"] for t in tasks)
        print(
            f"  ray {stage} tasks: {len(tasks)}, {rows:,} {unit}, {secs:.1f} task-s in all "
            f"(max {max(t['seconds'] for t in tasks):.1f} s), {secs / max(rows, 1) * 1e6:.2f} µs per row, "
            f"{sum(t['bytes_in'] for t in tasks) / 2**20:.1f} MB shipped"
        )


def print_growth(medians: dict[int, dict[str, float]], rows: dict[int, dict[str, int]]) -> None:
    """Time per student at each size, against the smallest size."""
    sizes = sorted(medians)
    base = sizes[0]
    print("\n== time per student (median audit wall; CPU in brackets)")
    for n in sizes:
        students = rows[n]["registry"]
        per = medians[n]["audit_wall"] / students * 1e6
        per_cpu = medians[n]["audit_cpu"] / students * 1e6
        base_per = medians[base]["audit_wall"] / rows[base]["registry"] * 1e6
        base_cpu = medians[base]["audit_cpu"] / rows[base]["registry"] * 1e6
        print(
            f"  {n:>9,}: {per:7.1f} µs/record ({per_cpu:6.1f} cpu)  ×{per / base_per:4.2f} of {base:,} "
            f"(cpu ×{per_cpu / base_cpu:4.2f})"
        )


def print_targets(medians: dict[int, dict[str, float]], rows: dict[int, dict[str, int]]) -> None:
    """The issue's targets against the medians measured."""
    if 1_000_000 not in medians:
        return
    m = medians[1_000_000]
    print("\n== targets at 1M (medians)")
    print(f"  audit wall  {m['audit_wall']:7.1f} s   target ≤ {TARGETS['wall_s']:.0f} s   (load avg {m['loadavg']:.1f})")
    print(f"  process     {m['process_wall']:7.1f} s   (the whole `xueji audit`: imports, registry view refresh)")
    print(f"  peak RSS    {m['peak_rss_mb']:7.0f} MB  target ≤ {TARGETS['rss_mb']:.0f} MB")
    print(f"  × I/O floor {m['floor_ratio']:7.1f}     target ≤ {TARGETS['floor_ratio']:.0f}   (process: ×{m['process_floor_ratio']:.1f})")
    small = min(medians)
    if small != 1_000_000:
        growth = (m["audit_wall"] / rows[1_000_000]["registry"]) / (medians[small]["audit_wall"] / rows[small]["registry"])
        print(f"  per-student growth 1M vs {small:,}: ×{growth:.2f}   target ≤ ×{TARGETS['growth']:.2f}")


def compare_findings(local_run: Path, ray_run: Path) -> tuple[bool, str]:
    """Whether two run folders hold the same violations (order aside)."""
    import polars as pl

    # ``change`` says new/persisting against each run's own previous run: not a finding.
    a = pl.read_parquet(local_run / "violations.parquet").drop("change")
    b = pl.read_parquet(ray_run / "violations.parquet").drop("change")
    cols = a.columns
    same = a.sort(cols, nulls_last=True).equals(b.sort(cols, nulls_last=True))
    if same:
        return True, f"{a.height:,} findings, identical"
    only_a = a.join(b, on=cols, how="anti").group_by("rule").len().rows()
    only_b = b.join(a, on=cols, how="anti").group_by("rule").len().rows()
    return False, f"local {a.height:,} vs ray {b.height:,}; only local: {only_a}; only ray: {only_b}"


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/xueji-city"))
    parser.add_argument("--no-breakdown", action="store_true", help="skip the per-family breakdown run")
    parser.add_argument("--ray", action="store_true", help="also run the audit on a local Ray cluster and compare")
    parser.add_argument("--ray-workers", type=int, default=2)
    parser.add_argument("--ray-sizes", type=int, nargs="*", default=[], help="with --ray: only these sizes (default: all)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        # Worker processes print one JSON line; the audit's own log goes to stderr.
        from xueji.logging import configure

        configure(-1)
        job = {
            "floor": lambda: worker_floor(args.data),
            "audit": lambda: worker_audit(args.data, args.out, args.engine),
            "seed": lambda: worker_seed(args.data, args.out),
            "breakdown": lambda: worker_breakdown(args.data, args.ray_workers if args.ray else 0),
        }[args.worker]
        print(json.dumps(job(), default=str))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"xueji city benchmark: {os.cpu_count()} cores, load average {load_average():.1f}, sizes {args.sizes}, {args.runs} runs")
    everything: dict[str, Any] = {"sizes": {}, "tree": _tree()}
    print(f"code: {everything['tree']}")
    medians: dict[int, dict[str, float]] = {}
    rows: dict[int, dict[str, int]] = {}
    for size in args.sizes:
        data = dataset(size, args.days, args.seed, args.workdir)
        rows[size] = counts(data)
        # The bureau's database holds the registry view and the transfers its workflow
        # completed; the first night runs on it. Every later night also has a previous
        # run to compare with. The measured runs are later nights: each starts from a
        # copy of the first night's database.
        first_out = args.workdir / "runs" / f"{size}-first"
        _clean(first_out)
        seeded = _worker(["seed", "--data", str(data), "--out", str(first_out)])
        first = _worker(["audit", "--data", str(data), "--out", str(first_out)])
        first["seed"] = seeded
        runs = []
        for i in range(args.runs):
            out = args.workdir / "runs" / f"{size}-local-{i}"
            _clean(out)
            shutil.copyfile(_db(first_out), _db(out))
            floor = _worker(["floor", "--data", str(data)])
            audit = _worker(["audit", "--data", str(data), "--out", str(out)])
            runs.append({"floor": floor, "audit": audit})
        medians[size] = print_size(size, rows[size], runs, first)
        entry: dict[str, Any] = {"rows": rows[size], "first_night": first, "runs": runs, "median": medians[size]}
        on_ray = args.ray and (not args.ray_sizes or size in args.ray_sizes)
        if not args.no_breakdown:
            entry["breakdown"] = _worker(["breakdown", "--data", str(data), *(["--ray", "--ray-workers", str(args.ray_workers)] if on_ray else [])])
            print_breakdown(entry["breakdown"])
        if on_ray:
            out = args.workdir / "runs" / f"{size}-ray"
            _clean(out)
            shutil.copyfile(_db(first_out), _db(out))  # a later night, as the local runs
            ray_doc = _worker(["audit", "--data", str(data), "--out", str(out), "--engine", "ray"])
            same, text = compare_findings(args.workdir / "runs" / f"{size}-local-0", out)
            local_wall, local_rules = medians[size]["audit_wall"], medians[size]["rules"]
            ray_wall = audit_wall(ray_doc)
            print(
                f"  xueji audit --engine ray (local cluster, one worker per core; load avg {ray_doc['load']:.1f}): audit {ray_wall:.1f} s "
                f"(rules {_stage(ray_doc, 'rules'):.1f} s) vs local median {local_wall:.1f} s (rules {local_rules:.1f} s); "
                f"overhead {ray_wall - local_wall:+.1f} s; findings: {text}"
            )
            entry["ray"] = {"audit": ray_doc, "identical": same, "compare": text}
            if not same:
                print("  RAY FINDINGS DIFFER", flush=True)
        everything["sizes"][str(size)] = entry
    if len(medians) > 1:
        print_growth(medians, rows)
    print_targets(medians, rows)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1, default=str), encoding="utf-8")
        print(f"\nfigures written to {args.json}")


def _tree() -> str:
    """The commit measured, and the files changed since (others may be editing)."""
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True)
        return out.stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no").splitlines()
    tree = git("log", "-1", "--format=%h %s") + (f" + {len(dirty)} changed files" if dirty else "")
    if os.environ.get("PYTHONPATH"):
        tree += f" (PYTHONPATH={os.environ['PYTHONPATH']} comes first)"
    return tree


def _db(run_dir: Path) -> Path:
    """The SQLite database a worker's audit into ``run_dir`` uses."""
    return run_dir.parent / (run_dir.name + ".db")


def _clean(run_dir: Path) -> None:
    shutil.rmtree(run_dir, ignore_errors=True)
    _db(run_dir).unlink(missing_ok=True)
    run_dir.parent.mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    main()
