"""Attendance persons linked to registry records, on crafted classes: exact and masked
IDs, names in the class and in the school, twins and siblings, local_id, unregistered
children, and the lazy attendance frame."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from xueji.identity import ATTENDANCE_MASKS_SCHEMA, ATTENDANCE_PERSONS_SCHEMA, resolve_identities
from xueji.identity.synth import valid_id
from xueji.testing import default_config, typed_tables

AS_OF = date(2026, 11, 20)
SCHOOL = "4301040001"
IDS = {n: valid_id("430104", f"2015{m:02d}{d:02d}", s) for n, m, d, s in [
    ("张伟", 3, 12, 11), ("张玮", 3, 12, 13), ("李娜", 5, 1, 22), ("王芳", 7, 9, 24), ("刘洋", 1, 30, 31), ("单小红", 2, 2, 42)
]}  # fmt: skip


def reg(name: str, **kw: Any) -> dict[str, Any]:
    row = {
        "student_no": "G" + IDS[name],
        "id_number": IDS[name],
        "name": name,
        "gender": "M",
        "birth_date": date(2015, 3, 12),
        "school_code": SCHOOL,
        "grade": 5,
        "class_name": "1班",
        "status": "enrolled",
    }
    row.update(kw)
    return row


REGISTRY = [reg(n) for n in IDS] + [
    reg("张伟", student_no="G" + IDS["张伟"], school_code="4301040009", status="transferred_out")
]
# twins 张伟/张玮 in one class; 张伟 also has an old record elsewhere (row 7)


def days(n: int = 3, **kw: Any) -> list[dict[str, Any]]:
    base = {"school_code": SCHOOL, "grade": 5, "class_name": "1班", "status": "present"}
    return [{**base, **kw, "date": date(2026, 11, 2) + timedelta(days=i)} for i in range(n)]


def link(
    *attendees: list[dict[str, Any]], registry: list[dict[str, Any]] | None = None, **cfg: Any
) -> pl.DataFrame:
    rows = [r for a in attendees for r in a]
    tables = typed_tables(registry=registry or REGISTRY, attendance=rows)
    ident = resolve_identities(tables, default_config(**cfg), AS_OF)
    return ident.attendance_persons


def one(persons: pl.DataFrame, name: str) -> dict[str, Any]:
    row = persons.filter(pl.col("name") == name)
    assert row.height == 1, persons
    return row.to_dicts()[0]


ROW = {n: i + 1 for i, n in enumerate(IDS)}


@pytest.mark.parametrize(
    ("written", "id_number", "method", "row"),
    [
        ("张伟", IDS["张伟"], "exact_id", ROW["张伟"]),
        ("张三", IDS["张伟"], "exact_id", ROW["张伟"]),  # the full ID decides
        ("张伟", IDS["张伟"][:6] + "********" + IDS["张伟"][-4:], "masked_id_name", ROW["张伟"]),
        ("張偉", IDS["张伟"][:6] + "********" + IDS["张伟"][-4:], "masked_id_name", ROW["张伟"]),
        ("张伟", None, "name_in_class", ROW["张伟"]),  # exact beats the homophone twin
        ("张玮", None, "name_in_class", ROW["张玮"]),
        ("張瑋", None, "name_in_class", ROW["张玮"]),
        ("李 娜", None, "name_in_class", ROW["李娜"]),
        ("李那", None, "name_in_class", ROW["李娜"]),  # homophone
        ("單小紅", None, "name_in_class", ROW["单小红"]),
        (
            "王芳",
            IDS["王芳"][:17] + ("0" if IDS["王芳"][-1] != "0" else "1"),
            "name_in_class",
            ROW["王芳"],
        ),  # mistyped ID
    ],
)
def test_links(written: str, id_number: str | None, method: str, row: int) -> None:
    p = one(link(days(name=written, id_number=id_number)), written)
    assert (p["method"], p["record_row"]) == (method, row)
    assert p["person_id"] is not None


def test_name_in_school_when_the_class_differs() -> None:
    p = one(link(days(name="刘洋", grade=6, class_name="2班")), "刘洋")
    assert (p["method"], p["record_row"]) == ("name_in_school", ROW["刘洋"])


def test_a_namesake_two_grades_apart_is_not_linked() -> None:
    p = one(link(days(name="刘洋", grade=3, class_name="2班")), "刘洋")
    assert p["method"] == "unlinked"


def test_visible_digits_outrank_a_homophone_spelling() -> None:
    # 张伟 written with the twin 张玮's masked number: pinyin input makes homophone
    # spellings common, the digits come from the school's system: the number decides.
    masked = IDS["张玮"][:6] + "********" + IDS["张玮"][-4:]
    p = one(link(days(name="张伟", id_number=masked)), "张伟")
    assert (p["method"], p["record_row"]) == ("masked_id_name", ROW["张玮"])
    assert json.loads(p["evidence"])["levels"]["name"] == "homophone"


def test_masked_number_that_disagrees_with_the_namesake_is_another_child() -> None:
    # visible digits that disagree with 李娜's number: another child of that name
    masked = "430104********9999"
    p = one(link(days(name="李娜", id_number=masked)), "李娜")
    assert (p["method"], p["record_row"]) == ("unlinked", None)


def test_masked_number_of_another_with_a_different_name_is_not_linked_by_number() -> None:
    masked = IDS["王芳"][:6] + "********" + IDS["王芳"][-4:]
    p = one(link(days(name="李娜", id_number=masked)), "李娜")
    # the number fits 王芳, the name does not: the masked step refuses; in the class the
    # disagreeing number vetoes 李娜 too, so the person stays unlinked
    assert p["method"] == "unlinked"


def test_a_valid_id_of_nobody_is_not_linked_by_name() -> None:
    # A full valid ID that is in no record belongs to another person, even with a classmate's name.
    stranger = valid_id("430105", "20150312", 77)
    p = one(link(days(name="张伟", id_number=stranger)), "张伟")
    assert p["method"] == "unlinked" and p["record_row"] is None


def test_unregistered_child() -> None:
    p = one(link(days(name="赵六")), "赵六")
    assert (
        p["method"] == "unlinked"
        and p["record_row"] is None
        and p["person_id"] is None
        and p["score"] == 0.0
    )


def test_ambiguous_homophone_between_twins_stays_unlinked() -> None:
    # 张炜 sounds like both twins, neither of whom is otherwise present: no guess.
    p = one(link(days(name="张炜")), "张炜")
    assert p["method"] == "unlinked"


def test_a_homophone_goes_to_the_twin_not_already_present() -> None:
    persons = link(days(name="张伟", id_number=IDS["张伟"]), days(name="张炜"))
    assert one(persons, "张炜")["record_row"] == ROW["张玮"]


def test_a_typo_links_one_to_one() -> None:
    # 张伟 (exact) and 张玮 (exact) are present; 刘阳 (homophone of 刘洋) links; 王方 is a
    # fuzzy match of 王芳 only.
    persons = link(days(name="张伟"), days(name="张玮"), days(name="刘阳"), days(name="王方"))
    assert one(persons, "刘阳")["record_row"] == ROW["刘洋"]
    assert one(persons, "王方")["record_row"] == ROW["王芳"]


def test_local_id_gathers_spellings_across_days() -> None:
    persons = link(
        days(4, name="李娜", local_id="2015001"),
        [
            {**d, "date": d["date"] + timedelta(days=7)}
            for d in days(1, name="李那", local_id="2015001")
        ],
    )
    assert persons.height == 1
    p = persons.to_dicts()[0]
    assert p["name"] == "李娜" and p["local_id"] == "2015001" and p["record_row"] == ROW["李娜"]


def test_local_id_method_when_only_another_spelling_links() -> None:
    persons = link(
        days(4, name="小娜", local_id="2015001"),  # what the school usually writes: not linkable
        [
            {**d, "date": d["date"] + timedelta(days=7)}
            for d in days(1, name="李娜", local_id="2015001")
        ],
    )
    p = persons.to_dicts()[0]
    assert (p["name"], p["method"], p["record_row"]) == ("小娜", "local_id", ROW["李娜"])
    assert json.loads(p["evidence"])["spelling"] == "李娜"


def test_same_name_different_local_ids_are_two_persons() -> None:
    persons = link(days(name="张伟", local_id="1"), days(name="张伟", local_id="2"))
    assert persons.height == 2


def test_a_local_id_shown_with_two_valid_numbers_is_two_children() -> None:
    # The school reused a number: each child links by its own ID, none is left unlinked.
    persons = link(
        days(name="李娜", id_number=IDS["李娜"], local_id="2015001"),
        days(name="王芳", id_number=IDS["王芳"], local_id="2015001"),
    )
    assert persons.height == 2
    assert {(p["name"], p["method"], p["record_row"]) for p in persons.to_dicts()} == {
        ("李娜", "exact_id", ROW["李娜"]),
        ("王芳", "exact_id", ROW["王芳"]),
    }


def test_a_namesake_in_another_class_on_the_same_days_is_another_child() -> None:
    # 刘洋 is registered in 1班; a 刘洋 present in 2班 on the same days is not him.
    persons = link(days(name="刘洋"), days(name="刘洋", class_name="2班"))
    linked = {p["class_name"]: (p["method"], p["record_row"]) for p in persons.to_dicts()}
    assert linked == {"1班": ("name_in_class", ROW["刘洋"]), "2班": ("unlinked", None)}


def test_a_child_who_changed_class_links_from_both_classes() -> None:
    # Three days in 1班, then three in 2班 (the change day recorded by both): one child.
    later = [{**d, "date": d["date"] + timedelta(days=2)} for d in days(4, name="刘洋", class_name="2班")]
    persons = link(days(3, name="刘洋"), later)
    assert sorted((p["class_name"], p["record_row"]) for p in persons.to_dicts()) == [
        ("1班", ROW["刘洋"]),
        ("2班", ROW["刘洋"]),
    ]


def test_inactive_record_is_linked_when_it_is_the_only_one() -> None:
    registry = [reg("王芳", status="dropped")]
    p = one(link(days(name="王芳"), registry=registry), "王芳")
    assert p["record_row"] == 1


def test_attendance_masks_are_per_sighting_and_keyed_by_person() -> None:
    tables = typed_tables(registry=REGISTRY, attendance=days(3, name="张伟") + days(2, name="赵六"))
    ident = resolve_identities(tables, default_config(), AS_OF)
    masks = ident.attendance_masks
    assert masks.schema == pl.Schema(ATTENDANCE_MASKS_SCHEMA)
    assert masks.height == 2 and masks["att_person"].null_count() == 0
    per = masks.join(ident.attendance_persons, on="att_person").with_columns(
        pl.col("rows_mask").bitwise_count_ones().alias("seen")
    )
    assert sorted(zip(per["name"], per["days"], per["seen"], strict=True)) == [("张伟", 3, 3), ("赵六", 2, 2)]
    assert ident.attendance_days["rows"].sum() == 5


def test_no_attendance_table_gives_empty_frames() -> None:
    ident = resolve_identities(typed_tables(registry=REGISTRY), default_config(), AS_OF)
    assert ident.attendance_persons.height == 0
    assert ident.attendance_persons.schema == pl.Schema(ATTENDANCE_PERSONS_SCHEMA)
    assert ident.attendance_masks.height == 0
    assert ident.attendance_masks.schema == pl.Schema(ATTENDANCE_MASKS_SCHEMA)
    assert ident.residence_links.height == 0


def test_evidence_is_json_with_levels() -> None:
    p = one(link(days(name="张玮")), "张玮")
    ev = json.loads(p["evidence"])
    assert ev["levels"]["name"] == "exact" and ev["levels"]["context"] == "same_class"
    assert ev["scores"]["name_score"] == 1.0


def test_a_person_keeps_its_id_when_other_children_appear() -> None:
    # Findings' evidence lists attendance person ids and a dismissal lapses when its
    # evidence changes: a child new elsewhere in the city must not renumber the others.
    night1 = link(days(name="李娜"), days(name="王芳"))
    night2 = link(
        days(name="王芳"),
        days(name="李娜"),
        days(name="阿依古丽", school_code="4301040001", class_name="0班"),
        days(name="刘洋"),
    )
    ids1 = dict(night1.select("name", "att_person").iter_rows())
    ids2 = dict(night2.select("name", "att_person").iter_rows())
    assert ids2["李娜"] == ids1["李娜"] and ids2["王芳"] == ids1["王芳"]
    assert len(set(ids2.values())) == 4
