"""The attendance digest: rows folded per sighting, bad cells reported row by row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

import xueji.io.digest as digest_module
from tests.conftest import WriteFile
from xueji.io import load_inputs, load_schemas
from xueji.io.digest import HORIZON_DAYS, digest_attendance
from xueji.io.readers import open_table

AS_OF = date(2026, 11, 20)
DEMO = Path(__file__).resolve().parent.parent / "sample_data" / "demo"
HEAD = "学校标识码,日期,年级,班级,姓名,身份证件号,校内学号,出勤状态\n"
SCHOOL = "4301040001"


def att(*rows: tuple[str, str, str, str]) -> str:
    """Attendance CSV text: (date, name, status, school) per row, grade 3, class 3班."""
    return HEAD + "".join(f"{school},{day},3,3班,{name},,,{status}\n" for day, name, status, school in rows)


def mask_days(mask: int) -> list[int]:
    return [i for i in range(HORIZON_DAYS) if mask >> i & 1]


@pytest.fixture
def crafted(minimal: Path, write: WriteFile) -> Path:
    # School days of 4301040001 up to the as-of date: 11-16 (bit 4) … 11-20 (bit 0).
    rows = [
        ("2026-11-16", "张三", "出勤", SCHOOL),
        ("2026/11/17", "张三", "缺勤", SCHOOL),  # another date spelling, same day form
        ("20261118", "张三", "迟到", SCHOOL),
        ("2026-11-19", "张三", "absent", SCHOOL),
        ("2026-11-19", "张三", "present", SCHOOL),  # a day recorded twice
        ("2026-11-20", "张三", "病假", SCHOOL),
        ("2026-11-23", "张三", "出勤", SCHOOL),  # after the as-of date: not in the masks
        ("2026-02-30", "张三", "出勤", SCHOOL),  # row 8: no such date → undated
        ("2026-11-20", "李四", "旷课", SCHOOL),  # row 9: unknown status
        ("2026-11-20", "", "出勤", SCHOOL),  # row 10: name required
        ("2026-11-20", "王五", "出勤", "9999999999"),  # row 11: school not in schools.csv
        ("2026-11-20", "赵六", "出勤", "４３０１０４０００１"),  # full-width digits: the same school
        ("2026-11-19", "赵六", "出勤", SCHOOL),
    ]
    write("attendance.csv", att(*rows))
    return minimal


def test_bad_cells_are_reported_by_row_like_any_table(crafted: Path) -> None:
    inputs = load_inputs(crafted, as_of=AS_OF)
    found = inputs.data_errors.filter(pl.col("file") == "attendance.csv").select("row", "column", "value").rows()
    assert found == [
        (8, "date", "2026-02-30"),
        (9, "status", "旷课"),
        (10, "name", None),
        (11, "school_code", "9999999999"),
    ]
    messages = inputs.data_errors.filter(pl.col("file") == "attendance.csv")["message"].to_list()
    assert "is not a date" in messages[0] and "is not one of" in messages[1]
    assert messages[2] == "is required but empty" and messages[3] == "'9999999999' is not in schools.csv"
    assert inputs.sources["attendance"].rows == 13


def test_rows_fold_into_one_sighting_per_child(crafted: Path) -> None:
    digest = load_inputs(crafted, as_of=AS_OF).attendance
    assert digest is not None and digest.rows == 13
    s = {r["name"]: r for r in digest.sightings.iter_rows(named=True) if r["school_code"] == SCHOOL}
    zhang = s["张三"]
    assert zhang["days"] == 8  # every row of his, wherever its date
    assert mask_days(zhang["rows_mask"]) == [0, 1, 2, 3, 4]
    assert mask_days(zhang["present_mask"]) == [1, 2, 4]  # 11-19 (also absent), 11-18 late, 11-16
    assert mask_days(zhang["absent_mask"]) == [1, 3]  # 11-19 and 11-17
    assert zhang["undated_rows"] == 1
    # The full-width school code is the same school: 赵六 is one sighting with two days.
    assert s["赵六"]["days"] == 2 and mask_days(s["赵六"]["rows_mask"]) == [0, 1]
    # Unknown school and unreadable name stay sightings (linking sees them), school unknown.
    assert digest.sightings.filter(pl.col("school_code").is_null())["name"].to_list() == ["王五"]


def test_school_days_count_rows_per_day(crafted: Path) -> None:
    digest = load_inputs(crafted, as_of=AS_OF).attendance
    assert digest is not None
    days = {(r["school_code"], r["date"]): r["rows"] for r in digest.days.iter_rows(named=True)}
    assert days[(SCHOOL, date(2026, 11, 20))] == 4
    assert days[(SCHOOL, date(2026, 11, 19))] == 3
    assert days[(SCHOOL, date(2026, 11, 23))] == 1
    assert days[(SCHOOL, None)] == 1 and days[(None, date(2026, 11, 20))] == 1


@pytest.mark.parametrize("many_calendars", [False, True], ids=["shared-calendar", "many-calendars"])
@pytest.mark.parametrize("source", ["crafted", "demo", "sparse"])
def test_calendar_masks_equal_the_day_table_join(
    source: str, many_calendars: bool, crafted: Path, write: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    if many_calendars:
        # As if the schools kept more calendars than the per-calendar shifts take.
        monkeypatch.setattr(digest_module, "_MAX_CALENDARS", 0)
    if source == "demo":
        folder = DEMO
    else:
        folder = crafted
        if source == "sparse":
            # A school whose 64 latest school days spread over years: more calendar
            # words than the fast pass takes, so both ways are the join.
            old = [(f"{2020 + i // 12}-{i % 12 + 1:02d}-01", "孙七", "出勤", SCHOOL) for i in range(70)]
            write("attendance.csv", att(*old, ("2026-11-20", "孙七", "缺勤", SCHOOL)))
    schema = load_schemas()["attendance"]
    name = next(p for p in folder.iterdir() if p.stem == "attendance")
    raw = open_table(name, schema)
    fast, _ = digest_attendance(raw.frame, schema, AS_OF, calendar=True)
    join, _ = digest_attendance(raw.frame, schema, AS_OF, calendar=False)
    assert fast.sightings.equals(join.sightings)
    assert fast.days.equals(join.days)
    assert fast.sightings.height > 0


def test_schools_keeping_their_own_calendars(minimal: Path, write: WriteFile) -> None:
    # Three schools, three calendars (a make-up Saturday, a day off, a late start): each
    # child's bit 0 is its own school's latest school day, whichever way bits are found.
    weekdays = [d for d in pl.date_range(date(2026, 11, 2), AS_OF, eager=True).to_list() if d.weekday() < 5]
    calendars = {
        SCHOOL: weekdays,
        "4301040002": sorted({*weekdays, date(2026, 11, 14)} - {date(2026, 11, 11)}),
        "4301040003": [date(2026, 10, 1), *weekdays[-5:]],
    }
    rows = [
        (day.isoformat(), f"学生{i}", "缺勤" if day.day % 3 == 0 else "出勤", school)
        for i, (school, days) in enumerate(calendars.items())
        for day in days
    ]
    write("attendance.csv", att(*rows))
    schema = load_schemas()["attendance"]
    raw = open_table(minimal / "attendance.csv", schema)
    fast, _ = digest_attendance(raw.frame, schema, AS_OF, calendar=True)
    join, _ = digest_attendance(raw.frame, schema, AS_OF, calendar=False)
    assert fast.sightings.equals(join.sightings)
    for row in fast.sightings.iter_rows(named=True):
        days = sorted(calendars[row["school_code"]], reverse=True)
        assert mask_days(row["rows_mask"]) == list(range(len(days)))
        assert mask_days(row["absent_mask"]) == [i for i, d in enumerate(days) if d.day % 3 == 0]


def test_the_horizon_keeps_the_latest_64_school_days(minimal: Path, write: WriteFile) -> None:
    days = pl.date_range(date(2026, 1, 1), AS_OF, eager=True).to_list()[-70:]
    write("attendance.csv", att(*[(d.isoformat(), "孙七", "缺勤", SCHOOL) for d in days]))
    digest = load_inputs(minimal, as_of=AS_OF).attendance
    assert digest is not None
    row = digest.sightings.row(0, named=True)
    assert row["days"] == 70
    assert row["absent_mask"] == row["rows_mask"] == (1 << 64) - 1
