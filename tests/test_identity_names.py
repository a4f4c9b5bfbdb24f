"""Name normalisation for Chinese names: script, spacing, the minority-name dot, surname
readings, homophones and the name similarity."""

from __future__ import annotations

import polars as pl
import pytest

from xueji.identity.names import (
    name_keys,
    name_score_matrix,
    name_score_pairs,
    same_name_or_homophone,
    with_name_keys,
)


def keys(*names: str) -> dict[str, dict[str, str]]:
    frame = name_keys(pl.Series(list(names)))
    return {r["name"]: r for r in frame.to_dicts()}


@pytest.mark.parametrize(
    ("name", "pinyin"),
    [
        ("单伟", "shan wei"),  # pypinyin alone: dan
        ("曾小明", "zeng xiao ming"),  # ceng
        ("解放", "xie fang"),  # jie
        ("仇伟", "qiu wei"),  # chou
        ("区伟", "ou wei"),  # qu
        ("查伟", "zha wei"),  # cha
        ("朴伟", "piao wei"),  # pu
        ("翟伟", "zhai wei"),  # di
        ("尉迟恭", "yu chi gong"),
        ("单于伟", "chan yu wei"),  # a compound surname wins over the single 单
        ("万俟伟", "mo qi wei"),
        ("區偉", "ou wei"),  # traditional spelling of a heteronym surname
        ("張偉", "zhang wei"),
    ],
)
def test_heteronym_surnames_are_read_as_surnames(name: str, pinyin: str) -> None:
    assert keys(name)[name]["pinyin"] == pinyin


def test_surname_reading_applies_only_to_the_surname() -> None:
    # 单 inside a given name keeps its ordinary reading.
    assert keys("王单")["王单"]["pinyin"] == "wang dan"


@pytest.mark.parametrize(
    ("written", "same_as"),
    [
        ("張偉", "张伟"),
        ("陳麗華", "陈丽华"),
        ("歐陽 乾", "欧阳乾"),
        ("张　伟", "张伟"),  # full-width space
        (" 张 伟 ", "张伟"),
        ("张\u00a0伟", "张伟"),  # no-break space
    ],
)
def test_traditional_and_spaced_names_have_the_same_key(written: str, same_as: str) -> None:
    k = keys(written, same_as)
    assert k[written]["name_key"] == k[same_as]["name_key"]
    assert k[written]["pinyin"] == k[same_as]["pinyin"]


@pytest.mark.parametrize("dot", ["·", "•", "・", "‧", ".", "-", "･", ""])
def test_minority_name_dot_variants_are_one_name(dot: str) -> None:
    written = f"阿依古丽{dot}买买提"
    k = keys(written, "阿依古丽·买买提")
    assert k[written]["name_key"] == "阿依古丽买买提"
    if dot:
        assert k[written]["name_norm"] == "阿依古丽·买买提"
    assert k[written]["pinyin"] == "a yi gu li mai mai ti"


def test_minority_name_in_traditional_script() -> None:
    assert keys("阿依古麗・買買提")["阿依古麗・買買提"]["name_key"] == "阿依古丽买买提"


def test_no_surname_reading_for_a_transliterated_name() -> None:
    # 查 starting a transliteration is not the surname Zha.
    assert keys("查干·巴特尔")["查干·巴特尔"]["pinyin"].startswith("cha gan")


def test_homophones_share_pinyin_but_not_key() -> None:
    k = keys("张伟", "张玮")
    assert k["张伟"]["pinyin"] == k["张玮"]["pinyin"] == "zhang wei"
    assert k["张伟"]["name_key"] != k["张玮"]["name_key"]


def test_readings_come_from_the_written_characters() -> None:
    # OpenCC's t2s turns 乾 into 干 (gan) for the key; the reading stays qian.
    assert keys("欧阳乾")["欧阳乾"]["pinyin"] == "ou yang qian"


def test_same_name_or_homophone() -> None:
    got = same_name_or_homophone(
        pl.Series(["张伟", "张伟", "张伟", "阿依古丽·买买提", None]),
        pl.Series(["張 偉", "张玮", "张华", "阿依古麗.買買提", "张伟"]),
    )
    assert got.to_list() == [True, True, False, True, None]


def test_known_name_keys_give_the_same_keys() -> None:
    frame = pl.DataFrame({"_row": [1, 2, 3, 4, 5], "name": ["張偉", "张伟", None, "单伟", "阿依古丽·买买提"]})
    known = with_name_keys(pl.DataFrame({"name": ["张伟", "单伟", "李四"]}))
    assert with_name_keys(frame, known=known).equals(with_name_keys(frame))


def test_known_names_are_looked_up_not_converted() -> None:
    frame = pl.DataFrame({"name": ["张伟", "張偉"]})
    known = pl.DataFrame({"name": ["张伟"], "name_key": ["known"], "pinyin": ["known"]})
    out = with_name_keys(frame, known=known)
    assert out["name_key"].to_list() == ["known", "张伟"]


def test_similarity_levels() -> None:
    a = ["张伟", "张伟", "张伟", "王小明", "王小明"]
    b = ["張偉", "张玮", "张华", "王晓明", "王小红"]
    ka, kb = name_keys(pl.Series(a + b)), None
    lookup = {r["name"]: r for r in ka.to_dicts()}
    del kb
    scores = name_score_pairs(
        [lookup[x]["name_key"] for x in a],
        [lookup[x]["pinyin"] for x in a],
        [lookup[x]["name_key"] for x in b],
        [lookup[x]["pinyin"] for x in b],
    )
    exact, homophone, different, homophone3, sibling = scores.tolist()
    assert exact == 1.0
    assert homophone == pytest.approx(0.95)
    assert homophone3 == pytest.approx(0.95)
    # a different character with a different sound is far from a homophone
    assert different < 0.6
    assert 0.7 < sibling < 0.8


def test_score_matrix_matches_pairs() -> None:
    names = ["张伟", "张玮", "李娜"]
    k = {r["name"]: r for r in name_keys(pl.Series(names)).to_dicts()}
    ks, ps = [k[n]["name_key"] for n in names], [k[n]["pinyin"] for n in names]
    m = name_score_matrix(ks, ps, ks, ps)
    assert m.shape == (3, 3)
    assert m[0, 0] == 1.0 and m[0, 1] == pytest.approx(0.95) and m[0, 2] < 0.5
