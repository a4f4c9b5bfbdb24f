"""The registry view in the database: schools and students, refreshed by each import.

``xueji registry import DATA_DIR`` and every audit call ``import_registry``. Schools
are upserted by school_code. Students are replaced school by school: every school in
the import (in ``schools`` or named by a registry row) gets exactly the registry rows
of the import, so one county's import leaves other counties alone. All in one
transaction, with bulk statements.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from xueji.db import session_scope
from xueji.db.models import RegistryImport, School, Student
from xueji.errors import InputError
from xueji.rules.frames import ACTIVE
from xueji.workflow.events import utc_now

SCHOOL_COLUMNS: dict[str, pl.DataType] = {
    "school_code": pl.String(),
    "school_name": pl.String(),
    "county_code": pl.String(),
    "level": pl.String(),
    "ownership": pl.String(),
    "design_capacity": pl.Int64(),
}
STUDENT_COLUMNS: dict[str, pl.DataType] = {
    "student_no": pl.String(),
    "school_code": pl.String(),
    "id_number": pl.String(),
    "name": pl.String(),
    "gender": pl.String(),
    "birth_date": pl.Date(),
    "grade": pl.Int64(),
    "class_name": pl.String(),
    "status": pl.String(),
}
RESIDENCE_COLUMNS: dict[str, str] = {
    "hukou_area_code": "res_hukou_area_code",
    "residence_area_code": "res_residence_area_code",
    "hukou_moved_in_date": "res_hukou_moved_in_date",
}
_REQUIRED = {
    "schools": ("school_code", "school_name", "county_code", "level"),
    "registry": ("student_no", "school_code"),
}
_BATCH = 20_000
_IN_LIST = 500


@dataclass(frozen=True)
class ImportResult:
    """What an import changed, and what it had to leave out."""

    schools_added: int
    schools_updated: int
    students_added: int
    students_updated: int
    students_removed: int
    rows_skipped: int  # rows without a usable key (student_no, school_code, school fields)
    duplicates_skipped: int  # a second row for one (student_no, school_code)
    residence_matched: int | None  # students found in residence data; None without it

    def describe(self) -> str:
        """One readable sentence."""
        text = (
            f"schools: {self.schools_added:,} added, {self.schools_updated:,} updated; "
            f"students: {self.students_added:,} added, {self.students_updated:,} updated, "
            f"{self.students_removed:,} removed"
        )
        if self.rows_skipped or self.duplicates_skipped:
            text += f"; {self.rows_skipped:,} rows without a key and {self.duplicates_skipped:,} duplicate rows left out"
        if self.residence_matched is not None:
            text += f"; {self.residence_matched:,} students found in residence data"
        return text


def _typed(frame: pl.DataFrame, table: str, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    missing = [c for c in _REQUIRED[table] if c not in frame.columns]
    if missing:
        raise InputError(
            f"{table}: {len(missing)} required column(s) missing: {', '.join(missing)}"
        )
    return frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(dtype).alias(c)
        for c, dtype in columns.items()
    )


def _schools(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    typed = _typed(frame, "schools", SCHOOL_COLUMNS)
    usable = typed.drop_nulls(_REQUIRED["schools"]).unique(
        "school_code", keep="first", maintain_order=True
    )
    return usable, typed.height - usable.height


def _students(
    registry: pl.DataFrame, residence: pl.DataFrame | None
) -> tuple[pl.DataFrame, int, int, int | None]:
    typed = _typed(registry, "registry", STUDENT_COLUMNS).with_columns(
        pl.col("status").is_in(ACTIVE).fill_null(False).alias("_active")
    )
    keyed = typed.drop_nulls(_REQUIRED["registry"])
    # Keep one row per (student_no, school_code); an active row wins over an inactive one.
    unique = (
        keyed.sort("_active", descending=True, maintain_order=True)
        .unique(["student_no", "school_code"], keep="first", maintain_order=True)
        .drop("_active")
    )
    matched: int | None = None
    if residence is None:
        unique = unique.with_columns(
            pl.lit(None, pl.String).alias("res_hukou_area_code"),
            pl.lit(None, pl.String).alias("res_residence_area_code"),
            pl.lit(None, pl.Date).alias("res_hukou_moved_in_date"),
        )
    else:
        people = (
            residence.select(
                pl.col("id_number").cast(pl.String),
                *[
                    (pl.col(src) if src in residence.columns else pl.lit(None))
                    .cast(pl.Date if src.endswith("date") else pl.String)
                    .alias(dst)
                    for src, dst in RESIDENCE_COLUMNS.items()
                ],
            )
            .drop_nulls("id_number")
            .unique("id_number", keep="first")
        )
        unique = unique.join(people, on="id_number", how="left")
        matched = unique.filter(pl.col("res_hukou_area_code").is_not_null()).height
    return unique, typed.height - keyed.height, keyed.height - unique.height, matched


def _chunks(values: list[str], size: int = _IN_LIST) -> Iterator[list[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _existing_students(conn: Connection, school_codes: list[str]) -> pl.DataFrame:
    schema = {"student_no": pl.String(), "school_code": pl.String()}
    parts = [
        pl.DataFrame(
            conn.execute(
                select(col(Student.student_no), col(Student.school_code)).where(
                    col(Student.school_code).in_(chunk)
                )
            ).all(),
            schema=schema,
            orient="row",
        )
        for chunk in _chunks(school_codes)
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _bulk_insert(conn: Connection, table: str, frame: pl.DataFrame) -> None:
    """Append ``frame`` to ``table`` by the fastest path each backend offers.

    PostgreSQL: ``COPY ... FROM STDIN`` fed with CSV that Polars writes. SQLite: one
    prepared INSERT executed over row tuples. Both skip SQLAlchemy's per-row parameter
    processing, which costs more than the database's own work at a million rows.
    """
    columns = ", ".join(frame.columns)
    # Dates as ISO text: SQLite stores them so, and PostgreSQL's COPY reads them so.
    text = frame.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d"))
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:
            sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv, NULL '\\N')"
            with cursor.copy(sql) as copy:
                for batch in text.iter_slices(_BATCH * 5):
                    copy.write(batch.write_csv(include_header=False, null_value="\\N"))
        return
    marks = ", ".join("?" for _ in frame.columns)
    for batch in text.iter_slices(_BATCH):
        if batch.height:
            conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch.rows())


def _upsert_schools(conn: Connection, schools: pl.DataFrame, now: datetime) -> None:
    if schools.is_empty():
        return
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(School)
    stmt = stmt.on_conflict_do_update(
        index_elements=["school_code"],
        set_={c: stmt.excluded[c] for c in (*SCHOOL_COLUMNS, "updated_at") if c != "school_code"},
    )
    for batch in schools.with_columns(pl.lit(now).alias("updated_at")).iter_slices(_BATCH):
        conn.execute(stmt, batch.to_dicts())


def import_registry(
    engine: Engine,
    schools: pl.DataFrame,
    registry: pl.DataFrame,
    residence: pl.DataFrame | None = None,
    source: str = "",
) -> ImportResult:
    """Upsert ``schools`` and replace the students of every imported school with ``registry``.

    Frames use the contract's English column names, normalised as ``xueji.io`` loads
    them. ``residence`` (optional) adds each student's residence-data hukou and
    residence codes, which ``xueji transfer show`` uses to corroborate a hukou_move.
    Rows without student_no or school_code are left out and counted.
    """
    school_rows, schools_skipped = _schools(schools)
    students, students_skipped, duplicates, matched = _students(registry, residence)
    codes = sorted(
        set(school_rows["school_code"].to_list()) | set(students["school_code"].unique().to_list())
    )
    now = utc_now()
    with session_scope(engine) as session:
        conn = session.connection()
        known = conn.execute(select(col(School.school_code))).scalars().all()
        schools_added = school_rows.filter(~pl.col("school_code").is_in(known)).height
        _upsert_schools(conn, school_rows, now)
        before = _existing_students(conn, codes)
        held = conn.execute(select(col(Student.school_code)).distinct()).scalars().all()
        if set(held) <= set(codes):
            # The usual nightly case: the import covers every school. A DELETE without
            # WHERE lets SQLite drop the table's pages at once instead of row by row.
            conn.execute(delete(Student))
        else:
            for chunk in _chunks(codes):
                conn.execute(delete(Student).where(col(Student.school_code).in_(chunk)))
        _bulk_insert(conn, Student.__tablename__, students)
        conn.execute(
            insert(RegistryImport).values(
                imported_at=now,
                source=source,
                schools=school_rows.height,
                students=students.height,
                residence_rows=None if residence is None else residence.height,
            )
        )
    keys = students.select("student_no", "school_code")
    updated = keys.join(before, on=["student_no", "school_code"], how="semi").height
    return ImportResult(
        schools_added=schools_added,
        schools_updated=school_rows.height - schools_added,
        students_added=keys.height - updated,
        students_updated=updated,
        students_removed=before.height - updated,
        rows_skipped=schools_skipped + students_skipped,
        duplicates_skipped=duplicates,
        residence_matched=matched,
    )
