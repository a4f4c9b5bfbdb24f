"""Run history: new / persisting / resolved across nights, stable violation ids, scopes,
the registry snapshot behind UNAPPROVED_TRANSFER, and runs that fail half-way."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest_audit import A, B, C, audit, bad_check, id_of, night, student, violations
from sqlalchemy import text

from xueji.audit import writer
from xueji.audit.history import count_runs
from xueji.db import make_engine
from xueji.workflow import seed_transfers

NIGHT1, NIGHT2 = date(2026, 11, 19), date(2026, 11, 20)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'xueji.db'}"


def _summary(run_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    return doc


def _class(n: int, start: int) -> list[dict[str, Any]]:
    return [student(start + i, class_name="5班", grade=4) for i in range(n)]


def test_second_night_marks_new_persisting_and_counts_resolved(tmp_path: Path, db: str) -> None:
    # Night 1: a wrong check character (ID_INVALID + STUDENT_NO_MISMATCH on record 2), a
    # grade 8 at a primary school (record 3), a class of 56 (OVERSIZED_CLASS).
    first = [student(1), student(2, id_number=bad_check(id_of(2))), student(3, grade=8), *_class(56, 100)]
    # Night 2: record 2's ID is corrected, record 3 is unchanged, the class grew to 57
    # (same finding, new detail), and record 4 appears in grade 2 at the junior school B.
    second = [student(1), student(2), student(3, grade=8), *_class(57, 100), student(4, school_code=B, grade=2)]
    run1, run2 = tmp_path / "run1", tmp_path / "run2"
    assert audit(night(tmp_path / "d1", first), db, "--out", run1, as_of=NIGHT1).exit_code == 0
    result = audit(night(tmp_path / "d2", second), db, "--out", run2, as_of=NIGHT2)
    assert result.exit_code == 0, result.output

    v1, v2 = violations(run1), violations(run2)
    assert set(v1["change"]) == {"new"}
    changes = {(r, s, c) for r, s, c in v2.select("rule", "student_no", "change").iter_rows()}
    assert changes == {
        ("GRADE_LEVEL", "G" + id_of(3), "persisting"),
        ("GRADE_LEVEL", "G" + id_of(4), "new"),
        ("OVERSIZED_CLASS", None, "persisting"),
    }
    # The same finding keeps its violation_id from one night to the next.
    ids1 = dict(v1.select("rule", "violation_id").filter(pl.col("rule") != "ID_INVALID").filter(pl.col("rule") != "STUDENT_NO_MISMATCH").iter_rows())
    ids2 = dict(v2.filter(pl.col("change") == "persisting").select("rule", "violation_id").iter_rows())
    assert ids1 == ids2
    assert "57 人" in v2.filter(pl.col("rule") == "OVERSIZED_CLASS")["detail"].item()

    s2 = _summary(run2)
    assert s2["resolved"]["total"] == 2
    assert s2["resolved"]["by_rule"] == {"ID_INVALID": 1, "STUDENT_NO_MISMATCH": 1}
    resolved_ids = {f["violation_id"] for f in s2["resolved"]["findings"]}
    assert resolved_ids == set(v1.filter(pl.col("student_no") == "G" + id_of(2))["violation_id"])
    assert s2["resolved"]["previous_run"]["run_id"] == 1
    assert s2["findings"]["by_change"] == {"new": 1, "persisting": 2}
    assert "against run 1 (2026-11-19): 1 new, 2 persisting, 0 dismissed, 2 resolved" in result.stdout

    engine = make_engine(db)
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT id, as_of, findings_total, new_total, persisting_total, resolved_total, previous_run_id FROM audit_runs ORDER BY id")).all()
        stored = conn.execute(text("SELECT run_id, count(*) FROM audit_findings GROUP BY run_id ORDER BY run_id")).all()
    assert [tuple(r) for r in runs] == [(1, "2026-11-19", 4, 4, 0, 0, None), (2, "2026-11-20", 3, 1, 2, 2, 1)]
    assert [tuple(r) for r in stored] == [(1, 4), (2, 3)]


def test_runs_of_another_scope_are_not_compared(tmp_path: Path, db: str) -> None:
    data = night(tmp_path / "d", [student(1), student(3, grade=8)])
    assert audit(data, db, "--out", tmp_path / "all", as_of=NIGHT1).exit_code == 0
    assert audit(data, db, "--out", tmp_path / "one", "--rules", "ID_INVALID", as_of=NIGHT2).exit_code == 0
    # The rule-limited run is the first of its scope: nothing resolved, although the full
    # run had a GRADE_LEVEL finding the limited run did not look for.
    assert _summary(tmp_path / "one")["resolved"]["total"] == 0
    assert audit(data, db, "--out", tmp_path / "all2", as_of=NIGHT2).exit_code == 0
    assert set(violations(tmp_path / "all2")["change"]) == {"persisting"}
    assert _summary(tmp_path / "all2")["resolved"]["previous_run"]["run_id"] == 1


def _moved_registry(at_b: bool) -> list[dict[str, Any]]:
    if not at_b:
        return [student(1, grade=6), student(2)]
    return [student(1, grade=6, status="transferred_out"), student(1, grade=6, school_code=C), student(2)]


def test_change_of_school_against_the_snapshot_needs_a_completed_transfer(tmp_path: Path, db: str) -> None:
    assert audit(night(tmp_path / "d1", _moved_registry(False)), db, "--out", tmp_path / "r1", as_of=NIGHT1).exit_code == 0
    summary1 = _summary(tmp_path / "r1")
    assert summary1["rules"]["UNAPPROVED_TRANSFER"]["status"] == "skipped"  # nothing to compare with yet
    assert audit(night(tmp_path / "d2", _moved_registry(True)), db, "--out", tmp_path / "r2", as_of=NIGHT2).exit_code == 0
    v = violations(tmp_path / "r2").filter(pl.col("rule") == "UNAPPROVED_TRANSFER")
    assert v.select("student_no", "school_code", "county_code", "change").rows() == [("G" + id_of(1), C, "430105", "new")]
    assert json.loads(v["evidence"].item())["from_school_code"] == A
    summary2 = _summary(tmp_path / "r2")
    assert summary2["previous_registry_snapshot_run_id"] == 1
    assert "only changes of school against the previous run's snapshot" in summary2["rules"]["UNAPPROVED_TRANSFER"]["note"]


def test_a_completed_transfer_approves_the_change(tmp_path: Path, db: str) -> None:
    assert audit(night(tmp_path / "d1", _moved_registry(False)), db, "--out", tmp_path / "r1", as_of=NIGHT1).exit_code == 0
    seeded = pl.DataFrame(
        [
            {
                "student_no": "G" + id_of(1),
                "from_school_code": A,
                "to_school_code": C,
                "to_class": "1班",
                "reason": "home_move",
                "state": "completed",
                "submitted_on": date(2026, 11, 2),
                "state_entered_on": date(2026, 11, 18),
            }
        ]
    )
    assert seed_transfers(make_engine(db), seeded) == 1
    assert audit(night(tmp_path / "d2", _moved_registry(True)), db, "--out", tmp_path / "r2", as_of=NIGHT2).exit_code == 0
    assert violations(tmp_path / "r2").filter(pl.col("rule") == "UNAPPROVED_TRANSFER").height == 0


def test_an_open_transfer_waiting_too_long_is_overdue(tmp_path: Path, db: str) -> None:
    data = night(tmp_path / "d1", _moved_registry(False))
    assert audit(data, db, "--out", tmp_path / "r1", as_of=NIGHT1).exit_code == 0  # imports the students
    waiting = {
        "student_no": "G" + id_of(2),
        "from_school_code": A,
        "to_school_code": C,
        "to_class": "2班",
        "reason": "parent_job",
        "submitted_on": date(2026, 10, 26),
    }
    seeded = pl.DataFrame(
        [
            waiting | {"state": "submitted", "state_entered_on": date(2026, 10, 26)},  # 19 working days by 11-20
            waiting | {"student_no": "G" + id_of(1), "state": "submitted", "state_entered_on": date(2026, 11, 16)},  # 4
        ]
    )
    assert seed_transfers(make_engine(db), seeded) == 2
    assert audit(data, db, "--out", tmp_path / "r2", as_of=NIGHT2).exit_code == 0
    v = violations(tmp_path / "r2").filter(pl.col("rule") == "TRANSFER_OVERDUE")
    assert v.select("student_no", "school_code", "county_code").rows() == [("G" + id_of(2), C, "430105")]
    assert "已等待 19 个工作日" in v["detail"].item()


def test_a_rule_skipped_tonight_resolves_nothing(tmp_path: Path, db: str) -> None:
    changes = [{"student_no": "G" + id_of(1), "change_type": "transfer", "from_school_code": A, "to_school_code": C, "change_date": "2026-11-02"}]
    moved = _moved_registry(True)
    assert audit(night(tmp_path / "d1", moved, registry_changes=changes), db, "--out", tmp_path / "r1", as_of=NIGHT1).exit_code == 0
    assert violations(tmp_path / "r1").filter(pl.col("rule") == "UNAPPROVED_TRANSFER").height == 1
    # Tonight the registry_changes export is missing: the rule only sees the snapshot, so
    # last night's finding is neither repeated nor counted as resolved.
    assert audit(night(tmp_path / "d2", moved), db, "--out", tmp_path / "r2", as_of=NIGHT2).exit_code == 0
    summary = _summary(tmp_path / "r2")
    assert summary["resolved"]["total"] == 0


def _fail(*_: object, **__: object) -> None:
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize(
    "where",
    ["writing violations.csv", "writing report.xlsx", "recording the run", "after the rename, before the commit"],
)
def test_a_run_that_fails_half_way_leaves_no_folder_and_no_row(
    tmp_path: Path, db: str, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    data = night(tmp_path / "d", [student(1), student(3, grade=8)])
    runs = tmp_path / "runs"
    assert audit(data, db, "--out", runs / "good", as_of=NIGHT1).exit_code == 0
    if where == "writing violations.csv":
        monkeypatch.setattr(writer.RunFolder, "write_csv", _fail)
    elif where == "writing report.xlsx":
        # The workbook is written on a thread while the run is recorded: its failure
        # must still undo the run.
        monkeypatch.setattr("xueji.reports.write_xlsx", _fail)
    elif where == "recording the run":
        monkeypatch.setattr("xueji.audit.history._prune_snapshots", _fail)
    else:
        real_commit = writer.RunFolder.commit

        def commit_then_fail(self: writer.RunFolder) -> Path:
            real_commit(self)
            assert self.final.is_dir()  # the folder was in place when the failure struck
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(writer.RunFolder, "commit", commit_then_fail)
    result = audit(data, db, "--out", runs / "bad", as_of=NIGHT2)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Internal error: OSError")
    # Nothing of the failed run: no folder (nor its hidden temporary), no run row, no findings.
    assert sorted(p.name for p in runs.iterdir() if not p.name.startswith("failed-")) == ["good"]
    assert count_runs(make_engine(db)) == 1
    with make_engine(db).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_findings WHERE run_id <> 1")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM audit_registry_snapshots")).scalar() == 1
    # The failure is explained in a log kept beside the runs (it holds no ID numbers).
    (log,) = list(runs.glob("failed-bad-*.log"))
    assert "run failed" in log.read_text(encoding="utf-8")
    # The next night compares with the last good run.
    monkeypatch.undo()
    assert audit(data, db, "--out", runs / "next", as_of=NIGHT2).exit_code == 0
    assert _summary(runs / "next")["resolved"]["previous_run"]["run_id"] == 1


def test_a_killed_run_s_temporary_folder_is_removed_by_the_next(tmp_path: Path, db: str) -> None:
    runs = tmp_path / "runs"
    stale = runs / f"{writer.TMP_PREFIX}999999999-abc"  # a pid that cannot be alive
    stale.mkdir(parents=True)
    (stale / "violations.csv").write_text("half", encoding="utf-8")
    assert audit(night(tmp_path / "d", [student(1)]), db, "--out", runs / "r1").exit_code == 0
    assert sorted(p.name for p in runs.iterdir()) == ["r1"]


def test_old_snapshots_are_pruned(tmp_path: Path, db: str) -> None:
    data = night(tmp_path / "d", [student(1), student(2)])
    for day in range(16, 20):
        assert audit(data, db, "--out", tmp_path / f"r{day}", as_of=date(2026, 11, day)).exit_code == 0
    with make_engine(db).connect() as conn:
        kept = conn.execute(text("SELECT DISTINCT run_id FROM audit_registry_snapshots ORDER BY run_id")).scalars().all()
    assert kept == [2, 3, 4]  # the newest three


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_db() -> Iterator[str]:
    """A fresh PostgreSQL database of its own (dropped afterwards), or skip."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc})")
    name = f"xueji_audit_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.postgres
def test_history_on_postgresql(tmp_path: Path, pg_db: str) -> None:
    first = [student(1), student(2, id_number=bad_check(id_of(2))), student(3, grade=8)]
    second = [student(1), student(2), student(3, grade=8)]
    assert audit(night(tmp_path / "d1", first), pg_db, "--out", tmp_path / "r1", as_of=NIGHT1).exit_code == 0
    result = audit(night(tmp_path / "d2", second), pg_db, "--out", tmp_path / "r2", as_of=NIGHT2)
    assert result.exit_code == 0, result.output
    assert violations(tmp_path / "r2").select("rule", "change").rows() == [("GRADE_LEVEL", "persisting")]
    assert _summary(tmp_path / "r2")["resolved"]["by_rule"] == {"ID_INVALID": 1, "STUDENT_NO_MISMATCH": 1}
    engine = make_engine(pg_db)
    try:
        assert count_runs(engine) == 2
    finally:
        engine.dispose()
