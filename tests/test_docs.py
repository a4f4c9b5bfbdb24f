"""Every command has help that starts with an example, and the README mentions it;
the README's test command is the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from xueji.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def walk(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        path = (*prefix, name)
        out.append(path)
        if isinstance(cmd, click.Group):
            out.extend(walk(cmd, path))
    return out


COMMANDS = walk(main)


def test_there_are_commands() -> None:
    assert ("validate",) in COMMANDS


def test_every_command_module_is_registered() -> None:
    import importlib

    from xueji.cli import _COMMAND_MODULES

    for module_name in set(_COMMAND_MODULES.values()):
        module = importlib.import_module(f"xueji.cli.{module_name}")
        for command in module.COMMANDS:
            assert _COMMAND_MODULES.get(command.name or "") == module_name, command.name


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`xueji {' '.join(path)} --help` shows no example"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    assert f"xueji {' '.join(path)}" in README, f"README does not mention `xueji {' '.join(path)}`"


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    commands = [line for b in blocks for line in b.splitlines() if line and not line.startswith("#")]
    assert commands[1] in ci.splitlines(), "README's second command must be .ci/run's last line"
    assert "xueji audit sample_data/demo" in commands[0]
