"""Chinese names for the sample generator: surnames by frequency, given names, and the
spellings schools and police stations write for the same person.

Names are held as integer indices (surname, first and second given character) so a
million of them cost a few numpy columns; pypinyin and OpenCC run once over the few
hundred characters of the pools, never per person.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import opencc
import polars as pl
from pypinyin import Style, pinyin

# Surnames with rough shares (per thousand people) in Hunan; the tail is flattened.
SURNAME_SHARES = (
    ("李", 70), ("王", 62), ("刘", 60), ("张", 58), ("陈", 52), ("杨", 34), ("周", 28),
    ("黄", 24), ("彭", 22), ("谭", 20), ("罗", 20), ("胡", 18), ("邓", 17), ("赵", 16),
    ("吴", 16), ("唐", 15), ("曾", 14), ("徐", 12), ("孙", 11), ("朱", 11), ("马", 10),
    ("郭", 10), ("何", 10), ("林", 9), ("高", 9), ("郑", 8), ("梁", 8), ("谢", 9),
    ("宋", 7), ("许", 6), ("韩", 6), ("冯", 6), ("曹", 6), ("肖", 9), ("田", 6),
    ("董", 5), ("袁", 6), ("潘", 5), ("蒋", 6), ("蔡", 5), ("余", 6), ("杜", 4),
    ("叶", 5), ("程", 4), ("苏", 4), ("魏", 4), ("吕", 3), ("丁", 4), ("任", 3),
    ("沈", 3), ("姚", 3), ("卢", 3), ("姜", 3), ("崔", 2), ("钟", 4), ("陆", 2),
    ("汪", 3), ("范", 3), ("金", 2), ("石", 4), ("廖", 5), ("贾", 2), ("夏", 3),
    ("付", 3), ("方", 3), ("白", 2), ("邹", 4), ("孟", 2), ("熊", 4), ("秦", 2),
    ("邱", 2), ("江", 2), ("尹", 3), ("薛", 1), ("段", 2), ("雷", 3), ("侯", 2),
    ("龙", 3), ("黎", 3), ("史", 1), ("陶", 2), ("贺", 4), ("顾", 1), ("毛", 2),
    ("郝", 1), ("龚", 2), ("邵", 2), ("万", 2), ("钱", 1), ("严", 2), ("覃", 1),
    ("武", 1), ("戴", 2), ("莫", 1), ("孔", 1), ("向", 2), ("汤", 2), ("易", 3),
    ("颜", 2), ("欧", 1), ("伍", 2), ("卜", 1), ("阮", 1), ("蓝", 1), ("晏", 1),
    ("甘", 1), ("柏", 1), ("苗", 1), ("聂", 1), ("左", 1), ("符", 1), ("饶", 1),
    # heteronym surnames (单 shàn, 解 xiè, 仇 qiú, 区 ōu, 查 zhā, 朴 piáo): rare but real
    ("单", 0.3), ("解", 0.2), ("仇", 0.2), ("区", 0.1), ("查", 0.2), ("朴", 0.1),
)  # fmt: skip
HETERONYM_SURNAMES = "单曾解仇区查朴"

BOY_CHARS = (
    "子浩宇轩睿博文俊杰泽辰铭昊然诺航明晨逸嘉豪凯鑫磊鹏伟强峰涛斌毅瑞思远锦程天佑皓"
    "煜奕霖晗宸瀚哲翔坤旭阳晟钦彬志勇军建华国庆东林海波健亮成康星琛翰鸿恒锐骏熙楷烨"
    "晋宏刚辉平俊杰云飞龙泓梓涵浚炜韬靖尧舜奇帆"
)
GIRL_CHARS = (
    "欣怡雨萱可馨思语佳琪诗悦雅婷静颖梦瑶琳紫若茜彤晴妍菲娜丽敏蕾艺珊涵梓诺欢芳婉舒瑾"
    "璇玥月雪露晶洁莹蓉萌心安宁桐依冰清嘉惠慧淑秀燕霞美玲倩芊昕婕嫣蔓卉薇瑞琴瑜妮芸"
)
# Extra characters a clerk may write for the same sound (homophone spellings).
HOMOPHONE_CHARS = (
    "小笑晓肖萧霄骁含寒韩函晗菡翰瀚宜仪怡依伊漪懿意义忆艺亦易益逸谊翼毅雨语宇羽禹玉育"
    "誉裕钰煜渝瑜俞榆余萱宣轩暄瑄玄旋璇炫绚铉欣新心馨辛昕芯薪鑫信兴星醒杏幸婷亭庭廷霆"
    "梓子紫辉晖徽慧惠卉蕙琪奇其棋旗琦麒祺齐骐淇琳林霖临麟凌玲铃灵菱伶明鸣名铭茗敏颖"
    "影莹盈赢迎英瑛樱雅亚娅涛韬滔焘桃陶俊骏峻竣浚君军钧均菲飞非妃霏斐"
)

MINORITY_FIRST_M = (
    "艾力",
    "买买提",
    "阿不都",
    "热合曼",
    "伊力哈木",
    "努尔",
    "吾守尔",
    "扎西",
    "次仁",
)
MINORITY_FIRST_F = (
    "阿依古丽",
    "迪丽娜尔",
    "古丽米拉",
    "热依拉",
    "帕提古丽",
    "米热",
    "卓玛",
    "央金",
)
MINORITY_SECOND = (
    "买买提",
    "吐尔逊",
    "艾则孜",
    "阿不力孜",
    "热合曼",
    "吾守尔",
    "沙吾提",
    "多吉",
    "顿珠",
)


def _toneless(ch: str) -> set[str]:
    return {p for p in pinyin(ch, style=Style.NORMAL, heteronym=True)[0]}


def _toned(ch: str) -> list[str]:
    return pinyin(ch, style=Style.TONE3, heteronym=True)[0]


@dataclass(frozen=True)
class NameBook:
    """The pools the generator draws from, with each character's sound and spellings."""

    surnames: tuple[str, ...]
    surname_p: np.ndarray
    surname_syllable: np.ndarray  # toneless syllable id of the usual reading
    safe_surnames: np.ndarray  # surnames whose sound no heteronym surname can take
    chars: tuple[str, ...]
    char_syllable: np.ndarray  # toneless syllable id
    char_traditional: tuple[str, ...]
    homophone_of: np.ndarray  # a different character with the same toned reading, or -1
    boy_pool: np.ndarray
    boy_p: np.ndarray
    girl_pool: np.ndarray
    girl_p: np.ndarray
    minority_m: tuple[str, ...]
    minority_f: tuple[str, ...]
    syllables: tuple[str, ...]


