"""Synthetic registries with planted duplicates and twins, labelled with the true person.

For tests and the identity benchmark (``benchmarks/identity.py``): vectorised (numpy
and Polars, names converted once per distinct name), so a million records take
seconds. Every planted case carries a ``kind`` so precision and recall can be read per
kind. Realistic on purpose where it matters for matching: surname frequencies
(heteronym surnames included), a small pool of given-name characters so that
homophones and namesakes are common, twins with consecutive ID sequence numbers (a
third of them with homophone names), temporary L numbers with no ID number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import opencc
import polars as pl
from pypinyin import Style, pinyin

from xueji.ids import CHECK_CHARS, WEIGHTS

COUNTIES = (
    "430102",
    "430103",
    "430104",
    "430105",
    "430111",
    "430112",
    "430121",
    "430181",
    "430182",
)

# (surname, relative frequency in per mille); heteronym and compound surnames included.
SURNAMES = (
    ("王", 71), ("李", 70), ("张", 67), ("刘", 54), ("陈", 45), ("杨", 31), ("黄", 22), ("赵", 20), ("吴", 20),
    ("周", 19), ("徐", 15), ("孙", 15), ("马", 13), ("朱", 12), ("胡", 11), ("郭", 11), ("何", 10), ("高", 10),
    ("林", 10), ("罗", 9), ("郑", 9), ("梁", 9), ("谢", 8), ("宋", 7), ("唐", 7), ("许", 6), ("韩", 6), ("冯", 6),
    ("邓", 6), ("曹", 6), ("彭", 5), ("曾", 5), ("肖", 5), ("田", 5), ("董", 5), ("袁", 4), ("潘", 4), ("于", 4),
    ("蒋", 4), ("蔡", 4), ("余", 4), ("杜", 4), ("叶", 4), ("程", 4), ("苏", 3), ("魏", 3), ("吕", 3), ("丁", 3),
    ("任", 3), ("沈", 3), ("姚", 3), ("卢", 3), ("姜", 3), ("崔", 3), ("钟", 3), ("谭", 3), ("陆", 3), ("汪", 2),
    ("范", 2), ("金", 2), ("石", 2), ("廖", 2), ("贾", 2), ("夏", 2), ("韦", 2), ("付", 2), ("方", 2), ("白", 2),
    ("邹", 2), ("孟", 2), ("熊", 2), ("秦", 2), ("邱", 2), ("江", 2), ("尹", 2), ("薛", 2), ("段", 2), ("雷", 2),
    ("侯", 2), ("龙", 2), ("史", 2), ("陶", 2), ("黎", 2), ("贺", 2), ("顾", 2), ("毛", 2), ("郝", 2), ("龚", 2),
    ("邵", 2), ("万", 2), ("钱", 2), ("严", 2), ("覃", 2), ("武", 2), ("戴", 2), ("莫", 2), ("孔", 1), ("向", 1),
    ("单", 1), ("解", 1), ("仇", 1), ("区", 1), ("查", 1), ("朴", 1), ("欧阳", 1), ("司马", 1), ("诸葛", 1),
)  # fmt: skip
MALE_CHARS = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林博文轩子豪睿航泽宏晨阳天一嘉梓然铭昊奕哲瑞晟锦逸成志国建兵海鸿"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲桂英红梅琳雪婷倩颖慧佳欣怡悦涵萱琪诗雨梦思可馨语彤妍晗瑶璐婧蕾薇菲月晶莹媛洁露"
# More characters that sound like name characters, for homophone spellings.
EXTRA_CHARS = (
    "玮炜维卫薇巍蔚为唯威墙蔷晴清庆青倾茗鸣名铭敏闽民珉悦越跃岳玥钥月乐宇羽雨语予瑜玉煜钰浩皓昊灏豪好郝"
    "杰洁捷婕颉佳家嘉加珈伽涛韬滔桃陶琳林霖淋麟临鹏朋蓬芃轩萱宣璇玄旋暄怡仪宜贻颐依伊漪一逸毅艺亦奕忆易"
    "辉徽晖慧惠蕙会卉汇绘婷庭廷霆亭挺欣馨心新鑫昕忻芯歆睿瑞锐蕊芮瑶遥姚尧谣耀晨辰宸琛臣尘陈沉帆凡繁璠樊"
)
MINORITY_NAMES = (
    "阿依古丽·买买提", "古丽娜尔·艾山", "买买提·吐尔逊", "艾力·阿不都", "迪丽娜尔·热合曼", "帕提古丽·吾斯曼",
    "扎西·多吉", "卓玛·次仁", "巴特尔·乌力吉", "其其格·宝音",
)  # fmt: skip

KINDS = (
    "same_id",
    "id_substitution",
    "id_transposition",
    "l_number",
    "l_number_swapped_date",
    "typo_swapped_date",
)
NAME_VARIANTS = ("exact", "traditional", "homophone", "spaced")


@dataclass
class SynthRegistry:
    """A registry frame (loader-typed, ``_row`` from 1) and its labels."""

    registry: pl.DataFrame
    labels: (
        pl.DataFrame
    )  # _row, person_key, kind ("base", "twin", or a duplicate kind), name_variant, twin_of


def valid_id(area: str, birth: str, seq: int) -> str:
    """One valid ID number: 6-digit area, YYYYMMDD birth date, 3-digit sequence number
    (odd for a boy), and its check character. For crafted test cases."""
    body = f"{area}{birth}{seq:03d}"
    return body + CHECK_CHARS[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def check_chars(body: np.ndarray) -> np.ndarray:
    """MOD 11-2 check characters of an (n, 17) digit array."""
    total = (body * np.asarray(WEIGHTS)).sum(axis=1) % 11
    return np.asarray(list(CHECK_CHARS))[total]


def _digits(strings: pl.Series, width: int) -> np.ndarray:
    return (
        np.frombuffer("".join(strings.to_list()).encode("ascii"), dtype=np.uint8).reshape(-1, width)
        - 48
    ).astype(np.int64)


def _ids(area: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> pl.Series:
    """Valid ID numbers from area codes (str), birth dates (YYYYMMDD str) and sequence numbers."""
    body = pl.Series(area) + pl.Series(birth) + pl.Series(seq).cast(pl.String).str.zfill(3)
    check = check_chars(_digits(body, 17))
    return body + pl.Series(check)


def _homophones(chars: str) -> dict[str, list[str]]:
    """For each character, the other characters of ``chars`` with the same toneless reading."""
    by_sound: dict[str, list[str]] = {}
    for ch in dict.fromkeys(chars):
        by_sound.setdefault(pinyin(ch, style=Style.NORMAL)[0][0], []).append(ch)
    return {ch: [o for o in group if o != ch] for group in by_sound.values() for ch in group}


def _homophone_of(
    names: list[str], rng: np.random.Generator, table: dict[str, list[str]], surname_len: list[int]
) -> list[str]:
    # One Python step per planted homophone (a few thousand at most), never per record.
    out = []
    for name, k in zip(names, surname_len, strict=True):
        given = name[k:]
        spots = [i for i, ch in enumerate(given) if table.get(ch)]
        if not spots:
            out.append(name)
            continue
        i = spots[int(rng.integers(len(spots)))]
        alts = table[given[i]]
        out.append(name[:k] + given[:i] + alts[int(rng.integers(len(alts)))] + given[i + 1 :])
    return out


def synth_registry(
    n: int,
    seed: int = 1,
    dup_rate: float = 0.02,
    twin_rate: float = 0.015,
    l_rate: float = 0.03,
    invalid_rate: float = 0.003,
    as_of: date = date(2026, 11, 20),
) -> SynthRegistry:
    """About ``n`` registry records: persons, twins, and ``dup_rate`` planted duplicates."""
    rng = np.random.default_rng(seed)
    n_dup = int(n * dup_rate)
    n_twin = int(n * twin_rate)
    n_base = n - n_dup - n_twin

    # Base persons.
    gender = np.where(rng.random(n_base) < 0.52, "M", "F")
    grade = rng.integers(1, 13, n_base)
    year = as_of.year - 6 - grade + (as_of.month >= 9)
    birth = (
        pl.DataFrame({"y": year, "d": rng.integers(0, 365, n_base)})
        .select((pl.date(pl.col("y"), 1, 1) + pl.duration(days=pl.col("d"))).alias("b"))
        .to_series()
    )
    sw = np.asarray([w for _, w in SURNAMES], dtype=float)
    surname_idx = rng.choice(len(SURNAMES), n_base, p=sw / sw.sum())
    surnames = np.asarray([s for s, _ in SURNAMES])[surname_idx]
    surname_len = np.char.str_len(surnames)
    pool_m, pool_f = np.asarray(list(MALE_CHARS)), np.asarray(list(FEMALE_CHARS))

    def given(k: int, pool: np.ndarray) -> np.ndarray:
        zipf = 1.0 / np.arange(1, len(pool) + 1) ** 0.7
        first = pool[rng.choice(len(pool), k, p=zipf / zipf.sum())]
        second = pool[rng.choice(len(pool), k)]
        two = rng.random(k) < 0.75
        return np.where(two, np.char.add(first, second), first)

    given_names = np.where(gender == "M", given(n_base, pool_m), given(n_base, pool_f))
    names = np.char.add(surnames, given_names)
    minority = rng.random(n_base) < 0.01
    names = np.where(
        minority, np.asarray(MINORITY_NAMES)[rng.integers(0, len(MINORITY_NAMES), n_base)], names
    )
    surname_len = np.where(minority, 0, surname_len)
    area = np.asarray(COUNTIES)[rng.integers(0, len(COUNTIES), n_base)]
    seq = rng.integers(0, 500, n_base) * 2 + (gender == "M")
    birth_txt = birth.dt.strftime("%Y%m%d").to_numpy().astype(str)
    ids = _ids(area, birth_txt, seq)
    n_schools = max(n_base // 1500, 3)
    school_idx = rng.integers(0, n_schools, n_base)
    school = pl.Series((4301000000 + school_idx * 7 + 1).astype(str))
    # 12-digit hukou address: county + street (3 digits) + community (3 digits).
    hukou = pl.Series(
        np.char.add(
            np.char.add(area, np.char.zfill(rng.integers(1, 21, n_base).astype(str), 3)),
            np.char.zfill(rng.integers(1, 31, n_base).astype(str), 3),
        )
    )
    base = pl.DataFrame(
        {
            "person_key": np.arange(n_base, dtype=np.int64),
            "name": names,
            "surname_len": surname_len,
            "gender": gender,
            "birth_date": birth,
            "id_number": ids,
            "area": area,
            "school_code": school,
            "school_idx": school_idx,
            "hukou": hukou,
            "grade": grade,
            "class_name": pl.Series(rng.integers(1, 9, n_base)).cast(pl.String) + "班",
        }
    ).with_columns(pl.lit("base", pl.String).alias("kind"), pl.lit(None, pl.Int64).alias("twin_of"))
    # ID numbers must be unique among base persons; drop the rare repeats.
    base = base.unique("id_number", keep="first", maintain_order=True)
    n_base = base.height

    # Twins: same surname, birth date, school and class; next sequence number; a third homophones.
    tw_src = base.sample(n_twin, seed=seed + 1)
    hom = _homophones(MALE_CHARS + FEMALE_CHARS + EXTRA_CHARS)
    tw_gender = np.where(
        rng.random(n_twin) < 0.5,
        tw_src["gender"].to_numpy(),
        np.where(tw_src["gender"].to_numpy() == "M", "F", "M"),
    )
    tw_seq = (
        (_digits(tw_src["id_number"].str.slice(14, 3), 3) @ np.asarray([100, 10, 1])) // 2 * 2
        + 2
        + (tw_gender == "M")
    )
    tw_seq = np.where(tw_seq > 999, tw_seq - 10, tw_seq)
    tw_ids = _ids(
        tw_src["area"].to_numpy().astype(str),
        tw_src["id_number"].str.slice(6, 8).to_numpy().astype(str),
        tw_seq,
    )
    homophone_twin = rng.random(n_twin) < 0.33
    tw_given = np.where(tw_gender == "M", given(n_twin, pool_m), given(n_twin, pool_f))
    sl = tw_src["surname_len"].to_numpy()
    src_names = tw_src["name"].to_list()
    tw_names = [nm[: int(k)] + str(g) for nm, k, g in zip(src_names, sl, tw_given, strict=True)]
    hom_names = _homophone_of(src_names, rng, hom, [int(k) for k in sl])
    tw_names = [
        h if (flag and h != s) else t
        for h, s, t, flag in zip(hom_names, src_names, tw_names, homophone_twin, strict=True)
    ]
    twins = tw_src.with_columns(
        pl.Series(
            "person_key",
            np.arange(n_twin, dtype=np.int64) + int(base["person_key"].to_numpy().max()) + 1,
        ),
        pl.Series("name", tw_names, dtype=pl.String),
        pl.Series("gender", tw_gender),
        tw_ids.alias("id_number"),
        pl.lit("twin").alias("kind"),
        pl.col("person_key").alias("twin_of"),
    ).filter(pl.col("name") != pl.Series(src_names))
    persons = pl.concat([base, twins]).unique("id_number", keep="first", maintain_order=True)

    # Student numbers: G + ID, some L (no ID) and a few planted invalid IDs.
    u = rng.random(persons.height)
    is_l = u < l_rate
    persons = persons.with_columns(
        pl.Series("_is_l", is_l),
        pl.Series("_invalid", (u >= l_rate) & (u < l_rate + invalid_rate)),
    )

    # Duplicates: a second active record of a base person at another school.
    d = persons.filter(pl.col("kind") == "base").sample(n_dup, seed=seed + 2)
    kind = np.asarray(KINDS)[rng.integers(0, len(KINDS), n_dup)]
    variant = np.asarray(NAME_VARIANTS)[rng.choice(4, n_dup, p=[0.4, 0.2, 0.3, 0.1])]
    idd = _digits(d["id_number"].str.slice(0, 17), 17)
    pos = rng.integers(0, 17, n_dup)
    sub = idd.copy()
    sub[np.arange(n_dup), pos] = (sub[np.arange(n_dup), pos] + rng.integers(1, 10, n_dup)) % 10
    tpos = rng.integers(6, 16, n_dup)
    trans = idd.copy()
    a, b = trans[np.arange(n_dup), tpos].copy(), trans[np.arange(n_dup), tpos + 1].copy()
    same = a == b
    b = np.where(same, (b + 1) % 10, b)  # a transposition of equal digits is no change: make it one
    trans[np.arange(n_dup), tpos], trans[np.arange(n_dup), tpos + 1] = b, a
    check = d["id_number"].str.slice(17, 1).to_numpy().astype(str)

    def as_text(arr: np.ndarray) -> np.ndarray:
        raw = np.ascontiguousarray((arr + 48).astype(np.uint8)).tobytes()
        return np.frombuffer(raw, dtype=f"S{arr.shape[1]}").astype(str)

    sub_ids = np.char.add(as_text(sub), check)
    trans_ids = np.char.add(as_text(trans), check)
    orig = d["id_number"].to_numpy().astype(str)
    dup_id = np.select(
        [
            kind == "same_id",
            kind == "id_substitution",
            kind == "id_transposition",
            kind == "typo_swapped_date",
        ],
        [orig, sub_ids, trans_ids, sub_ids],
        default="",
    )
    bd = d["birth_date"]
    swap_ok = (bd.dt.day() <= 12) & (bd.dt.day() != bd.dt.month())
    bcol = pl.col("b")
    swapped = (
        pl.DataFrame({"b": bd})
        .select(pl.date(bcol.dt.year(), bcol.dt.day().clip(1, 12), bcol.dt.month()))
        .to_series()
    )
    wants_swap = np.isin(kind, ["l_number_swapped_date", "typo_swapped_date"]) & swap_ok.to_numpy()
    # Cases that cannot be swapped fall back to the unswapped kind.
    kind = np.where(np.isin(kind, ["l_number_swapped_date"]) & ~wants_swap, "l_number", kind)
    kind = np.where(np.isin(kind, ["typo_swapped_date"]) & ~wants_swap, "id_substitution", kind)
    dup_birth = pl.select(pl.when(pl.Series(wants_swap)).then(swapped).otherwise(bd)).to_series()
    names_d = d["name"].to_list()
    variant = np.where(kind == "same_id", variant, variant)
    hom_d = _homophone_of(names_d, rng, hom, d["surname_len"].to_list())
    trad = opencc.OpenCC("s2t").convert("\n".join(names_d)).split("\n") if names_d else []
    spaced = [
        nm[:k] + " " + nm[k:] if k else nm.replace("·", "•")
        for nm, k in zip(names_d, d["surname_len"].to_list(), strict=True)
    ]
    picked = [
        {"exact": nm, "traditional": t, "homophone": h, "spaced": s}[v]
        for nm, t, h, s, v in zip(names_d, trad, hom_d, spaced, variant, strict=True)
    ]
    variant = np.where(np.asarray(picked) == np.asarray(names_d), "exact", variant)
    dups = d.with_columns(
        pl.Series("name", picked, dtype=pl.String),
        pl.Series("id_number", dup_id).replace("", None),
        dup_birth.alias("birth_date"),
        # 一人多籍: the second record is at another school.
        pl.Series(
            "school_code",
            (
                4301000000
                + ((d["school_idx"].to_numpy() + rng.integers(1, n_schools, n_dup)) % n_schools) * 7
                + 1
            ).astype(str),
        ),
        pl.Series("kind", kind),
        pl.lit(False).alias("_is_l"),
        pl.lit(False).alias("_invalid"),
        pl.Series("name_variant", variant),
    )
    persons = persons.with_columns(pl.lit("exact").alias("name_variant"))
    # The original's own planted error would make the pair not a duplicate by the contract.
    persons = persons.with_columns(
        pl.when(pl.col("person_key").is_in(d["person_key"].to_list()))
        .then(False)
        .otherwise(pl.col("_is_l"))
        .alias("_is_l"),
        pl.when(pl.col("person_key").is_in(d["person_key"].to_list()))
        .then(False)
        .otherwise(pl.col("_invalid"))
        .alias("_invalid"),
    )
    rows = pl.concat([persons, dups.select(persons.columns)]).sample(
        fraction=1.0, shuffle=True, seed=seed + 3
    )
    last = pl.col("id_number").str.slice(17, 1)
    bad_check = pl.when(last == "0").then(pl.lit("1")).otherwise(pl.lit("0"))
    rows = rows.with_columns(
        pl.when(pl.col("_is_l"))
        .then(None)
        .when(pl.col("_invalid"))
        .then(pl.col("id_number").str.slice(0, 17) + bad_check)
        .otherwise(pl.col("id_number"))
        .alias("id_number"),
    )
    n_rows = rows.height
    lnum = pl.Series(rng.integers(0, 10000, n_rows)).cast(pl.String).str.zfill(4)
    rows = rows.with_columns(
        pl.when(pl.col("id_number").is_not_null())
        .then(pl.lit("G") + pl.col("id_number"))
        .otherwise(pl.lit("L") + pl.col("area") + pl.col("birth_date").dt.strftime("%Y%m%d") + lnum)
        .alias("student_no"),
    )
    statuses = np.asarray(["enrolled", "suspended", "transferred_out", "graduated"])
    st = statuses[rng.choice(4, n_rows, p=[0.95, 0.01, 0.03, 0.01])]
    rows = rows.with_columns(
        pl.when(pl.col("kind").is_in(list(KINDS)))
        .then(pl.lit("enrolled"))
        .otherwise(pl.Series(st))
        .alias("status")
    )
    # Planted duplicates must be two active records: keep the original active too.
    rows = rows.with_columns(
        pl.when(pl.col("person_key").is_in(d["person_key"].to_list()))
        .then(pl.lit("enrolled"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    rows = rows.with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64))
    registry = rows.select(
        "_row",
        "student_no",
        pl.lit("resident_id").alias("id_type"),
        "id_number",
        "name",
        "gender",
        "birth_date",
        "school_code",
        pl.col("grade").cast(pl.Int64),
        "class_name",
        "status",
        pl.lit(None, pl.Date).alias("status_date"),
        pl.lit(date(as_of.year, 9, 1)).alias("enrol_date"),
        pl.col("hukou").alias("hukou_area_code"),
        pl.col("hukou").alias("residence_area_code"),
        pl.lit(False).alias("is_migrant"),
        pl.lit("none").alias("placement"),
    )
    labels = rows.select("_row", "person_key", "kind", "name_variant", "twin_of")
    return SynthRegistry(registry, labels)


@dataclass
class SynthAttendance:
    """Attendance rows (loader-typed) and, per attendance person, the true record."""

    attendance: pl.DataFrame
    labels: (
        pl.DataFrame
    )  # school_code, grade, class_name, name, id_number, local_id → true_row, person_key, form


def synth_attendance(
    reg: SynthRegistry, seed: int = 1, days: int = 2, unregistered_rate: float = 0.01
) -> SynthAttendance:
    """Attendance for every active record's school (one attendee per person), written the
    ways schools write it: full, masked or no ID number (a habit per school, and some
    pupils without), names in traditional characters, homophones, with a space, or
    mistyped (only where the full ID is shown), a local_id in most schools, a few
    children seen in another class of their grade, and unregistered children."""
    rng = np.random.default_rng(seed + 100)
    r = reg.registry.join(reg.labels, on="_row")
    # one attendee per person: the base record when the person has several
    r = (
        r.filter(pl.col("status") == "enrolled")
        .sort(pl.col("kind") != "base", "_row")
        .unique("person_key", keep="first")
    )
    n = r.height
    schools = r["school_code"].unique().sort()
    habit = pl.DataFrame(
        {
            "school_code": schools,
            "_mode": np.asarray(["full", "masked", "none"])[
                rng.choice(3, schools.len(), p=[0.4, 0.35, 0.25])
            ],
            "_local": rng.random(schools.len()) < 0.6,
        }
    )
    r = r.join(habit, on="school_code")
    mode = np.where(rng.random(n) < 0.1, "none", r["_mode"].to_numpy())
    mode = np.where(r["id_number"].is_null().to_numpy(), "none", mode)
    u = rng.random(n)
    form = np.full(n, "same", dtype=object)
    form[u < 0.04] = "traditional"
    form[(u >= 0.04) & (u < 0.09)] = "homophone"
    form[(u >= 0.09) & (u < 0.14)] = "spaced"
    form[(u >= 0.14) & (u < 0.16) & (mode == "full")] = "typo"
    names = r["name"].to_list()
    sl = [
        len(nm) - 2 if len(nm) >= 3 and "·" not in nm else (1 if "·" not in nm else 0)
        for nm in names
    ]
    hom = _homophones(MALE_CHARS + FEMALE_CHARS + EXTRA_CHARS)
    idx = {f: np.flatnonzero(form == f) for f in ("traditional", "homophone", "spaced", "typo")}
    written = list(names)
    trad = (
        opencc.OpenCC("s2t").convert("\n".join(names[i] for i in idx["traditional"])).split("\n")
        if idx["traditional"].size
        else []
    )
    for i, t in zip(idx["traditional"], trad, strict=True):
        written[i] = t
    homs = _homophone_of(
        [names[i] for i in idx["homophone"]], rng, hom, [sl[i] for i in idx["homophone"]]
    )
    for i, h in zip(idx["homophone"], homs, strict=True):
        written[i] = h
    for i in idx["spaced"]:
        k = sl[i] if sl[i] else 1
        written[i] = names[i][:k] + " " + names[i][k:]
    pool = MALE_CHARS + FEMALE_CHARS
    for i in idx["typo"]:
        written[i] = names[i][:-1] + pool[int(rng.integers(len(pool)))]
    form = np.where(np.asarray(written) == np.asarray(names), "same", form)
    ids = r["id_number"]
    masked = ids.str.slice(0, 6) + "********" + ids.str.slice(14, 4)
    id_seen = pl.select(
        pl.when(pl.Series(mode == "full")).then(ids).when(pl.Series(mode == "masked")).then(masked)
    ).to_series()
    moved = rng.random(n) < 0.01
    cls = (
        pl.Series(
            np.where(
                moved,
                (rng.integers(1, 9, n)).astype(str),
                r["class_name"].str.strip_suffix("班").to_numpy(),
            )
        )
        + "班"
    )
    att = pl.DataFrame(
        {
            "school_code": r["school_code"],
            "grade": r["grade"],
            "class_name": cls,
            "name": pl.Series(written, dtype=pl.String),
            "id_number": id_seen,
            "local_id": pl.select(
                pl.when(r["_local"]).then(pl.Series(np.char.zfill(np.arange(n).astype(str), 7)))
            ).to_series(),
            "true_row": r["_row"],
            "person_key": r["person_key"],
            "form": pl.Series(form.tolist(), dtype=pl.String),
        }
    )
    # Unregistered children: new names, no ID or an ID of nobody in the registry.
    k = int(n * unregistered_rate)
    pick = r.sample(k, seed=seed + 101)
    sw = np.asarray([w for _, w in SURNAMES], dtype=float)
    sn = np.asarray([s for s, _ in SURNAMES])[rng.choice(len(SURNAMES), k, p=sw / sw.sum())]
    gp = np.asarray(list(pool))
    gn = np.char.add(gp[rng.integers(0, len(gp), k)], gp[rng.integers(0, len(gp), k)])
    stranger = _ids(np.full(k, "430199"), np.full(k, "20150101"), rng.integers(0, 1000, k))
    unreg = (
        pl.DataFrame(
            {
                "school_code": pick["school_code"],
                "grade": pick["grade"],
                "class_name": pick["class_name"],
                "name": pl.Series(np.char.add(sn, gn)),
                "id_number": pl.select(
                    pl.when(pl.Series(rng.random(k) < 0.3)).then(stranger)
                ).to_series(),
                "local_id": pl.Series(np.char.add("U", np.arange(k).astype(str))),
                "true_row": pl.Series([None] * k, dtype=pl.Int64),
                "person_key": pl.Series([None] * k, dtype=pl.Int64),
                "form": pl.Series(["unregistered"] * k, dtype=pl.String),
            }
        )
        if k
        else att.clear()
    )
    people = pl.concat([att, unreg.select(att.columns)], how="vertical_relaxed")
    rows = pl.concat(
        [
            people.with_columns(
                pl.lit(date(2026, 11, 2 + d)).alias("date"), pl.lit("present").alias("status")
            )
            for d in range(days)
        ]
    )
    attendance = rows.select(
        "school_code", "date", "grade", "class_name", "name", "id_number", "local_id", "status"
    )
    attendance = attendance.with_row_index("_row", offset=1).with_columns(
        pl.col("_row").cast(pl.Int64)
    )
    labels = people.select(
        "school_code",
        "grade",
        "class_name",
        "name",
        "id_number",
        "local_id",
        "true_row",
        "person_key",
        "form",
    )
    return SynthAttendance(attendance, labels)


def pair_metrics(clusters: pl.DataFrame, labels: pl.DataFrame) -> dict[str, float]:
    """Pairwise precision, recall, F1 and twins merged, from (``_row``, ``cluster``) and the
    labels (``_row``, ``person_key``, ``kind``, ``twin_of``), without listing pairs."""
    j = clusters.join(labels, on="_row")

    def pairs(keys: list[str]) -> int:
        n = j.group_by(keys).len()["len"].cast(pl.Int64)
        return int((n * (n - 1) // 2).sum())

    predicted, truth, both = (
        pairs(["cluster"]),
        pairs(["person_key"]),
        pairs(["cluster", "person_key"]),
    )
    precision = both / predicted if predicted else 1.0
    recall = both / truth if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    twins = j.filter(pl.col("kind") == "twin").select("cluster", "twin_of")
    sibling = j.select("cluster", pl.col("person_key").alias("twin_of")).unique()
    merged = twins.join(sibling, on=["cluster", "twin_of"], how="semi").height
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "twins": twins.height,
        "twins_merged": merged / twins.height if twins.height else 0.0,
    }
