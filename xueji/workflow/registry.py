"""The registry view in the database: schools and students, refreshed by each import.

``xueji registry import DATA_DIR`` and every audit call ``import_registry``. Schools
are upserted by school_code. Students are refreshed school by school: every school in
the import (in ``schools`` or named by a registry row) ends up with exactly the
registry rows of the import, so one county's import leaves other counties alone.

Most students are the same from one night to the next, so the import writes only the
difference. Each row carries a fingerprint (``row_hash``: a hash of all its columns,
computed by Polars); the database keeps the fingerprint of the row as last imported,
and a trigger clears it when anything else changes the row. The import reads back
(id, row_hash) in one query, matches fingerprints in Polars, fetches the keys of the
rows that did not match, and pairs them on (student_no, school_code): a pair is
updated in place (its id stays), an unpaired new row is inserted, an unpaired old row
deleted. All in one transaction, with bulk statements (``xueji.workflow.bulk``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from loguru import logger
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from xueji.db import session_scope
from xueji.db.models import RegistryImport, School
from xueji.errors import InputError
from xueji.vocabulary import ACTIVE
from xueji.workflow.bulk import student_store
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
KEY = ("student_no", "school_code")
# A fixed seed: a fingerprint must come out the same in every process. Polars keeps its
# hash stable within a version only; after an upgrade the first import finds every
# fingerprint changed and rewrites every row once (slower, still right: a fingerprint
# that differs only costs a write, and equal ones need equal rows, collisions aside).
_HASH_SEED = 0x78756A69
# A load of at least this many rows that outnumbers the rows kept is a bulk load: the
# indexes are built after the rows instead of row by row (``StudentStore.insert``).
BULK_ROWS = 100_000
_BATCH = 20_000


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


def _first_per_key(frame: pl.LazyFrame, key: list[str], prefer: str | None = None) -> pl.LazyFrame:
    """The first row of each ``key`` (the first with ``prefer`` true, when given).

    Almost every key occurs once, and deduplicating a million rows on their strings
    costs more than the rest of the import's Polars work together. A 64-bit hash of
    the key finds the rows that may share a key; only those few are deduplicated on
    the key itself (a hash collision costs nothing but a row in that small set).
    Rows of keys that occur once keep their order; the others follow them.
    """
    shared = pl.struct(key).hash().is_duplicated()
    several = frame.filter(shared)
    if prefer is not None:
        several = several.sort(prefer, descending=True, maintain_order=True)
    return pl.concat(
        [frame.filter(~shared), several.unique(key, keep="first", maintain_order=True)]
    )


@dataclass(frozen=True)
class Incoming:
    """Tonight's students as the import stores them, and what it left out."""

    rows: pl.DataFrame  # one per (student_no, school_code), with residence columns and row_hash
    rows_skipped: int  # without student_no or school_code
    duplicates: int  # a second row for one (student_no, school_code)
    residence_matched: int | None  # rows found in residence data; None without it


def incoming_students(typed: pl.DataFrame, residence: pl.DataFrame | None) -> Incoming:
    """The rows to store for ``typed`` (``STUDENT_COLUMNS``), as one lazy plan.

    One row per key, an active row winning over an inactive one; the residence
    columns joined on id_number; ``row_hash`` over every stored column.
    """
    keyed = typed.lazy().drop_nulls(list(KEY))
    active = pl.col("status").is_in(ACTIVE).fill_null(False).alias("_active")
    unique = _first_per_key(keyed.with_columns(active), list(KEY), prefer="_active").drop("_active")
    if residence is None:
        stored = unique.with_columns(
            pl.lit(None, pl.String).alias("res_hukou_area_code"),
            pl.lit(None, pl.String).alias("res_residence_area_code"),
            pl.lit(None, pl.Date).alias("res_hukou_moved_in_date"),
        )
    else:
        people = (
            residence.lazy()
            .select(
                pl.col("id_number").cast(pl.String),
                *[
                    (pl.col(src) if src in residence.columns else pl.lit(None))
                    .cast(pl.Date if src.endswith("date") else pl.String)
                    .alias(dst)
                    for src, dst in RESIDENCE_COLUMNS.items()
                ],
            )
            .drop_nulls("id_number")
        )
        stored = unique.join(_first_per_key(people, ["id_number"]), on="id_number", how="left")
    rows = stored.with_columns(
        pl.struct(pl.all()).hash(_HASH_SEED).reinterpret(signed=True).alias("row_hash")
    ).collect()
    with_key = typed.select(pl.all_horizontal(pl.col(list(KEY)).is_not_null()).sum()).item()
    matched = None
    if residence is not None:
        matched = rows.select(pl.col("res_hukou_area_code").is_not_null().sum()).item()
    return Incoming(rows, typed.height - with_key, with_key - rows.height, matched)


