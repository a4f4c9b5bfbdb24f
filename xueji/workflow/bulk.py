"""Bulk reads and writes of the students table, by the fastest path each backend offers.

The registry import (``xueji.workflow.registry``) works out in Polars what changed and
hands the rows to a ``StudentStore``. At a million students the cost of one Python
object per row outweighs the database's own work, so each path moves as few of them
as it can:

- reads come back as one array per column, aggregated by the database in one row
  (SQLite ``json_group_array``, decoded by Polars; PostgreSQL ``array_agg`` in binary);
  lists of ids or school codes go in as one parameter (SQLite ``json_each``,
  PostgreSQL ``= ANY(array)``);
- PostgreSQL writes go in by ``COPY`` of CSV that Polars writes, updates through a
  temporary table and one ``UPDATE ... FROM``; the import locks ``students`` against
  other writers (readers go on), so what it read is what it changes;
- SQLite writes are prepared statements executed over row tuples, in key order, with
  a large page cache for the transaction. Writers are serial already (BEGIN IMMEDIATE);
- a bulk load (the first night) drops the indexes it can and builds them again after
  the rows, which is faster than keeping them up to date row by row.

Every statement runs on the caller's connection, inside its transaction. SQLite needs
its JSON functions (built in since 3.38, and in most builds before).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Protocol

import polars as pl
from sqlalchemy import Connection, Index, Table, UniqueConstraint
from sqlalchemy.schema import AddConstraint

from xueji.db.models import Student

TABLE = "students"
# The trigger of migration 0004 that clears row_hash on any other UPDATE; without it
# the stored fingerprints cannot be trusted (see ``StudentStore.fingerprints``).
STALE_TRIGGER = "students_row_hash_stale"
_BATCH = 20_000  # rows per executemany
_COPY_BATCH = 100_000  # rows per CSV chunk written to COPY
_SQLITE_CACHE_KIB = 256 * 1024  # page cache for the import's transaction

FINGERPRINTS: dict[str, pl.DataType] = {"id": pl.Int64(), "row_hash": pl.Int64()}
KEYS: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "student_no": pl.String(),
    "school_code": pl.String(),
}


class StudentStore(Protocol):
    """What the import needs of the students table."""

    def fingerprints(self, school_codes: Sequence[str]) -> pl.DataFrame:
        """(id, row_hash) of the students of ``school_codes``.

        row_hash is null where it cannot be trusted: cleared by another writer, or the
        database lacks the trigger that would clear it.
        """
        ...

    def keys(self, ids: pl.Series) -> pl.DataFrame:
        """(id, student_no, school_code) of the students ``ids``."""
        ...

    def delete(self, ids: pl.Series) -> None:
        """Delete the students ``ids``."""
        ...

    def update(self, rows: pl.DataFrame) -> None:
        """Overwrite every other column of the students ``rows["id"]`` with ``rows``."""
        ...

    def insert(self, rows: pl.DataFrame, *, bulk: bool) -> None:
        """Append ``rows``; ``bulk``: they are most of the table, so the indexes are
        built once after the rows rather than kept up to date row by row."""
        ...


@contextmanager
def student_store(conn: Connection) -> Iterator[StudentStore]:
    """The store of the dialect of ``conn``, for the length of the block."""
    if conn.dialect.name == "postgresql":
        store: StudentStore = _PostgresStudents(conn)
        yield store
        return
    sqlite = _SQLiteStudents(conn)
    try:
        yield sqlite
    except BaseException:
        with suppress(Exception):  # the import's own error is the one to report
            sqlite.close()
        raise
    sqlite.close()


def _as_text(rows: pl.DataFrame) -> pl.DataFrame:
    # Dates as ISO text: SQLite stores them so (SQLAlchemy's Date), and COPY reads them so.
    return rows.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d"))


def _from_json_arrays(arrays: Sequence[str | None], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A frame from one JSON array per column (SQLite's ``json_group_array``)."""
    texts = pl.DataFrame({name: [text or "[]"] for name, text in zip(schema, arrays, strict=True)})
    decoded = texts.select(pl.col(n).str.json_decode(pl.List(t)) for n, t in schema.items())
    return decoded.explode(list(schema))


