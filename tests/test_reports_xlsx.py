"""report.xlsx as an inspector opens it: read back with openpyxl and checked cell by cell."""

from __future__ import annotations

import stat
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from reports_factory import findings, make_id, write_run

from xueji.reports import build_report, write_run_reports
from xueji.reports.labels import rule_title
from xueji.reports.xlsx import sheet_name, write_xlsx

RULES = (("ID_INVALID", "medium"), ("STUDENT_NO_MISMATCH", "low"), ("OVERSIZED_CLASS", "critical"))
HEADERS = ["问题编号", "变化", "严重程度", "区县代码", "学校标识码", "年级", "班级", "学籍号", "身份证件号", "姓名", "问题说明", "证据"]


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """Two runs: 12 findings yesterday, 9 today (3 resolved, 3 of today's new)."""
    runs = tmp_path / "runs"
    write_run(runs, "2026-11-19-1", findings(12, rules=RULES))
    return write_run(runs, "2026-11-20-1", findings(9, rules=RULES, offset=3))


def open_book(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def test_summary_sheet_comes_first_and_rule_sheets_follow_in_catalogue_order(run: Path, tmp_path: Path) -> None:
    out = write_xlsx(build_report(run), tmp_path / "r.xlsx")
    book = open_book(out)
    assert book.sheetnames == ["汇总", rule_title("ID_INVALID"), rule_title("STUDENT_NO_MISMATCH"), rule_title("OVERSIZED_CLASS"), "已解决"]
    assert rule_title("ID_INVALID") == "身份证号无效"


def test_rule_sheet_has_chinese_headers_frozen_row_filter_and_fitted_widths(run: Path, tmp_path: Path) -> None:
    book = open_book(write_xlsx(build_report(run), tmp_path / "r.xlsx"))
    ws = book["身份证号无效"]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.freeze_panes == "A2"
    # Three ID_INVALID findings today (offsets 3, 6, 9): the filter covers header + 3 rows.
    assert ws.auto_filter.ref == "A1:L4"
    assert ws.max_row == 4
    widths = {col: ws.column_dimensions[col].width for col in "ABCDEFGHIJKL"}
    # The detail sentence is long Chinese text: wider than the 6-character grade column.
    assert widths["K"] > widths["F"]
    assert 6 <= widths["F"] <= 12
    assert widths["K"] <= 62


def test_cells_are_typed_and_labelled(run: Path, tmp_path: Path) -> None:
    book = open_book(write_xlsx(build_report(run), tmp_path / "r.xlsx"))
    ws = book["身份证号无效"]
    first = [c.value for c in ws[2]]
    # Sorted by severity, county, school: v00000009 is in 430103, the first county here.
    assert first[0] == "v00000009"
    assert first[1] in ("新增", "持续")
    assert first[2] == "中"
    assert isinstance(first[5], int)  # grade is a number, not text


def test_ids_are_masked_everywhere_in_the_workbook(run: Path, tmp_path: Path) -> None:
    full = pl.read_parquet(run / "violations.parquet")
    book = open_book(write_xlsx(build_report(run), tmp_path / "r.xlsx"))
    texts = [str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    blob = "\n".join(texts)
    for id_number in full.get_column("id_number"):
        assert id_number not in blob
    row = next(r for r in book["身份证号无效"].iter_rows(min_row=2) if r[0].value == "v00000003")
    id_number = full.filter(pl.col("violation_id") == "v00000003").item(0, "id_number")
    masked = id_number[:6] + "********" + id_number[-4:]
    assert row[8].value == masked  # 身份证件号
    assert row[7].value == "G" + masked  # 学籍号 embeds the ID number
    assert masked in row[10].value and masked in row[11].value  # detail and evidence


def test_show_ids_writes_full_numbers_and_says_so(run: Path, tmp_path: Path) -> None:
    full = pl.read_parquet(run / "violations.parquet")
    book = open_book(write_xlsx(build_report(run, masked=False), tmp_path / "r.xlsx"))
    row = next(r for r in book["身份证号无效"].iter_rows(min_row=2) if r[0].value == "v00000003")
    assert row[8].value == full.filter(pl.col("violation_id") == "v00000003").item(0, "id_number")
    summary = [r for r in book["汇总"].iter_rows(values_only=True)]
    assert ("身份证件号", "未脱敏：仅限授权人员，本次导出已登记") in [r[:2] for r in summary]


@pytest.mark.parametrize("stream", [False, True], ids=["in-memory", "streamed"])
def test_over_long_rule_continues_on_further_sheets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    # Large runs stream rows to disk (constant memory); both ways give the same workbook.
    monkeypatch.setattr("xueji.reports.xlsx.STREAM_ABOVE", 0 if stream else 10**9)
    run = write_run(tmp_path / "runs", "2026-11-20-1", findings(23, rules=(("ID_INVALID", "medium"),)))
    book = open_book(write_xlsx(build_report(run), tmp_path / "r.xlsx", max_rows=10))
    assert book.sheetnames == ["汇总", "身份证号无效", "身份证号无效 (2)", "身份证号无效 (3)"]
    sizes = [book[name].max_row - 1 for name in book.sheetnames[1:]]
    assert sizes == [10, 10, 3]
    ids = [r[0] for name in book.sheetnames[1:] for r in book[name].iter_rows(min_row=2, values_only=True)]
    assert ids == build_report(run).rule_findings("ID_INVALID").get_column("violation_id").to_list()
    assert len(set(ids)) == 23
    for name in book.sheetnames[1:]:
        ws = book[name]
        assert [c.value for c in ws[1]] == HEADERS
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:L{ws.max_row}"


def test_summary_counts_by_rule_county_severity_and_change(run: Path, tmp_path: Path) -> None:
    book = open_book(write_xlsx(build_report(run), tmp_path / "r.xlsx"))
    rows = [r for r in book["汇总"].iter_rows(values_only=True)]
    labels = [r[0] for r in rows]
    assert rows[0][0] == "学籍核查报告"
    as_of = rows[labels.index("核查基准日")][1]
    assert isinstance(as_of, datetime) and as_of.date() == date(2026, 11, 20)  # a real date cell
    overall = rows[labels.index("问题总数")]
    assert overall[:5] == ("问题总数", "新增", "持续", "已解决", "已核销（不计入）")
    # findings(9, offset=3): ids 3..11, even index new → 4, 6, 8, 10 new; 3 resolved (0, 1, 2).
    assert rows[labels.index("问题总数") + 1][:5] == (9, 4, 5, 3, 0)
    by_rule = labels.index("规则代码")
    assert rows[by_rule][:9] == ("规则代码", "问题", "严重程度", "问题数", "新增", "持续", "已解决", "已核销", "明细")
    assert rows[by_rule + 1][:8] == ("ID_INVALID", "身份证号无效", "中", 3, 1, 2, 1, 0)
    severity = labels.index("严重程度")
    assert [r[0] for r in rows[severity + 1 : severity + 5]] == ["严重", "高", "中", "低"]
    matrix = labels.index("规则代码", by_rule + 1)
    assert rows[matrix][:7] == ("规则代码", "问题", "430102", "430103", "430104", "430105", "合计")
    total = labels.index("合计", matrix)
    assert rows[total][6] == 9


def test_summary_links_to_rule_sheets(run: Path, tmp_path: Path) -> None:
    book = open_book(write_xlsx(build_report(run), tmp_path / "r.xlsx"))
    ws = book["汇总"]
    links = {c.hyperlink.location for row in ws.iter_rows() for c in row if c.hyperlink is not None}
    assert "'身份证号无效'!A1" in links


def test_dismissed_findings_show_who_and_when_as_dates_and_are_not_counted(run: Path, tmp_path: Path) -> None:
    frame = pl.read_parquet(run / "violations.parquet").with_columns(
        pl.when(pl.col("violation_id") == "v00000003").then(pl.lit("dismissed")).otherwise(pl.col("change")).alias("change")
    )
    when = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)
    details = pl.DataFrame(
        {"violation_id": ["v00000003"], "dismissed_by": ["wang"], "dismissed_at": [when], "dismissal_reason": ["双胞胎"]},
        schema={"violation_id": pl.String, "dismissed_by": pl.String, "dismissed_at": pl.Datetime("us", "UTC"), "dismissal_reason": pl.String},
    )
    report = build_report(run, findings=frame, dismissals=details)
    book = open_book(write_xlsx(report, tmp_path / "r.xlsx"))
    ws = book["身份证号无效"]
    headers = [c.value for c in ws[1]]
    assert headers[-4:] == ["核销人", "核销时间", "核销理由", "证据"]
    last = [c.value for c in ws[ws.max_row]]  # dismissed findings are listed last
    assert last[0] == "v00000003" and last[1] == "已核销"
    assert last[headers.index("核销人")] == "wang"
    assert last[headers.index("核销时间")] == datetime(2026, 11, 20, 10, 30)  # China time, a date cell
    rows = [r for r in book["汇总"].iter_rows(values_only=True)]
    labels = [r[0] for r in rows]
    assert rows[labels.index("问题总数") + 1][0] == 8
    assert rows[labels.index("问题总数") + 1][4] == 1


def test_write_run_reports_puts_private_masked_reports_into_the_run_folder(run: Path) -> None:
    paths = write_run_reports(run)
    assert [p.name for p in paths] == ["report.xlsx", "report.html"]
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    full = pl.read_parquet(run / "violations.parquet")
    id_number = full.filter(pl.col("violation_id") == "v00000003").item(0, "id_number")
    assert id_number == make_id("430105", "20130104", 3)
    html = (run / "report.html").read_text(encoding="utf-8")
    assert id_number[:6] + "********" + id_number[-4:] in html
    assert id_number not in html


def test_a_failed_write_leaves_no_file_behind(run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"old")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("xueji.reports.xlsx._write_summary", boom)
    with pytest.raises(OSError):
        write_xlsx(build_report(run), target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".r.xlsx")] == []


def test_sheet_names_are_valid_and_unique() -> None:
    taken: set[str] = {"汇总"}
    assert sheet_name("无籍就读 / 借读", 1, taken) == "无籍就读 借读"
    assert sheet_name("无籍就读 / 借读", 2, taken) == "无籍就读 借读 (2)"
    long = sheet_name("x" * 40, 12, taken)
    assert len(long) <= 31 and long.endswith("(12)")
    assert sheet_name("汇总", 1, taken) != "汇总"
