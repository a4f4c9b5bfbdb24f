"""The nightly registry refresh writes only what changed and ends as a full import would.

Every world starts with ``REGISTRY`` imported (with ``RESIDENCE``). Each test imports
another night and checks what a user sees: the counts reported, the rows in the
database afterwards, row ids that stay put, and a failed import that changes nothing.
Tests taking ``any_world`` run on SQLite and, when reachable, PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import (
    POOL,
    REGISTRY,
    RESIDENCE,
    S_BACK,
    S_CROSS,
    S_SAME,
    S_SUSPENDED,
    SCHOOLS,
    SEEDS,
    A,
    B,
    C,
    World,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loguru import logger
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

import xueji.workflow.registry as registry_module
from xueji.db import metadata
from xueji.workflow import approve, import_registry, seed_transfers
from xueji.workflow.bulk import STALE_TRIGGER

NEW_STUDENT = "G430104201703019998"
SHOWN = (
    "student_no, school_code, id_number, name, gender, birth_date, grade, class_name, status, "
    "res_hukou_area_code, res_residence_area_code, res_hukou_moved_in_date"
)


def rows(w: World) -> list[tuple[Any, ...]]:
    """Every student as stored (without id), in key order."""
    return sorted(
        (tuple(r) for r in w.sql(f"SELECT {SHOWN} FROM students")), key=lambda t: (t[0], t[1])
    )


def ids(w: World) -> dict[tuple[str, str], int]:
    return {
        (no, school): i
        for i, no, school in w.sql("SELECT id, student_no, school_code FROM students")
    }


def expected(night: pl.DataFrame, residence: pl.DataFrame | None) -> list[tuple[Any, ...]]:
    """What a full import of ``night`` stores (``night`` has no duplicate keys here)."""
    res = {} if residence is None else {r["id_number"]: r for r in residence.to_dicts()}
    out = []
    for r in night.to_dicts():
        p = res.get(r["id_number"], {})
        out.append(
            (
                r["student_no"], r["school_code"], r["id_number"], r["name"], r["gender"],
                r["birth_date"], r["grade"], r["class_name"], r["status"],
                p.get("hukou_area_code"), p.get("residence_area_code"), p.get("hukou_moved_in_date"),
            )
        )  # fmt: skip
    return sorted(out, key=lambda t: (t[0], t[1]))


def next_night() -> pl.DataFrame:
    """Two students changed in place, one moved A → B, one gone, one new at B."""
    night = REGISTRY.with_columns(
        pl.when(pl.col("student_no") == S_SAME)
        .then(pl.lit("2班"))
        .otherwise("class_name")
        .alias("class_name"),
        pl.when(pl.col("student_no") == S_SUSPENDED)
        .then(pl.lit("enrolled"))
        .otherwise("status")
        .alias("status"),
        pl.when(pl.col("student_no") == POOL[1])
        .then(pl.lit(B))
        .otherwise("school_code")
        .alias("school_code"),
    ).filter(pl.col("student_no") != POOL[2])
    new = night.filter(pl.col("student_no") == POOL[3]).with_columns(
        pl.lit(NEW_STUDENT).alias("student_no"), pl.lit(B).alias("school_code")
    )
    return pl.concat([night, new])


def _normalised(values: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    # SQLite hands dates back as text, PostgreSQL as dates.
    return [tuple(v.isoformat() if isinstance(v, date) else v for v in row) for row in values]


def test_steady_night_reports_the_changes_and_stores_the_registry(any_world: World) -> None:
    before = ids(any_world)
    night = next_night()
    result = import_registry(any_world.engine, SCHOOLS, night, RESIDENCE)
    assert result.describe() == (
        "schools: 0 added, 4 updated; students: 2 added, 27 updated, 2 removed; "
        "2 students found in residence data"
    )
    assert _normalised(rows(any_world)) == _normalised(expected(night, RESIDENCE))
    after = ids(any_world)
    # Rows kept (changed or not) keep their ids; a moved student is a new row at B.
    assert after[(S_SAME, A)] == before[(S_SAME, A)]
    assert after[(S_SUSPENDED, A)] == before[(S_SUSPENDED, A)]
    assert after[(S_CROSS, A)] == before[(S_CROSS, A)]
    assert (POOL[1], A) not in after and (POOL[2], A) not in after
    assert {(POOL[1], B), (NEW_STUDENT, B)} <= after.keys()
    assert after[(POOL[1], B)] not in before.values()


def test_a_night_without_changes_writes_no_student(any_world: World) -> None:
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m)), level="DEBUG", format="{message}")
    try:
        result = import_registry(any_world.engine, SCHOOLS, REGISTRY, RESIDENCE)
    finally:
        logger.remove(sink)
    assert result.describe() == (
        "schools: 0 added, 4 updated; students: 0 added, 29 updated, 0 removed; "
        "2 students found in residence data"
    )
    assert any(
        "students written: 0 inserted, 0 updated in place, 0 deleted, 29 unchanged" in m
        for m in messages
    )


@pytest.mark.parametrize("value", ["", None, "1班"], ids=["empty", "none", "back"])
def test_an_empty_text_and_no_value_are_changes_of_their_own(
    any_world: World, value: str | None
) -> None:
    # 1班 → "" → None → value: each night stores exactly what its registry says.
    for class_name in ("", None, value):
        night = REGISTRY.with_columns(
            pl.when(pl.col("student_no") == S_SAME)
            .then(pl.lit(class_name, pl.String))
            .otherwise("class_name")
            .alias("class_name")
        )
        import_registry(any_world.engine, SCHOOLS, night, RESIDENCE)
        stored = any_world.sql("SELECT class_name FROM students WHERE student_no = :s", s=S_SAME)
        assert stored == [(class_name,)]


def test_refresh_puts_back_rows_another_writer_changed(any_world: World) -> None:
    # A completed transfer moves POOL[0] from A to B (class 2班); someone fixes a name by hand.
    seed_transfers(any_world.engine, SEEDS)
    assert approve(any_world.engine, any_world.users["reg_b1"], 3).state == "completed"
    any_world.sql("UPDATE students SET name = '手改' WHERE student_no = :s", s=S_SAME)
    # Tonight's registry still has POOL[0] at A: the import makes the view the registry's.
    result = import_registry(any_world.engine, SCHOOLS, REGISTRY, RESIDENCE)
    assert result.describe() == (
        "schools: 0 added, 4 updated; students: 1 added, 28 updated, 1 removed; "
        "2 students found in residence data"
    )
    assert _normalised(rows(any_world)) == _normalised(expected(REGISTRY, RESIDENCE))


def test_refresh_is_right_without_the_fingerprint_trigger(any_world: World) -> None:
    # A database whose students table was rebuilt without the trigger: fingerprints are
    # not trusted, every row is compared again.
    on = " ON students" if any_world.engine.dialect.name == "postgresql" else ""
    any_world.sql(f"DROP TRIGGER {STALE_TRIGGER}{on}")
    any_world.sql("UPDATE students SET status = 'dropped' WHERE student_no = :s", s=S_BACK)
    night = next_night()
    result = import_registry(any_world.engine, SCHOOLS, night, RESIDENCE)
    assert "students: 2 added, 27 updated, 2 removed" in result.describe()
    assert _normalised(rows(any_world)) == _normalised(expected(night, RESIDENCE))


def test_import_of_every_school_but_one_leaves_that_one_alone(any_world: World) -> None:
    held_at_c = [r for r in rows(any_world) if r[1] == C]
    ids_at_c = {k: v for k, v in ids(any_world).items() if k[1] == C}
    night = next_night().filter(pl.col("school_code") != C)
    result = import_registry(
        any_world.engine, SCHOOLS.filter(pl.col("school_code") != C), night, RESIDENCE
    )
    assert result.describe() == (
        "schools: 0 added, 3 updated; students: 2 added, 25 updated, 2 removed; "
        "1 students found in residence data"
    )
    assert [r for r in rows(any_world) if r[1] == C] == held_at_c
    assert {k: v for k, v in ids(any_world).items() if k[1] == C} == ids_at_c
    assert _normalised([r for r in rows(any_world) if r[1] != C]) == _normalised(
        expected(night, RESIDENCE)
    )


def _renumbered() -> pl.DataFrame:
    """Every student under a new number: a load of only new rows (a bulk load)."""
    return REGISTRY.with_columns(("N" + pl.col("student_no")).alias("student_no"))


def _schema(w: World) -> dict[str, Any]:
    found = inspect(w.engine)
    return {
        "indexes": sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"]))
            for i in found.get_indexes("students")
        ),
        "uniques": sorted(
            (u["name"], tuple(u["column_names"])) for u in found.get_unique_constraints("students")
        ),
    }


def _snapshot(w: World) -> dict[str, Any]:
    return {
        "students": w.sql("SELECT * FROM students ORDER BY id"),
        "schools": w.sql("SELECT * FROM schools ORDER BY school_code"),
        "imports": w.sql("SELECT * FROM registry_imports ORDER BY id"),
        **_schema(w),
    }


@pytest.mark.parametrize("bulk", [False, True], ids=["steady", "bulk"])
def test_a_failed_refresh_leaves_the_database_as_it_was(
    any_world: World, monkeypatch: pytest.MonkeyPatch, bulk: bool
) -> None:
    night = next_night()
    if bulk:
        monkeypatch.setattr(registry_module, "BULK_ROWS", 0)
        night = _renumbered()
    before = _snapshot(any_world)

    def fail(*_args: object) -> None:
        raise RuntimeError("disk full")

    # The import's last statement fails: everything before it must be rolled back.
    monkeypatch.setattr(registry_module, "_record_import", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        import_registry(
            any_world.engine, SCHOOLS.with_columns(pl.lit("改名").alias("school_name")), night
        )
    assert _snapshot(any_world) == before


def test_a_bulk_load_leaves_the_indexes_the_models_declare(
    any_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_module, "BULK_ROWS", 0)
    before = _schema(any_world)
    result = import_registry(any_world.engine, SCHOOLS, _renumbered(), RESIDENCE)
    assert "students: 29 added, 0 updated, 29 removed" in result.describe()
    assert _schema(any_world) == before
    with any_world.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata()) == []
    with pytest.raises(IntegrityError):  # the key is unique again
        any_world.sql(
            "INSERT INTO students (student_no, school_code) VALUES (:n, :s)", n="N" + S_SAME, s=A
        )


# --- random nights ----------------------------------------------------------------------

NUMBERS = [S_SAME, S_CROSS, S_BACK, *POOL[:5]]
SCHOOL_CODES = [A, B, C]
ID_NUMBERS = [S_CROSS[1:], S_BACK[1:], "430104201703010099", None]

a_row = st.fixed_dictionaries(
    {
        "student_no": st.sampled_from([*NUMBERS, None]),
        "school_code": st.sampled_from(SCHOOL_CODES),
        "id_number": st.sampled_from(ID_NUMBERS),
        "name": st.sampled_from(["王小明", "李华", "", None]),
        "gender": st.sampled_from(["M", "F", None]),
        "birth_date": st.sampled_from([date(2017, 3, 1), date(2016, 2, 29), None]),
        "grade": st.sampled_from([3, 4, None]),
        "class_name": st.sampled_from(["1班", "2班", '3班,"实验"', "", None]),
        "status": st.sampled_from(["enrolled", "suspended", "dropped", None]),
    }
)


def _model(night: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """A full import, written out plainly: per key the first active row, else the first."""
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in night:
        if r["student_no"] is None:
            continue
        key = (r["student_no"], r["school_code"])
        held = chosen.get(key)
        active = r["status"] in ("enrolled", "suspended")
        if held is None or (active and held["status"] not in ("enrolled", "suspended")):
            chosen[key] = r
    frame = (
        pl.DataFrame(list(chosen.values()), schema=REGISTRY.schema) if chosen else REGISTRY.clear()
    )
    return expected(frame, RESIDENCE)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(nights=st.lists(st.lists(a_row, max_size=12), min_size=1, max_size=3))
def test_random_nights_end_as_a_full_import_would(
    world: World, nights: list[list[dict[str, Any]]]
) -> None:
    for night in nights:
        held = set(ids(world))
        frame = pl.DataFrame(night, schema=REGISTRY.schema) if night else REGISTRY.clear()
        result = import_registry(world.engine, SCHOOLS, frame, RESIDENCE)
        stored = _model(night)
        keys = {(r[0], r[1]) for r in stored}
        assert (result.students_added, result.students_updated, result.students_removed) == (
            len(keys - held),
            len(keys & held),
            len(held - keys),
        )
        assert _normalised(rows(world)) == _normalised(stored)
