"""Where the database is, how to connect to it, and how to bring its schema to head.

URL resolution: the ``--db`` option, else ``$XUEJI_DB``, else ``sqlite:///xueji.db``
(a file in the current folder). PostgreSQL is reached with a URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/xueji``; a bare ``postgresql://`` URL is
read as the psycopg (v3) driver, the one xueji ships with.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from xueji.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from alembic.config import Config as AlembicConfig

DB_ENV = "XUEJI_DB"
DEFAULT_URL = "sqlite:///xueji.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Execution option a read-only connection carries so SQLite starts it with a plain
# (deferred) BEGIN instead of BEGIN IMMEDIATE; see ``_sqlite_hooks``.
READ_ONLY = "xueji_read_only"


def resolve_url(option: str | None = None) -> str:
    """The database URL: ``option`` (the ``--db`` value) > ``$XUEJI_DB`` > ``sqlite:///xueji.db``."""
    url = option or os.environ.get(DB_ENV) or DEFAULT_URL
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            url = "postgresql+psycopg://" + url[len(bare) :]
    return url


def _sqlite_hooks(engine: Engine) -> None:
    """Make SQLite transactions real and writers serial.

    sqlite3's legacy mode issues no BEGIN before a SELECT, so a read-then-write step
    would read outside its own transaction. We take over BEGIN: writers start with
    BEGIN IMMEDIATE (the write lock is taken at once, so two approvals of one step run
    one after the other and the second sees the first's result); read-only connections
    start with a deferred BEGIN so reports never wait on each other.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        # WAL lets readers go on while one writer holds the lock.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _create_private_file(database: str) -> None:
    """Create a new SQLite file readable by its owner only: it holds ID numbers."""
    path = Path(database)
    if database in ("", ":memory:") or path.exists():
        return
    if not path.parent.is_dir():
        raise ConfigError(f"database folder {path.parent} does not exist (create it, or pass --db)")
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (resolved with ``resolve_url``), with SQLite made transactional."""
    resolved = resolve_url(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError as exc:
        raise ConfigError(f"database URL {resolved!r} cannot be read ({exc})") from exc
    if parsed.get_backend_name() == "sqlite":
        _create_private_file(parsed.database or "")
        engine = create_engine(resolved, connect_args={"timeout": 30})
        _sqlite_hooks(engine)
        return engine
    return create_engine(resolved, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` talks to SQLite (some statements differ by dialect)."""
    return engine.dialect.name == "sqlite"


@contextmanager
def session_scope(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back if it raises.

    ``read_only=True`` marks the transaction as a reader (no write lock on SQLite).
    Objects stay readable after the commit (``expire_on_commit=False``) so callers can
    print what they got.
    """
    with engine.connect() as conn:
        if read_only:
            conn = conn.execution_options(**{READ_ONLY: True})
        with Session(bind=conn, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


def alembic_config(engine: Engine | None = None) -> AlembicConfig:
    """An Alembic configuration pointing at the migrations shipped inside the package."""
    # Imported here: Alembic takes a second to import and most commands never migrate.
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def init_db(engine: Engine) -> None:
    """Create or upgrade the schema to the newest revision of every branch ("heads").

    Upgrading to *heads* rather than *head* keeps working when two features added
    revisions on top of the same parent at once; ``xueji db init`` then brings both in.
    """
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revisions the database is at (empty before ``init_db``)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
