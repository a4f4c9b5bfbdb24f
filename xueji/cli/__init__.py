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

# Each module exposes COMMANDS, a tuple of click commands or groups. Adding a
# command group means adding its module here and nothing else.
_COMMAND_MODULES = (
    "validate",
    "sample",
    "audit",
    "rules",
    "config",
    "identity",
    "registry",
    "accounts",
    "transfer",
    "report",
    "finding",
)


class XuejiGroup(click.Group):
    """A group that turns library errors into one readable line and an exit code."""

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


def _register() -> None:
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"xueji.cli.{name}")
        for command in module.COMMANDS:
            main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
