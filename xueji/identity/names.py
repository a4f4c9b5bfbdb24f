"""Chinese name keys: script, spacing, the minority-name dot, toneless pinyin, similarity.

Why OpenCC (the ``opencc`` package, bindings of the OpenCC C++ library) and not
zhconv: OpenCC is actively maintained, converts by phrase and character tables curated
upstream, and runs in C++ — a million names convert in well under a second as one
joined string. zhconv is pure Python on MediaWiki conversion tables and is rarely
released. Both sides of every comparison go through the same conversion, so what
matters is consistency; OpenCC's occasional over-conversion of a name character
(乾 → 干) is harmless for keys, and readings are taken from the name as written.

Pinyin comes from pypinyin, one call per distinct *character*: names are not phrases
(pypinyin's phrase table reads 朝阳 as "zhao yang" in one name and not in another), so
a per-character reading gives every name the same key wherever it appears. pypinyin's
default readings of heteronym surnames are wrong for surnames (单 dan, 曾 ceng, 解 jie,
仇 chou, 区 qu, 查 cha, 朴 pu), so the first character — or the first two for a compound
surname — is read from ``SURNAME_READINGS`` / ``COMPOUND_SURNAMES`` instead. Names with
a middle dot are transliterations (阿依古丽·买买提): no surname reading applies.

Every function here works on frames: keys are computed once per distinct name.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import opencc
import polars as pl
from pypinyin import Style, pinyin
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

# Surname readings where pypinyin's default reading of the character is not the
# surname's (checked against pypinyin 0.55: 单→dan, 曾→ceng, 解→jie, 仇→chou, 区→qu,
# 查→cha, 朴→pu, 盖→gai, 覃→tan, 缪→mou, 翟→di, 召→zhao, 种→zhong, 秘→mi, 员→yuan,
# 繁→fan, 阚→han, 句→ju, 薄→bao ...), plus a few common surnames pinned to their
# reading so a future pypinyin default cannot move them (沈, 任, 华, 纪, 褚). 乐 is read
# yue (乐 as a surname is both Yuè and Lè; one reading must be chosen for both sides).
SURNAME_READINGS: dict[str, str] = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "盖": "ge",
    "覃": "qin",
    "缪": "miao",
    "翟": "zhai",
    "召": "shao",
    "种": "chong",
    "秘": "bi",
    "员": "yun",
    "繁": "po",
    "阚": "kan",
    "句": "gou",
    "乐": "yue",
    "尉": "wei",
    "薄": "bo",
    "牟": "mou",
    "眭": "sui",
    "郇": "xun",
    "贲": "ben",
    "宓": "mi",
    "折": "she",
    "能": "nai",
    "藏": "zang",
    "长": "chang",
    "重": "chong",
    "沈": "shen",
    "任": "ren",
    "华": "hua",
    "纪": "ji",
    "褚": "chu",
    "冼": "xian",
}

# Compound surnames whose characters pypinyin may misread in a name; a name starting
# with one of these gets both readings from here.
COMPOUND_SURNAMES: dict[str, str] = {
    "尉迟": "yu chi",
    "万俟": "mo qi",
    "单于": "chan yu",
    "长孙": "zhang sun",
    "澹台": "tan tai",
    "令狐": "ling hu",
    "欧阳": "ou yang",
    "司马": "si ma",
    "上官": "shang guan",
    "诸葛": "zhu ge",
    "东方": "dong fang",
    "皇甫": "huang fu",
    "公孙": "gong sun",
    "慕容": "mu rong",
    "宇文": "yu wen",
    "司徒": "si tu",
    "夏侯": "xia hou",
    "南宫": "nan gong",
    "轩辕": "xuan yuan",
    "端木": "duan mu",
    "闻人": "wen ren",
    "申屠": "shen tu",
    "呼延": "hu yan",
    "独孤": "du gu",
    "钟离": "zhong li",
    "宗政": "zong zheng",
    "濮阳": "pu yang",
    "公冶": "gong ye",
    "左丘": "zuo qiu",
    "西门": "xi men",
    "第五": "di wu",
    "亓官": "qi guan",
    "赫连": "he lian",
    "拓跋": "tuo ba",
    "乐正": "yue zheng",
    "仲孙": "zhong sun",
    "太叔": "tai shu",
    "百里": "bai li",
    "司空": "si kong",
}

# The middle dot of minority and foreign names is typed in many ways; all become U+00B7.
# The loader turns the full-width full stop (U+FF0E) into "." before we see it.
DOT = "·"
_DOT_VARIANTS = ("•", "‧", "・", "･", "∙", "⋅", "ㆍ", "·", "．", ".", "▪", "—", "－", "-")
_SPACES = r"[\s\u3000\u00a0\u200b\u2002\u2003\u2009\ufeff]+"

# Name similarity levels (the name comparison of xueji.identity.spec).
EXACT_SCORE = 1.0
HOMOPHONE_SCORE = 0.95


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(texts: list[str]) -> list[str]:
    """Traditional → simplified Chinese for many short strings in one OpenCC call.

    The strings must not contain a newline (names have had whitespace removed).
    """
    if not texts:
        return []
    return _t2s().convert("\n".join(texts)).split("\n")


def _char_readings(chars: list[str]) -> dict[str, str]:
    """Toneless default pinyin of each character; non-Chinese characters lower-cased."""
    out = {}
    for ch in chars:
        reading = pinyin(ch, style=Style.NORMAL, heteronym=False, errors="default")
        out[ch] = reading[0][0].lower() if reading and reading[0] else ch.lower()
    return out


def clean_name(name: pl.Expr) -> pl.Expr:
    """Spaces (ASCII, full-width, no-break) removed; every middle-dot variant made ``·``."""
    out = name.str.replace_all(_SPACES, "")
    out = out.str.replace_many(list(_DOT_VARIANTS), [DOT] * len(_DOT_VARIANTS))
    return out.str.strip_chars(DOT)


def name_keys(names: pl.Series) -> pl.DataFrame:
    """Keys of each distinct name: ``name``, ``name_norm``, ``name_key``, ``pinyin``.

    - ``name_norm``: simplified script, no spaces, middle dot as ``·`` (for display).
    - ``name_key``: ``name_norm`` without the dot — two names are "the same name up to
      script and spacing" exactly when their keys are equal.
    - ``pinyin``: toneless syllables separated by spaces, surnames read as surnames —
      equal pinyin and different keys means a homophone.

    Returns one row per distinct non-null input name; join it back on ``name``.
    """
    uniq = pl.DataFrame({"name": names.drop_nulls().unique()}, schema={"name": pl.String})
    uniq = uniq.with_columns(clean_name(pl.col("name")).alias("_clean"))
    simplified = to_simplified(uniq["_clean"].to_list())
    frame = uniq.with_columns(pl.Series("name_norm", simplified, dtype=pl.String))
    frame = frame.with_columns(
        pl.col("name_norm")
        .str.replace_all(DOT, "", literal=True)
        .str.to_lowercase()
        .alias("name_key"),
        # Readings come from the name as written: pypinyin reads traditional characters,
        # and OpenCC's character table turns some valid simplified name characters into
        # others (乾 → 干) that do not sound the same.
        pl.col("_clean").str.replace_all(DOT, "", literal=True).str.to_lowercase().alias("_spoken"),
        pl.col("name_norm").str.contains(DOT, literal=True).alias("_minority"),
    )
    chars = frame.select(pl.col("_spoken").str.split("").explode().unique().drop_nulls())[
        "_spoken"
    ].to_list()
    readings = _char_readings([c for c in chars if c])
    first2 = pl.col("name_key").str.slice(0, 2)
    first1 = pl.col("name_key").str.slice(0, 1)
    compound = ~pl.col("_minority") & first2.is_in(list(COMPOUND_SURNAMES))
    single = ~pl.col("_minority") & ~compound & first1.is_in(list(SURNAME_READINGS))
    surname_len = pl.when(compound).then(2).when(single).then(1).otherwise(0)

    def read(chars_expr: pl.Expr) -> pl.Expr:
        return (
            chars_expr.str.split("")
            .list.eval(
                pl.element().replace_strict(readings, default=pl.element(), return_dtype=pl.String)
            )
            .list.join(" ")
        )

    # In stages: an eager frame does not share sub-expressions, and ``rest`` and ``head``
    # are read three and two times below.
    frame = frame.with_columns(compound.alias("_compound"), single.alias("_single"))
    compound, single = pl.col("_compound"), pl.col("_single")
    frame = frame.with_columns(
        read(pl.col("_spoken").str.slice(surname_len)).alias("_rest"),
        pl.when(compound)
        .then(first2.replace_strict(COMPOUND_SURNAMES, default=None, return_dtype=pl.String))
        .when(single)
        .then(first1.replace_strict(SURNAME_READINGS, default=None, return_dtype=pl.String))
        .alias("_head"),
    )
    rest, head = pl.col("_rest"), pl.col("_head")
    py = (
        pl.when(head.is_null())
        .then(rest)
        .when(rest == "")
        .then(head)
        .otherwise(head + pl.lit(" ") + rest)
    )
    return frame.with_columns(py.alias("pinyin")).select("name", "name_norm", "name_key", "pinyin")


def with_name_keys(
    frame: pl.DataFrame,
    col: str = "name",
    prefix: str = "",
    known: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``frame`` with ``{prefix}name_key`` and ``{prefix}pinyin`` of column ``col`` added.

    ``known`` (``name``, ``name_key``, ``pinyin``, e.g. the registry's features) supplies
    the keys of names already converted: only the other names go through OpenCC and
    pypinyin (the keys of a name depend on nothing else, so the result is the same)."""
    if known is None:
        keys = name_keys(frame[col])
    else:
        seen = known.select("name", "name_key", "pinyin").drop_nulls("name").unique("name")
        names = frame.get_column(col)
        new_names = names.filter(~names.is_in(seen["name"].implode()))
        fresh = name_keys(new_names)
        keys = pl.concat([seen, fresh.select(seen.columns)])
    keys = keys.select(
        pl.col("name").alias(col),
        pl.col("name_key").alias(f"{prefix}name_key"),
        pl.col("pinyin").alias(f"{prefix}pinyin"),
    )
    added = [f"{prefix}name_key", f"{prefix}pinyin"]
    if any(c in frame.columns for c in added):
        return frame.join(keys, on=col, how="left", nulls_equal=False)
    # One row per name in ``keys``: the looked-up columns line up with ``frame``'s rows and
    # are added beside them, rather than every column of ``frame`` being copied by a join.
    looked = frame.select(col).join(
        keys, on=col, how="left", nulls_equal=False, maintain_order="left"
    )
    return frame.with_columns(looked.get_column(c) for c in added)


