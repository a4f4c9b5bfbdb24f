"""The ``xueji`` command line: one click group, one module per command group.

The CLI is thin: each command parses its options, calls a typed function in the
package and prints. Only this module maps exceptions to exit codes.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click
from loguru import logger

from xueji import __version__
from xueji.errors import XuejiError
from xueji.logging import configure

# Command name → the module under xueji/cli/ whose COMMANDS tuple holds it. Modules
# are imported only when their command runs: a registrar's `xueji transfer list`
# should not pay for importing the audit, identity and report stacks.
_COMMAND_MODULES: dict[str, str] = {
    "validate": "validate",
    "sample": "sample",
    "audit": "audit",
    "rules": "rules",
    "config": "config",
    "identity": "identity",
    "registry": "registry",
    "db": "accounts",
    "user": "accounts",
    "login": "accounts",
    "whoami": "accounts",
    "transfer": "transfer",
    "report": "report",
    "explain": "report",
    "finding": "finding",
}


class XuejiGroup(click.Group):
    """A group that loads its commands lazily and turns library errors into one
    readable line and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = _COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"xueji.cli.{module_name}")
        for command in module.COMMANDS:
            if command.name == cmd_name:
                return command
        raise RuntimeError(f"xueji.cli.{module_name} does not define the command {cmd_name!r}")

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except XuejiError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - last resort (Polars panics are BaseException)
            logger.opt(exception=exc).debug("internal error")
            click.echo(
                f"Internal error: {type(exc).__name__}: {exc} (run with -v for details)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=XuejiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xueji")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for trace).")
@click.option("-q", "--quiet", count=True, help="Less log output.")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line (for nightly jobs).")
def main(verbose: int, quiet: int, log_json: bool) -> None:
    """xueji (学籍): enrolment-status integrity checks for K-12 education bureaus.

    \b
    Example:
        xueji audit sample_data/demo --as-of 2026-11-20
    """
    configure(verbose - quiet, json=log_json)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
