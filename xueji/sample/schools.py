"""Schools, their classes and catchment areas for each county of the sample city."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from xueji.sample.geography import CITY_NAME, COUNTIES, Area, build_area

LEVEL_GRADES = {
    "primary": (1, 6),
    "junior": (7, 9),
    "nine_year": (1, 9),
    "twelve_year": (1, 12),
    "complete_secondary": (7, 12),
    "senior": (10, 12),
    "special": (1, 12),
}
LEVEL_ZH = {
    "primary": "小学",
    "junior": "初中",
    "nine_year": "九年一贯制学校",
    "twelve_year": "十二年一贯制学校",
    "complete_secondary": "完全中学",
    "senior": "高级中学",
    "special": "特殊教育学校",
}
# Largest base class: two places below the national standard (45 / 50), so the few
# records plants add to a class never push it over by accident.
BASE_SIZE = {"primary": (36, 43), "secondary": (41, 48), "special": (6, 12)}
STANDARD = {"primary": 45, "secondary": 50}
BRANDS = (
    "育英",
    "启航",
    "博文",
    "华鑫",
    "英才",
    "新星",
    "思源",
    "德润",
    "明远",
    "弘毅",
    "致远",
    "景行",
)
DIGITS = "零一二三四五六七八九"


def chinese_ordinal(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十, 35 → 三十五 (1–99)."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return DIGITS[ones]
    head = "" if tens == 1 else DIGITS[tens]
    return head + "十" + (DIGITS[ones] if ones else "")


@dataclass
class _School:
    county: str
    level: str
    ownership: str
    classes_per_grade: int
    name: str = ""


def _prefix(county: str) -> str:
    for code, name, _, district in COUNTIES:
        if code == county:
            return f"{CITY_NAME}{name}" if district else name
    raise KeyError(county)


def _plan_county(county: str, n: int, rng: np.random.Generator) -> list[_School]:
    """Schools of one county sized so the bands hold about ``n`` pupils in all."""
    avg = {"primary": 40.0, "secondary": 45.0}
    band = {"P": 0.52 * n, "J": 0.26 * n, "S": 0.22 * n}
    initial = dict(band)
    schools: list[_School] = []

    def take(level: str, ownership: str, lo: int, hi: int, bands: str) -> None:
        gmin, gmax = LEVEL_GRADES[level]
        per_class = {
            "P": 6 * avg["primary"] if gmin <= 1 else 0.0,
            "J": 3 * avg["secondary"] if gmin <= 7 <= gmax else 0.0,
            "S": 3 * avg["secondary"] if gmax >= 10 else 0.0,
        }
        need = min(band[b] / per_class[b] for b in bands if per_class[b] > 0)
        # at least two schools per band: pupils need somewhere to transfer to
        cap = min(initial[b] / per_class[b] / 2 for b in bands if per_class[b] > 0)
        k = min(int(rng.integers(lo, hi + 1)), max(1, round(need)), max(1, int(cap)))
        schools.append(_School(county, level, ownership, k))
        for b in "PJS":
            band[b] -= k * per_class[b]

    if n >= 2_000:
        schools.append(_School(county, "special", "public", 1))
    if n >= 60_000:
        take("twelve_year", "private", 1, 2, "PJS")
    for _ in range(max(1 if n >= 4_000 else 0, int(0.1 * band["P"] / 900))):
        take("nine_year", "public" if rng.random() < 0.85 else "private", 2, 4, "PJ")
    for _ in range(int(0.3 * band["S"] / 1800)):
        take("complete_secondary", "public", 4, 8, "JS")
    while band["P"] > 120:
        take("primary", "public" if rng.random() < 0.92 else "private", 2, 7, "P")
    while band["J"] > 60:
        take("junior", "public" if rng.random() < 0.9 else "private", 4, 10, "J")
    while band["S"] > 60:
        take("senior", "public" if rng.random() < 0.9 else "private", 6, 12, "S")
    return schools


def _name_schools(schools: list[_School]) -> None:
    counters: dict[tuple[str, str], int] = {}

    def nxt(county: str, kind: str) -> int:
        counters[(county, kind)] = counters.get((county, kind), 0) + 1
        return counters[(county, kind)]

    for s in schools:
        p = _prefix(s.county)
        if s.level == "special":
            s.name = f"{p}特殊教育学校"
        elif s.level == "primary" and s.ownership == "public":
            s.name = f"{p}第{chinese_ordinal(nxt(s.county, 'primary'))}小学"
        elif s.level == "primary":
            k = nxt(s.county, "brand")
            s.name = f"{p}{BRANDS[(k - 1) % len(BRANDS)]}小学" + (
                "" if k <= len(BRANDS) else f"{chinese_ordinal((k - 1) // len(BRANDS) + 1)}校区"
            )
        elif s.level in ("junior", "complete_secondary"):
            s.name = f"{p}第{chinese_ordinal(nxt(s.county, 'middle'))}中学"
        elif s.level == "senior":
            s.name = f"{p}第{chinese_ordinal(nxt(s.county, 'senior'))}高级中学"
        else:
            k = nxt(s.county, "brand")
            kind = "外国语学校" if s.level == "twelve_year" else "学校"
            s.name = f"{p}{BRANDS[(k - 1) % len(BRANDS)]}{kind}" + (
                "" if k <= len(BRANDS) else f"{chinese_ordinal((k - 1) // len(BRANDS) + 1)}校区"
            )


@dataclass
class SchoolWorld:
    """Schools, classes, catchments and each county's areas."""

    schools: pl.DataFrame
    classes: pl.DataFrame
    catchments: pl.DataFrame
    areas: dict[str, Area]
    home_villages: list[np.ndarray]  # per school: villages its pupils come from


