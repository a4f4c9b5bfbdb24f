"""CSV, Parquet and JSON exports, and the summary tables every format shares."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from reports_factory import findings, write_run

from xueji.errors import NotFound
from xueji.reports import Filters, build_report, export_report
from xueji.reports.masking import mask_findings
from xueji.reports.runs import resolve_run

RULES = (("ID_INVALID", "medium"), ("OVERSIZED_CLASS", "critical"))


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    folder = tmp_path / "runs"
    write_run(folder, "2026-11-19-1", findings(10, rules=RULES))
    write_run(folder, "2026-11-20-1", findings(8, rules=RULES, offset=4))
    return folder


def test_csv_has_a_bom_contract_columns_and_masked_ids(runs: Path, tmp_path: Path) -> None:
    out = export_report(build_report(runs / "2026-11-20-1"), "csv", tmp_path / "x.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pl.read_csv(out, infer_schema_length=0)
    assert frame.columns == ["violation_id", "rule", "severity", "county_code", "school_code", "grade", "class_name",
                             "student_no", "id_number", "name", "detail", "evidence", "group_id", "change"]  # fmt: skip
    assert frame.height == 8
    assert frame.get_column("id_number").str.contains(r"^\d{6}\*{8}[\dX]{4}$").all()
    assert frame.get_column("student_no").str.contains(r"^G\d{6}\*{8}[\dX]{4}$").all()


def test_parquet_keeps_types_and_filters(runs: Path, tmp_path: Path) -> None:
    # findings(8, offset=4): ids 4..11; OVERSIZED_CLASS has the odd ids; ids 5 and 9 are in 430103.
    report = build_report(runs / "2026-11-20-1", Filters(rules=("OVERSIZED_CLASS",), counties=("430103",)))
    out = export_report(report, "parquet", tmp_path / "x.parquet")
    frame = pl.read_parquet(out)
    assert frame.schema["grade"] == pl.Int64
    assert sorted(frame.get_column("violation_id").to_list()) == ["v00000005", "v00000009"]


def test_json_report_shape(runs: Path, tmp_path: Path) -> None:
    frame = pl.read_parquet(runs / "2026-11-20-1" / "violations.parquet").with_columns(
        pl.when(pl.col("violation_id") == "v00000004").then(pl.lit("dismissed")).otherwise(pl.col("change")).alias("change")
    )
    report = build_report(runs / "2026-11-20-1", findings=frame)
    out = export_report(report, "json", tmp_path / "x.json")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["profile"] == "xueji-findings/1"
    assert doc["valid"] is False
    assert doc["masked"] is True
    assert doc["run"]["name"] == "2026-11-20-1" and doc["run"]["as_of"] == "2026-11-20"
    assert doc["stats"]["findings"] == 7 and doc["stats"]["dismissed"] == 1
    assert doc["stats"]["resolved"] == 4
    assert doc["stats"]["by_rule"] == {"ID_INVALID": 3, "OVERSIZED_CLASS": 4}
    assert doc["stats"]["by_severity"] == {"critical": 4, "high": 0, "medium": 3, "low": 0}
    assert len(doc["findings"]) == 8
    first = next(f for f in doc["findings"] if f["violation_id"] == "v00000004")
    assert first["type"] == "ID_INVALID" and first["title"] == "身份证号无效"
    assert first["change"] == "dismissed"
    assert isinstance(first["evidence"], dict)  # an object, not a quoted string
    assert first["evidence"]["id_number"] == first["id_number"]
    assert "********" in first["id_number"] and "********" in first["message"]


def test_json_with_no_findings_is_valid(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs", "2026-11-20-1", findings(0))
    doc = json.loads(export_report(build_report(run), "json", tmp_path / "x.json").read_text(encoding="utf-8"))
    assert doc["valid"] is True and doc["findings"] == [] and doc["stats"]["findings"] == 0


def test_json_quotes_evidence_that_is_not_json(tmp_path: Path) -> None:
    frame = findings(1).with_columns(pl.lit('plain "text"').alias("evidence"))
    run = write_run(tmp_path / "runs", "2026-11-20-1", frame)
    doc = json.loads(export_report(build_report(run), "json", tmp_path / "x.json").read_text(encoding="utf-8"))
    assert doc["findings"][0]["evidence"] == 'plain "text"'


def test_unmasked_exports_are_private_files(runs: Path, tmp_path: Path) -> None:
    out = export_report(build_report(runs / "2026-11-20-1", masked=False), "csv", tmp_path / "x.csv")
    assert out.stat().st_mode & 0o077 == 0


def test_masking_covers_passports_in_evidence_and_numbers_in_text() -> None:
    frame = pl.DataFrame(
        {
            "id_number": ["E12345678", "11010519491231002X"],
            "student_no": ["L430104201301010001", "G11010519491231002X"],
            "detail": ["护照 E12345678", "身份证号 11010519491231002X 与 440524188001010014 重复"],
            "evidence": ['{"id_number":"E12345678"}', '{"rows":[{"id_number":"440524188001010014"}],"levels":{"id_number":"typo"}}'],
        }
    )
    out = mask_findings(frame).collect()
    assert out.get_column("id_number").to_list() == ["*****5678", "110105********002X"]
    assert out.get_column("student_no").to_list() == ["L430104********0001", "G110105********002X"]
    assert out.item(1, "detail") == "身份证号 110105********002X 与 440524********0014 重复"
    assert out.get_column("evidence").to_list() == [
        '{"id_number":"****5678"}',
        '{"rows":[{"id_number":"440524********0014"}],"levels":{"id_number":"typo"}}',
    ]


def test_resolved_comes_from_the_runners_summary_when_it_has_one(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    write_run(folder, "2026-11-19-1", findings(10, rules=RULES))
    gone = [{"violation_id": "v00000099", "rule": "ID_INVALID", "severity": "medium", "county_code": "430104",
             "school_code": "4301040001", "grade": 3, "student_no": "G11010519491231002X", "name": "张三", "change": "new", "id": 7}]  # fmt: skip
    run = write_run(folder, "2026-11-20-1", findings(8, rules=RULES), summary={"resolved": {"total": 1, "by_rule": {"ID_INVALID": 1}, "findings": gone}})
    report = build_report(run)
    assert report.resolved_count == 1
    assert report.resolved is not None
    assert report.resolved.get_column("student_no").to_list() == ["G110105********002X"]
    assert report.by_rule().filter(pl.col("rule") == "ID_INVALID").item(0, "resolved") == 1
    assert build_report(run, Filters(counties=("430105",))).resolved_count == 0


def test_trend_counts_each_earlier_run_under_the_same_filters(runs: Path) -> None:
    report = build_report(runs / "2026-11-20-1", Filters(rules=("ID_INVALID",)))
    assert report.trend.select("run", "rule", "findings").rows() == [
        ("2026-11-19-1", "ID_INVALID", 5),
        ("2026-11-20-1", "ID_INVALID", 4),
    ]


def test_latest_run_and_missing_runs(runs: Path, tmp_path: Path) -> None:
    assert resolve_run(None, runs).name == "2026-11-20-1"
    (runs / ".xueji-tmp-1-abc").mkdir()  # a run being written is never "the latest"
    write_run(runs, "2026-11-20-2", findings(1))
    assert resolve_run(None, runs).name == "2026-11-20-2"
    assert resolve_run("2026-11-19-1", runs).name == "2026-11-19-1"
    with pytest.raises(NotFound, match="no run '2026-01-01-1' in"):
        resolve_run("2026-01-01-1", runs)
    with pytest.raises(NotFound, match="no audit runs in"):
        resolve_run(None, tmp_path / "empty")
