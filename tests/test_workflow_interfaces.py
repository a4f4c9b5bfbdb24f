"""What other parts of xueji call: overdue and completed transfers, the seed helper, the registry import."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import (
    AS_OF,
    NATIONAL_DAY,
    POOL,
    REGISTRY,
    S_BACK,
    S_CROSS,
    S_SAME,
    SCHOOLS,
    SEEDS,
    A,
    B,
    C,
    World,
    seed_rows,
)
from polars.testing import assert_frame_equal
from sqlalchemy import select

from xueji.calendar import working_days_between
from xueji.db import session_scope
from xueji.db.models import Student
from xueji.errors import InputError
from xueji.workflow import (
    approve,
    completed_transfers,
    import_registry,
    overdue_transfers,
    seed_transfers,
    verify_log,
)
from xueji.workflow.workdays import working_days_after


def test_overdue_transfers(world: World) -> None:
    assert seed_transfers(world.engine, SEEDS) == 4
    got = overdue_transfers(world.engine, AS_OF, NATIONAL_DAY, 10)
    want = pl.DataFrame(
        {
            "transfer_id": [1, 3],
            "student_no": [S_CROSS, POOL[0]],
            "from_school_code": [A, A],
            "to_school_code": [C, B],
            "state": ["receiving_school_approved", "sending_school_confirmed"],
            "waiting_since": [date(2026, 11, 5), date(2026, 9, 28)],
            "working_days_waited": [11, 2 + 1 + 5 * 6],
            "next_party": ["receiving_bureau:430105", "receiving_school:4301040002"],
        },
        schema_overrides={"transfer_id": pl.Int64, "working_days_waited": pl.Int64},
    )
    assert_frame_equal(got, want)


def test_overdue_counts_holidays_as_days_off(world: World) -> None:
    seed_transfers(
        world.engine,
        seed_rows([(S_CROSS, A, C, "submitted", date(2026, 9, 30), date(2026, 9, 30))]),
    )
    as_of = date(2026, 10, 16)
    assert overdue_transfers(world.engine, as_of, [], 10)["working_days_waited"].to_list() == [12]
    assert overdue_transfers(world.engine, as_of, NATIONAL_DAY, 10).is_empty()


def test_working_days_agree_with_the_calendar_module() -> None:
    starts = [date(2026, 9, 20) + timedelta(days=n) for n in range(60)]
    got = (
        pl.select(working_days_after(pl.Series(starts), AS_OF, NATIONAL_DAY)).to_series().to_list()
    )
    assert got == [working_days_between(s, AS_OF, NATIONAL_DAY) for s in starts]


def test_completed_transfers(world: World) -> None:
    seed_transfers(world.engine, SEEDS)
    want = pl.DataFrame(
        {
            "student_no": [S_BACK],
            "from_school_code": [C],
            "to_school_code": [A],
            "completed_on": [date(2026, 9, 1)],
        }
    )
    assert_frame_equal(completed_transfers(world.engine), want)


def test_completed_on_is_the_china_date(world: World) -> None:
    """An approval at 01:30 on 21 Nov in China is 17:30 UTC on 20 Nov: it counts as the 21st."""
    from datetime import UTC, datetime

    seed_transfers(
        world.engine, seed_rows([(S_SAME, A, B, "sending_school_confirmed", AS_OF, AS_OF)])
    )
    approve(world.engine, world.users["reg_b1"], 1, at=datetime(2026, 11, 20, 17, 30, tzinfo=UTC))
    assert completed_transfers(world.engine)["completed_on"].to_list() == [date(2026, 11, 21)]


def test_empty_database_gives_typed_empty_frames(world: World) -> None:
    overdue = overdue_transfers(world.engine, AS_OF, [], 10)
    assert overdue.is_empty()
    assert overdue.schema["transfer_id"] == pl.Int64 and overdue.schema["waiting_since"] == pl.Date
    completed = completed_transfers(world.engine)
    assert completed.is_empty() and completed.schema["completed_on"] == pl.Date


def test_seeded_transfers_have_a_valid_chain_and_go_on_normally(world: World) -> None:
    seed_transfers(world.engine, SEEDS)
    check = verify_log(world.engine)
    assert check.ok, check.problem
    assert check.events == 2 + 1 + 4 + 6  # one event per state reached
    # Same county: the seeded chain skips the sending bureau, as a submitted one would.
    steps = world.sql("SELECT steps FROM transfers WHERE id = 3")[0][0]
    assert "sending_bureau_approved" not in steps
    # A seeded transfer is an ordinary one from here on ("seed" is nobody's colleague).
    assert approve(world.engine, world.users["off_105a"], 1).state == "receiving_bureau_approved"
    assert approve(world.engine, world.users["reg_b1"], 3).state == "completed"
    assert world.sql("SELECT school_code FROM students WHERE student_no = :s", s=POOL[0]) == [(B,)]
    assert verify_log(world.engine).ok


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (SEEDS.drop("state"), "seed rows: 1 column(s) missing: state"),
        (seed_rows([(S_SAME, A, B, "sending_bureau_approved", AS_OF, AS_OF)]),
         "seed rows: 1 problem(s): row 1: state 'sending_bureau_approved' is not in this transfer's chain"),
        (seed_rows([(S_SAME, A, B, "submitted", AS_OF, AS_OF)] * 2),
         "seed rows: a student has two open transfers (one open transfer per student)"),
    ],
    ids=["missing-column", "state-not-in-chain", "two-open"],
)  # fmt: skip
def test_seed_refuses_bad_rows(world: World, rows: pl.DataFrame, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        seed_transfers(world.engine, rows)
    assert world.sql("SELECT count(*) FROM transfers") == [(0,)]


def test_seed_works_without_an_imported_registry(tmp_path: object) -> None:
    from xueji.db import init_db, make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/bare.db")
    init_db(engine)
    rows = SEEDS.with_columns(
        pl.Series("from_county_code", ["430104", "430104", "430104", "430105"]),
        pl.Series("to_county_code", ["430105", "430104", "430104", "430104"]),
    )
    assert seed_transfers(engine, rows) == 4
    assert overdue_transfers(engine, AS_OF, NATIONAL_DAY, 10)["next_party"].to_list() == [
        "receiving_bureau:430105",
        "receiving_school:4301040002",
    ]
    assert verify_log(engine).ok
    engine.dispose()


def students(w: World, school: str) -> list[tuple[str, str]]:
    return w.sql(
        "SELECT student_no, status FROM students WHERE school_code = :s ORDER BY student_no",
        s=school,
    )


def test_import_registry_replaces_the_students_of_each_imported_school(world: World) -> None:
    only_a = SCHOOLS.filter(pl.col("school_code") == A).with_columns(
        pl.lit("新校名").alias("school_name")
    )
    registry = REGISTRY.filter(pl.col("school_code") == A)
    changed = pl.concat(
        [
            # one student fewer, one status changed, one new student, one row without a number
            registry.filter(pl.col("student_no") != S_SAME).with_columns(
                pl.when(pl.col("student_no") == S_CROSS)
                .then(pl.lit("suspended"))
                .otherwise("status")
                .alias("status")
            ),
            registry.head(1).with_columns(pl.lit("G430104201703019999").alias("student_no")),
            registry.head(1).with_columns(pl.lit(None, pl.String).alias("student_no")),
            # the same (student_no, school_code) twice: the active row is kept
            registry.filter(pl.col("student_no") == S_CROSS).with_columns(
                pl.lit("dropped").alias("status")
            ),
        ]
    )
    before_c = students(world, C)
    result = import_registry(world.engine, only_a, changed)
    kept = registry.height - 1
    assert result.describe() == (
        f"schools: 0 added, 1 updated; students: 1 added, {kept} updated, 1 removed; "
        "1 rows without a key and 1 duplicate rows left out"
    )
    assert (S_SAME, "enrolled") not in students(world, A)
    assert (S_CROSS, "suspended") in students(world, A)
    assert ("G430104201703019999", "enrolled") in students(world, A)
    assert students(world, C) == before_c  # other schools are left alone
    assert world.sql("SELECT school_name FROM schools WHERE school_code = :a", a=A) == [("新校名",)]
    assert world.sql("SELECT residence_rows FROM registry_imports ORDER BY id DESC LIMIT 1") == [
        (None,)
    ]


def test_import_registry_needs_its_key_columns(world: World) -> None:
    with pytest.raises(InputError, match=r"registry: 1 required column\(s\) missing: school_code"):
        import_registry(world.engine, SCHOOLS, REGISTRY.drop("school_code"))


def test_import_keeps_nulls_empty_texts_and_dates_apart(any_world: World) -> None:
    rows = REGISTRY.head(2).with_columns(
        pl.Series("id_number", [None, "430104201703010011"]),
        pl.Series("class_name", ["", '3班,"实验"']),
        pl.Series("birth_date", [date(2016, 2, 29), None]),
    )
    import_registry(any_world.engine, SCHOOLS, rows)
    with session_scope(any_world.engine, read_only=True) as session:
        got = session.execute(
            select(Student.id_number, Student.class_name, Student.birth_date).order_by(
                Student.student_no
            )
        ).all()
    assert [tuple(r) for r in got] == [  # S_CROSS sorts before S_SAME
        ("430104201703010011", '3班,"实验"', None),
        (None, "", date(2016, 2, 29)),
    ]