@dataclass(frozen=True)
class Changes:
    """What the import writes to the students table, and what it leaves as it is."""

    added: pl.DataFrame  # new rows (every column, row_hash included)
    updated: pl.DataFrame  # changed rows: id + every column but the key (it paired them)
    removed: pl.Series  # ids of rows no longer in the registry
    unchanged: int  # rows whose fingerprint matched: nothing to write

    @property
    def kept(self) -> int:
        """Students of the import that the database already held (changed or not)."""
        return self.unchanged + self.updated.height


def diff_students(
    incoming: pl.DataFrame,
    held: pl.DataFrame,
    keys_of: Callable[[pl.Series], pl.DataFrame],
) -> Changes:
    """Compare tonight's rows with the database's, by fingerprint and then by key.

    ``incoming``: the import's rows with ``row_hash``; ``held``: (id, row_hash) of the
    rows the database holds for the imported schools, row_hash null where it cannot be
    trusted; ``keys_of(ids)``: (id, student_no, school_code) of those rows. Keys are
    unique on both sides, so a row whose fingerprint is held is held unchanged (the
    fingerprint covers the key), and only the rows left over need their keys read.
    """
    trusted = held.drop_nulls("row_hash")
    fresh = incoming.join(trusted, on="row_hash", how="anti")
    stale_ids = held.join(incoming.select("row_hash"), on="row_hash", how="anti")["id"]
    stale = keys_of(stale_ids)
    return Changes(
        added=fresh.join(stale, on=list(KEY), how="anti"),
        updated=fresh.join(stale, on=list(KEY), how="inner").select(
            "id", *(c for c in incoming.columns if c not in KEY)
        ),
        removed=stale.join(fresh, on=list(KEY), how="anti")["id"],
        unchanged=incoming.height - fresh.height,
    )


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


def _record_import(
    conn: Connection,
    now: datetime,
    source: str,
    schools: int,
    students: int,
    residence: pl.DataFrame | None,
) -> None:
    conn.execute(
        insert(RegistryImport).values(
            imported_at=now,
            source=source,
            schools=schools,
            students=students,
            residence_rows=None if residence is None else residence.height,
        )
    )


def import_registry(
    engine: Engine,
    schools: pl.DataFrame,
    registry: pl.DataFrame,
    residence: pl.DataFrame | None = None,
    source: str = "",
) -> ImportResult:
    """Upsert ``schools`` and make the students of every imported school those of ``registry``.

    Frames use the contract's English column names, normalised as ``xueji.io`` loads
    them. ``residence`` (optional) adds each student's residence-data hukou and
    residence codes, which ``xueji transfer show`` uses to corroborate a hukou_move.
    Rows without student_no or school_code are left out and counted.
    """
    school_rows, schools_skipped = _schools(schools)
    typed = _typed(registry, "registry", STUDENT_COLUMNS)
    named = typed.filter(pl.all_horizontal(pl.col(list(KEY)).is_not_null()))["school_code"].unique()
    codes = sorted(set(school_rows["school_code"].to_list()) | set(named.to_list()))
    now = utc_now()
    # Polars prepares tonight's rows in a second thread (it lets go of the GIL) while
    # the database hands over what it holds: on two cores that hides most of either.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry-import") as pool:
        preparing = pool.submit(incoming_students, typed, residence)
        with session_scope(engine) as session:
            conn = session.connection()
            with student_store(conn) as store:
                known = conn.execute(select(col(School.school_code))).scalars().all()
                schools_added = school_rows.filter(~pl.col("school_code").is_in(known)).height
                _upsert_schools(conn, school_rows, now)
                held = store.fingerprints(codes)
                incoming = preparing.result()
                changes = diff_students(incoming.rows, held, store.keys)
                store.delete(changes.removed)
                store.update(changes.updated)
                bulk = changes.added.height >= max(BULK_ROWS, changes.kept)
                store.insert(changes.added, bulk=bulk)
            _record_import(conn, now, source, school_rows.height, incoming.rows.height, residence)
    logger.debug(
        "students written: {:,} inserted, {:,} updated in place, {:,} deleted, {:,} unchanged",
        changes.added.height,
        changes.updated.height,
        changes.removed.len(),
        changes.unchanged,
    )
    return ImportResult(
        schools_added=schools_added,
        schools_updated=school_rows.height - schools_added,
        students_added=changes.added.height,
        students_updated=changes.kept,
        students_removed=changes.removed.len(),
        rows_skipped=schools_skipped + incoming.rows_skipped,
        duplicates_skipped=incoming.duplicates,
        residence_matched=incoming.residence_matched,
    )
