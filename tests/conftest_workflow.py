"""Fixtures of the workflow tests: a small registry, users with tokens, SQLite and PostgreSQL.

A template database is built once per session (migrations, registry import, users
with their Argon2 hashes) and copied for every test, so each test starts from the same
state in a few milliseconds. Test modules take the fixtures with a star import (only
the fixtures are in ``__all__``) and the data they use by name::

    from conftest_workflow import *  # noqa: F403  (fixtures)
    from conftest_workflow import A, B, World
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from xueji.cli import main
from xueji.db import init_db, make_engine
from xueji.workflow import Identity, add_user, import_registry

__all__ = ["any_world", "pg_template", "pg_world", "sqlite_template", "world"]

# Two counties of 长沙: 岳麓区 430104 and 开福区 430105; 430111 has no school here.
A, B, J = "4301040001", "4301040002", "4301040003"  # primary, primary, junior (county 430104)
C = "4301050001"  # primary (county 430105)
SCHOOLS = pl.DataFrame(
    {
        "school_code": [A, B, J, C],
        "school_name": [
            "长沙市岳麓区第一小学",
            "长沙市岳麓区第二小学",
            "长沙市岳麓区第一中学",
            "长沙市开福区第一小学",
        ],
        "county_code": ["430104", "430104", "430104", "430105"],
        "level": ["primary", "primary", "junior", "primary"],
        "ownership": ["public"] * 4,
        "design_capacity": [2000, 2000, 1500, 1800],
    }
)


def _student(
    no: str, school: str, grade: int, status: str = "enrolled", name: str = "学生"
) -> dict[str, Any]:
    return {
        "student_no": f"G{no}",
        "id_number": no,
        "name": name,
        "gender": "M",
        "birth_date": date(2017, 3, 1),
        "school_code": school,
        "grade": grade,
        "class_name": "1班",
        "status": status,
    }


# Student numbers by what the tests use them for.
S_SAME = "G430104201703010011"  # at A, grade 3: moves to B (same county)
S_CROSS = "G430104201603010012"  # at A, grade 4: moves to C (another county)
S_BACK = "G430105201603010013"  # at C, grade 4: moves to A
S_SUSPENDED = "G430104201703010014"
S_GRADUATING = "G430104201403010015"  # grade 6
S_GONE = "G430104201703010016"  # transferred_out: no active record
S_DUPLICATE = "G430104201703010017"  # active at A and at C
S_JUNIOR = "G430104201203010018"  # grade 7 at J: a primary school cannot hold it
POOL = [f"G4301042017030101{n:02d}" for n in range(20, 40)]  # grade 3 at A, for the property test

REGISTRY = pl.DataFrame(
    [
        _student(S_SAME[1:], A, 3, name="王小明"),
        _student(S_CROSS[1:], A, 4, name="李华"),
        _student(S_BACK[1:], C, 4, name="张伟"),
        _student(S_SUSPENDED[1:], A, 3, "suspended"),
        _student(S_GRADUATING[1:], A, 6),
        _student(S_GONE[1:], A, 3, "transferred_out"),
        _student(S_DUPLICATE[1:], A, 3),
        _student(S_DUPLICATE[1:], C, 3),
        _student(S_JUNIOR[1:], J, 7),
        *[_student(no[1:], A, 3) for no in POOL],
    ]
)
RESIDENCE = pl.DataFrame(
    {
        "id_number": [S_CROSS[1:], S_BACK[1:]],
        "hukou_area_code": ["430105001001", "430105002002"],
        "residence_area_code": ["430105001001", "430105002002"],
        "hukou_moved_in_date": [date(2026, 8, 1), None],
    }
)

NATIONAL_DAY = [date(2026, 10, d) for d in range(1, 9)]
AS_OF = date(2026, 11, 20)  # a Friday


def seed_rows(rows: list[tuple[str, str, str, str, date, date]]) -> pl.DataFrame:
    """Rows for ``seed_transfers``: (student, from, to, state reached, submitted_on, state_entered_on)."""
    return pl.DataFrame(
        [
            {
                "student_no": s,
                "from_school_code": f,
                "to_school_code": t,
                "to_class": "2班",
                "reason": "home_move",
                "state": state,
                "submitted_on": sub,
                "state_entered_on": entered,
            }
            for s, f, t, state, sub, entered in rows
        ]
    )


# Four seeded transfers, as the sample generator writes them (as of 2026-11-20).
SEEDS = seed_rows(
    [
        # waits 11 working days (Nov 6, 9–13, 16–20): overdue
        (S_CROSS, A, C, "receiving_school_approved", date(2026, 10, 20), date(2026, 11, 5)),
        # waits exactly 10 working days: not yet overdue
        (S_SAME, A, B, "submitted", date(2026, 11, 6), date(2026, 11, 6)),
        # waits since before National Day: overdue; one county, so completion is next
        (POOL[0], A, B, "sending_school_confirmed", date(2026, 9, 21), date(2026, 9, 28)),
        # completed: never overdue, listed as completed
        (S_BACK, C, A, "completed", date(2026, 8, 20), date(2026, 9, 1)),
    ]
)


# name → (role, org)
USERS: dict[str, tuple[str, str | None]] = {
    "reg_a1": ("school_registrar", A),
    "reg_a2": ("school_registrar", A),
    "reg_b1": ("school_registrar", B),
    "reg_b2": ("school_registrar", B),
    "reg_c1": ("school_registrar", C),
    "reg_c2": ("school_registrar", C),
    "reg_j": ("school_registrar", J),
    "off_104a": ("bureau_officer", "430104"),
    "off_104b": ("bureau_officer", "430104"),
    "off_105a": ("bureau_officer", "430105"),
    "off_105b": ("bureau_officer", "430105"),
    "off_111": ("bureau_officer", "430111"),
    "insp": ("inspector", None),
    "admin": ("admin", None),
}


@dataclass(frozen=True)
class Template:
    """A prepared database (a SQLite file, or a PostgreSQL template database) and its users."""

    url: str
    tokens: dict[str, str]
    users: dict[str, Identity]


def populate(engine: Engine) -> tuple[dict[str, str], dict[str, Identity]]:
    """Migrate, import the registry and add the users; returns tokens and identities."""
    init_db(engine)
    import_registry(engine, SCHOOLS, REGISTRY, RESIDENCE, source="tests")
    tokens, users = {}, {}
    for name, (role, org) in USERS.items():
        users[name], tokens[name] = add_user(engine, name, role, org, created_by="tests")
    return tokens, users


@dataclass
class World:
    """A test's own database, its users, and the CLI."""

    url: str
    tokens: dict[str, str]
    users: dict[str, Identity]
    home: Path
    runner: CliRunner = field(default_factory=CliRunner)
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """An engine on this test's database (made once)."""
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    def env(self, user: str | None) -> dict[str, str | None]:
        """The environment a CLI call runs in: the database, the user's token, a private home."""
        return {
            "XUEJI_DB": self.url,
            "XUEJI_TOKEN": self.tokens[user] if user else None,
            "XDG_CONFIG_HOME": str(self.home),
            "XUEJI_CONFIG": None,
        }

    def cli(self, user: str | None, *args: str) -> Result:
        """Run ``xueji ARGS`` as ``user`` (None: with no token)."""
        return self.runner.invoke(main, list(args), env=self.env(user), catch_exceptions=False)

    def apply(self, user: str, student: str, to_school: str, *extra: str) -> int:
        """Submit through the CLI; returns the new transfer's id."""
        args = [
            "--student",
            student,
            "--to-school",
            to_school,
            "--class",
            "2班",
            "--reason",
            "home_move",
        ]
        result = self.cli(user, "transfer", "apply", *args, *extra)
        assert result.exit_code == 0, result.output
        return int(result.stdout.strip().splitlines()[-1])

    def sql(self, statement: str, **params: Any) -> list[Any]:
        """Run raw SQL (to tamper with rows, as an attacker with database access would)."""
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []

    def close(self) -> None:
        """Release connections (PostgreSQL databases cannot be dropped while in use)."""
        if self._engine is not None:
            self._engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The SQLite template database, built once."""
    path = tmp_path_factory.mktemp("workflow-template") / "template.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    tokens, users = populate(engine)
    # Closing the last connection folds the WAL into the main file, so a copy of that
    # one file carries everything.
    engine.dispose()
    assert not Path(f"{path}-wal").exists()
    return Template(url, tokens, users)


@pytest.fixture
def world(sqlite_template: Template, tmp_path: Path) -> Iterator[World]:
    """A fresh copy of the SQLite template for one test."""
    source = Path(sqlite_template.url.removeprefix("sqlite:///"))
    target = tmp_path / "xueji.db"
    shutil.copyfile(source, target)
    w = World(
        f"sqlite:///{target}", sqlite_template.tokens, sqlite_template.users, tmp_path / "home"
    )
    yield w
    w.close()


# --- PostgreSQL -------------------------------------------------------------------------

PG_ADMIN = os.environ.get("XUEJI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_admin_engine() -> Engine | None:
    """An AUTOCOMMIT engine on the server's ``test`` database, or None when unreachable."""
    try:
        import psycopg

        url = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=2):
            pass
    except Exception:  # noqa: BLE001 - any failure means "not reachable": the tests skip
        return None
    return make_engine(PG_ADMIN).execution_options(isolation_level="AUTOCOMMIT")


def _pg_url(database: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def pg_template() -> Iterator[Template]:
    """A PostgreSQL template database of this session (skips when the server is unreachable)."""
    admin = _pg_admin_engine()
    if admin is None:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN}")
    name = f"xueji_tpl_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(_pg_url(name))
    try:
        tokens, users = populate(engine)
        engine.dispose()
        yield Template(_pg_url(name), tokens, users)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_world(pg_template: Template, tmp_path: Path) -> Iterator[World]:
    """A database of its own for one PostgreSQL test, copied from the template."""
    admin = _pg_admin_engine()
    assert admin is not None
    name = f"xueji_t_{uuid.uuid4().hex[:12]}"
    template = pg_template.url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    w = World(_pg_url(name), pg_template.tokens, pg_template.users, tmp_path / "home")
    try:
        yield w
    finally:
        w.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_world(request: pytest.FixtureRequest) -> World:
    """The test runs on SQLite and, when reachable, on PostgreSQL."""
    name = "world" if request.param == "sqlite" else "pg_world"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]
