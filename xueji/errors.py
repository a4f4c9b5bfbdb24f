"""The project's small typed exceptions.

Only the CLI maps them to exit codes (see ``xueji.cli``); library code raises them
with a message that names the thing and the fix.
"""

from __future__ import annotations


class XuejiError(Exception):
    """Base of every error a user is meant to read; ``exit_code`` is the CLI's."""

    exit_code = 1


class InputError(XuejiError):
    """Unusable input: missing required file or columns, unreadable file (exit 2)."""

    exit_code = 2


class ConfigError(XuejiError):
    """A configuration or province profile that cannot be used (exit 2)."""

    exit_code = 2


class WorkflowRefused(XuejiError):
    """A workflow action refused by a guard, by the order of steps or by a race (exit 3)."""

    exit_code = 3


class NotAuthorised(XuejiError):
    """Missing or invalid credentials, or a role that may not act (exit 4)."""

    exit_code = 4


class NotFound(XuejiError):
    """A run, finding, transfer or student that does not exist (exit 2)."""

    exit_code = 2