def _from_lists(lists: Sequence[list[Any] | None], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A frame from one list per column (PostgreSQL's ``array_agg``; None when no rows)."""
    return pl.DataFrame(
        [
            pl.Series(n, values or [], dtype=t)
            for (n, t), values in zip(schema.items(), lists, strict=True)
        ]
    )


def _json(values: pl.Series | Sequence[str]) -> str:
    return json.dumps(values.to_list() if isinstance(values, pl.Series) else list(values))


class _SQLiteStudents:
    """SQLite: reads come back as one JSON array per column, aggregated by SQLite, which
    costs far less than a Python tuple per row; lists of ids and codes go in as one
    JSON parameter (``json_each``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._trusted = _has_trigger(conn)
        # The default page cache (2 MB) makes a bulk write re-read index pages over and
        # over; the pragma is the connection's, so it is put back in ``close``.
        self._cache = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
        conn.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")

    def close(self) -> None:
        self._conn.exec_driver_sql(f"PRAGMA cache_size = {self._cache}")

    def fingerprints(self, school_codes: Sequence[str]) -> pl.DataFrame:
        hashed = "row_hash" if self._trusted else "NULL"
        sql = f"SELECT json_group_array(id), json_group_array({hashed}) FROM {TABLE}"
        # Filter on the shorter list. Nightly the import names every school held (no
        # filter at all); a county's import names a few (the index finds their rows);
        # a school gone from the nightly files leaves a few held codes outside (a scan
        # skips them: going through the index for nearly every row costs seconds).
        held = set(
            self._conn.exec_driver_sql(f"SELECT DISTINCT school_code FROM {TABLE}").scalars()
        )
        inside, outside = held & set(school_codes), held - set(school_codes)
        if not outside:
            row = self._conn.exec_driver_sql(sql).one()
        elif len(inside) <= len(outside):
            sql += " WHERE school_code IN (SELECT value FROM json_each(?))"
            row = self._conn.exec_driver_sql(sql, (_json(sorted(inside)),)).one()
        else:
            sql += " WHERE school_code NOT IN (SELECT value FROM json_each(?))"
            row = self._conn.exec_driver_sql(sql, (_json(sorted(outside)),)).one()
        return _from_json_arrays(tuple(row), FINGERPRINTS)

    def keys(self, ids: pl.Series) -> pl.DataFrame:
        sql = (
            "SELECT json_group_array(id), json_group_array(student_no), "
            f"json_group_array(school_code) FROM {TABLE} "
            "WHERE id IN (SELECT value FROM json_each(?))"
        )
        return _from_json_arrays(tuple(self._conn.exec_driver_sql(sql, (_json(ids),)).one()), KEYS)

    def delete(self, ids: pl.Series) -> None:
        if ids.len():
            sql = f"DELETE FROM {TABLE} WHERE id IN (SELECT value FROM json_each(?))"
            self._conn.exec_driver_sql(sql, (_json(ids),))

    def update(self, rows: pl.DataFrame) -> None:
        columns = [c for c in rows.columns if c != "id"]
        sql = f"UPDATE {TABLE} SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?"
        for batch in _as_text(rows.select(*columns, "id")).iter_slices(_BATCH):
            self._conn.exec_driver_sql(sql, batch.rows())

    def insert(self, rows: pl.DataFrame, *, bulk: bool) -> None:
        if rows.is_empty():
            return
        indexes = _secondary_indexes() if bulk else []
        for index in indexes:
            self._conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
        marks = ", ".join("?" for _ in rows.columns)
        sql = f"INSERT INTO {TABLE} ({', '.join(rows.columns)}) VALUES ({marks})"
        # In key order the unique index grows at its end instead of all over its pages.
        for batch in _as_text(rows.sort("student_no", "school_code")).iter_slices(_BATCH):
            self._conn.exec_driver_sql(sql, batch.rows())
        for index in indexes:
            index.create(self._conn)


class _PostgresStudents:
    """PostgreSQL: reads come back as one array per column (``array_agg``, binary), writes
    go in by COPY."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        raw = conn.connection.driver_connection
        assert raw is not None
        self._raw: Any = raw
        # Other writers (a transfer completing) wait until the import commits; readers
        # do not. Without it, a row changed between our read and our write could be
        # left as the other writer made it.
        conn.exec_driver_sql(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")
        self._trusted = _has_trigger(conn)

    def _arrays(
        self, sql: str, params: Sequence[Any], schema: dict[str, pl.DataType]
    ) -> pl.DataFrame:
        # COPY TO would hand over one Python message per row; one row of arrays does not.
        with self._raw.cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            return _from_lists(cursor.fetchone(), schema)

    def _copy_in(self, table: str, rows: pl.DataFrame) -> None:
        text = _as_text(rows)
        with self._raw.cursor() as cursor:
            sql = f"COPY {table} ({', '.join(rows.columns)}) FROM STDIN (FORMAT csv, NULL '\\N')"
            with cursor.copy(sql) as copy:
                for batch in text.iter_slices(_COPY_BATCH):
                    copy.write(batch.write_csv(include_header=False, null_value="\\N"))

    def fingerprints(self, school_codes: Sequence[str]) -> pl.DataFrame:
        # A hashed ANY over a thousand codes costs less than finding out (DISTINCT)
        # whether the import covers every school held.
        hashed = "row_hash" if self._trusted else "NULL::bigint"
        sql = f"SELECT array_agg(id), array_agg({hashed}) FROM {TABLE} WHERE school_code = ANY(%s)"
        return self._arrays(sql, (list(school_codes),), FINGERPRINTS)

    def keys(self, ids: pl.Series) -> pl.DataFrame:
        sql = (
            "SELECT array_agg(id), array_agg(student_no), array_agg(school_code) "
            f"FROM {TABLE} WHERE id = ANY(%s)"
        )
        return self._arrays(sql, (ids.to_list(),), KEYS)

    def delete(self, ids: pl.Series) -> None:
        if ids.len():
            self._conn.exec_driver_sql(f"DELETE FROM {TABLE} WHERE id = ANY(%s)", (ids.to_list(),))

    def update(self, rows: pl.DataFrame) -> None:
        if rows.is_empty():
            return
        staging = "_students_changed"
        # The columns' types without their constraints: the key is not copied.
        listed = ", ".join(rows.columns)
        self._conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
            f"SELECT {listed} FROM {TABLE} WITH NO DATA"
        )
        self._copy_in(staging, rows)
        columns = ", ".join(f"{c} = c.{c}" for c in rows.columns if c != "id")
        self._conn.exec_driver_sql(
            f"UPDATE {TABLE} AS s SET {columns} FROM {staging} AS c WHERE s.id = c.id"
        )
        self._conn.exec_driver_sql(f"DROP TABLE {staging}")

    def insert(self, rows: pl.DataFrame, *, bulk: bool) -> None:
        if rows.is_empty():
            return
        if not bulk:
            self._copy_in(TABLE, rows)
            return
        # Building the indexes once after the load is faster than keeping them up to
        # date row by row. Dropping them locks readers out until the commit, which
        # only a load of most of the table (the first night) is worth.
        indexes, uniques = _secondary_indexes(), _unique_constraints()
        for index in indexes:
            self._conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
        for unique in uniques:
            self._conn.exec_driver_sql(
                f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {unique.name}"
            )
        self._copy_in(TABLE, rows)
        self._conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        for unique in uniques:
            self._conn.execute(AddConstraint(unique))
        for index in indexes:
            index.create(self._conn)


def _secondary_indexes() -> list[Index]:
    """The students table's non-unique indexes, as the models declare them."""
    table: Table = Student.__table__  # type: ignore[attr-defined]
    return sorted((ix for ix in table.indexes if not ix.unique), key=lambda ix: str(ix.name))


def _unique_constraints() -> list[UniqueConstraint]:
    """The students table's unique constraints, as the models declare them."""
    table: Table = Student.__table__  # type: ignore[attr-defined]
    found = (c for c in table.constraints if isinstance(c, UniqueConstraint))
    return sorted(found, key=lambda c: str(c.name))


def _has_trigger(conn: Connection) -> bool:
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT count(*) FROM pg_trigger "
            "WHERE tgname = %s AND tgrelid = to_regclass(%s) AND NOT tgisinternal"
        )
        return bool(conn.exec_driver_sql(sql, (STALE_TRIGGER, TABLE)).scalar())
    sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ? AND tbl_name = ?"
    return bool(conn.exec_driver_sql(sql, (STALE_TRIGGER, TABLE)).scalar())