def name_level(key_a: pl.Expr, py_a: pl.Expr, key_b: pl.Expr, py_b: pl.Expr) -> pl.Expr:
    """``exact`` (same name up to script, spacing and dot), ``homophone`` (same toneless
    pinyin), ``different``, or null when either name is unknown."""
    return (
        pl.when(key_a.is_null() | key_b.is_null())
        .then(pl.lit(None, pl.String))
        .when(key_a == key_b)
        .then(pl.lit("exact"))
        .when(py_a == py_b)
        .then(pl.lit("homophone"))
        .otherwise(pl.lit("different"))
    )


def same_name_or_homophone(a: pl.Series, b: pl.Series) -> pl.Series:
    """Element-wise: is name ``a`` the same as ``b`` up to script and spacing, or a homophone?

    Null where either name is null. For rules such as PERSON_MISMATCH.
    """
    frame = pl.DataFrame({"a": a.cast(pl.String), "b": b.cast(pl.String)})
    frame = with_name_keys(with_name_keys(frame, "a", "a_"), "b", "b_")
    level = frame.select(
        name_level(
            pl.col("a_name_key"), pl.col("a_pinyin"), pl.col("b_name_key"), pl.col("b_pinyin")
        ).alias("level")
    )
    return level.select(
        pl.when(pl.col("level").is_not_null())
        .then(pl.col("level").is_in(["exact", "homophone"]))
        .alias("same_name")
    ).to_series()


