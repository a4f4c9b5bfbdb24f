"""Alembic environment for xueji: one metadata, SQLite or PostgreSQL.

Programmatic use (``xueji.db.init_db``) hands over an open connection in
``config.attributes["connection"]``. From the command line the URL comes from
``-x db=URL``, else ``$XUEJI_DB``, else ``sqlite:///xueji.db``::

    uv run alembic -c xueji/db/migrations/alembic.ini -x db=sqlite:///dev.db upgrade heads
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from xueji.db import make_engine, metadata

config = context.config
target_metadata = metadata()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the connection we were given, or one of our own."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("db") or config.get_main_option(
        "sqlalchemy.url"
    )
    engine = make_engine(url or None)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("xueji migrations run online only: pass -x db=URL")
run_migrations_online()
