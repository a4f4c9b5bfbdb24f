"""Registry deduplication on crafted cases: every kind of duplicate, twins, siblings,
namesakes, the guarded union, stable group ids and the evidence."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
import pytest

from xueji.identity import resolve_identities
from xueji.identity.synth import valid_id
from xueji.testing import default_config, typed_tables

AS_OF = date(2026, 11, 20)
A = valid_id("430104", "20150312", 11)
TWIN = valid_id("430104", "20150312", 13)


def sub(number: str, pos: int) -> str:
    """One mistyped digit (the copy fails GB 11643)."""
    return number[:pos] + str((int(number[pos]) + 3) % 10) + number[pos + 1 :]


def swap(number: str, pos: int) -> str:
    """Two adjacent characters transposed."""
    return number[:pos] + number[pos + 1] + number[pos] + number[pos + 2 :]


def rec(no: str, id_number: str | None, name: str, **kw: Any) -> dict[str, Any]:
    row = {
        "student_no": no,
        "id_number": id_number,
        "name": name,
        "gender": "M",
        "birth_date": date(2015, 3, 12),
        "school_code": "4301040001",
        "grade": 5,
        "class_name": "1班",
        "status": "enrolled",
        "hukou_area_code": "430104001002",
    }
    row.update(kw)
    return row


def groups(rows: list[dict[str, Any]], **cfg: Any) -> list[set[int]]:
    """The duplicate groups (sets of 1-based rows) that resolution finds."""
    ident = resolve_identities(typed_tables(registry=rows), default_config(**cfg), AS_OF)
    g = (
        ident.records.filter(pl.col("dup_group_id").is_not_null())
        .group_by("dup_group_id")
        .agg("_row")
    )
    return sorted((set(r) for r in g["_row"].to_list()), key=min)


L1 = "L430104201503120001"
OTHER = {"school_code": "4301040002", "grade": 5}


@pytest.mark.parametrize(
    ("case", "second"),
    [
        ("same ID", rec("G" + A, A, "张伟", **OTHER)),
        ("same ID, different name", rec("G" + A, A, "李四", **OTHER)),
        ("mistyped digit", rec("G" + sub(A, 9), sub(A, 9), "张伟", **OTHER)),
        ("mistyped check character", rec("G" + A[:17] + "0", A[:17] + "0", "張偉", **OTHER)),
        ("adjacent transposition", rec("G" + swap(A, 14), swap(A, 14), "张伟", **OTHER)),
        ("two edits", rec("G" + sub(sub(A, 3), 15), sub(sub(A, 3), 15), "张伟", **OTHER)),
        ("L number", rec(L1, None, "张伟", **OTHER)),
        ("L number, homophone", rec(L1, None, "张玮", **OTHER)),
        ("L number, traditional and spaced", rec(L1, None, "張 偉", **OTHER)),
        (
            "L number, day and month swapped",
            rec(L1, None, "张伟", birth_date=date(2015, 12, 3), **OTHER),
        ),
        (
            "typo, swapped date, homophone",
            rec("G" + sub(A, 2), sub(A, 2), "张炜", birth_date=date(2015, 12, 3), **OTHER),
        ),
        ("J number without ID", rec("J430104201503120019", None, "张伟", **OTHER)),
    ],
)
def test_duplicates_are_found(case: str, second: dict[str, Any]) -> None:
    assert groups([rec("G" + A, A, "张伟"), second]) == [{1, 2}], case


@pytest.mark.parametrize(
    ("case", "second"),
    [
        ("twins: two valid IDs, homophone names", rec("G" + TWIN, TWIN, "张玮")),
        ("twins: two valid IDs, same surname and date", rec("G" + TWIN, TWIN, "张强")),
        ("twin on an L number, homophone, same school and grade", rec(L1, None, "张玮")),
        (
            "three edits away",
            rec("G" + sub(sub(sub(A, 3), 8), 15), sub(sub(sub(A, 3), 8), 15), "张伟", **OTHER),
        ),
        (
            "sibling: different birth date",
            rec(L1, None, "张玮", birth_date=date(2016, 5, 1), **OTHER),
        ),
        ("different sound", rec(L1, None, "张华", **OTHER)),
        ("different gender", rec(L1, None, "张伟", gender="F", **OTHER)),
        ("unknown gender", rec(L1, None, "张伟", gender=None, **OTHER)),
        (
            "namesake in another county",
            rec("L430181201503120001", None, "张伟", hukou_area_code="430181002003", **OTHER),
        ),
        (
            "swapped date that is the same date",
            rec(L1, None, "张伟", birth_date=date(2015, 12, 12), **OTHER),
        ),
    ],
)
def test_not_duplicates(case: str, second: dict[str, Any]) -> None:
    assert groups([rec("G" + A, A, "张伟"), second]) == [], case


def test_the_letter_of_the_contract_ignores_place() -> None:
    namesake = rec("L430181201503120001", None, "张伟", hukou_area_code="430181002003", **OTHER)
    assert groups([rec("G" + A, A, "张伟"), namesake], dup_min_weight=1.0) == [{1, 2}]


def test_dup_min_weight_1_takes_the_weakest_pair_the_contract_calls_a_duplicate() -> None:
    # No ID number, a homophone, day and month swapped, hukou in another county: the
    # weakest pair contract §3 makes one person. README: at 1 it is a group, at 6 not.
    weakest = rec(
        "L430181201512030001",
        None,
        "张玮",
        birth_date=date(2015, 12, 3),
        hukou_area_code="430181002003",
        **OTHER,
    )
    assert groups([rec("G" + A, A, "张伟"), weakest], dup_min_weight=1.0) == [{1, 2}]
    assert groups([rec("G" + A, A, "张伟"), weakest]) == []


@pytest.mark.parametrize(
    ("case", "second", "expected"),
    [
        ("homophone on an L number", rec(L1, None, "张玮"), []),
        ("homophone with a mistyped copy of the ID", rec("G" + sub(A, 9), sub(A, 9), "张玮"), []),
        ("exact name on an L number", rec(L1, None, "张伟"), [{1, 2}]),
        ("homophone with the same ID", rec("G" + A, A, "张玮"), [{1, 2}]),
    ],
)
def test_dup_min_weight_1_keeps_the_twin_veto_in_one_school_and_grade(
    case: str, second: dict[str, Any], expected: list[set[int]]
) -> None:
    # README: the same-school-and-grade homophone veto is not a weight; no threshold
    # lifts it. Only the same ID number overrides it, and an exact name is no homophone.
    assert groups([rec("G" + A, A, "张伟"), second], dup_min_weight=1.0) == expected, case


def test_only_active_records_get_a_group() -> None:
    rows = [
        rec("G" + A, A, "张伟"),
        rec(L1, None, "张伟", status="transferred_out", **OTHER),
        rec("G" + sub(A, 9), sub(A, 9), "张伟", school_code="4301040003"),
    ]
    ident = resolve_identities(typed_tables(registry=rows), default_config(), AS_OF)
    out = ident.records.sort("_row")
    assert out["person_id"].n_unique() == 1  # one person, three records
    assert out["dup_group_id"].is_null().to_list() == [False, True, False]
    assert out["dup_evidence"].is_null().to_list() == [False, True, False]


def test_a_single_active_record_is_no_duplicate() -> None:
    rows = [rec("G" + A, A, "张伟"), rec("G" + A, A, "张伟", status="graduated", **OTHER)]
    ident = resolve_identities(typed_tables(registry=rows), default_config(), AS_OF)
    assert ident.records["person_id"].n_unique() == 1
    assert ident.records["dup_group_id"].null_count() == 2


def test_union_never_joins_two_valid_ids() -> None:
    # An L record matches both twins' records; it may join one of them, never both.
    other = valid_id("430104", "20150312", 15)
    rows = [
        rec("G" + A, A, "张伟", school_code="4301040001"),
        rec(L1, None, "张伟", school_code="4301040002"),
        rec("G" + other, other, "张伟", school_code="4301040003"),
    ]
    ident = resolve_identities(typed_tables(registry=rows), default_config(), AS_OF)
    pid = ident.records.sort("_row")["person_id"].to_list()
    assert pid[0] != pid[2]
    assert pid[1] in (pid[0], pid[2])


def test_clusters_are_transitive() -> None:
    rows = [
        rec("G" + A, A, "张伟", school_code="4301040001"),
        rec(L1, None, "張偉", school_code="4301040002", birth_date=date(2015, 12, 3)),
        rec("G" + sub(A, 4), sub(A, 4), "张伟", school_code="4301040003"),
    ]
    assert groups(rows) == [{1, 2, 3}]


def test_group_id_is_stable_across_nights() -> None:
    rows = [
        rec("G" + A, A, "张伟"),
        rec(L1, None, "张玮", **OTHER),
        rec("G" + TWIN, TWIN, "李娜", gender="F"),
    ]
    first = resolve_identities(typed_tables(registry=rows), default_config(), AS_OF).records
    # next night: rows arrive in another order and another record is added
    later = [
        rows[2],
        rec("G" + valid_id("430105", "20140101", 21), valid_id("430105", "20140101", 21), "王芳"),
        rows[1],
        rows[0],
    ]
    second = resolve_identities(typed_tables(registry=later), default_config(), AS_OF).records
    gid1 = first.filter(pl.col("_row") == 1)["dup_group_id"].item()
    gid2 = second.filter(pl.col("_row") == 4)["dup_group_id"].item()
    assert gid1 is not None and gid1 == gid2
    assert gid1.startswith("DG") and A not in gid1


def test_evidence_names_the_comparisons_and_scores() -> None:
    rows = [rec("G" + A, A, "张伟"), rec("G" + sub(A, 9), sub(A, 9), "張偉", **OTHER)]
    ident = resolve_identities(typed_tables(registry=rows), default_config(), AS_OF)
    ev = json.loads(ident.records.filter(pl.col("_row") == 1)["dup_evidence"].item())
    assert ev["group_size"] == 2
    (link,) = ev["links"]
    assert link["row"] == 2 and link["school_code"] == "4301040002"
    assert link["evidence"]["levels"] == {
        "id_number": "typo",
        "name": "exact",
        "birth_date": "exact",
        "gender": "same",
        "place": "same_hukou",
    }
    assert link["evidence"]["scores"] == {"name_score": 1.0, "id_edits": 1}
    assert link["evidence"]["decisive"] is None
    assert A not in json.dumps(ev)  # evidence carries no ID number


def test_every_record_has_a_person_id() -> None:
    rows = [rec("G" + A, A, "张伟"), rec("G" + TWIN, TWIN, "张玮"), rec(L1, None, None)]
    ident = resolve_identities(typed_tables(registry=rows), default_config(), AS_OF)
    assert ident.records["person_id"].null_count() == 0
    assert ident.records.height == 3
    assert ident.records.schema == {
        "_row": pl.Int64,
        "person_id": pl.Int64,
        "dup_group_id": pl.String,
        "dup_evidence": pl.String,
        "id_state": pl.String,
    }
    # The ID check travels with the records (the rules re-check only what is not valid).
    assert ident.records.sort("_row")["id_state"].to_list() == ["valid", "valid", None]


def test_empty_tables_and_unreadable_cells() -> None:
    empty = resolve_identities(
        typed_tables(registry=[], attendance=[], residence=[]), default_config(), AS_OF
    )
    assert (
        empty.records.height,
        empty.attendance_persons.height,
        empty.residence_links.height,
    ) == (0, 0, 0)
    assert empty.attendance_masks.height == 0
    # cells the loader could not read arrive as nulls: unknown, never linked, never a crash
    tables = typed_tables(
        registry=[{"student_no": None, "name": None}, rec(L1, None, "张伟")],
        attendance=[
            {"school_code": None, "name": None, "date": None, "grade": None, "class_name": None}
        ],
        residence=[{"id_number": None, "name": None}],
    )
    ident = resolve_identities(tables, default_config(), AS_OF)
    assert ident.records["person_id"].to_list() == [1, 2]
    assert ident.attendance_persons["method"].to_list() == ["unlinked"]
    assert ident.residence_links["method"].to_list() == ["unlinked"]
