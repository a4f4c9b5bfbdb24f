"""Users, roles and tokens.

A token looks like ``xj_<key>_<secret>``: the key finds the user, the secret is checked
against an Argon2id hash (salted, from argon2-cffi). Only the hash is stored, and the
token is shown once, when it is made. The CLI reads it from ``$XUEJI_TOKEN`` or from the
credentials file ``xueji login`` writes (mode 0600).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from xueji.db import session_scope
from xueji.db.models import User
from xueji.errors import InputError, NotAuthorised
from xueji.workflow.events import utc_now

TOKEN_ENV = "XUEJI_TOKEN"
ROLES = ("school_registrar", "bureau_officer", "inspector", "admin")
ACTING_ROLES = ("school_registrar", "bureau_officer")

# Which org each role needs: a school code, a GB/T 2260 code (county, city or province),
# or nothing.
_ORG_RULES: dict[str, tuple[str | None, str]] = {
    "school_registrar": (r"[0-9]{10}", "a 10-digit school code"),
    "bureau_officer": (r"[0-9]{6}", "a 6-digit county (or city/province) code"),
    "inspector": (None, ""),
    "admin": (None, ""),
}
_NAME = re.compile(r"[\w.@-]{1,64}")


def _hasher() -> PasswordHasher:
    # The secret is 256 random bits, so no guessing attack needs slowing down; the KDF is
    # there so a copied users table does not give tokens away. OWASP's Argon2id minimum
    # (19 MiB, 2 passes) keeps each CLI call under ~50 ms on a 2-core server.
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@dataclass(frozen=True)
class Identity:
    """An authenticated user, as commands see it."""

    id: int
    name: str
    role: str
    org: str | None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def describe(self) -> str:
        """``wang (school_registrar, 4301040001)``."""
        return f"{self.name} ({self.role}{', ' + self.org if self.org else ''})"


def _identity(user: User) -> Identity:
    assert user.id is not None
    return Identity(user.id, user.name, user.role, user.org, user.revoked_at, user.revoked_by)


def check_role_org(role: str, org: str | None) -> str | None:
    """The org, checked for the role (a registrar needs a school code, an officer an area code)."""
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    pattern, what = _ORG_RULES[role]
    if pattern is None:
        return org or None
    if not org or not re.fullmatch(pattern, org):
        raise InputError(f"a {role} needs --org with {what}, got {org!r}")
    return org


def _new_token() -> tuple[str, str, str]:
    key = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key, secret, f"xj_{key}_{secret}"


def add_user(
    engine: Engine, name: str, role: str, org: str | None, created_by: str | None
) -> tuple[Identity, str]:
    """Create a user; returns it and its token (shown once, never stored)."""
    if not _NAME.fullmatch(name):
        raise InputError(f"user name {name!r}: use 1–64 letters, digits, '.', '_', '@' or '-'")
    org = check_role_org(role, org)
    key, secret, token = _new_token()
    user = User(
        name=name,
        role=role,
        org=org,
        token_key=key,
        token_hash=_hasher().hash(secret),
        created_at=utc_now(),
        created_by=created_by,
    )
    try:
        with session_scope(engine) as session:
            session.add(user)
            session.flush()
            identity = _identity(user)
    except IntegrityError as exc:
        raise InputError(f"user {name!r} already exists (pick another name)") from exc
    return identity, token


def create_first_admin(engine: Engine, name: str = "admin") -> tuple[Identity, str] | None:
    """The first admin and its token, or None when the database already has users."""
    with session_scope(engine, read_only=True) as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
    return add_user(engine, name, "admin", None, created_by=None)


def authenticate(engine: Engine, token: str | None) -> Identity:
    """The user a token belongs to; NotAuthorised (exit 4) when it is missing or wrong."""
    if not token:
        raise NotAuthorised(f"no credentials: set {TOKEN_ENV} or run `xueji login --token T`")
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "xj":
        raise NotAuthorised(
            "invalid token: it should look like xj_<key>_<secret> (ask your admin for a new one)"
        )
    _, key, secret = parts
    with session_scope(engine, read_only=True) as session:
        user = session.scalars(select(User).where(col(User.token_key) == key)).first()
    if user is None:
        raise NotAuthorised(
            "invalid token: no user holds it in this database (check --db, or ask your admin)"
        )
    try:
        _hasher().verify(user.token_hash, secret)
    except (VerificationError, InvalidHashError) as exc:
        raise NotAuthorised(
            "invalid token: no user holds it in this database (check --db, or ask your admin)"
        ) from exc
    if user.revoked_at is not None:
        # Said only to the token's holder (the secret matched): a stranger learns nothing.
        raise NotAuthorised(
            f"the token of {user.name!r} was revoked on {user.revoked_at:%Y-%m-%d} by {user.revoked_by}: "
            "ask your admin"
        )
    return _identity(user)


def revoke_user(engine: Engine, name: str, reason: str, revoked_by: Identity) -> Identity:
    """Revoke ``name``: its token no longer signs in. The row stays (events and transfers
    name the user) and records who revoked it, when and why, in one transaction."""
    if not reason.strip():
        raise InputError("give a reason for the revocation (--reason)")
    if name == revoked_by.name:
        raise InputError("you cannot revoke yourself: ask another admin")
    with session_scope(engine) as session:
        user = session.scalars(select(User).where(col(User.name) == name).with_for_update()).first()
        if user is None:
            raise InputError(f"no user {name!r} in this database (see `xueji user list`)")
        if user.revoked_at is not None:
            raise InputError(f"user {name!r} was already revoked on {user.revoked_at:%Y-%m-%d} by {user.revoked_by}")
        user.revoked_at = utc_now()
        user.revoked_by = revoked_by.name
        user.revoked_reason = reason.strip()
        session.flush()
        return _identity(user)


def list_users(engine: Engine) -> list[Identity]:
    """Every user, by name (tokens are never shown again)."""
    with session_scope(engine, read_only=True) as session:
        return [_identity(u) for u in session.scalars(select(User).order_by(col(User.name)))]


def require_admin(user: Identity) -> None:
    """Only admins manage users."""
    if user.role != "admin":
        raise NotAuthorised(f"{user.describe()} may not manage users: ask an admin")


def credentials_path() -> Path:
    """``$XDG_CONFIG_HOME/xueji/credentials`` (``~/.config/xueji/credentials``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "xueji" / "credentials"


def save_credentials(token: str) -> Path:
    """Write the token to the credentials file, readable by its owner only (0600)."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # The mode of open() applies only when the file is new; make an old file private too.
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token.strip() + "\n")
    return path


def find_token() -> tuple[str | None, str]:
    """The token to use and where it came from: ``$XUEJI_TOKEN`` first, then the credentials file."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token, TOKEN_ENV
    path = credentials_path()
    if path.is_file():
        return path.read_text(encoding="utf-8").strip() or None, str(path)
    return None, "nowhere"