def build_schools(students: int, county: str | None, rng: np.random.Generator) -> SchoolWorld:
    """Plan every county's schools and classes, name them, give them catchments."""
    counties = [c for c in COUNTIES if county is None or c[0] == county]
    if county is None:
        # a small city sample keeps its largest counties only, each a few thousand pupils
        keep = max(1, min(len(counties), students // 3_000))
        counties = sorted(sorted(counties, key=lambda c: -c[2])[:keep])
    total_share = sum(c[2] for c in counties)
    plans: list[_School] = []
    for code, _, share, _ in counties:
        plans += _plan_county(code, int(round(students * share / total_share)), rng)
    _name_schools(plans)

    n_sch = len(plans)
    serial: dict[str, int] = {}
    codes = []
    for s in plans:
        serial[s.county] = serial.get(s.county, 0) + 1
        codes.append(f"2143{s.county[-2:]}{serial[s.county]:04d}")
    has_att = rng.random(n_sch) < 0.92
    if n_sch >= 4 and has_att.all():
        has_att[int(rng.integers(0, n_sch))] = False
    # the special school keeps attendance: its pupils include home-delivery cases
    for i, s in enumerate(plans):
        if s.level == "special":
            has_att[i] = True
    if not has_att.any():
        has_att[0] = True
    schools = pl.DataFrame(
        {
            "school": np.arange(n_sch),
            "school_code": codes,
            "school_name": [s.name for s in plans],
            "county_code": [s.county for s in plans],
            "level": [s.level for s in plans],
            "ownership": [s.ownership for s in plans],
            "gmin": [LEVEL_GRADES[s.level][0] for s in plans],
            "gmax": [LEVEL_GRADES[s.level][1] for s in plans],
            "has_attendance": has_att,
            "att_id_mode": rng.choice(["full", "masked", "none"], size=n_sch, p=[0.35, 0.35, 0.30]),
            "att_chinese_status": rng.random(n_sch) < 0.2,
            "att_local_ids": rng.random(n_sch) < 0.6,
            "att_pad_names": rng.random(n_sch) < 0.25,
        }
    )

    # classes
    rows_school, rows_grade, rows_no, rows_size = [], [], [], []
    for i, s in enumerate(plans):
        gmin, gmax = LEVEL_GRADES[s.level]
        top = 9 if s.level == "special" else gmax
        for g in range(gmin, top + 1):
            k = s.classes_per_grade
            if s.level not in ("special",):
                k = max(1, k + int(rng.integers(-1, 2)) if k > 2 else k)
            for c in range(1, k + 1):
                kind = "special" if s.level == "special" else ("primary" if g <= 6 else "secondary")
                lo, hi = BASE_SIZE[kind]
                rows_school.append(i)
                rows_grade.append(g)
                rows_no.append(c)
                rows_size.append(int(rng.integers(lo, hi + 1)))
    classes = (
        pl.DataFrame(
            {
                "school": np.array(rows_school),
                "grade": np.array(rows_grade, dtype=np.int8),
                "class_no": np.array(rows_no, dtype=np.int16),
                "size": np.array(rows_size, dtype=np.int32),
            }
        )
        .with_row_index("class_id")
        .with_columns(
            pl.col("class_id").cast(pl.Int64),
            (pl.col("class_no").cast(pl.String) + "班").alias("class_name"),
            pl.lit(None, pl.String).alias("tag"),
        )
    )

    areas: dict[str, Area] = {}
    for code, _, share, _ in counties:
        n_c = students * share / total_share
        areas[code] = build_area(code, int(np.clip(round(n_c / 12_000) + 6, 6, 30)), rng)
    catchments, home_villages = _catchments(schools, areas, rng)
    return SchoolWorld(schools, classes, catchments, areas, home_villages)


def _split(items: np.ndarray, owners: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Cut a shuffled array into ``owners`` non-empty contiguous parts."""
    items = items[rng.permutation(items.shape[0])]
    cuts: np.ndarray | list[int] = (
        np.sort(rng.choice(np.arange(1, items.shape[0]), size=owners - 1, replace=False))
        if owners > 1
        else []
    )
    return np.split(items, cuts)


def _catchments(
    schools: pl.DataFrame, areas: dict[str, Area], rng: np.random.Generator
) -> tuple[pl.DataFrame, list[np.ndarray]]:
    """Public primary-entry schools share out villages (12-digit rows, entry grade 1;
    nine-year schools: both grades); junior-entry schools share out townships (9-digit
    rows, entry grade 7). About one school in ten publishes no catchment at all."""
    rows: list[tuple[int, str, int | None]] = []
    home: list[np.ndarray] = [areas[c].villages for c in schools["county_code"]]
    level = schools["level"].to_list()
    public = (schools["ownership"] == "public").to_list()
    listed = rng.random(schools.height) < 0.9
    for county, area in areas.items():
        idx = [i for i in range(schools.height) if schools["county_code"][i] == county]
        primary = [
            i for i in idx if public[i] and listed[i] and level[i] in ("primary", "nine_year")
        ]
        junior = [
            i
            for i in idx
            if public[i] and listed[i] and level[i] in ("junior", "complete_secondary")
        ]
        if primary and area.villages.shape[0] >= len(primary):
            for i, part in zip(primary, _split(area.villages, len(primary), rng), strict=True):
                grade = None if level[i] == "nine_year" else 1
                rows += [(i, str(v), grade) for v in part]
                home[i] = part
        if junior and area.townships.shape[0] >= len(junior):
            for i, part in zip(
                junior, _split(np.arange(area.townships.shape[0]), len(junior), rng), strict=True
            ):
                rows += [(i, str(area.townships[t]), 7) for t in part]
                home[i] = area.villages[np.isin(area.village_township, part)]
        elif junior:
            for i, part in zip(junior, _split(area.villages, len(junior), rng), strict=True):
                rows += [(i, str(v), 7) for v in part]
                home[i] = part
    catchments = pl.DataFrame(
        {
            "school": [r[0] for r in rows],
            "area_code": [r[1] for r in rows],
            "entry_grade": pl.Series([r[2] for r in rows], dtype=pl.Int8),
        },
        schema={"school": pl.Int64, "area_code": pl.String, "entry_grade": pl.Int8},
    )
    return catchments, home
