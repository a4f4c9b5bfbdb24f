"""Users and tokens: db init's first admin, user add/list, login, whoami, credentials."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import World
from sqlalchemy import select
from sqlmodel import col

from xueji.cli import main
from xueji.db import make_engine, session_scope
from xueji.db.models import User


def run(
    tmp_path: Path, *args: str, token: str | None = None, db: str | None = None
) -> tuple[int, str, str]:
    env = {
        "XUEJI_DB": db or f"sqlite:///{tmp_path / 'x.db'}",
        "XUEJI_TOKEN": token,
        "XDG_CONFIG_HOME": str(tmp_path / "home"),
    }
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_db_init_creates_the_first_admin_once(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "db", "init")
    assert code == 0
    lines = out.splitlines()
    # Other features add revisions after the workflow's; all are applied.
    assert lines[0].startswith(f"Database sqlite:///{tmp_path / 'x.db'} is at revision ")
    assert lines[1] == "Created the first admin 'admin'. Its token is shown only now; keep it safe:"
    token = lines[-1]
    assert token.startswith("xj_") and " " not in token
    # The token works, and only its hash is stored.
    assert run(tmp_path, "whoami", token=token)[1].startswith(
        "admin (admin) (token from XUEJI_TOKEN"
    )
    raw = (tmp_path / "x.db").read_bytes()
    assert token.split("_", 2)[2].encode() not in raw
    assert b"$argon2id$" in raw
    # Again: only upgrades, no second admin, no token.
    code, out, _ = run(tmp_path, "db", "init")
    assert code == 0
    assert out.splitlines()[-1] == "It already has users: no new admin was created."


def test_database_file_is_private(tmp_path: Path) -> None:
    run(tmp_path, "db", "init")
    assert stat.S_IMODE((tmp_path / "x.db").stat().st_mode) == 0o600


def test_user_add_prints_the_token_alone_on_the_last_line(world: World) -> None:
    result = world.cli(
        "admin", "user", "add", "zhou", "--role", "school_registrar", "--org", "4301040002"
    )
    assert result.exit_code == 0, result.output
    first, token = result.stdout.splitlines()
    assert (
        first
        == "Added zhou (school_registrar, 4301040002). The token is shown only now; hand it over safely:"
    )
    world.tokens = {**world.tokens, "zhou": token}
    assert json.loads(world.cli("zhou", "whoami", "--json").stdout) == {
        "name": "zhou",
        "role": "school_registrar",
        "org": "4301040002",
        "token_from": "XUEJI_TOKEN",
    }


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["x1", "--role", "school_registrar", "--org", "430104"], 2,
         "a school_registrar needs --org with a 10-digit school code, got '430104'"),
        (["x2", "--role", "bureau_officer"], 2,
         "a bureau_officer needs --org with a 6-digit county (or city/province) code, got None"),
        (["reg_a1", "--role", "inspector"], 2, "user 'reg_a1' already exists (pick another name)"),
        (["bad name", "--role", "inspector"], 2,
         "user name 'bad name': use 1–64 letters, digits, '.', '_', '@' or '-'"),
    ],
    ids=["registrar-needs-school", "officer-needs-county", "duplicate", "bad-name"],
)  # fmt: skip
def test_user_add_refuses_bad_input(world: World, args: list[str], code: int, message: str) -> None:
    result = world.cli("admin", "user", "add", *args)
    assert (result.exit_code, result.stderr) == (code, f"Error: {message}\n")


@pytest.mark.parametrize("user", ["reg_a1", "off_104a", "insp"])
def test_only_admins_manage_users(world: World, user: str) -> None:
    result = world.cli(user, "user", "add", "x", "--role", "inspector")
    assert result.exit_code == 4
    assert result.stderr.endswith("may not manage users: ask an admin\n")
    assert world.cli(user, "user", "list").exit_code == 4


def test_user_list_shows_no_tokens(world: World) -> None:
    result = world.cli("admin", "user", "list", "--json")
    users = json.loads(result.stdout)
    assert {"name": "off_104a", "role": "bureau_officer", "org": "430104", "revoked_at": None, "revoked_by": None} in users
    assert all(set(u) == {"name", "role", "org", "revoked_at", "revoked_by"} for u in users)
    table = world.cli("admin", "user", "list").stdout
    assert "reg_a1" in table and "xj_" not in table


def test_a_revoked_user_signs_in_no_more(any_world: World) -> None:
    w = any_world
    assert w.cli("reg_a1", "transfer", "list").exit_code == 0
    result = w.cli("admin", "user", "revoke", "reg_a1", "--reason", "left the school")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Revoked reg_a1 (school_registrar, 4301040001): its token no longer signs in.\n"
    for args in (("whoami",), ("transfer", "list")):
        refused = w.cli("reg_a1", *args)
        assert refused.exit_code == 4
        assert refused.stderr.startswith("Error: the token of 'reg_a1' was revoked on ")
        assert refused.stderr.endswith(" by admin: ask your admin\n")
    # Still listed, with who revoked it; the reason is kept in the database.
    users = {u["name"]: u for u in json.loads(w.cli("admin", "user", "list", "--json").stdout)}
    assert users["reg_a1"]["revoked_by"] == "admin" and users["reg_a1"]["revoked_at"] is not None
    assert users["reg_a2"]["revoked_at"] is None
    assert "revoked " in w.cli("admin", "user", "list").stdout
    engine = make_engine(w.url)
    try:
        with session_scope(engine, read_only=True) as session:
            reason = session.scalars(select(User.revoked_reason).where(col(User.name) == "reg_a1")).one()
    finally:
        engine.dispose()
    assert reason == "left the school"
    # Others of the same school are untouched.
    assert w.cli("reg_a2", "whoami").exit_code == 0


@pytest.mark.parametrize(
    ("user", "name", "extra", "code", "message"),
    [
        ("admin", "admin", ["--reason", "x"], 2, "Error: you cannot revoke yourself: ask another admin\n"),
        ("admin", "nobody", ["--reason", "x"], 2, "Error: no user 'nobody' in this database (see `xueji user list`)\n"),
        ("admin", "insp", ["--reason", " "], 2, "Error: give a reason for the revocation (--reason)\n"),
        ("off_104a", "reg_a1", ["--reason", "x"], 4, "may not manage users: ask an admin\n"),
    ],
)
def test_revocation_refusals(world: World, user: str, name: str, extra: list[str], code: int, message: str) -> None:
    result = world.cli(user, "user", "revoke", name, *extra)
    assert result.exit_code == code
    assert result.stderr.endswith(message)


def test_a_user_is_revoked_once(world: World) -> None:
    assert world.cli("admin", "user", "revoke", "insp", "--reason", "token lost").exit_code == 0
    again = world.cli("admin", "user", "revoke", "insp", "--reason", "token lost")
    assert again.exit_code == 2
    assert again.stderr.startswith("Error: user 'insp' was already revoked on ")
    assert again.stderr.endswith(" by admin\n")


def test_login_keeps_the_token_in_a_private_file(world: World) -> None:
    result = world.cli(None, "login", "--token", world.tokens["reg_b1"])
    assert result.exit_code == 0, result.output
    path = world.home / "xueji" / "credentials"
    assert result.stdout == (
        f"Logged in as reg_b1 (school_registrar, 4301040002); token saved to {path} (readable by you only).\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == world.tokens["reg_b1"]
    # Without XUEJI_TOKEN the file is used; XUEJI_TOKEN wins when both are there.
    assert world.cli(None, "whoami").stdout.startswith(
        f"reg_b1 (school_registrar, 4301040002) (token from {path}"
    )
    assert world.cli("insp", "whoami").stdout.startswith("insp (inspector) (token from XUEJI_TOKEN")


def test_login_prompts_for_the_token_without_echo(world: World) -> None:
    result = world.runner.invoke(
        main, ["login"], env=world.env(None), input=world.tokens["insp"] + "\n"
    )
    assert result.exit_code == 0
    assert world.tokens["insp"] not in result.output


def test_login_refuses_a_wrong_token_and_keeps_no_file(world: World) -> None:
    result = world.cli(None, "login", "--token", "xj_abcdefabcdef_wrong")
    assert result.exit_code == 4
    assert not (world.home / "xueji" / "credentials").exists()


def test_a_token_of_another_database_is_invalid(world: World, tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "db", "init", db=f"sqlite:///{tmp_path / 'other.db'}")
    result = world.runner.invoke(
        main, ["whoami"], env={**world.env(None), "XUEJI_TOKEN": out.splitlines()[-1]}
    )
    assert result.exit_code == 4
    assert (
        result.stderr
        == "Error: invalid token: no user holds it in this database (check --db, or ask your admin)\n"
    )


@pytest.mark.parametrize("token", ["garbage", "xj_only-two", ""])
def test_malformed_tokens(world: World, token: str) -> None:
    result = world.runner.invoke(main, ["whoami"], env={**world.env(None), "XUEJI_TOKEN": token})
    assert result.exit_code == 4
    assert result.stderr.startswith("Error: ")
