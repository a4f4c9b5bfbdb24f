"""End to end on generated data: every rule's findings against the generator's truth.csv.

A city of 10,000+ students is generated once for the module, the workflow database is
seeded from its transfers_seed.csv, the audit runs once, and each rule's findings are
matched to truth.csv on that rule's subject columns (``xueji.rules.base.SUBJECTS``).
Every rule must reach precision ≥ 0.99 and recall ≥ 0.99; the table is printed with
``pytest -s`` (and written to the run folder as ``truth_scores.csv`` for the report).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from xueji.audit import AuditOptions, AuditResult, run_audit
from xueji.cli import main
from xueji.db import init_db, make_engine
from xueji.io import load_inputs
from xueji.rules.catalogue import all_rules
from xueji.testing import read_truth, truth_scores
from xueji.workflow import import_registry, seed_transfers

STUDENTS = 10_000
MIN_SCORE = 0.99


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city") / "data"
    result = CliRunner().invoke(
        main, ["sample", "generate", "--students", str(STUDENTS), "--days", "20", "--seed", "11", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def audited(city: Path, tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    workdir = tmp_path_factory.mktemp("audit")
    db = f"sqlite:///{workdir / 'xueji.db'}"
    engine = make_engine(db)
    init_db(engine)
    # The workflow database as the generator describes it: the registry view, then the
    # completed and open transfers of transfers_seed.csv.
    inputs = load_inputs(city)
    import_registry(engine, inputs.tables["schools"].collect(), inputs.tables["registry"].collect())
    seed = pl.read_csv(city / "transfers_seed.csv", infer_schema=False).with_columns(
        pl.col("submitted_on", "state_entered_on").str.to_date()
    )
    assert seed_transfers(engine, seed) == seed.height
    as_of = date.fromisoformat(json.loads((city / "manifest.json").read_text(encoding="utf-8"))["as_of"])
    return run_audit(AuditOptions(data_dir=city, out=workdir / "run", as_of=as_of, db_url=db))


def test_the_generated_city_is_big_enough(audited: AuditResult) -> None:
    assert audited.summary["inputs"]["registry"]["rows"] >= STUDENTS


def test_data_errors_are_the_planted_ones(city: Path, audited: AuditResult) -> None:
    expected = pl.read_csv(city / "expected_data_errors.csv", infer_schema=False).select("file", "row", "column")
    got = pl.read_csv(audited.run_dir / "data_errors.csv", infer_schema=False).select("file", "row", "column")
    assert sorted(got.rows()) == sorted(expected.rows())


def test_every_rule_ran(audited: AuditResult) -> None:
    assert {code: e["status"] for code, e in audited.summary["rules"].items() if e["status"] != "ran"} == {}


@pytest.mark.parametrize("code", [r.code for r in all_rules()])
def test_precision_and_recall_per_rule(code: str, city: Path, audited: AuditResult) -> None:
    table = truth_scores(audited.violations, read_truth(city))
    table.write_csv(audited.run_dir.parent / "truth_scores.csv")
    row = table.filter(pl.col("rule") == code).row(0, named=True)
    assert row["truth"] > 0, f"the generator planted no {code}"
    assert row["precision"] >= MIN_SCORE and row["recall"] >= MIN_SCORE, row
