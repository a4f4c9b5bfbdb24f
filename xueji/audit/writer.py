"""The run folder, written atomically: a hidden temporary folder in the same parent,
every file flushed to disk, then one rename.

The folder holds full ID numbers (it is the bureau's own working record), so it is
created 0700 and every file in it 0600 (contract §5). A run that fails before the
rename removes its temporary folder; one killed outright leaves only a hidden
``.xueji-tmp-*`` folder, which the next run in the same parent removes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from loguru import logger

from xueji.errors import InputError

TMP_PREFIX = ".xueji-tmp-"
DIR_MODE = 0o700
FILE_MODE = 0o600


def default_run_dir(root: Path, as_of: date) -> Path:
    """``root/<as-of>-<n>``: the next free number for this as-of date."""
    pattern = re.compile(rf"^{as_of.isoformat()}-(\d+)$")
    taken = [int(m.group(1)) for p in root.glob(f"{as_of.isoformat()}-*") if (m := pattern.match(p.name))] if root.is_dir() else []
    return root / f"{as_of.isoformat()}-{max(taken, default=0) + 1}"


def check_free(path: Path) -> None:
    """Refuse an explicit ``--out`` that already exists (a run folder is never overwritten)."""
    if path.exists():
        raise InputError(f"{path}: already exists; a run folder is never overwritten (choose another --out)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(parent: Path) -> list[Path]:
    """Remove temporary folders left in ``parent`` by runs whose process is gone."""
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for path in parent.glob(TMP_PREFIX + "*"):
        match = re.match(rf"^{re.escape(TMP_PREFIX)}(\d+)-", path.name)
        if match and not _pid_alive(int(match.group(1))) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RunFolder:
    """A run folder being written: files go to ``tmp``; ``commit`` renames it to ``final``."""

    def __init__(self, final: Path) -> None:
        self.final = final
        parent = final.parent
        parent.mkdir(parents=True, exist_ok=True)
        for stale in remove_stale_temporaries(parent):
            logger.info("removed {}, left by a run that was killed", stale)
        # mkdtemp creates the folder 0700 already; the explicit chmod documents the intent.
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=parent))
        os.chmod(self.tmp, DIR_MODE)
        self.committed = False

    def path(self, name: str) -> Path:
        """Where ``name`` is written inside the temporary folder."""
        return self.tmp / name

    def private(self, name: str) -> Path:
        """Make ``name`` owner-only (0600) and return its path."""
        path = self.path(name)
        os.chmod(path, FILE_MODE)
        return path

    def write_parquet(self, frame: pl.DataFrame, name: str) -> Path:
        """``frame`` as Parquet."""
        frame.write_parquet(self.path(name))
        return self.private(name)

    def write_csv(self, frame: pl.DataFrame, name: str, bom: bool = True) -> Path:
        """``frame`` as UTF-8 CSV, with a byte-order mark so Excel reads the Chinese."""
        frame.write_csv(self.path(name), include_bom=bom)
        return self.private(name)

    def write_json(self, data: Any, name: str) -> Path:
        """``data`` as indented UTF-8 JSON (Chinese kept readable), replacing any earlier version."""
        tmp = self.path(name + ".part")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, self.path(name))
        return self.path(name)

    def commit(self) -> Path:
        """Flush every file, rename the folder into place and flush the parent; returns ``final``.

        Raises InputError when ``final`` appeared meanwhile (another run took the name).
        """
        for path in sorted(self.tmp.rglob("*")):
            if path.is_file():
                os.chmod(path, FILE_MODE)
                _fsync(path)
        _fsync(self.tmp)
        if self.final.exists():
            raise InputError(f"{self.final}: already exists; a run folder is never overwritten")
        os.rename(self.tmp, self.final)
        _fsync(self.final.parent)
        self.committed = True
        return self.final

    def uncommit(self) -> None:
        """Take back a folder that was renamed into place but whose run could not be
        recorded: it goes back to its temporary name (for ``abort``), or is removed."""
        if not self.committed:
            return
        try:
            os.rename(self.final, self.tmp)
        except OSError:
            shutil.rmtree(self.final, ignore_errors=True)
        self.committed = False

    def abort(self) -> None:
        """Remove the temporary folder (nothing of this run stays behind)."""
        shutil.rmtree(self.tmp, ignore_errors=True)
