"""``xueji identity explain-config`` and ``xueji identity explain`` driven as a user would,
on a folder written as bytes (GB18030 with Chinese headers, as exports come)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from xueji.cli import main
from xueji.identity.synth import valid_id

A = valid_id("430104", "20150312", 11)
TYPO = A[:9] + str((int(A[9]) + 4) % 10) + A[10:]
TWIN = valid_id("430104", "20150312", 13)

SCHOOLS = "学校标识码,学校名称,所在区县代码,办学类型,举办者类型,设计规模\n4301040001,长沙市岳麓区第一小学,430104,小学,公办,2000\n4301040002,长沙市岳麓区第二小学,430104,小学,公办,2000\n"
REGISTRY = (
    "学籍号,身份证件号,姓名,性别,出生日期,学校标识码,年级,班级,学籍状态,入校日期,户籍地区划代码\n"
    f"G{A},{A},张伟,男,2015-03-12,4301040001,5,1班,在籍,2020-09-01,430104001002\n"
    f"G{TYPO},{TYPO},張偉,男,2015/03/12,4301040002,5,2班,在籍,2020-09-01,430104001002\n"
    f"G{TWIN},{TWIN},张玮,男,20150312,4301040001,5,1班,在籍,2020-09-01,430104001002\n"
)
ATTENDANCE = (
    "school_code,date,grade,class_name,name,id_number,local_id,status\n"
    "4301040001,2026-11-19,5,1班,张伟,,7,present\n"
    "4301040001,2026-11-20,5,1班,张伟,,7,present\n"
    f"4301040001,2026-11-20,5,1班,张玮,{TWIN[:6]}********{TWIN[-4:]},8,present\n"
)
RESIDENCE = (
    "身份证件号,姓名,性别,出生日期,户籍地区划代码,是否持居住证\n"
    f"{A},张伟,男,2015-03-12,430104001002,否\n"
)


def folder(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    (d / "schools.csv").write_bytes(SCHOOLS.encode("gb18030"))
    (d / "registry.csv").write_bytes(REGISTRY.encode("gb18030"))
    (d / "attendance.csv").write_bytes(ATTENDANCE.encode("utf-8-sig"))
    (d / "residence.csv").write_bytes(RESIDENCE.encode("gb18030"))
    return d


def test_explain_config_lists_blocking_keys_and_levels() -> None:
    result = CliRunner().invoke(main, ["identity", "explain-config"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in (
        "[registry_dedupe]",
        "[attendance]",
        "[residence]",
        "pinyin_swapped_birth_date: pinyin, birth_date_swapped=birth_date",
        "both_valid_differ      VETO",
        "homophone_same_grade   VETO",
        "masked_consistent        +8",
        "threshold: match weight >= 6",
    ):
        assert text in out, text


def test_explain_config_counts_candidate_pairs(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["identity", "explain-config", "--data", str(folder(tmp_path))]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    dedupe = out[out.index("[registry_dedupe]") : out.index("[attendance]")]
    # 张伟/張偉/张玮 share pinyin and birth date: three pairs; no two share an ID number
    assert "    - same_id: 0\n" in dedupe
    assert "    - pinyin_birth_date: 3\n" in dedupe
    attendance = out[out.index("[attendance]") : out.index("[residence]")]
    assert "    - masked_id: 1\n" in attendance
    assert "    - class: 4\n" in attendance  # two persons × two records of class 1班


def test_explain_config_rejects_a_bad_profile(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text("[thresholds]\ndup_min_wieght = 3\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["identity", "explain-config", "--config", str(profile)])
    assert result.exit_code == 2
    assert "did you mean dup_min_weight?" in result.stderr


def test_explain_shows_cluster_links_and_masks_ids(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["identity", "explain", "G" + A, "--data", str(folder(tmp_path)), "--as-of", "2026-11-20"],
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert A not in out and TYPO not in out  # masked on screen
    assert f"G{A[:6]}********{A[-4:]}" in out
    assert "registry records of this person (2):" in out
    assert "~ row 1: id_number=typo, name=exact" in out
    assert "by name_in_class" in out
    assert "by exact_id" in out
    assert "张玮" not in out  # the twin is another person


def test_explain_json_with_ids(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "identity",
            "explain",
            "G" + TWIN,
            "--data",
            str(folder(tmp_path)),
            "--json",
            "--show-ids",
        ],
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert [r["id_number"] for r in info["records"]] == [TWIN]
    (att,) = info["attendance_persons"]
    assert (
        att["method"] == "masked_id_name"
        and att["evidence"]["levels"]["id_number"] == "masked_consistent"
    )
    assert info["residence_links"] == []


def test_explain_unknown_student(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "identity",
            "explain",
            "G" + valid_id("430105", "20100101", 1),
            "--data",
            str(folder(tmp_path)),
        ],
    )
    assert result.exit_code == 2
    assert "no such record in the registry" in result.stderr
    assert "Traceback" not in result.output


def test_explain_unusable_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["identity", "explain", "G" + A, "--data", str(empty)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