def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


@lru_cache(maxsize=1)
def to_traditional() -> opencc.OpenCC:
    """The simplified→traditional converter (loading its dictionaries takes a moment)."""
    return opencc.OpenCC("s2t")


@lru_cache(maxsize=1)
def name_book() -> NameBook:
    """Build the pools once: pypinyin and OpenCC run over a few hundred characters."""
    to_trad = to_traditional()
    syllables: dict[str, int] = {}

    def syl(text: str) -> int:
        return syllables.setdefault(text, len(syllables))

    surnames = tuple(s for s, _ in SURNAME_SHARES)
    surname_p = np.array([w for _, w in SURNAME_SHARES], dtype=float)
    surname_p /= surname_p.sum()
    surname_syllable = np.array([syl(pinyin(s, style=Style.NORMAL)[0][0]) for s in surnames])
    unsafe = set().union(*(_toneless(s) for s in HETERONYM_SURNAMES))
    safe = [
        i
        for i, s in enumerate(surnames)
        if s not in HETERONYM_SURNAMES and len(_toneless(s)) == 1 and not (_toneless(s) & unsafe)
    ]

    # Given-name characters must read one way (toneless), so every engine keys them alike.
    def usable(text: str) -> list[str]:
        return [c for c in dict.fromkeys(text) if len(_toneless(c)) == 1]

    boys, girls = usable(BOY_CHARS), usable(GIRL_CHARS)
    extra = [c for c in usable(HOMOPHONE_CHARS) if len(set(_toned(c))) == 1]
    chars = tuple(dict.fromkeys([*boys, *girls, *extra]))
    index = {c: i for i, c in enumerate(chars)}
    char_syllable = np.array([syl(next(iter(_toneless(c)))) for c in chars])
    toned = [set(_toned(c)) for c in chars]
    by_sound: dict[str, list[int]] = {}
    for i, t in enumerate(toned):
        if len(t) == 1:
            by_sound.setdefault(next(iter(t)), []).append(i)
    homophone_of = np.full(len(chars), -1)
    in_pool = set(boys) | set(girls)
    for members in by_sound.values():
        for i in members:
            # prefer a character parents also give (宇→禹 rather than an odd one)
            others = sorted(
                (j for j in members if j != i), key=lambda j: (chars[j] not in in_pool, j)
            )
            if others:
                homophone_of[i] = others[0]
    trad = tuple(to_trad.convert(c) for c in chars)

    boy_pool = np.array([index[c] for c in boys])
    girl_pool = np.array([index[c] for c in girls])
    minority_m = tuple(f"{a}·{b}" for a in MINORITY_FIRST_M for b in MINORITY_SECOND if a != b)
    minority_f = tuple(f"{a}·{b}" for a in MINORITY_FIRST_F for b in MINORITY_SECOND)
    return NameBook(
        surnames=surnames,
        surname_p=surname_p,
        surname_syllable=surname_syllable,
        safe_surnames=np.array(safe),
        chars=chars,
        char_syllable=char_syllable,
        char_traditional=trad,
        homophone_of=homophone_of,
        boy_pool=boy_pool,
        boy_p=_zipf(len(boy_pool), 0.7),
        girl_pool=girl_pool,
        girl_p=_zipf(len(girl_pool), 0.7),
        minority_m=minority_m,
        minority_f=minority_f,
        syllables=tuple(syllables),
    )


