"""``xueji audit``: the run folder of contract §5, exit codes, options, progress and the log."""

from __future__ import annotations

import hashlib
import io
import json
import stat
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest_audit import B, C, audit, bad_check, id_of, night, run_cli, student, violations
from rich.console import Console

from xueji.audit.history import count_runs
from xueji.audit.progress import TerminalProgress
from xueji.db import make_engine
from xueji.rules.catalogue import all_rules

CONTRACT_COLUMNS = [
    "violation_id", "rule", "severity", "county_code", "school_code", "grade", "class_name",
    "student_no", "id_number", "name", "detail", "evidence", "group_id", "change",
]  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'xueji.db'}"


def _night(tmp_path: Path) -> Path:
    rows = [
        student(1),
        student(2, id_number=bad_check(id_of(2))),  # ID_INVALID + STUDENT_NO_MISMATCH
        student(3, grade=8),  # GRADE_LEVEL at a primary school
        student(4, school_code=C, grade=9),
        student(5, school_code=C, grade=10),  # GRADE_LEVEL in 开福区
    ]
    return night(tmp_path / "data", rows)


def test_run_folder_is_the_contract_s(tmp_path: Path, db: str) -> None:
    data = _night(tmp_path)
    out = tmp_path / "run1"
    result = audit(data, db, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["violations.parquet", "violations.csv", "data_errors.csv", "summary.json", "audit.log", "report.xlsx", "report.html"]
    )
    # The bureau's working record: owner-only folder and files.
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o600}

    v = violations(out)
    assert v.columns == CONTRACT_COLUMNS
    assert sorted(v.select("rule", "student_no").rows()) == sorted(
        [
            ("ID_INVALID", "G" + id_of(2)),
            ("STUDENT_NO_MISMATCH", "G" + id_of(2)),
            ("GRADE_LEVEL", "G" + id_of(3)),
            ("GRADE_LEVEL", "G" + id_of(5)),
        ]
    )
    assert set(v["change"]) == {"new"}
    assert v["violation_id"].str.len_chars().to_list() == [16] * 4 and v["violation_id"].n_unique() == 4
    # The run folder keeps full ID numbers.
    assert v.filter(pl.col("rule") == "ID_INVALID")["id_number"].item() == bad_check(id_of(2))

    raw = (out / "violations.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert pl.read_csv(out / "violations.csv").columns == CONTRACT_COLUMNS
    assert (out / "data_errors.csv").read_bytes().startswith(b"\xef\xbb\xbffile,row,column,value,message")

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["run_id"] == 1 and summary["as_of"] == "2026-11-20"
    registry_file = data / "registry.csv"
    assert summary["inputs"]["registry"]["rows"] == 5
    assert summary["inputs"]["registry"]["sha256"] == hashlib.sha256(registry_file.read_bytes()).hexdigest()
    assert summary["findings"]["by_rule"] == {"GRADE_LEVEL": 2, "ID_INVALID": 1, "STUDENT_NO_MISMATCH": 1}
    assert summary["findings"]["by_severity"] == {"critical": 0, "high": 0, "medium": 3, "low": 1}
    assert summary["findings"]["by_county"] == {"430104": 3, "430105": 1}
    assert summary["coverage"]["registry"]["enrolled"] == 5
    assert summary["resolved"] == {"previous_run": None, "total": 0, "by_rule": {}, "findings": []}
    assert set(summary["timings_seconds"]) >= {"load", "link", "rules", "write", "total"}
    assert {s["rule"] for s in summary["skipped_rules"]} >= {"GHOST_RECORD", "CATCHMENT", "OUT_OF_SCHOOL_CHILD"}
    ghost = summary["rules"]["GHOST_RECORD"]
    assert ghost["status"] == "skipped" and "attendance (考勤)" in ghost["reason"]
    assert summary["rules"]["GRADE_LEVEL"] == {"title": "年级与学校类型不符", "severity": "medium", "status": "ran", "findings": 2}

    # The closing table on stdout names the rules with findings and their severities.
    assert "GRADE_LEVEL" in result.stdout and "年级与学校类型不符" in result.stdout
    assert f"run folder: {out}" in result.stdout
    assert count_runs(make_engine(db)) == 1


def test_log_file_and_log_lines_never_hold_a_full_id_number(tmp_path: Path, db: str) -> None:
    data = _night(tmp_path)
    out = tmp_path / "run1"
    result = audit(data, db, "--out", out)
    assert result.exit_code == 0
    log = (out / "audit.log").read_text(encoding="utf-8")
    # Off a terminal the stages are plain log lines, on stderr and in the per-run log.
    for stage in ("load:", "link:", "rules:", "write:"):
        assert stage in log and stage in result.stderr
    # One line per message: lines kept before the folder existed are not double-spaced.
    assert "" not in log.splitlines()
    for seq in range(1, 6):
        assert id_of(seq) not in log and id_of(seq) not in result.stderr


def test_default_run_folder_is_numbered_per_as_of(tmp_path: Path, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _night(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert audit(data, db).exit_code == 0
    assert audit(data, db).exit_code == 0
    assert audit(data, db, as_of=date(2026, 11, 21)).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["2026-11-20-1", "2026-11-20-2", "2026-11-21-1"]


def test_missing_required_table_exits_2_before_writing_anything(tmp_path: Path, db: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "schools.csv").write_text("school_code,school_name,county_code,level,ownership\n", encoding="utf-8")
    out = tmp_path / "run1"
    result = audit(data, db, "--out", out)
    assert result.exit_code == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "1 required table missing: registry (学籍)" in last
    assert "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [data]  # no run folder, no database


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rules", "GRADE_LEVEL,ID_INVLID"], "1 unknown rule code: ID_INVLID (did you mean ID_INVALID?)"),
        (["--county", "4301"], "a county code is 6 digits"),
        (["--county", "430199"], "--county 430199: no school of the schools table is in that county (counties present: 430104, 430105)"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, db: str, args: list[str], message: str) -> None:
    result = audit(_night(tmp_path), db, "--out", tmp_path / "run1", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "run1").exists()


def test_existing_out_folder_is_never_overwritten(tmp_path: Path, db: str) -> None:
    (tmp_path / "run1").mkdir()
    result = audit(_night(tmp_path), db, "--out", tmp_path / "run1")
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert list((tmp_path / "run1").iterdir()) == []


def test_rules_option_runs_only_those_rules(tmp_path: Path, db: str) -> None:
    out = tmp_path / "run1"
    assert audit(_night(tmp_path), db, "--out", out, "--rules", "id_invalid, GRADE_LEVEL").exit_code == 0
    assert sorted(violations(out)["rule"].to_list()) == ["GRADE_LEVEL", "GRADE_LEVEL", "ID_INVALID"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert list(summary["rules"]) == ["ID_INVALID", "GRADE_LEVEL"]
    assert summary["scope"]["key"] == "rules=GRADE_LEVEL,ID_INVALID"


def test_county_option_keeps_that_county_s_findings(tmp_path: Path, db: str) -> None:
    out = tmp_path / "run1"
    assert audit(_night(tmp_path), db, "--out", out, "--county", "430105").exit_code == 0
    assert violations(out).select("rule", "school_code").rows() == [("GRADE_LEVEL", C)]


def test_data_errors_are_listed_and_unknown_to_the_rules(tmp_path: Path, db: str) -> None:
    data = night(
        tmp_path / "data",
        [
            student(1),
            # A grade-1 entrant whose birth date cannot be read: ENTRY_AGE cannot judge it,
            # ID_INVALID still can (its ID number is readable and wrong).
            student(2, grade=1, enrol_date=date(2026, 9, 1), id_number=bad_check(id_of(2))),
        ],
    )
    text = (data / "registry.csv").read_text(encoding="utf-8").replace("2017-03-01", "2017-02-30", 1)
    (data / "registry.csv").write_text(text, encoding="utf-8")
    out = tmp_path / "run1"
    result = audit(data, db, "--out", out)
    assert result.exit_code == 0
    errors = pl.read_csv(out / "data_errors.csv")
    assert errors.select("file", "row", "column", "value").rows() == [("registry.csv", 1, "birth_date", "2017-02-30")]
    assert sorted(violations(out)["rule"].to_list()) == ["ID_INVALID", "STUDENT_NO_MISMATCH"]
    assert "1 data errors" in result.stdout


def test_terminal_progress_shows_each_stage_with_its_counts() -> None:
    screen = io.StringIO()
    progress = TerminalProgress(Console(file=screen, force_terminal=True, width=120))
    for stage in ("load", "link", "rules", "write"):
        progress.start(stage)
        progress.finish(stage, f"{stage} done: 42 rows")
    progress.close()
    shown = screen.getvalue()
    for stage in ("load", "link", "rules", "write"):
        assert f"{stage} done: 42 rows" in shown


def test_class_findings_name_the_class_not_a_student(tmp_path: Path, db: str) -> None:
    # 56 enrolled in one class: one OVERSIZED_CLASS finding with the class as its subject.
    rows = [student(i, school_code=B, grade=7, class_name="3班", birth_date=date(2013, 3, 1)) for i in range(56)]
    out = tmp_path / "run1"
    assert audit(night(tmp_path / "data", rows), db, "--out", out).exit_code == 0
    v = violations(out).filter(pl.col("rule") == "OVERSIZED_CLASS")
    assert v.select("school_code", "grade", "class_name", "severity", "student_no").rows() == [(B, 7, "3班", "high", None)]


def test_a_failing_rule_is_reported_and_the_others_still_run(tmp_path: Path, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_ctx: object) -> pl.LazyFrame:
        # A plan that only fails when it runs (as a bug in a rule would).
        return pl.LazyFrame({"x": ["not a number"]}).select(pl.col("x").cast(pl.Int64))

    rules = tuple(replace(r, build=broken) if r.code == "GRADE_LEVEL" else r for r in all_rules())
    monkeypatch.setattr("xueji.audit.context.all_rules", lambda: rules)
    out = tmp_path / "run1"
    result = audit(_night(tmp_path), db, "--out", out)
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: 1 rule(s) failed (GRADE_LEVEL: InvalidOperationError")
    assert last.endswith("the run folder holds the other rules' findings")
    assert sorted(violations(out)["rule"].to_list()) == ["ID_INVALID", "STUDENT_NO_MISMATCH"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rules"]["GRADE_LEVEL"]["status"] == "failed"
    assert summary["failed_rules"][0]["rule"] == "GRADE_LEVEL"


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    url = "postgresql+psycopg://xueji:secret@127.0.0.1:9/xueji"  # nothing listens on port 9
    result = audit(_night(tmp_path), url, "--out", tmp_path / "run1")
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: cannot open the database postgresql+psycopg://xueji:***@127.0.0.1:9/xueji: ")
    assert last.endswith("(check --db or $XUEJI_DB)") and "secret" not in result.stderr
    assert not (tmp_path / "run1").exists()


def test_generated_data_is_audited_as_of_its_manifest_date(tmp_path: Path, db: str) -> None:
    data = _night(tmp_path)
    (data / "manifest.json").write_text(json.dumps({"generator": "xueji sample generate", "as_of": "2026-11-18"}), encoding="utf-8")
    out = tmp_path / "run1"
    assert run_cli("audit", data, "--db", db, "--out", out).exit_code == 0
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["as_of"] == "2026-11-18"
    # An explicit --as-of still wins.
    assert audit(data, db, "--out", tmp_path / "run2", as_of=date(2026, 11, 19)).exit_code == 0
    assert json.loads((tmp_path / "run2" / "summary.json").read_text(encoding="utf-8"))["as_of"] == "2026-11-19"
