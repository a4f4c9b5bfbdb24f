"""Run folders fabricated for report and findings tests (and the reports benchmark).

``findings(n)`` makes ``n`` findings in the violations schema of contract section 5,
with valid GB 11643 numbers (so masking has real numbers to hide), Chinese names and
sentences, and evidence JSON quoting the ID number. ``write_run`` lays them out as
the audit runner does: violations.parquet, violations.csv (BOM), data_errors.csv and
summary.json in ``runs/<as-of>-<n>/``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from xueji.ids import check_char

COUNTIES = ("430102", "430103", "430104", "430105")
# (rule, severity) pairs cycled through by ``findings``.
RULES: tuple[tuple[str, str], ...] = (
    ("ID_INVALID", "medium"),
    ("STUDENT_NO_MISMATCH", "low"),
    ("DUPLICATE_RECORD", "high"),
    ("OVERSIZED_CLASS", "critical"),
    ("GHOST_RECORD", "high"),
)
SURNAMES = ("张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴")
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "涛")

SCHEMA: dict[str, pl.DataType] = {
    "violation_id": pl.String(),
    "rule": pl.String(),
    "severity": pl.String(),
    "county_code": pl.String(),
    "school_code": pl.String(),
    "grade": pl.Int64(),
    "class_name": pl.String(),
    "student_no": pl.String(),
    "id_number": pl.String(),
    "name": pl.String(),
    "detail": pl.String(),
    "evidence": pl.String(),
    "group_id": pl.String(),
    "change": pl.String(),
}


def make_id(area: str, birth: str, seq: int) -> str:
    """A valid 18-character resident ID for area code, birth date (YYYYMMDD) and sequence."""
    body = f"{area}{birth}{seq % 1000:03d}"
    frame = pl.DataFrame({"body": [body]})
    return body + str(frame.select(check_char(pl.col("body"))).item())


def findings(
    n: int,
    *,
    rules: Sequence[tuple[str, str]] = RULES,
    counties: Sequence[str] = COUNTIES,
    change: str | None = None,
    offset: int = 0,
) -> pl.DataFrame:
    """``n`` findings; row ``i`` gets rule ``i % len(rules)``, county ``i % len(counties)``.

    ``violation_id`` is ``v`` + the zero-padded index (plus ``offset``), so two runs made
    with overlapping ranges share findings. ``change`` defaults to alternating new /
    persisting.
    """
    i = pl.int_range(offset, offset + n, dtype=pl.Int64)
    rule_codes = [r for r, _ in rules]
    severities = [s for _, s in rules]
    county = pl.lit(pl.Series(list(counties))).get(i % len(counties))
    birth = pl.lit(date(2013, 1, 1)) + pl.duration(days=i % 3000)
    body = pl.concat_str(county, birth.dt.strftime("%Y%m%d"), (i % 1000).cast(pl.String).str.zfill(3))
    frame = pl.select(
        pl.concat_str(pl.lit("v"), i.cast(pl.String).str.zfill(8)).alias("violation_id"),
        pl.lit(pl.Series(rule_codes)).get(i % len(rules)).alias("rule"),
        pl.lit(pl.Series(severities)).get(i % len(rules)).alias("severity"),
        county.alias("county_code"),
        pl.concat_str(county, (i % 7).cast(pl.String).str.zfill(4)).alias("school_code"),
        (i % 9 + 1).alias("grade"),
        pl.concat_str((i % 4 + 1).cast(pl.String), pl.lit("班")).alias("class_name"),
        body.alias("_body"),
        pl.concat_str(
            pl.lit(pl.Series(list(SURNAMES))).get(i % len(SURNAMES)),
            pl.lit(pl.Series(list(GIVEN))).get((i // 10) % len(GIVEN)),
        ).alias("name"),
    ).with_columns((pl.col("_body") + check_char(pl.col("_body"))).alias("id_number"))
    change_expr = pl.lit(change) if change else pl.when(i % 2 == 0).then(pl.lit("new")).otherwise(pl.lit("persisting"))
    frame = frame.with_columns(
        pl.concat_str(pl.lit("G"), pl.col("id_number")).alias("student_no"),
        pl.concat_str(pl.col("name"), pl.lit("的身份证号"), pl.col("id_number"), pl.lit("校验码错误")).alias("detail"),
        pl.struct(
            id_number=pl.col("id_number"),
            school_code=pl.col("school_code"),
            score=(i % 100).cast(pl.Float64) / 100,
        ).struct.json_encode().alias("evidence"),
        pl.when(pl.col("rule") == "DUPLICATE_RECORD")
        .then(pl.concat_str(pl.lit("g"), (i // 2).cast(pl.String)))
        .alias("group_id"),
        change_expr.alias("change"),
    )
    return frame.select(list(SCHEMA)).cast(SCHEMA)  # type: ignore[arg-type]


def write_run(
    runs_dir: Path,
    name: str,
    frame: pl.DataFrame,
    *,
    summary: dict[str, Any] | None = None,
) -> Path:
    """Write a run folder ``runs_dir/name`` as the audit runner does; returns its path."""
    run = runs_dir / name
    run.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(run / "violations.parquet")
    frame.write_csv(run / "violations.csv", include_bom=True)
    (run / "data_errors.csv").write_text("file,row,column,value,message\n", encoding="utf-8")
    counted = frame.filter(pl.col("change") != "dismissed")
    doc: dict[str, Any] = {
        "as_of": name[:10],
        "inputs": {"registry": {"rows": 1000}},
        "counts": {
            "by_rule": dict(counted.group_by("rule").len().iter_rows()),
            "by_severity": dict(counted.group_by("severity").len().iter_rows()),
            "by_county": dict(counted.group_by("county_code").len().iter_rows()),
        },
    }
    if summary:
        doc.update(summary)
    (run / "summary.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return run


def register_db(folder: Path) -> tuple[str, dict[str, str]]:  # build once, copy per test
    """A migrated SQLite database in ``folder`` with one user per role; returns its URL and
    each user's token by name: ``admin``, ``reg_a`` (registrar of 4301040001), ``reg_b``
    (registrar of 4301040002), ``officer`` (bureau officer of 430104), ``officer_b``
    (of 430105) and ``inspector``."""
    from xueji.db import init_db, make_engine
    from xueji.workflow.accounts import add_user

    url = f"sqlite:///{folder / 'xueji.db'}"
    engine = make_engine(url)
    init_db(engine)
    users = {
        "admin": ("admin", None),
        "reg_a": ("school_registrar", "4301040001"),
        "reg_b": ("school_registrar", "4301040002"),
        "officer": ("bureau_officer", "430104"),
        "officer_b": ("bureau_officer", "430105"),
        "inspector": ("inspector", None),
    }
    tokens = {name: add_user(engine, name, role, org, created_by=None)[1] for name, (role, org) in users.items()}
    engine.dispose()
    return url, tokens


def copy_db(template: tuple[str, dict[str, str]], folder: Path) -> tuple[str, dict[str, str]]:
    """A copy of a ``register_db`` database in ``folder`` (milliseconds instead of seconds)."""
    import shutil

    source = Path(template[0].removeprefix("sqlite:///"))
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", folder / f"xueji.db{suffix}")
    return f"sqlite:///{folder / 'xueji.db'}", dict(template[1])
