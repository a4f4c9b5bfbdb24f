"""The exceptions register end to end: real audits, dismissals and reports through the CLI.

Night 1 finds an invalid ID number at school A. Its registrar dismisses the finding.
Night 2 sees the same data (a new pupil above it shifts its row number, which is not
"the data behind it"): the finding is dismissed and left out of counts. Night 3 sees
the ID number changed (still invalid): the dismissal lapses and the finding is new.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner, Result
from reports_factory import copy_db, register_db

from xueji.cli import main
from xueji.testing import make_id_number, record, school, write_inputs

A, B = "4301040001", "4301040002"


def bad_check(id_number: str, other: bool = False) -> str:
    """``id_number`` with a wrong check character (``other`` picks a second wrong one)."""
    wrong = [c for c in "0123456789X" if c != id_number[-1]]
    return id_number[:-1] + wrong[1 if other else 0]


def pupil(seq: int, id_number: str | None = None) -> dict[str, Any]:
    number = id_number or make_id_number(date(2017, 3, 1), "M", seq=seq)
    return record(seq, school_code=A, id_number=number, student_no="G" + make_id_number(date(2017, 3, 1), "M", seq=seq))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    return register_db(tmp_path_factory.mktemp("register"))


@pytest.fixture
def db(template: tuple[str, dict[str, str]], tmp_path: Path) -> tuple[str, dict[str, str]]:
    return copy_db(template, tmp_path / "db")


def xueji(*args: str | Path, token: str | None = None, db: str) -> Result:
    env = {"XUEJI_TOKEN": token or "", "XUEJI_DB": db, "XUEJI_RUNS": ""}
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def audit(tmp_path: Path, night: int, registry: list[dict[str, Any]], db: str) -> Path:
    data = write_inputs(tmp_path / f"data{night}", schools=[school(A), school(B)], registry=registry)
    out = tmp_path / "runs" / f"2026-11-{19 + night}-1"
    result = xueji("audit", data, "--as-of", f"2026-11-{19 + night}", "--out", out, "--rules", "ID_INVALID", db=db)
    assert result.exit_code == 0, result.output
    return out


def id_invalid(run: Path) -> dict[str, Any]:
    frame = pl.read_parquet(run / "violations.parquet").filter(pl.col("rule") == "ID_INVALID")
    assert frame.height == 1
    return frame.row(0, named=True)


def report_json(run: Path, db: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / f"{run.name}.json"
    result = xueji("report", run, "-f", "json", "-o", out, db=db)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return doc


def test_dismissal_holds_until_the_data_changes(tmp_path: Path, db: tuple[str, dict[str, str]]) -> None:
    url, tokens = db
    good = make_id_number(date(2017, 3, 1), "M", seq=1)
    first = bad_check(good)

    night1 = audit(tmp_path, 1, [pupil(1, first), pupil(2)], url)
    finding = id_invalid(night1)
    vid = finding["violation_id"]
    assert finding["change"] == "new"

    # Only the registrar of school A or an officer of county 430104 may dismiss it.
    for who in ("reg_b", "officer_b", "inspector", "admin"):
        result = xueji("finding", "dismiss", vid, "--run", night1, "--reason", "核实无误", token=tokens[who], db=url)
        assert result.exit_code == 4, (who, result.output)
        assert f"only the registrar of school {A} or a bureau officer of county 430104 may" in result.output
    result = xueji("finding", "dismiss", vid, "--run", night1, "--reason", "  ", token=tokens["reg_a"], db=url)
    assert result.exit_code == 2 and "a reason is required" in result.output

    reason = "户籍系统录入错误，已报公安更正，学生身份经核实无误"
    result = xueji("finding", "dismiss", vid[:10], "--run", night1, "--reason", reason, token=tokens["reg_a"], db=url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Dismissed {vid} (ID_INVALID; 430104 {A} 3年级 1班 G")
    assert first not in result.output  # the subject is masked
    result = xueji("finding", "dismiss", vid, "--run", night1, "--reason", "again", token=tokens["officer"], db=url)
    assert result.exit_code == 3 and f"{vid} is already dismissed by reg_a" in result.output

    listing = xueji("finding", "list", "--dismissed", "--json", db=url)
    entries = json.loads(listing.stdout)
    assert [(e["violation_id"], e["rule"], e["state"], e["dismissed_by"], e["reason"]) for e in entries] == [
        (vid, "ID_INVALID", "dismissed", "reg_a", reason)
    ]

    # The report of night 1 made now already leaves it out of counts.
    doc = report_json(night1, url, tmp_path)
    assert (doc["stats"]["findings"], doc["stats"]["dismissed"]) == (0, 1)
    assert doc["findings"][0]["dismissed_by"] == "reg_a" and doc["findings"][0]["dismissal_reason"] == reason

    # Night 2: same facts, one more pupil listed above (the row number moves).
    night2 = audit(tmp_path, 2, [pupil(3), pupil(1, first), pupil(2)], url)
    finding2 = id_invalid(night2)
    assert (finding2["violation_id"], finding2["change"]) == (vid, "dismissed")
    doc = report_json(night2, url, tmp_path)
    assert (doc["stats"]["findings"], doc["stats"]["dismissed"], doc["valid"]) == (0, 1, True)
    assert doc["stats"]["by_rule"] == {"ID_INVALID": 0}
    # The reports the audit put into the run folder say the same.
    html = (night2 / "report.html").read_text(encoding="utf-8")
    assert "运行 <b>2026-11-21-1</b>" in html and '<div class="kpi-value" id="kpi-findings">0</div>' in html
    sheet = openpyxl.load_workbook(night2 / "report.xlsx")["身份证号无效"]
    headers = [c.value for c in sheet[1]]
    assert sheet.cell(2, headers.index("核销人") + 1).value == "reg_a"
    assert sheet.cell(2, headers.index("变化") + 1).value == "已核销"

    # Night 3: the ID number behind it changed (still invalid): the finding is new again.
    night3 = audit(tmp_path, 3, [pupil(3), pupil(1, bad_check(good, other=True)), pupil(2)], url)
    finding3 = id_invalid(night3)
    assert (finding3["violation_id"], finding3["change"]) == (vid, "new")
    doc = report_json(night3, url, tmp_path)
    assert (doc["stats"]["findings"], doc["stats"]["dismissed"]) == (1, 0)
    assert json.loads(xueji("finding", "list", "--dismissed", "--json", db=url).stdout) == []
    history = json.loads(xueji("finding", "list", "--dismissed", "--all", "--json", db=url).stdout)
    assert [(e["violation_id"], e["state"], e["ended_by"]) for e in history] == [(vid, "lapsed", f"run {night3.name}")]


def test_restore_puts_a_dismissed_finding_back(tmp_path: Path, db: tuple[str, dict[str, str]]) -> None:
    url, tokens = db
    bad = bad_check(make_id_number(date(2017, 3, 1), "M", seq=1))
    night1 = audit(tmp_path, 1, [pupil(1, bad), pupil(2)], url)
    vid = id_invalid(night1)["violation_id"]
    result = xueji("finding", "dismiss", vid, "--run", night1, "--reason", "双胞胎，经核实为两人", token=tokens["officer"], db=url)
    assert result.exit_code == 0, result.output
    assert report_json(night1, url, tmp_path)["stats"]["findings"] == 0

    result = xueji("finding", "restore", vid, "--reason", "复核", token=tokens["reg_b"], db=url)
    assert result.exit_code == 4 and "may not restore" in result.output
    result = xueji("finding", "restore", vid, "--reason", "复核：同一人", token=tokens["inspector"], db=url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Restored {vid} (ID_INVALID;")
    assert xueji("finding", "restore", vid, token=tokens["inspector"], db=url).exit_code == 2

    doc = report_json(night1, url, tmp_path)
    assert (doc["stats"]["findings"], doc["stats"]["dismissed"]) == (1, 0)
    assert doc["findings"][0]["change"] == "new"
    night2 = audit(tmp_path, 2, [pupil(1, bad), pupil(2)], url)
    assert id_invalid(night2)["change"] == "persisting"
    history = json.loads(xueji("finding", "list", "--dismissed", "--all", "--json", db=url).stdout)
    assert [(e["state"], e["ended_by"]) for e in history] == [("revoked", "inspector")]