@dataclass
class NameArrays:
    """Names of n people as indices: surname, given characters (-1: none), minority name (-1)."""

    surname: np.ndarray
    g1: np.ndarray
    g2: np.ndarray
    minority: np.ndarray


def draw_given(
    rng: np.random.Generator, male: np.ndarray, book: NameBook
) -> tuple[np.ndarray, np.ndarray]:
    """Given names of one (about 12 %) or two characters, from the boys' or girls' pool."""
    n = len(male)
    g1 = np.where(
        male,
        book.boy_pool[rng.choice(book.boy_pool.shape[0], size=n, p=book.boy_p)],
        book.girl_pool[rng.choice(book.girl_pool.shape[0], size=n, p=book.girl_p)],
    )
    g2 = np.where(
        male,
        book.boy_pool[rng.choice(book.boy_pool.shape[0], size=n, p=book.boy_p)],
        book.girl_pool[rng.choice(book.girl_pool.shape[0], size=n, p=book.girl_p)],
    )
    single = rng.random(n) < 0.12
    # Two identical characters (e.g. 婷婷) are fine; a repeated pair in a boy's name is rare.
    g2 = np.where(single, -1, g2)
    return g1, g2


def draw_names(
    rng: np.random.Generator, male: np.ndarray, book: NameBook, minority_rate: float = 0.001
) -> NameArrays:
    """Names for n people: surname by frequency, given name by gender, a few minority names."""
    n = len(male)
    surname = rng.choice(len(book.surnames), size=n, p=book.surname_p)
    g1, g2 = draw_given(rng, male, book)
    minority = np.full(n, -1)
    is_min = rng.random(n) < minority_rate
    minority[is_min & male] = rng.integers(0, len(book.minority_m), size=int((is_min & male).sum()))
    minority[is_min & ~male] = rng.integers(
        0, len(book.minority_f), size=int((is_min & ~male).sum())
    )
    return NameArrays(surname=surname, g1=g1, g2=g2, minority=minority)


