"""How a run reports its stages (load, link, rules, write): a live display on a terminal,
plain log lines otherwise (cron, CI, a pipe), and always the per-run log file."""

from __future__ import annotations

import time
from typing import Protocol

from loguru import logger
from rich.console import Console
from rich.progress import Progress as RichBar
from rich.progress import SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

STAGES = ("load", "link", "rules", "write")
STAGE_TEXT = {
    "load": "load   read and validate the input tables",
    "link": "link   resolve identities (duplicates, attendance, residence)",
    "rules": "rules  evaluate the rule catalogue",
    "write": "write  write the run folder and record the run",
}


class Progress(Protocol):
    """What the runner calls at each stage."""

    def start(self, stage: str) -> None:
        """A stage begins."""

    def finish(self, stage: str, message: str) -> None:
        """A stage ended; ``message`` carries its counts."""

    def close(self) -> None:
        """The run ended (successfully or not)."""


class LogProgress:
    """One log line per stage start and end (for nightly jobs and pipes)."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def start(self, stage: str) -> None:
        """Log the stage's start."""
        self._started[stage] = time.perf_counter()
        logger.info("{}: started", stage)

    def finish(self, stage: str, message: str) -> None:
        """Log the stage's counts and duration."""
        elapsed = time.perf_counter() - self._started.get(stage, time.perf_counter())
        logger.info("{}: {} ({:.1f} s)", stage, message, elapsed)

    def close(self) -> None:
        """Nothing to tidy."""


class TerminalProgress:
    """A rich display on stderr: a spinner per running stage, its counts when done.

    Log lines still go to the per-run log file; only the screen shows the display.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._bar = RichBar(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._bar.start()

    def start(self, stage: str) -> None:
        """Show the stage as running."""
        self._tasks[stage] = self._bar.add_task(STAGE_TEXT.get(stage, stage), total=1)
        logger.debug("{}: started", stage)

    def finish(self, stage: str, message: str) -> None:
        """Mark the stage done with its counts."""
        task = self._tasks.get(stage)
        if task is None:
            task = self._tasks[stage] = self._bar.add_task(stage, total=1)
        self._bar.update(task, completed=1, description=f"{stage:<6} {message}")
        logger.debug("{}: {}", stage, message)

    def close(self) -> None:
        """Stop the live display (leaving its final lines on screen)."""
        self._bar.stop()
