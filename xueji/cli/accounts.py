"""``xueji db init``, ``xueji user add/list``, ``xueji login``, ``xueji whoami``.

Also the options and helpers the workflow commands share: ``--db``, the current
user from ``$XUEJI_TOKEN`` or the credentials file, and rich tables.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from xueji.db import current_revisions, init_db, make_engine
from xueji.errors import ConfigError
from xueji.workflow.accounts import (
    ROLES,
    Identity,
    add_user,
    authenticate,
    create_first_admin,
    find_token,
    list_users,
    require_admin,
    revoke_user,
    save_credentials,
)

F = TypeVar("F", bound=Callable[..., Any])


def db_option(func: F) -> F:
    """`--db URL`: the database (else `$XUEJI_DB`, else `sqlite:///xueji.db`)."""
    return click.option(
        "--db",
        "db_url",
        metavar="URL",
        default=None,
        help="Database URL (default: $XUEJI_DB, else sqlite:///xueji.db).",
    )(func)


def json_option(func: F) -> F:
    """`--json`: machine-readable output for scripts."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def connect(db_url: str | None, *, migrated: bool = True) -> Engine:
    """The engine for `--db` (or its fallbacks), closed when the command ends.

    Unless `migrated=False` (`db init`), a database without xueji's tables, or one
    that cannot be reached, is refused with one line instead of a driver traceback.
    """
    engine = make_engine(db_url)
    click.get_current_context().call_on_close(engine.dispose)
    try:
        revisions = current_revisions(engine)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError(f"cannot open database {describe_url(engine)}: {reason}") from exc
    if migrated and not revisions:
        raise ConfigError(
            f"database {describe_url(engine)} has no xueji tables yet: run `xueji db init` (with the same --db)"
        )
    return engine


def signed_in(db_url: str | None) -> tuple[Engine, Identity]:
    """The engine and the user whose token the environment carries (exit 4 without one)."""
    engine = connect(db_url)
    token, _source = find_token()
    return engine, authenticate(engine, token)


def describe_url(engine: Engine) -> str:
    """The database URL without its password."""
    return engine.url.render_as_string(hide_password=True)


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table for people: as wide as the terminal, or 200 columns when piped."""
    width = shutil.get_terminal_size((200, 24)).columns if sys.stdout.isatty() else 200
    table = Table(title=title, title_justify="left", show_lines=False)
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console(width=width, file=sys.stdout).print(table)


def print_json(value: Any) -> None:
    """JSON for scripts (UTF-8, Chinese kept readable)."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@click.group("db")
def db_group() -> None:
    """Create or upgrade the database.

    \b
    Example:
        xueji db init --db sqlite:///xueji.db
    """


@db_group.command("init")
@db_option
@click.option(
    "--admin", "admin_name", default="admin", show_default=True, help="Name of the first admin."
)
def db_init(db_url: str | None, admin_name: str) -> None:
    """Bring the database to the newest schema; on an empty one, create the first admin.

    \b
    Example:
        xueji db init --db sqlite:///xueji.db
        xueji db init --db postgresql+psycopg://postgres@127.0.0.1:5432/xueji

    The admin's token is printed once, alone on the last line, so scripts can capture
    it: `TOKEN=$(xueji db init | tail -n 1)`. Running it again only upgrades.
    """
    engine = connect(db_url, migrated=False)
    init_db(engine)
    click.echo(
        f"Database {describe_url(engine)} is at revision {', '.join(current_revisions(engine))}."
    )
    made = create_first_admin(engine, admin_name)
    if made is None:
        click.echo("It already has users: no new admin was created.")
        return
    admin, token = made
    click.echo(
        f"Created the first admin {admin.name!r}. Its token is shown only now; keep it safe:"
    )
    click.echo(token)


@click.group("user")
def user_group() -> None:
    """Manage users and their tokens (admins only).

    \b
    Example:
        xueji user add wang --role school_registrar --org 4301040001
    """


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option(
    "--org", default=None, help="School code (registrar) or county/city/province code (officer)."
)
@db_option
def user_add(name: str, role: str, org: str | None, db_url: str | None) -> None:
    """Add a user and print its token once, alone on the last line.

    \b
    Example:
        xueji user add wang --role school_registrar --org 4301040001
        xueji user add zhao --role bureau_officer --org 430104
        xueji user add qian --role inspector

    A school_registrar's org is a 10-digit school code; a bureau_officer's org is the
    6-digit code of a county (430104), or of a city (430100) or province (430000)
    when a province's chain has steps at those levels.
    """
    engine, me = signed_in(db_url)
    require_admin(me)
    user, token = add_user(engine, name, role, org, created_by=me.name)
    click.echo(f"Added {user.describe()}. The token is shown only now; hand it over safely:")
    click.echo(token)


@user_group.command("list")
@db_option
@json_option
def user_list(db_url: str | None, as_json: bool) -> None:
    """List users (never their tokens).

    \b
    Example:
        xueji user list --json
    """
    engine, me = signed_in(db_url)
    require_admin(me)
    users = list_users(engine)
    if as_json:
        print_json(
            [
                {
                    "name": u.name,
                    "role": u.role,
                    "org": u.org,
                    "revoked_at": u.revoked_at.isoformat() if u.revoked_at else None,
                    "revoked_by": u.revoked_by,
                }
                for u in users
            ]
        )
        return
    print_table(
        None,
        ["name", "role", "org", "status"],
        [
            [u.name, u.role, u.org, f"revoked {u.revoked_at:%Y-%m-%d} by {u.revoked_by}" if u.revoked_at else "active"]
            for u in users
        ],
    )


@user_group.command("revoke")
@click.argument("name")
@click.option("--reason", required=True, help="Why (left the school, token lost …); recorded with the revocation.")
@db_option
def user_revoke(name: str, reason: str, db_url: str | None) -> None:
    """Revoke a user: its token stops working at once. The user stays listed, with who
    revoked it and when; transfers and events keep its name.

    \b
    Example:
        xueji user revoke wang --reason "left the school on 2026-12-01"
    """
    engine, me = signed_in(db_url)
    require_admin(me)
    user = revoke_user(engine, name, reason, revoked_by=me)
    click.echo(f"Revoked {user.describe()}: its token no longer signs in.")


@click.command("login")
@click.option("--token", default=None, help="Your token (asked for, hidden, when left out).")
@db_option
def login(token: str | None, db_url: str | None) -> None:
    """Check a token against the database and keep it in your credentials file (mode 0600).

    \b
    Example:
        xueji login --token xj_0123456789ab_...
    """
    if token is None:
        token = click.prompt("Token", hide_input=True)
    engine = connect(db_url)
    user = authenticate(engine, token)
    path = save_credentials(token)
    click.echo(f"Logged in as {user.describe()}; token saved to {path} (readable by you only).")


@click.command("whoami")
@db_option
@json_option
def whoami(db_url: str | None, as_json: bool) -> None:
    """Show who the current token belongs to and where it came from.

    \b
    Example:
        xueji whoami
    """
    engine = connect(db_url)
    token, source = find_token()
    user = authenticate(engine, token)
    if as_json:
        print_json({"name": user.name, "role": user.role, "org": user.org, "token_from": source})
        return
    click.echo(f"{user.describe()} (token from {source})")


COMMANDS: tuple[click.Command, ...] = (db_group, user_group, login, whoami)
