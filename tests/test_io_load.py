"""Loading and validation of crafted input files, written as bytes as real exports are."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from tests.conftest import REGISTRY_EN, SCHOOLS_ZH, WriteFile
from xueji.cli import main
from xueji.errors import InputError
from xueji.io import format_data_error, load_inputs

REG_HEAD = "student_no,id_number,name,gender,birth_date,school_code,grade,class_name,status,enrol_date\n"


def registry(rows: str, head: str = REG_HEAD) -> str:
    return head + rows


def errors_of(folder: Path) -> list[tuple[str, int, str, str, str]]:
    return [tuple(r) for r in load_inputs(folder).data_errors.iter_rows()]  # type: ignore[misc]


def test_gb18030_chinese_headers_and_bom_utf8_are_read(minimal: Path, write: WriteFile) -> None:
    write("registry.csv", b"\xef\xbb\xbf" + REGISTRY_EN.encode())
    inputs = load_inputs(minimal)
    assert inputs.sources["schools"].encoding == "gb18030"
    assert inputs.sources["schools"].header_languages == ("zh",)
    assert inputs.sources["registry"].encoding == "utf-8-sig"
    school = inputs.tables["schools"].collect().row(0, named=True)
    assert school == {
        "_row": 1,
        "school_code": "4301040001",
        "school_name": "长沙市岳麓区第一小学",
        "county_code": "430104",
        "level": "primary",
        "ownership": "public",
        "design_capacity": 2000,
    }
    assert inputs.tables["registry"].collect()["student_no"].to_list() == ["G11010519491231002X"]
    assert inputs.data_errors.height == 0


def test_mixed_headers_fullwidth_spaces_lowercase_x_and_value_spellings(minimal: Path, write: WriteFile) -> None:
    head = "学籍号,id_number,姓名,性别,birth_date,学校标识码,grade,班级,学籍状态,enrol_date,是否随迁子女,placement\n"
    rows = (
        "G11010519491231002X, １１０１０５１９４９１２３１００２x ,张三,男,2015/03/01,４３０１０４０００１,３,3班,在籍,20230901,是,随班就读\n"
        "G440524188001010014,440524188001010014,李四,2,20150302,4301040001,3,3班,suspended,2023-09-01,0,无\n"
        "G440524188001010014,440524188001010014,王五,1,2015-03-03,4301040001,3,3班,休学,2023-09-01,FALSE,\n"
    )
    write("registry.csv", head + rows)
    df = load_inputs(minimal).tables["registry"].collect()
    assert df["id_number"].to_list() == ["11010519491231002X", "440524188001010014", "440524188001010014"]
    assert df["school_code"].to_list() == ["4301040001"] * 3
    assert df["grade"].to_list() == [3, 3, 3]
    assert df["gender"].to_list() == ["M", "F", "M"]
    assert df["birth_date"].to_list() == [date(2015, 3, 1), date(2015, 3, 2), date(2015, 3, 3)]
    assert df["enrol_date"].to_list() == [date(2023, 9, 1)] * 3
    assert df["status"].to_list() == ["enrolled", "suspended", "suspended"]
    assert df["is_migrant"].to_list() == [True, False, False]
    assert df["placement"].to_list() == ["regular_class", "none", "none"]
    assert df["id_type"].to_list() == ["resident_id"] * 3


@pytest.mark.parametrize(
    ("row", "column", "value", "message"),
    [
        (
            "G11010519491231002X,11010519491231002X,张三,M,2013-02-30,4301040001,3,3班,enrolled,2023-09-01",
            "birth_date",
            "2013-02-30",
            "'2013-02-30' is not a date (use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)",
        ),
        (
            "G11010519491231002X,11010519491231002X,张三,M,2013-02-03,4301040001,3,3班,在校,2023-09-01",
            "status",
            "在校",
            "'在校' is not one of: enrolled (在籍), suspended (休学), transferred_out (转出), graduated (毕业), "
            "dropped (辍学), deceased (死亡), abroad (出国出境)",
        ),
        (
            "G11010519491231002X,11010519491231002X,张三,X,2013-02-03,4301040001,3,3班,enrolled,2023-09-01",
            "gender",
            "X",
            "'X' is not one of: M (男/1), F (女/2)",
        ),
        (
            "G11010519491231002X,11010519491231002X,张三,M,2013-02-03,4301040001,三,3班,enrolled,2023-09-01",
            "grade",
            "三",
            "'三' is not a whole number",
        ),
        (
            "G11010519491231002X,11010519491231002X,张三,M,2013-02-03,4301040001,13,3班,enrolled,2023-09-01",
            "grade",
            "13",
            "'13' is out of range (1–12)",
        ),
        (
            "G11010519491231002X,11010519491231002X,张三,M,2013-02-03,430104001,3,3班,enrolled,2023-09-01",
            "school_code",
            "430104001",
            "'430104001' does not have the expected form (10-digit school identifier)",
        ),
        (
            "G11010519491231002X,11010519491231002X,,M,2013-02-03,4301040001,3,3班,enrolled,2023-09-01",
            "name",
            None,
            "is required but empty",
        ),
        (
            "G11010519491231002X,11010519491231002X,张三,M,2013-02-03,4301049999,3,3班,enrolled,2023-09-01",
            "school_code",
            "4301049999",
            "'4301049999' is not in schools.csv",
        ),
    ],
)
def test_each_kind_of_bad_cell_is_one_data_error_and_unknown(
    minimal: Path, write: WriteFile, row: str, column: str, value: str | None, message: str
) -> None:
    good = "G440524188001010014,440524188001010014,李四,F,2015-03-02,4301040001,3,3班,enrolled,2023-09-01\n"
    write("registry.csv", registry(good + row + "\n"))
    inputs = load_inputs(minimal)
    assert [tuple(r) for r in inputs.data_errors.iter_rows()] == [("registry.csv", 2, column, value, message)]
    df = inputs.tables["registry"].collect()
    assert df.height == 2, "a row with a bad cell is kept, never silently dropped"
    assert df[column][1] is None, "the unreadable cell is unknown (null) to the rules"


def test_data_error_message_names_file_row_column_and_value(minimal: Path, write: WriteFile) -> None:
    write("registry.csv", registry("G11010519491231002X,11010519491231002X,张三,M,2013-02-30,4301040001,3,3班,enrolled,2023-09-01\n"))
    row = load_inputs(minimal).data_errors.row(0, named=True)
    assert format_data_error(row) == (
        "registry.csv row 1, birth_date (出生日期): '2013-02-30' is not a date (use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"
    )


def test_duplicate_primary_key_is_reported_and_kept_out(minimal: Path, write: WriteFile) -> None:
    write("schools.csv", SCHOOLS_ZH + "4301040001,重复学校,430104,小学,公办,100\n", "gb18030")
    inputs = load_inputs(minimal)
    assert errors_of(minimal) == [
        ("schools.csv", 2, "school_code", "4301040001", "'4301040001' is a duplicate (first on row 1)")
    ]
    assert inputs.sources["schools"].rows == 2
    assert inputs.tables["schools"].collect()["school_name"].to_list() == ["长沙市岳麓区第一小学"]


def _column_missing(file: str, column: str, label: str, hint: str = "") -> tuple[str, None, str, None, str]:
    message = f"required column missing: every row of this file lacks {label}; rules that need it skip these rows"
    return (file, None, column, None, message + hint)


def test_missing_some_required_columns_load_with_one_data_error_per_column(minimal: Path, write: WriteFile) -> None:
    # Contract §4: a row missing a required column is reported and the audit goes on. The
    # whole column is one data error each (a row per data row would flood data_errors).
    head = "student_no,id_number,name,gender,birth_date,class_name,status,enrol_date\n"
    rows = "G11010519491231002X,11010519491231002X,张三,M,2015-03-01,3班,enrolled,2023-09-01\n" * 3
    write("registry.csv", head + rows.replace("2023-09-01\n", "2023-13-01\n", 1))
    inputs = load_inputs(minimal)
    assert errors_of(minimal) == [
        _column_missing("registry.csv", "grade", "grade (年级)"),
        _column_missing("registry.csv", "school_code", "school_code (学校标识码)"),
        ("registry.csv", 1, "enrol_date", "2023-13-01", "'2023-13-01' is not a date (use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"),
    ]
    df = inputs.tables["registry"].collect()
    assert df.height == 3
    assert df["grade"].to_list() == [None] * 3 and df["school_code"].to_list() == [None] * 3
    assert df["name"].to_list() == ["张三"] * 3
    assert inputs.sources["registry"].missing_columns == ("grade", "school_code")
    assert inputs.warnings == [
        "registry.csv: 2 required columns missing: grade (年级), school_code (学校标识码); "
        "rules that need them skip every row of this file"
    ]
    assert format_data_error(inputs.data_errors.row(0, named=True)) == (
        "registry.csv, grade (年级): required column missing: every row of this file lacks grade (年级); "
        "rules that need it skip these rows"
    )


def test_a_file_with_none_of_its_table_s_required_columns_stops_with_one_message(
    minimal: Path, write: WriteFile
) -> None:
    write("catchments.csv", "entry_grade\n1\n")
    with pytest.raises(InputError) as exc:
        load_inputs(minimal)
    # The README's example, word for word.
    assert str(exc.value) == "catchments.csv: all 2 required columns missing: area_code (片区区划代码), school_code (学校标识码)"
    assert exc.value.exit_code == 2
    (minimal / "catchments.csv").unlink()
    write("registry.csv", "id_type,hukou_area_code\nresident_id,110105\n")
    with pytest.raises(InputError, match=r"^registry.csv: all 10 required columns missing: birth_date \(出生日期\), "):
        load_inputs(minimal)


def test_unknown_header_gets_a_did_you_mean_hint(minimal: Path, write: WriteFile) -> None:
    write("registry.csv", REGISTRY_EN.replace("birth_date", "birthdate"))
    inputs = load_inputs(minimal)
    hint = " (unknown column 'birthdate' is ignored; did you mean birth_date (出生日期)?)"
    assert errors_of(minimal) == [_column_missing("registry.csv", "birth_date", "birth_date (出生日期)", hint)]
    assert inputs.warnings[0] == "registry.csv: unknown column 'birthdate' is ignored; did you mean birth_date (出生日期)?"
    # A file with none of its columns keeps the hints in its one message.
    write("catchments.csv", "schoolcode,areacode\n4301040001,430104\n")
    with pytest.raises(InputError) as exc:
        load_inputs(minimal)
    assert str(exc.value) == (
        "catchments.csv: all 2 required columns missing: area_code (片区区划代码), school_code (学校标识码) "
        "(unknown column 'schoolcode' is ignored; did you mean school_code (学校标识码)?; "
        "unknown column 'areacode' is ignored; did you mean area_code (片区区划代码)?)"
    )


def test_a_missing_referenced_column_is_no_error_on_every_referring_row(data_dir: Path, write: WriteFile) -> None:
    # schools.csv lacks school_code: registry's codes cannot be checked against it, which
    # is not "not in schools.csv" on every registry row.
    write("schools.csv", "学校名称,所在区县代码,办学类型,举办者类型\n长沙市岳麓区第一小学,430104,小学,公办\n", "gb18030")
    write("registry.csv", REGISTRY_EN)
    inputs = load_inputs(data_dir)
    assert errors_of(data_dir) == [_column_missing("schools.csv", "school_code", "school_code (学校标识码)")]
    assert inputs.tables["registry"].collect()["school_code"].to_list() == ["4301040001"]


def test_a_missing_attendance_column_is_one_data_error_not_one_per_row(minimal: Path, write: WriteFile) -> None:
    # Attendance is digested, not checked row by row: a column it lacks must not make
    # every row "required but empty". Row 2's bad date is still reported by its row.
    head = "school_code,date,grade,class_name,name\n"
    rows = "4301040001,2026-11-19,3,3班,张三\n4301040001,2026-11-31,3,3班,张三\n4301040001,2026-11-20,3,3班,张三\n"
    write("attendance.csv", head + rows)
    inputs = load_inputs(minimal, as_of=date(2026, 11, 20))
    assert errors_of(minimal) == [
        _column_missing("attendance.csv", "status", "status (出勤状态)"),
        ("attendance.csv", 2, "date", "2026-11-31", "'2026-11-31' is not a date (use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"),
    ]
    assert inputs.attendance is not None and inputs.attendance.rows == 3
    sighting = inputs.attendance.sightings.row(0, named=True)
    # Rows on two dated days, neither present nor absent: the status is unknown.
    assert (sighting["days"], sighting["rows_mask"], sighting["present_mask"], sighting["absent_mask"]) == (3, 0b11, 0, 0)


def test_extra_unknown_column_is_a_warning_not_an_error(minimal: Path, write: WriteFile) -> None:
    lines = REGISTRY_EN.splitlines()
    write("registry.csv", lines[0] + ",备注\n" + lines[1] + ",无\n")
    inputs = load_inputs(minimal)
    assert inputs.warnings == ["registry.csv: unknown column '备注' is ignored"]
    assert inputs.sources["registry"].unknown_headers == ("备注",)


def test_missing_required_table_and_empty_file(minimal: Path, data_dir: Path, write: WriteFile) -> None:
    (data_dir / "registry.csv").unlink()
    with pytest.raises(InputError, match=r"1 required table missing: registry \(学籍\)"):
        load_inputs(minimal)
    write("registry.csv", b"")
    with pytest.raises(InputError, match=r"^registry.csv: the file is empty"):
        load_inputs(minimal)


def test_truncated_parquet_is_unusable_input(minimal: Path, data_dir: Path) -> None:
    buf = io.BytesIO()
    pl.DataFrame({"student_no": ["G11010519491231002X"] * 100}).write_parquet(buf)
    (data_dir / "registry.csv").unlink()
    (data_dir / "registry.parquet").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(InputError, match=r"^registry.parquet: not a readable Parquet file"):
        load_inputs(minimal)


def test_two_files_for_one_table_is_an_error(minimal: Path, data_dir: Path) -> None:
    pl.read_csv(data_dir / "registry.csv").write_parquet(data_dir / "registry.parquet")
    with pytest.raises(InputError, match="2 files for table registry: registry.csv, registry.parquet"):
        load_inputs(minimal)


def test_non_text_csv_is_rejected(minimal: Path, write: WriteFile) -> None:
    write("registry.csv", b"\x81\x30\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="neither UTF-8 nor GB18030"):
        load_inputs(minimal)


def test_typed_parquet_and_xlsx_are_read(minimal: Path, data_dir: Path) -> None:
    (data_dir / "registry.csv").unlink()
    pl.DataFrame(
        {
            "student_no": ["G11010519491231002X"],
            "id_number": ["11010519491231002X"],
            "name": ["张三"],
            "gender": ["男"],
            "birth_date": [date(2015, 3, 1)],
            "school_code": ["4301040001"],
            "grade": [3],
            "class_name": ["3班"],
            "status": ["在籍"],
            "enrol_date": [date(2023, 9, 1)],
        }
    ).write_parquet(data_dir / "registry.parquet")
    (data_dir / "schools.csv").unlink()
    pl.DataFrame(
        {"学校标识码": ["4301040001"], "学校名称": ["一小"], "所在区县代码": ["430104"], "办学类型": ["primary"],
         "举办者类型": ["公办"], "设计规模": [1500]}
    ).write_excel(data_dir / "schools.xlsx")
    inputs = load_inputs(data_dir)
    assert inputs.sources["schools"].format == "xlsx"
    reg = inputs.tables["registry"].collect().row(0, named=True)
    assert (reg["birth_date"], reg["grade"], reg["gender"], reg["status"]) == (date(2015, 3, 1), 3, "M", "enrolled")
    assert inputs.tables["schools"].collect()["design_capacity"].to_list() == [1500]
    assert inputs.data_errors.height == 0


def test_xlsx_date_cells_are_dates(minimal: Path, data_dir: Path) -> None:
    # Excel keeps a date as a date-time cell; a workbook's dates are read as dates, while a
    # text cell that is no date stays a data error.
    (data_dir / "registry.csv").unlink()
    pl.DataFrame(
        {
            "学籍号": ["G11010519491231002X", "G440524188001010014"],
            "id_number": ["11010519491231002X", "440524188001010014"],
            "姓名": ["张三", "李四"],
            "性别": ["女", "男"],
            "出生日期": [date(1949, 12, 31), date(1880, 1, 1)],
            "学校标识码": ["4301040001", "4301040001"],
            "年级": [3, 3],
            "班级": ["3班", "3班"],
            "学籍状态": ["在籍", "休学"],
            "状态日期": [None, datetime(2026, 3, 2, 14, 30)],
            "入校日期": ["2023-09-01", "2023年9月1日"],
        }
    ).write_excel(data_dir / "registry.xlsx")
    inputs = load_inputs(data_dir)
    reg = inputs.tables["registry"].collect()
    assert reg["birth_date"].to_list() == [date(1949, 12, 31), date(1880, 1, 1)]
    assert reg["status_date"].to_list() == [None, date(2026, 3, 2)]
    assert reg["enrol_date"].to_list() == [date(2023, 9, 1), None]
    assert inputs.data_errors.select("file", "row", "column", "value").rows() == [
        ("registry.xlsx", 2, "enrol_date", "2023年9月1日")
    ]


def test_validate_cli_summarises_and_writes_errors(minimal: Path, write: WriteFile, runner: CliRunner, tmp_path: Path) -> None:
    write("registry.csv", registry("G11010519491231002X,11010519491231002X,张三,M,2013-02-30,4301040001,3,3班,enrolled,2023-09-01\n"))
    out = tmp_path / "errs" / "data_errors.csv"
    result = runner.invoke(main, ["validate", str(minimal), "--errors", str(out)])
    assert result.exit_code == 0, result.output
    assert "registry.csv row 1, birth_date (出生日期): '2013-02-30' is not a date" in result.output
    assert "1 data error; written to" in result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert pl.read_csv(out).to_dicts() == [
        {"file": "registry.csv", "row": 1, "column": "birth_date", "value": "2013-02-30",
         "message": "'2013-02-30' is not a date (use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"}
    ]
    assert out.stat().st_mode & 0o777 == 0o600


def test_validate_cli_reports_a_missing_required_column_and_exits_0(
    minimal: Path, write: WriteFile, runner: CliRunner, tmp_path: Path
) -> None:
    write("registry.csv", REGISTRY_EN.replace(",grade,", ",年级_,"))
    out = tmp_path / "data_errors.csv"
    result = runner.invoke(main, ["validate", str(minimal), "--errors", str(out)])
    assert result.exit_code == 0, result.output
    assert (
        "registry.csv, grade (年级): required column missing: every row of this file lacks grade (年级); "
        "rules that need it skip these rows"
    ) in result.output
    assert "warning: registry.csv: 1 required column missing: grade (年级); rules that need it skip every row" in result.output
    assert "1 data error; written to" in result.output
    written = pl.read_csv(out, infer_schema=False).to_dicts()
    assert [(r["file"], r["row"], r["column"], r["value"]) for r in written] == [("registry.csv", None, "grade", None)]


def test_validate_cli_exit_2_and_nothing_written_for_unusable_input(
    minimal: Path, data_dir: Path, runner: CliRunner, tmp_path: Path
) -> None:
    (data_dir / "schools.csv").unlink()
    out = tmp_path / "data_errors.csv"
    result = runner.invoke(main, ["validate", str(minimal), "--errors", str(out)])
    assert result.exit_code == 2
    assert "Error: " in result.output and "1 required table missing: schools (学校)" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    (data_dir / "schools.csv").write_text("备注\n无\n", encoding="utf-8")
    result = runner.invoke(main, ["validate", str(minimal), "--errors", str(out)])
    assert result.exit_code == 2
    assert "schools.csv: all 5 required columns missing: " in result.output
    assert not out.exists()
