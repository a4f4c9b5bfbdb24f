"""Identity-resolution benchmark: duplicates in registries of 100k, 300k and 1M students,
attendance linking, and splink (DuckDB) on the same data in the same run.

Run from the repository root (splink, duckdb and psutil come with the ``bench`` extra)::

    uv sync --extra dev --extra bench --inexact
    uv run python benchmarks/identity.py                      # 100k, 300k, 1M
    uv run python benchmarks/identity.py --sizes 100000 --no-splink
    uv run python benchmarks/identity.py --sample /tmp/city   # also score a `xueji sample generate` folder

Data: ``xueji.identity.synth`` registries (realistic surname frequencies, a small pool
of given-name characters so namesakes and homophones are common, 3 % temporary L
numbers, 0.3 % mistyped IDs, 1.5 % twins — a third with homophone names — and 2 %
planted duplicates of six kinds with exact, traditional, homophone or spaced names),
cached under ``--workdir``. Each measurement runs in its own process so its peak
memory (max RSS) is its own; wall time excludes reading the cached Parquet file.

Figures: candidate pairs per record, pairwise precision / recall / F1 against the true
person, the share of twins merged with their sibling, wall seconds, peak MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from xueji.identity.synth import pair_metrics

HERE = Path(__file__).resolve().parent
DEFAULT_SIZES = (100_000, 300_000, 1_000_000)


# --------------------------------------------------------------------------- metrics


# --------------------------------------------------------------------------- data


def dataset(size: int, seed: int, workdir: Path) -> tuple[Path, Path]:
    """The cached registry and labels of one size (generated on first use)."""
    reg_path = workdir / f"registry_{size}_{seed}.parquet"
    lab_path = workdir / f"labels_{size}_{seed}.parquet"
    if not reg_path.exists():
        from xueji.identity.synth import synth_registry

        t0 = time.perf_counter()
        synth = synth_registry(size, seed=seed)
        synth.registry.write_parquet(reg_path)
        synth.labels.write_parquet(lab_path)
        print(
            f"  generated {synth.registry.height:,} records in {time.perf_counter() - t0:.1f}s → {reg_path}",
            flush=True,
        )
    return reg_path, lab_path


# --------------------------------------------------------------------------- workers (one process each)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_xueji(reg_path: Path, lab_path: Path) -> dict[str, Any]:
    from loguru import logger

    from xueji.config import load_config
    from xueji.identity.dedupe import dedupe_registry
    from xueji.identity.link import registry_features
    from xueji.identity.spec import dedupe_spec

    logger.remove()
    reg = pl.read_parquet(reg_path)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    feat = registry_features(reg)
    result = dedupe_registry(feat, dedupe_spec(load_config()))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    clusters = result.records.select("_row", pl.col("person_id").alias("cluster"))
    return {
        "records": reg.height,
        "pairs": sum(result.counts.values()),
        "pairs_by_key": result.counts,
        "wall": wall,
        "cpu": cpu,
        "peak_mb": _peak_mb(),
        **pair_metrics(clusters, pl.read_parquet(lab_path)),
    }


def worker_splink(reg_path: Path, lab_path: Path) -> dict[str, Any]:
    import logging

    from loguru import logger

    sys.path.insert(0, str(HERE))
    from identity_splink import run_splink  # type: ignore[import-not-found]

    from xueji.identity.link import registry_features

    logger.remove()
    logging.getLogger("splink").setLevel(logging.ERROR)
    reg = pl.read_parquet(reg_path)
    # splink gets xueji's normalised name features for free (not timed).
    feat = registry_features(reg).rename({"_row": "unique_id"})
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    clusters, n_pairs, timings = run_splink(feat)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    clusters = clusters.select(
        pl.col("unique_id").alias("_row"), pl.col("cluster_id").alias("cluster")
    )
    return {
        "records": reg.height,
        "pairs": n_pairs,
        "wall": wall,
        "cpu": cpu,
        "timings": timings,
        "peak_mb": _peak_mb(),
        **pair_metrics(clusters, pl.read_parquet(lab_path)),
    }


def worker_attendance(reg_path: Path, lab_path: Path, seed: int) -> dict[str, Any]:
    from loguru import logger

    from xueji.config import load_config
    from xueji.identity.attendance import link_attendance
    from xueji.identity.dedupe import dedupe_registry
    from xueji.identity.link import registry_features
    from xueji.identity.spec import attendance_spec, dedupe_spec
    from xueji.identity.synth import SynthRegistry, synth_attendance

    logger.remove()
    synth = SynthRegistry(pl.read_parquet(reg_path), pl.read_parquet(lab_path))
    att = synth_attendance(synth, seed=seed, days=2)
    cfg = load_config()
    feat = registry_features(synth.registry)
    rec = feat.join(
        dedupe_registry(feat, dedupe_spec(cfg)).records.select("_row", "person_id"), on="_row"
    )
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    res = link_attendance(
        att.attendance.lazy(),
        rec,
        attendance_spec(cfg),
        float(cfg["link_name_min_score"]),
        float(cfg["link_class_name_min_score"]),
    )
    persons = res.persons
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    keys = ["school_code", "grade", "class_name", "name", "id_number", "local_id"]
    j = persons.join(att.labels, on=keys, how="left", nulls_equal=True).join(
        synth.labels.select(
            pl.col("_row").alias("record_row"), pl.col("person_key").alias("linked_key")
        ),
        on="record_row",
        how="left",
    )
    real = j.filter(pl.col("person_key").is_not_null())
    right = real.filter(pl.col("linked_key") == pl.col("person_key")).height
    wrong = real.filter(
        pl.col("linked_key").is_not_null() & (pl.col("linked_key") != pl.col("person_key"))
    ).height
    unreg = j.filter(pl.col("person_key").is_null())
    return {
        "rows": att.attendance.height,
        "persons": persons.height,
        "with_record": real.height,
        "right": right / real.height,
        "wrong": wrong / real.height,
        "unregistered": unreg.height,
        "unregistered_linked": unreg.filter(pl.col("record_row").is_not_null()).height
        / max(unreg.height, 1),
        "pairs": sum(res.counts.values()),
        "pairs_by_key": res.counts,
        "wall": wall,
        "cpu": cpu,
        "peak_mb": _peak_mb(),
    }


def worker_sample(folder: Path) -> dict[str, Any]:
    """Score a `xueji sample generate` folder against its labels/ (full resolve_identities)."""
    from datetime import date

    from loguru import logger

    from xueji.config import load_config
    from xueji.identity import resolve_identities
    from xueji.io import load_inputs

    logger.remove()
    manifest_path = folder / "manifest.json"
    manifest = (
        json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    )
    as_of = date.fromisoformat(manifest.get("as_of", "2026-11-20"))
    inputs = load_inputs(folder)
    t0 = time.perf_counter()
    ident = resolve_identities(inputs.tables, load_config(), as_of)
    wall = time.perf_counter() - t0
    labels = folder / "labels"
    reg = inputs.tables["registry"].select("_row", "student_no", "school_code").collect()
    rp = pl.read_parquet(labels / "registry_person.parquet").select(
        "student_no", "school_code", "person_key"
    )
    key_of = reg.join(rp, on=["student_no", "school_code"], how="left").select("_row", "person_key")
    out: dict[str, Any] = {"records": reg.height, "wall": wall, "peak_mb": _peak_mb()}
    lab = key_of.filter(pl.col("person_key").is_not_null()).with_columns(
        pl.lit("base").alias("kind"), pl.lit(None, pl.Int64).alias("twin_of")
    )
    clusters = ident.records.select("_row", pl.col("person_id").alias("cluster"))
    out |= {f"dedupe_{k}": v for k, v in pair_metrics(clusters, lab).items()}
    linked_key = key_of.select(
        pl.col("_row").alias("record_row"), pl.col("person_key").alias("linked_key")
    )

    def score(links: pl.DataFrame, truth: pl.DataFrame, keys: list[str], prefix: str) -> None:
        j = links.join(truth, on=keys, how="left", nulls_equal=True).join(
            linked_key, on="record_row", how="left"
        )
        real = j.filter(pl.col("student_no").is_not_null())
        right = real.filter(pl.col("linked_key") == pl.col("person_key")).height
        wrong = real.filter(
            pl.col("linked_key").is_not_null() & (pl.col("linked_key") != pl.col("person_key"))
        ).height
        none = j.filter(pl.col("student_no").is_null())
        out.update(
            {
                f"{prefix}_n": j.height,
                f"{prefix}_right": right / max(real.height, 1),
                f"{prefix}_wrong": wrong / max(real.height, 1),
                f"{prefix}_none": none.height,
                f"{prefix}_none_linked": none.filter(pl.col("record_row").is_not_null()).height
                / max(none.height, 1),
            }
        )

    ap_path = labels / "attendance_person.parquet"
    if ap_path.exists() and ident.attendance_persons.height:
        keys = ["school_code", "grade", "class_name", "name", "id_number", "local_id"]
        # the labels keep the raw text; the loader turns full-width spaces into spaces
        from xueji.io.normalise import clean_text

        ap = pl.read_parquet(ap_path).select(*keys, "student_no", "person_key")
        ap = ap.with_columns(
            pl.col("grade").cast(pl.Int64), clean_text(pl.col("name")).alias("name")
        )
        score(ident.attendance_persons, ap.unique(keys), keys, "attendance")
    rs_path = labels / "residence_person.parquet"
    if rs_path.exists() and ident.residence_links.height:
        rs = (
            pl.read_parquet(rs_path)
            .select("id_number", "student_no", "person_key")
            .unique("id_number")
        )
        score(ident.residence_links, rs, ["id_number"], "residence")
    return out


def run_worker(*args: str) -> dict[str, Any]:
    """Run one measurement in a fresh process; its last stdout line is JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, check=False, env=os.environ | {"POLARS_VERBOSE": "0"}
    )
    if proc.returncode != 0:
        raise SystemExit(f"worker {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report


def _row(size: int, system: str, r: dict[str, Any]) -> str:
    return (
        f"{size:>10,}  {system:<7} {r['pairs'] / r['records']:>9.3f}  {r['precision']:>9.4f}  {r['recall']:>7.4f}  "
        f"{r['f1']:>7.4f}  {r['twins_merged'] * 100:>8.2f}%  {r['wall']:>8.1f}  {r['cpu']:>7.1f}  {r['peak_mb']:>8.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/xueji-identity-bench"))
    parser.add_argument("--no-splink", action="store_true", help="Skip splink.")
    parser.add_argument("--no-attendance", action="store_true", help="Skip attendance linking.")
    parser.add_argument(
        "--sample", type=Path, help="Also score this `xueji sample generate` output folder."
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, *rest = args.worker
        if kind == "xueji":
            out = worker_xueji(Path(rest[0]), Path(rest[1]))
        elif kind == "splink":
            out = worker_splink(Path(rest[0]), Path(rest[1]))
        elif kind == "attendance":
            out = worker_attendance(Path(rest[0]), Path(rest[1]), int(rest[2]))
        else:
            out = worker_sample(Path(rest[0]))
        print(json.dumps(out))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"identity benchmark: seed {args.seed}, {os.cpu_count()} cores, data in {args.workdir}",
        flush=True,
    )
    results: list[tuple[int, str, dict[str, Any]]] = []
    attendance: list[tuple[int, dict[str, Any]]] = []
    for size in args.sizes:
        reg_path, lab_path = dataset(size, args.seed, args.workdir)
        results.append((size, "xueji", run_worker("xueji", str(reg_path), str(lab_path))))
        print(f"  {size:,}: xueji done ({results[-1][2]['wall']:.1f}s)", flush=True)
        if not args.no_splink:
            results.append((size, "splink", run_worker("splink", str(reg_path), str(lab_path))))
            print(f"  {size:,}: splink done ({results[-1][2]['wall']:.1f}s)", flush=True)
        if not args.no_attendance:
            attendance.append(
                (size, run_worker("attendance", str(reg_path), str(lab_path), str(args.seed)))
            )
            print(f"  {size:,}: attendance done ({attendance[-1][1]['wall']:.1f}s)", flush=True)

    print("\nDuplicates (registry deduplication), pairwise against the true person:")
    print(
        f"{'records':>10}  {'system':<7} {'pairs/rec':>9}  {'precision':>9}  {'recall':>7}  {'F1':>7}  {'twins mrg':>9}  {'wall s':>8}  {'cpu s':>7}  {'peak MB':>8}"
    )
    for size, system, r in results:
        print(_row(size, system, r))
    if not args.no_splink:
        print(
            "\nxueji against splink in the same run (targets: F1 at least splink's, wall at most 1/3):"
        )
        by = {(s, k): r for s, k, r in results}
        for size in args.sizes:
            x, s = by[(size, "xueji")], by[(size, "splink")]
            t = s["timings"]
            print(
                f"{size:>10,}  F1 {x['f1']:.4f} vs {s['f1']:.4f}  wall {x['wall']:.1f}s vs {s['wall']:.1f}s "
                f"(ratio {x['wall'] / s['wall']:.2f}; splink train {t['train']:.1f}s, predict+cluster {t['predict'] + t['cluster']:.1f}s)"
            )
    if attendance:
        print("\nAttendance linking (synthetic attendance of those registries, 2 days):")
        print(
            f"{'records':>10}  {'persons':>9}  {'right':>8}  {'wrong':>8}  {'unreg linked':>12}  "
            f"{'wall s':>7}  {'cpu s':>6}  {'peak MB':>8}  candidate pairs per person by key"
        )
        for size, r in attendance:
            per = ", ".join(f"{k} {v / r['persons']:.2f}" for k, v in r["pairs_by_key"].items())
            print(
                f"{size:>10,}  {r['persons']:>9,}  {r['right'] * 100:>7.3f}%  {r['wrong'] * 100:>7.3f}%  "
                f"{r['unregistered_linked'] * 100:>11.2f}%  {r['wall']:>7.1f}  {r['cpu']:>6.1f}  {r['peak_mb']:>8.0f}  {per}"
            )
    if args.sample:
        r = run_worker("sample", str(args.sample))
        print(
            f"\nSample folder {args.sample} (resolve_identities end to end, {r['records']:,} records, {r['wall']:.1f}s, {r['peak_mb']:.0f} MB):"
        )
        print(
            f"  duplicates: precision {r['dedupe_precision']:.4f} recall {r['dedupe_recall']:.4f} F1 {r['dedupe_f1']:.4f}"
        )
        for prefix, what, none in (
            ("attendance", "attendance persons", "unregistered"),
            ("residence", "residence rows", "with no record"),
        ):
            if f"{prefix}_n" in r:
                print(
                    f"  {what}: {r[f'{prefix}_n']:,}, linked right {r[f'{prefix}_right'] * 100:.3f}%, "
                    f"wrong {r[f'{prefix}_wrong'] * 100:.3f}%; {none}: {r[f'{prefix}_none']:,}, "
                    f"of which linked {r[f'{prefix}_none_linked'] * 100:.2f}%"
                )


if __name__ == "__main__":
    main()
