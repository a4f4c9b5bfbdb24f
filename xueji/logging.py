"""Loguru set-up shared by every command: human lines on stderr or JSON for nightly jobs."""

from __future__ import annotations

import sys
from pathlib import Path

from loguru import logger

_LEVELS = {-2: "ERROR", -1: "WARNING", 0: "INFO", 1: "DEBUG", 2: "TRACE"}


def configure(verbosity: int = 0, json: bool = False) -> None:
    """Route log records to stderr; ``verbosity`` is (#-v) - (#-q)."""
    level = _LEVELS[max(-2, min(2, verbosity))]
    logger.remove()
    if json:
        logger.add(sys.stderr, level=level, serialize=True)
    else:
        logger.add(sys.stderr, level=level, format="<level>{level: <7}</level> {message}")


def add_file_sink(path: Path) -> int:
    """Add a per-run log file (full detail, tracebacks included); returns the sink id."""
    return logger.add(path, level="DEBUG", serialize=False, backtrace=True, diagnose=False)