def combine_name_scores(char_sim: np.ndarray, py_sim: np.ndarray) -> np.ndarray:
    """Name similarity (0–1) from character and pinyin similarities (0–1).

    Equal keys score 1.0; equal pinyin (a homophone) 0.95; otherwise the mean of the
    two similarities, so a different character with a different sound costs twice
    (张伟/张华 scores about 0.58, while 张伟/张玮 scores 0.95 and 張偉/张伟 1.0).
    """
    mixed = 0.5 * char_sim + 0.5 * py_sim
    return np.where(
        char_sim >= 1.0,
        EXACT_SCORE,
        np.where(py_sim >= 1.0, HOMOPHONE_SCORE, np.minimum(mixed, 0.9)),
    )


def name_score_matrix(
    keys_a: list[str], py_a: list[str], keys_b: list[str], py_b: list[str]
) -> np.ndarray:
    """Name similarity of every name of side a to every name of side b (rapidfuzz cdist)."""
    char_sim = process.cdist(
        keys_a, list(keys_b), scorer=Levenshtein.normalized_similarity, workers=1
    )
    py_sim = process.cdist(py_a, list(py_b), scorer=Levenshtein.normalized_similarity, workers=1)
    return combine_name_scores(char_sim, py_sim)


def name_score_pairs(
    keys_a: list[str], py_a: list[str], keys_b: list[str], py_b: list[str]
) -> np.ndarray:
    """Name similarity of aligned pairs (a[i], b[i]) (rapidfuzz cpdist)."""
    if not keys_a:
        return np.zeros(0)
    char_sim = process.cpdist(keys_a, keys_b, scorer=Levenshtein.normalized_similarity, workers=1)
    py_sim = process.cpdist(py_a, py_b, scorer=Levenshtein.normalized_similarity, workers=1)
    return combine_name_scores(np.asarray(char_sim), np.asarray(py_sim))
