"""``xueji report`` and ``xueji explain`` driven through the CLI, with a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner, Result
from reports_factory import copy_db, findings, register_db, write_run
from sqlalchemy import create_engine, text

from xueji.cli import main

RULES = (("ID_INVALID", "medium"), ("OVERSIZED_CLASS", "critical"))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    return register_db(tmp_path_factory.mktemp("register"))


@pytest.fixture
def db(template: tuple[str, dict[str, str]], tmp_path: Path) -> tuple[str, dict[str, str]]:
    return copy_db(template, tmp_path / "db")


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    folder = tmp_path / "runs"
    write_run(folder, "2026-11-19-1", findings(10, rules=RULES))
    write_run(folder, "2026-11-20-1", findings(8, rules=RULES, offset=4))
    return folder


def xueji(*args: str | Path, token: str | None = None, db: str | None = None) -> Result:
    # No database unless given: a missing SQLite file means "no register yet".
    env = {"XUEJI_TOKEN": token or "", "XUEJI_DB": db or "sqlite:////nonexistent/xueji.db", "XUEJI_RUNS": ""}
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def full_ids(runs: Path) -> list[str]:
    return pl.read_parquet(runs / "2026-11-20-1" / "violations.parquet").get_column("id_number").to_list()


def test_report_defaults_to_the_latest_run_and_xlsx(runs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = xueji("report", db=f"sqlite:///{tmp_path / 'none.db'}")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Wrote report-2026-11-20-1.xlsx (xlsx; run 2026-11-20-1, 全部): 8 findings, 4 new, 4 resolved, 0 dismissed; ID numbers masked.")
    assert openpyxl.load_workbook(tmp_path / "report-2026-11-20-1.xlsx").sheetnames[0] == "汇总"
    # A report needs no database: the default SQLite file is not created by reading.
    assert not (tmp_path / "none.db").exists()


def test_report_filters_and_formats(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "芙蓉区.json"
    result = xueji("report", "--runs", runs, "-f", "json", "--county", "430103", "--rule", "oversized_class", "-o", out)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["filters"] == {"county": ["430103"], "rule": ["OVERSIZED_CLASS"]}
    assert sorted(f["violation_id"] for f in doc["findings"]) == ["v00000005", "v00000009"]
    html = tmp_path / "r.html"
    assert xueji("report", "2026-11-19-1", "--runs", runs, "-f", "html", "-o", html, "--severity", "critical").exit_code == 0
    assert "范围 <b>严重程度 critical</b>" in html.read_text(encoding="utf-8")


def test_report_bad_input_gives_one_line_and_exit_2(runs: Path, tmp_path: Path) -> None:
    result = xueji("report", "--runs", runs, "--rule", "ID_INVALD")
    assert result.exit_code == 2
    assert "Error: 1 unknown rule code(s): ID_INVALD (did you mean ID_INVALID?)" in result.output
    result = xueji("report", "--runs", tmp_path / "nowhere")
    assert result.exit_code == 2
    assert f"Error: no audit runs in {tmp_path / 'nowhere'}/" in result.output
    result = xueji("report", "2025-01-01-1", "--runs", runs)
    assert result.exit_code == 2 and "latest: 2026-11-20-1, 2026-11-19-1" in result.output
    (runs / "2026-11-21-1").mkdir()
    (runs / "2026-11-21-1" / "violations.parquet").write_bytes(b"not parquet")
    result = xueji("report", "--runs", runs, "-o", tmp_path / "x.xlsx")
    assert result.exit_code == 2 and "cannot be read as Parquet" in result.output
    assert "Traceback" not in result.output


def test_show_ids_needs_an_inspector_or_admin_token(runs: Path, tmp_path: Path, db: tuple[str, dict[str, str]]) -> None:
    url, tokens = db
    out = tmp_path / "full.csv"
    result = xueji("report", "--runs", runs, "-f", "csv", "--show-ids", "-o", out, db=url)
    assert result.exit_code == 4 and "no credentials" in result.output
    result = xueji("report", "--runs", runs, "-f", "csv", "--show-ids", "-o", out, token=tokens["reg_a"], db=url)
    assert result.exit_code == 4
    assert "reg_a (school_registrar, 4301040001) may not show full ID numbers: only an inspector or an admin may" in result.output
    assert not out.exists()


def test_unmasked_export_is_recorded(runs: Path, tmp_path: Path, db: tuple[str, dict[str, str]]) -> None:
    url, tokens = db
    out = tmp_path / "full.xlsx"
    before = datetime.now(UTC)
    result = xueji("report", "--runs", runs, "--show-ids", "--county", "430104", "-o", out, token=tokens["inspector"], db=url)
    assert result.exit_code == 0, result.output
    assert "full ID numbers, export recorded" in result.output
    book = openpyxl.load_workbook(out)
    cells = {str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row}
    wanted = pl.read_parquet(runs / "2026-11-20-1" / "violations.parquet").filter(pl.col("county_code") == "430104")
    assert set(wanted.get_column("id_number").to_list()) <= cells
    assert out.stat().st_mode & 0o077 == 0
    with create_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT exported_by, role, exported_at, run_name, run_dir, filters, format, path, findings FROM unmasked_exports")).all()
    assert len(rows) == 1
    who, role, when, run_name, run_dir, filters, fmt, path, count = rows[0]
    assert (who, role, run_name, fmt, path, count) == ("inspector", "inspector", "2026-11-20-1", "xlsx", str(out.resolve()), 2)
    assert json.loads(filters) == {"county": ["430104"]}
    assert run_dir == str((runs / "2026-11-20-1").resolve())
    moment = datetime.fromisoformat(str(when)).replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= moment <= datetime.now(UTC)
    # A masked export is not recorded.
    assert xueji("report", "--runs", runs, "-o", tmp_path / "masked.xlsx", token=tokens["inspector"], db=url).exit_code == 0
    with create_engine(url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM unmasked_exports")).scalar() == 1


def test_explain_shows_finding_rule_thresholds_and_evidence(runs: Path) -> None:
    result = xueji("explain", "v00000005", "--runs", runs)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Finding v00000005 in run 2026-11-20-1\n")
    assert "  规则 rule: OVERSIZED_CLASS\n" in out
    assert "  严重程度 severity: critical (严重)\n" in out
    assert "OVERSIZED_CLASS 大班额" in out
    assert "class_large = 56" in out and "class_super_large = 66" in out
    assert '"school_code": "4301030005"' in out  # the evidence, pretty-printed
    for id_number in full_ids(runs):
        assert id_number not in out
    assert "********" in out


def test_explain_json_and_prefixes(runs: Path) -> None:
    result = xueji("explain", "v0000000", "--runs", runs)
    assert result.exit_code == 2
    assert "matches several findings in run 2026-11-20-1: v00000004, v00000005, v00000006, v00000007, v00000008" in result.output
    result = xueji("explain", "v00000099", "--runs", runs)
    assert result.exit_code == 2 and "no finding 'v00000099' in run 2026-11-20-1" in result.output
    result = xueji("explain", "v00000011", "--run", "2026-11-20-1", "--runs", runs, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["finding"]["violation_id"] == "v00000011" and doc["rule"] == "OVERSIZED_CLASS"
    assert doc["evidence"]["school_code"] == "4301050004"
    assert doc["thresholds"]["class_large"] == 56


def test_explain_show_ids_is_recorded(runs: Path, db: tuple[str, dict[str, str]]) -> None:
    url, tokens = db
    result = xueji("explain", "v00000005", "--runs", runs, "--show-ids", token=tokens["admin"], db=url)
    assert result.exit_code == 0, result.output
    full = pl.read_parquet(runs / "2026-11-20-1" / "violations.parquet").filter(pl.col("violation_id") == "v00000005")
    assert full.item(0, "id_number") in result.output
    with create_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT exported_by, format, path, findings, filters FROM unmasked_exports")).all()
    assert [tuple(r[:4]) for r in rows] == [("admin", "explain", "-", 1)]
    assert json.loads(rows[0][4]) == {"violation_id": "v00000005"}


def test_finding_list_shows_masked_findings(runs: Path) -> None:
    result = xueji("finding", "list", "--runs", runs, "--rule", "ID_INVALID", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "2 of 4 findings of run 2026-11-20-1 shown" in result.output
    for id_number in full_ids(runs):
        assert id_number not in result.output
    result = xueji("finding", "list", "--runs", runs, "--json", "--limit", "0")
    assert [r["violation_id"] for r in json.loads(result.stdout)][:2] == ["v00000008", "v00000004"]  # by school


def test_show_ids_is_refused_where_it_cannot_be_recorded(runs: Path, tmp_path: Path, db: tuple[str, dict[str, str]]) -> None:
    url, tokens = db
    with create_engine(url).begin() as conn:
        conn.execute(text("DROP TABLE unmasked_exports"))
    out = tmp_path / "full.csv"
    result = xueji("report", "--runs", runs, "-f", "csv", "--show-ids", "-o", out, token=tokens["inspector"], db=url)
    assert result.exit_code == 2
    assert "cannot record unmasked exports yet: run `xueji db init` to upgrade it" in result.output
    assert not out.exists()
