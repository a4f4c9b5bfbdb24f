"""Placeholder: commands of this group are not built yet."""

from __future__ import annotations

import click

COMMANDS: tuple[click.Command, ...] = ()
