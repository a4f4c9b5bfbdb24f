"""The Ray executor on a local 2-worker Ray cluster: the same findings as the local engine.

The cuts themselves are tested without Ray in ``test_ray_partition``; here the tasks
really run in Ray workers, with frames going through Ray's object store as Arrow, so
what is checked is that nothing is lost or changed on the way. Skipped when the
``ray`` extra is not installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from xueji.audit.context import build_context, evaluate_rules, select_rules
from xueji.cli import main
from xueji.config import load_config
from xueji.distributed import RayExecutor, RayOptions
from xueji.identity import resolve_identities
from xueji.identity.dedupe import dedupe_registry
from xueji.identity.link import registry_features
from xueji.identity.spec import dedupe_spec
from xueji.io import load_inputs

# Ray reads this when it is imported: under `uv run pytest` it would otherwise start every
# worker through `uv run` in a copy of the repository (what RayExecutor.start also avoids).
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'xueji[ray]')")
pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def executor() -> Iterator[RayExecutor]:
    with RayExecutor(options=RayOptions(workers=2)) as ex:
        yield ex


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def test_rules_on_ray_give_the_local_findings(city_10k: Path, executor: RayExecutor) -> None:
    cfg = load_config()
    tables = load_inputs(city_10k).tables
    identity = resolve_identities(tables, cfg, AS_OF)
    rules, _ = select_rules(tables, None, False)
    local, local_errors, _ = evaluate_rules(build_context(tables, AS_OF, cfg, identity), rules)
    on_ray, ray_errors, _ = executor.evaluate_rules(build_context(tables, AS_OF, cfg, identity), rules)
    assert (local_errors, ray_errors) == ({}, {})
    assert local.height > 100
    assert _sorted(on_ray).equals(_sorted(local))
    ran = {(r.stage, r.part) for r in executor.reports}
    assert {p for s, p in ran if s == "rules"} == {"430104", "430111", "430181"}


def test_deduplication_on_ray_gives_the_local_clusters(city_10k: Path, executor: RayExecutor) -> None:
    feat = registry_features(load_inputs(city_10k).tables["registry"].collect())
    spec = dedupe_spec(load_config())
    whole = dedupe_registry(feat, spec)
    on_ray = executor.dedupe(feat, spec)
    assert whole.records["dup_group_id"].drop_nulls().n_unique() > 5
    assert on_ray.records.equals(whole.records)
    assert (on_ray.counts, on_ray.refused) == (whole.counts, whole.refused)


def test_xueji_audit_engine_ray_writes_the_local_findings(city_10k: Path, tmp_path: Path) -> None:
    runs = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        result = CliRunner().invoke(
            main,
            ["audit", str(city_10k), "--as-of", AS_OF.isoformat(), "--db", f"sqlite:///{tmp_path / engine}.db", "--out", str(out), "--engine", engine],
        )
        assert result.exit_code == 0, result.output
        runs[engine] = pl.read_parquet(out / "violations.parquet")
    assert runs["local"].height > 100
    assert _sorted(runs["ray"]).equals(_sorted(runs["local"]))
    # Both heavy stages ran on the cluster: duplicate detection and the rules.
    log = (tmp_path / "ray" / "audit.log").read_text(encoding="utf-8")
    assert "ray dedupe:" in log and "ray rules:" in log
