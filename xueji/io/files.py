"""Writing files safely: atomic replace, owner-only permissions, CSV that Excel opens."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl


def write_csv_atomic(df: pl.DataFrame, path: Path, private: bool = True) -> Path:
    """Write ``df`` as UTF-8 CSV with a BOM (Excel reads Chinese correctly), atomically.

    The data goes to a temporary file beside ``path`` and is renamed into place, so a
    crash never leaves a half-written file; ``private`` makes it readable by its owner only.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            df.write_csv(fh, include_bom=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