def given_key(names: NameArrays, book: NameBook) -> np.ndarray:
    """A key equal for two names whose given parts sound alike (any tone, any script)."""
    s1 = book.char_syllable[names.g1]
    s2 = np.where(names.g2 >= 0, book.char_syllable[np.maximum(names.g2, 0)], 999)
    key = s1.astype(np.int64) * 1000 + s2
    return np.where(names.minority >= 0, 10**7 + names.minority, key)


def _lookup(values: tuple[str, ...], idx: np.ndarray) -> pl.Series:
    table = pl.Series(list(values) + [""])
    safe = np.where((idx >= 0) & (idx < len(values)), idx, len(values))
    return table.gather(pl.Series(safe.astype(np.int64)))


def render(
    names: NameArrays,
    male: np.ndarray,
    book: NameBook,
    traditional: np.ndarray | None = None,
) -> pl.Series:
    """Names as text; where ``traditional`` is true the characters are written traditionally."""
    book_chars = book.chars
    sur = _lookup(book.surnames, names.surname)
    g1 = _lookup(book_chars, names.g1)
    g2 = _lookup(book_chars, names.g2)
    if traditional is not None and traditional.any():
        to_trad = to_traditional()
        sur_t = _lookup(tuple(to_trad.convert(s) for s in book.surnames), names.surname)
        g1_t = _lookup(book.char_traditional, names.g1)
        g2_t = _lookup(book.char_traditional, names.g2)
        t = pl.Series(traditional)
        sur = pl.select(pl.when(t).then(sur_t).otherwise(sur)).to_series()
        g1 = pl.select(pl.when(t).then(g1_t).otherwise(g1)).to_series()
        g2 = pl.select(pl.when(t).then(g2_t).otherwise(g2)).to_series()
    han = sur + g1 + g2
    minority = pl.select(
        pl.when(pl.Series(male))
        .then(_lookup(book.minority_m, names.minority))
        .otherwise(_lookup(book.minority_f, names.minority))
    ).to_series()
    return (
        pl.select(pl.when(pl.Series(names.minority >= 0)).then(minority).otherwise(han))
        .to_series()
        .alias("name")
    )


def has_traditional(names: NameArrays, book: NameBook) -> np.ndarray:
    """Whether writing the name traditionally changes at least one character."""
    to_trad = to_traditional()
    sur_changes = np.array([to_trad.convert(s) != s for s in book.surnames])
    char_changes = np.array(
        [t != c for t, c in zip(book.char_traditional, book.chars, strict=True)] + [False]
    )
    return (names.minority < 0) & (
        sur_changes[names.surname]
        | char_changes[names.g1]
        | char_changes[np.where(names.g2 >= 0, names.g2, -1)]
    )


def homophone(names: NameArrays, book: NameBook) -> tuple[NameArrays, np.ndarray]:
    """The same names with one given character swapped for another of identical toned
    reading (晓→小); the mask says where such a swap exists."""
    h2 = np.where(names.g2 >= 0, book.homophone_of[np.maximum(names.g2, 0)], -1)
    h1 = book.homophone_of[names.g1]
    use2 = h2 >= 0
    use1 = ~use2 & (h1 >= 0)
    g1 = np.where(use1, h1, names.g1)
    g2 = np.where(use2, h2, names.g2)
    ok = (use1 | use2) & (names.minority < 0)
    return NameArrays(surname=names.surname, g1=g1, g2=g2, minority=names.minority), ok


def subset(names: NameArrays, idx: np.ndarray) -> NameArrays:
    """The names at positions ``idx``."""
    return NameArrays(
        surname=names.surname[idx], g1=names.g1[idx], g2=names.g2[idx], minority=names.minority[idx]
    )
