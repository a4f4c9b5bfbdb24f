"""The database layer: URL resolution, migrations to heads, the schema equals the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import World
from sqlalchemy import text

from xueji.cli import main
from xueji.db import (
    alembic_config,
    current_revisions,
    init_db,
    make_engine,
    metadata,
    resolve_url,
    session_scope,
)
from xueji.errors import ConfigError


def test_url_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XUEJI_DB", raising=False)
    assert resolve_url(None) == "sqlite:///xueji.db"
    monkeypatch.setenv("XUEJI_DB", "sqlite:///from-env.db")
    assert resolve_url(None) == "sqlite:///from-env.db"
    assert resolve_url("sqlite:///from-option.db") == "sqlite:///from-option.db"
    # A bare PostgreSQL URL means the psycopg (v3) driver xueji ships with.
    assert resolve_url("postgresql://u@h:5432/x") == "postgresql+psycopg://u@h:5432/x"
    assert resolve_url("postgres://u@h/x") == "postgresql+psycopg://u@h/x"


def test_unusable_urls_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        make_engine("not a url")
    with pytest.raises(ConfigError, match="does not exist"):
        make_engine(f"sqlite:///{tmp_path}/missing/x.db")


def test_session_scope_rolls_back_on_error(world: World) -> None:
    with pytest.raises(RuntimeError), session_scope(world.engine) as session:
        session.execute(text("UPDATE schools SET school_name = 'x'"))
        raise RuntimeError("boom")
    assert ("x",) not in world.sql("SELECT DISTINCT school_name FROM schools")


def _differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), metadata()))
    finally:
        engine.dispose()


def test_migrations_match_the_models_on_sqlite(world: World) -> None:
    assert _differences(world.url) == []


def test_migrations_match_the_models_on_postgresql(pg_world: World) -> None:
    assert _differences(pg_world.url) == []


def test_init_is_idempotent_and_downgrade_is_honest(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    init_db(engine)
    heads = current_revisions(engine)
    init_db(engine)
    assert current_revisions(engine) == heads
    cfg = alembic_config(engine)
    command.downgrade(cfg, "base")
    assert current_revisions(engine) == ()
    with engine.connect() as conn:
        tables = (
            conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
            .scalars()
            .all()
        )
    assert set(tables) <= {"alembic_version"}
    init_db(engine)
    assert current_revisions(engine) == heads
    engine.dispose()


def test_every_model_module_shares_one_metadata() -> None:
    tables = set(metadata().tables)
    assert {
        "schools",
        "students",
        "users",
        "transfers",
        "transfer_events",
        "event_chain_head",
    } <= tables


def test_commands_refuse_a_database_that_is_not_set_up(tmp_path: Path) -> None:
    env = {"XUEJI_DB": f"sqlite:///{tmp_path / 'new.db'}", "XUEJI_TOKEN": "xj_a_b"}
    result = CliRunner().invoke(main, ["transfer", "list"], env=env)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: database sqlite:///{tmp_path / 'new.db'} has no xueji tables yet: "
        "run `xueji db init` (with the same --db)\n"
    )


def test_commands_refuse_an_unreachable_database() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/xueji"  # port 1: nothing listens
    result = CliRunner().invoke(main, ["whoami", "--db", url], env={"XUEJI_TOKEN": "xj_a_b"})
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: cannot open database {url}: ")
    assert "Traceback" not in result.output
