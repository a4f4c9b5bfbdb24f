"""Files as real exports look: GB18030 with Chinese headers from the schools and police
systems, UTF-8 with a BOM from the registry, mixed date spellings and enum languages,
typed Parquet for attendance; plus the truth, labels and a manifest.

Everything is written into a temporary folder first and moved into place at the end.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from loguru import logger

from xueji import __version__
from xueji.errors import InputError
from xueji.sample.attendance import STATUS_EN, STATUS_ZH
from xueji.sample.config import GENERATOR_VERSION
from xueji.sample.generator import DataError, Sample
from xueji.sample.schools import LEVEL_ZH

STATUS_REG_ZH = {
    "enrolled": "在籍",
    "suspended": "休学",
    "transferred_out": "转出",
    "graduated": "毕业",
    "dropped": "辍学",
    "deceased": "死亡",
    "abroad": "出国出境",
}
ID_TYPE_ZH = {
    "resident_id": "居民身份证",
    "hmt_permit": "港澳台居民居住证",
    "passport": "护照",
    "other": "其他",
}
PLACEMENT_ZH = {
    "none": "无",
    "regular_class": "随班就读",
    "special_class": "特教班",
    "special_school": "特教学校",
    "home_delivery": "送教上门",
}
CHANGE_ZH = {
    "transfer": "转学",
    "suspend": "休学",
    "resume": "复学",
    "drop": "辍学",
    "other": "其他",
}
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _choice(rng: np.random.Generator, n: int, p: list[float]) -> pl.Series:
    return pl.Series(rng.choice(len(p), size=n, p=p))


def _mixed_dates(col: str, pick: pl.Series) -> pl.Expr:
    c = pl.col(col)
    return (
        pl.when(pick == 1)
        .then(c.dt.strftime("%Y/%m/%d"))
        .when(pick == 2)
        .then(c.dt.strftime("%Y%m%d"))
        .otherwise(c.dt.strftime("%Y-%m-%d"))
        .alias(col)
    )


def _apply_bad_cells(frame: pl.DataFrame, errors: list[DataError], table: str) -> pl.DataFrame:
    for e in errors:
        if e.table == table:
            hit = pl.int_range(pl.len()) == e.position
            frame = frame.with_columns(
                pl.when(hit).then(pl.lit(e.value)).otherwise(pl.col(e.column)).alias(e.column)
            )
    return frame


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_csv(buf)
    return buf.getvalue()


def write_schools(sample: Sample, path: Path) -> None:
    """schools.csv: GB18030, Chinese headers and Chinese level/ownership values."""
    f = sample.schools.select(
        "school_code",
        "school_name",
        "county_code",
        pl.col("level").replace_strict(LEVEL_ZH),
        pl.col("ownership").replace_strict({"public": "公办", "private": "民办"}),
        pl.col("design_capacity").cast(pl.String),
    )
    f = _apply_bad_cells(f, sample.data_errors, "schools")
    f.columns = ["学校标识码", "学校名称", "所在区县代码", "办学类型", "举办者类型", "设计规模"]
    path.write_bytes(_csv_bytes(f).decode("utf-8").encode("gb18030"))


def write_catchments(sample: Sample, path: Path) -> None:
    """catchments.xlsx: one sheet, Chinese headers, codes as text."""
    f = sample.catchments.select(
        pl.col("school_code").alias("学校标识码"),
        pl.col("area_code").alias("片区区划代码"),
        pl.col("entry_grade").cast(pl.Int64).alias("招生年级"),
    )
    f.write_excel(path, worksheet="招生片区", autofit=True)


def write_registry(sample: Sample, path: Path, rng: np.random.Generator) -> dict[str, int]:
    """registry.csv: UTF-8 with BOM, mostly English headers, a few Chinese; dates,
    genders, booleans and enums spelt the several ways real exports spell them."""
    reg = sample.registry
    n = reg.height
    notes: dict[str, int] = {}
    id_text = reg["id_number"]
    noisy = np.array(id_text.to_list(), dtype=object)
    ends_x = np.flatnonzero(
        id_text.str.ends_with("X").fill_null(False).to_numpy() & (rng.random(n) < 0.3)
    )
    noisy[ends_x] = [v[:-1] + "x" for v in noisy[ends_x]]
    resident = np.flatnonzero(
        (reg["id_type"] == "resident_id").to_numpy()
        & id_text.str.len_chars().eq(18).fill_null(False).to_numpy()
    )
    k = max(3, n // 100_000)
    wide = rng.choice(resident, size=min(k, resident.shape[0]), replace=False)
    noisy[wide] = [v.translate(FULL_WIDTH) for v in noisy[wide]]
    spaced = rng.choice(
        np.setdiff1d(resident, wide), size=min(k, resident.shape[0] - wide.shape[0]), replace=False
    )
    noisy[spaced] = [f" {v} " for v in noisy[spaced]]
    notes.update(
        registry_id_lowercase_x=len(ends_x),
        registry_id_full_width=len(wide),
        registry_id_padded=len(spaced),
    )

    gender_pick = _choice(rng, n, [0.85, 0.1, 0.05])
    status_zh = pl.Series(rng.random(n) < 0.15)
    type_pick = _choice(rng, n, [0.5, 0.3, 0.2])
    bool_pick = _choice(rng, n, [0.7, 0.15, 0.15])
    place_pick = _choice(rng, n, [0.7, 0.2, 0.1])
    m = pl.col("is_migrant")
    f = reg.with_columns(
        pl.Series("id_number", noisy.tolist(), dtype=pl.String),
        _mixed_dates("birth_date", _choice(rng, n, [0.8, 0.1, 0.1])),
        _mixed_dates("status_date", _choice(rng, n, [0.8, 0.1, 0.1])),
        _mixed_dates("enrol_date", _choice(rng, n, [0.8, 0.1, 0.1])),
        pl.when(gender_pick == 1)
        .then(pl.col("gender").replace_strict({"M": "男", "F": "女"}))
        .when(gender_pick == 2)
        .then(pl.col("gender").replace_strict({"M": "1", "F": "2"}))
        .otherwise(pl.col("gender"))
        .alias("gender"),
        pl.when(status_zh)
        .then(pl.col("status").replace_strict(STATUS_REG_ZH))
        .otherwise(pl.col("status"))
        .alias("status"),
        pl.when((pl.col("id_type") == "resident_id") & (type_pick == 0))
        .then(None)
        .when(type_pick == 2)
        .then(pl.col("id_type").replace_strict(ID_TYPE_ZH))
        .otherwise(pl.col("id_type"))
        .alias("id_type"),
        pl.when(bool_pick == 1)
        .then(pl.when(m).then(pl.lit("1")).otherwise(pl.lit("0")))
        .when(bool_pick == 2)
        .then(pl.when(m).then(pl.lit("是")).otherwise(pl.lit("否")))
        .otherwise(pl.when(m).then(pl.lit("true")).otherwise(pl.lit("false")))
        .alias("is_migrant"),
        pl.when((pl.col("placement") == "none") & (place_pick == 0))
        .then(None)
        .when(place_pick == 2)
        .then(pl.col("placement").replace_strict(PLACEMENT_ZH))
        .otherwise(pl.col("placement"))
        .alias("placement"),
        pl.col("grade").cast(pl.String),
    )
    f = f.select(
        "student_no", "id_type", "id_number", "name", "gender", "birth_date", "school_code", "grade",
        "class_name", "status", "status_date", "enrol_date", "hukou_area_code", "residence_area_code",
        "is_migrant", "placement",
    )  # fmt: skip
    f = _apply_bad_cells(f, sample.data_errors, "registry")
    f = f.rename(
        {
            "id_type": "身份证件类型",
            "name": "姓名",
            "birth_date": "出生日期",
            "is_migrant": "是否随迁子女",
        }
    )
    path.write_bytes(b"\xef\xbb\xbf" + _csv_bytes(f))
    return notes


def write_residence(sample: Sample, path: Path) -> None:
    """residence.csv: GB18030, Chinese headers, 男/女, 是/否, YYYYMMDD dates."""
    f = sample.residence.select(
        "id_number",
        "name",
        pl.col("gender").replace_strict({"M": "男", "F": "女"}),
        pl.col("birth_date").dt.strftime("%Y%m%d"),
        "hukou_area_code",
        "residence_area_code",
        pl.when(pl.col("residence_permit"))
        .then(pl.lit("是"))
        .otherwise(pl.lit("否"))
        .alias("residence_permit"),
        pl.col("hukou_moved_in_date").dt.strftime("%Y%m%d"),
    )
    f = _apply_bad_cells(f, sample.data_errors, "residence")
    f.columns = [
        "身份证件号",
        "姓名",
        "性别",
        "出生日期",
        "户籍地区划代码",
        "居住地区划代码",
        "是否持居住证",
        "户籍迁入日期",
    ]
    path.write_bytes(_csv_bytes(f).decode("utf-8").encode("gb18030"))


def write_changes(sample: Sample, path: Path, rng: np.random.Generator) -> None:
    """registry_changes.csv: UTF-8, English headers, a fifth of the change types in Chinese."""
    n = sample.changes.height
    zh = pl.Series(rng.random(n) < 0.2)
    f = sample.changes.select(
        "student_no",
        pl.when(zh)
        .then(pl.col("change_type").replace_strict(CHANGE_ZH))
        .otherwise(pl.col("change_type"))
        .alias("change_type"),
        "from_school_code",
        "to_school_code",
        pl.col("change_date").dt.strftime("%Y-%m-%d"),
    )
    f = _apply_bad_cells(f, sample.data_errors, "registry_changes")
    path.write_bytes(_csv_bytes(f))


def write_attendance(sample: Sample, path: Path, chunk: int = 100_000) -> int:
    """attendance.parquet, typed (date as Date, grade as integer), sorted by school,
    class and person; statuses in English or, for some schools, Chinese. Built chunk by
    chunk from the status matrix so 60 million rows never sit in memory as text."""
    a = sample.attendance.people
    m = sample.attendance.status
    n, d = m.shape
    dates = pa.array(sample.school_days, type=pa.date32())
    school = pa.array(a["school_code"].to_list(), type=pa.string())
    grade = pa.array(a["grade"].cast(pl.Int8).to_numpy(), type=pa.int8())
    cls = pa.array(a["class_name"].to_list(), type=pa.string())
    name = pa.array(a["name"].to_list(), type=pa.string())
    idn = pa.array(a["id_number"].to_list(), type=pa.string())
    local = pa.array(a["local_id"].to_list(), type=pa.string())
    words = pa.array(list(STATUS_EN) + list(STATUS_ZH), type=pa.string())
    zh = a["att_chinese_status"].to_numpy().astype(np.uint8) * len(STATUS_EN)
    first = a["first_day"].to_numpy()
    last = a["last_day"].to_numpy()
    schema = pa.schema(
        [
            ("school_code", pa.string()), ("date", pa.date32()), ("grade", pa.int8()), ("class_name", pa.string()),
            ("name", pa.string()), ("id_number", pa.string()), ("local_id", pa.string()), ("status", pa.string()),
        ]
    )  # fmt: skip
    cols = np.arange(d)
    total = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            valid = (cols[None, :] >= first[start:stop, None]) & (
                cols[None, :] <= last[start:stop, None]
            )
            who, when = np.nonzero(valid)
            who_all = pa.array(who + start)
            code = m[start:stop][valid].astype(np.int64) + zh[who + start]
            table = pa.table(
                [
                    school.take(who_all), dates.take(pa.array(when)), grade.take(who_all), cls.take(who_all),
                    name.take(who_all), idn.take(who_all), local.take(who_all), words.take(pa.array(code)),
                ],
                schema=schema,
            )  # fmt: skip
            writer.write_table(table, row_group_size=1 << 20)
            total += table.num_rows
    return total


def write_sample(sample: Sample, out: Path, force: bool = False) -> dict[str, object]:
    """Write every file of the sample into ``out`` (replacing an earlier sample there when
    ``force``); returns the manifest."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder (choose another --out)")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise InputError(
                f"{out}: folder is not empty (use --force to replace the sample in it)"
            )
        if not (out / "manifest.json").is_file():
            raise InputError(
                f"{out}: folder holds files that are not a generated sample; refusing to replace it"
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "labels").mkdir(parents=True)
    try:
        manifest = _write_all(sample, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return manifest


def _write_all(sample: Sample, folder: Path) -> dict[str, object]:
    rng = np.random.default_rng(sample.cfg.seed + 1)
    started = time.perf_counter()
    write_schools(sample, folder / "schools.csv")
    write_catchments(sample, folder / "catchments.xlsx")
    notes = write_registry(sample, folder / "registry.csv", rng)
    write_residence(sample, folder / "residence.csv")
    write_changes(sample, folder / "registry_changes.csv", rng)
    logger.debug("sample phase write tables: {:.1f} s", time.perf_counter() - started)
    started = time.perf_counter()
    rows = write_attendance(sample, folder / "attendance.parquet")
    logger.debug("sample phase write attendance: {:.1f} s", time.perf_counter() - started)
    sample.seed.write_csv(folder / "transfers_seed.csv")
    sample.truth.write_csv(folder / "truth.csv")
    errors = pl.DataFrame(
        {
            "file": [f"{e.table}.csv" for e in sample.data_errors],
            "row": [e.position + 1 for e in sample.data_errors],
            "column": [e.column for e in sample.data_errors],
            "value": [e.value for e in sample.data_errors],
        },
        schema={"file": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String},
    ).sort("file", "row", "column")
    errors.write_csv(folder / "expected_data_errors.csv")
    for name, frame in sample.labels.items():
        frame.write_parquet(folder / "labels" / f"{name}.parquet")
    manifest = _manifest(sample, rows, {**sample.notes, **notes})
    (folder / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return manifest


def _manifest(sample: Sample, attendance_rows: int, notes: dict[str, int]) -> dict[str, object]:
    cfg = sample.cfg
    truth = sample.truth
    return {
        "generator": "xueji sample generate",
        "generator_version": GENERATOR_VERSION,
        "xueji_version": __version__,
        "as_of": cfg.as_of.isoformat(),
        "seed": cfg.seed,
        "students": cfg.students,
        "school_days": cfg.days,
        "first_school_day": sample.school_days[0].isoformat(),
        "county": cfg.county,
        "counts": {
            "schools": sample.schools.height,
            "catchments": sample.catchments.height,
            "registry": sample.registry.height,
            "attendance": attendance_rows,
            "attendance_people": sample.attendance.people.height,
            "residence": sample.residence.height,
            "registry_changes": sample.changes.height,
            "transfers_seed": sample.seed.height,
            "truth": truth.height,
            "expected_data_errors": len(sample.data_errors),
        },
        "files": {
            "schools.csv": {"table": "schools", "encoding": "gb18030", "headers": "chinese"},
            "catchments.xlsx": {"table": "catchments", "encoding": "xlsx", "headers": "chinese"},
            "registry.csv": {
                "table": "registry",
                "encoding": "utf-8-sig",
                "headers": "english, four chinese",
            },
            "attendance.parquet": {
                "table": "attendance",
                "encoding": "parquet",
                "headers": "english",
            },
            "residence.csv": {"table": "residence", "encoding": "gb18030", "headers": "chinese"},
            "registry_changes.csv": {
                "table": "registry_changes",
                "encoding": "utf-8",
                "headers": "english",
            },
            "transfers_seed.csv": {
                "table": None,
                "encoding": "utf-8",
                "headers": "english",
                "note": "workflow state: load with xueji.workflow.seed_transfers",
            },
            "truth.csv": {
                "table": None,
                "encoding": "utf-8",
                "headers": "english",
                "note": "every finding the rules imply",
            },
            "expected_data_errors.csv": {"table": None, "encoding": "utf-8", "headers": "english"},
            "labels/registry_person.parquet": {"table": None, "note": "true person of each record"},
            "labels/attendance_person.parquet": {
                "table": None,
                "note": "true student_no of each attendee (null: unregistered)",
            },
            "labels/residence_person.parquet": {
                "table": None,
                "note": "true student_no of each resident (null: not in the registry)",
            },
        },
        "findings_by_rule": dict(sorted(truth.group_by("rule").len().iter_rows())),
        "findings_by_kind": dict(sorted(truth.group_by("kind").len().iter_rows())),
        "noise_not_flagged": dict(sorted(notes.items())),
        "rows_by_case_tag": sample.cases,
    }
