"""``apply_dismissals`` and the evidence hash, as the audit runner uses them."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from reports_factory import copy_db, findings, register_db, write_run
from sqlalchemy import Engine

from xueji.db import make_engine
from xueji.errors import NotAuthorised, WorkflowRefused
from xueji.findings import Actor, apply_dismissals, dismiss, evidence_hash, list_dismissals, restore

REG = Actor("reg", "school_registrar", "4301020000")  # school of findings v0, v28, ...
OFFICER = Actor("zhao", "bureau_officer", "430102")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    return register_db(tmp_path_factory.mktemp("register"))


@pytest.fixture
def engine(template: tuple[str, dict[str, str]], tmp_path: Path) -> Engine:
    url, _ = copy_db(template, tmp_path / "db")
    engine = make_engine(url)
    yield engine  # type: ignore[misc]
    engine.dispose()


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "runs", "2026-11-20-1", findings(8))


def test_evidence_hash_ignores_key_order_and_what_moves_every_night() -> None:
    a = '{"registry_row": 3, "problem": "check", "window_start": "2026-10-20", "rows": [{"row": 4, "id": "x"}]}'
    b = '{"rows": [{"id": "x", "row": 9}], "problem": "check", "registry_row": 17, "window_end": "2026-11-20"}'
    assert evidence_hash(a) == evidence_hash(b)
    assert evidence_hash(a) != evidence_hash(a.replace("check", "shape"))
    assert evidence_hash("not json") == evidence_hash("not json") != evidence_hash(None)


def test_apply_marks_held_dismissals_and_lapses_changed_ones(engine: Engine, run: Path) -> None:
    dismiss(engine, REG, run, "v00000000", "双胞胎")
    dismiss(engine, OFFICER, run, "v00000004", "休学延期已批准")
    violations = pl.read_parquet(run / "violations.parquet")
    tonight = violations.with_columns(
        pl.when(pl.col("violation_id") == "v00000004")
        .then(pl.col("evidence").str.replace('"score":0.04', '"score":0.5'))
        .otherwise(pl.col("evidence"))
        .alias("evidence")
    )
    # Without recording, a lapse shows in the frame but the register is untouched.
    dry = apply_dismissals(engine, tonight, record_lapses=False)
    assert dict(dry.select("violation_id", "change").rows())["v00000004"] == "new"
    assert len(list_dismissals(engine)) == 2

    marked = apply_dismissals(engine, tonight, run_name="2026-11-21-1")
    assert marked.columns == violations.columns and marked.height == violations.height
    assert marked.get_column("violation_id").to_list() == violations.get_column("violation_id").to_list()
    changes = dict(marked.select("violation_id", "change").rows())
    assert changes["v00000000"] == "dismissed"
    assert changes["v00000004"] == "new"  # was "new" by parity too; see the next run
    assert changes["v00000001"] == "persisting"
    register = list_dismissals(engine, include_ended=True)
    assert register.select("violation_id", "state", "ended_by").rows() == [
        ("v00000004", "lapsed", "run 2026-11-21-1"),
        ("v00000000", "dismissed", None),
    ]
    # Lapsed for good: the old evidence coming back does not revive it.
    again = apply_dismissals(engine, violations)
    assert dict(again.select("violation_id", "change").rows())["v00000004"] == "new"


def test_a_persisting_finding_whose_data_changed_is_new_again(engine: Engine, run: Path) -> None:
    dismiss(engine, Actor("r", "school_registrar", "4301030001"), run, "v00000001", "核实")
    tonight = pl.read_parquet(run / "violations.parquet").with_columns(
        pl.when(pl.col("violation_id") == "v00000001").then(pl.lit('{"other": 1}')).otherwise(pl.col("evidence")).alias("evidence")
    )
    assert tonight.filter(pl.col("violation_id") == "v00000001").item(0, "change") == "persisting"
    marked = apply_dismissals(engine, tonight)
    assert marked.filter(pl.col("violation_id") == "v00000001").item(0, "change") == "new"


def test_revoked_dismissal_turns_dismissed_back_to_persisting(engine: Engine, run: Path) -> None:
    dismiss(engine, REG, run, "v00000000", "双胞胎")
    marked = apply_dismissals(engine, pl.read_parquet(run / "violations.parquet"))
    assert marked.item(0, "change") == "dismissed"
    restore(engine, Actor("qian", "inspector", None), "v00000000", "复核")
    assert apply_dismissals(engine, marked).item(0, "change") == "persisting"


def test_no_register_rows_leaves_findings_alone(engine: Engine, run: Path) -> None:
    violations = pl.read_parquet(run / "violations.parquet")
    assert apply_dismissals(engine, violations).equals(violations)


def test_one_live_dismissal_per_finding(engine: Engine, run: Path) -> None:
    dismiss(engine, REG, run, "v00000000", "双胞胎")
    with pytest.raises(WorkflowRefused, match="already dismissed by reg"):
        dismiss(engine, OFFICER, run, "v00000000", "again")
    with pytest.raises(NotAuthorised, match="may not dismiss v00000001"):
        dismiss(engine, REG, run, "v00000001", "not my school")
    with pytest.raises(NotAuthorised):
        dismiss(engine, Actor("x", "bureau_officer", "430100"), run, "v00000000", "a city is not the county")


def test_dismissal_stores_a_masked_subject(engine: Engine, run: Path) -> None:
    row = dismiss(engine, REG, run, "v00000000", "双胞胎")
    full = pl.read_parquet(run / "violations.parquet").item(0, "id_number")
    assert full not in row.subject and full[:6] + "********" + full[-4:] in row.subject
    assert row.evidence_hash == evidence_hash(pl.read_parquet(run / "violations.parquet").item(0, "evidence"))
    assert json.loads(pl.read_parquet(run / "violations.parquet").item(0, "evidence"))["score"] == 0.0
