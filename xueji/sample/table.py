"""A column store of numpy arrays: cheap appends and in-place updates while planting.

Plants change a handful of cells in million-row columns; numpy fancy indexing does that
in place, and the finished columns become Polars frames only once, for writing.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

EPOCH = date(1970, 1, 1)
NO_DATE = np.int32(-(2**31) + 1)


def day(d: date) -> int:
    """A date as days since 1970-01-01 (the representation of date columns here)."""
    return (d - EPOCH).days


def to_date(n: int) -> date:
    """Days since 1970-01-01 back to a date."""
    return date.fromordinal(EPOCH.toordinal() + int(n))


class Table:
    """Named equal-length numpy columns with defaults for columns a new row leaves out."""

    def __init__(self, defaults: dict[str, object], **columns: np.ndarray) -> None:
        self.defaults = defaults
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {lengths}")
        self.cols: dict[str, np.ndarray] = dict(columns)
        n = lengths.pop() if lengths else 0
        for name, value in defaults.items():
            if name not in self.cols:
                self.cols[name] = self._filled(value, n)

    @staticmethod
    def _filled(value: object, n: int) -> np.ndarray:
        if isinstance(value, np.ndarray):
            return np.full(n, value[0], dtype=value.dtype)
        return np.full(n, value, dtype=object if isinstance(value, str) or value is None else None)

    def __len__(self) -> int:
        return len(next(iter(self.cols.values()))) if self.cols else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self.cols[name] = values

    def append(self, **columns: np.ndarray) -> np.ndarray:
        """Add rows; columns not given take their defaults. Returns the new row positions."""
        n = len(next(iter(columns.values())))
        start = len(self)
        for name in list(self.cols):
            if name in columns:
                new = np.asarray(columns[name])
            else:
                new = self._filled(self.defaults[name], n)
            old = self.cols[name]
            if old.dtype != new.dtype and old.dtype != object:
                new = new.astype(old.dtype)
            self.cols[name] = np.concatenate([old, new])
        unknown = set(columns) - set(self.cols)
        if unknown:
            raise KeyError(f"unknown columns: {sorted(unknown)}")
        return np.arange(start, start + n)

    def frame(self, *names: str) -> pl.DataFrame:
        """The named columns (all when none named) as a Polars frame; date columns end in
        ``_day`` and become ``Date`` columns without the suffix."""
        out = {}
        for name in names or tuple(self.cols):
            values = self.cols[name]
            if name.endswith("_day"):
                s = pl.Series(values.astype(np.int32))
                out[name[:-4]] = pl.select(
                    pl.when(s != NO_DATE).then(s).otherwise(None).cast(pl.Date)
                ).to_series()
            else:
                out[name] = (
                    pl.Series(values) if values.dtype != object else pl.Series(values.tolist())
                )
        return pl.DataFrame(out)


def is_none(values: np.ndarray) -> np.ndarray:
    """Elementwise ``is None`` over an object column, as a bool array."""
    return np.asarray(np.equal(values, None), dtype=bool)  # type: ignore[call-overload]
