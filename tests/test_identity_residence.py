"""Residence rows linked to registry records: by ID, and by name, birth date and gender
when the registry's ID number is missing or mistyped — never to a twin."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
import pytest

from xueji.identity import RESIDENCE_LINKS_SCHEMA, resolve_identities
from xueji.identity.synth import valid_id
from xueji.testing import default_config, typed_tables

AS_OF = date(2026, 11, 20)
A = valid_id("430104", "20150312", 11)
TWIN = valid_id("430104", "20150312", 13)
MISTYPED = A[:9] + str((int(A[9]) + 4) % 10) + A[10:]


def reg(no: str, id_number: str | None, name: str, **kw: Any) -> dict[str, Any]:
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


def res(id_number: str, name: str, **kw: Any) -> dict[str, Any]:
    row = {
        "id_number": id_number,
        "name": name,
        "gender": "M",
        "birth_date": date(2015, 3, 12),
        "hukou_area_code": "430104001002",
        "residence_permit": False,
    }
    row.update(kw)
    return row


def links(registry: list[dict[str, Any]], residence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ident = resolve_identities(
        typed_tables(registry=registry, residence=residence), default_config(), AS_OF
    )
    assert ident.residence_links.schema == pl.Schema(RESIDENCE_LINKS_SCHEMA)
    return ident.residence_links.sort("_row").to_dicts()


@pytest.mark.parametrize(
    ("case", "registry", "resident", "method", "row"),
    [
        ("same ID", [reg("G" + A, A, "张伟")], res(A, "张伟"), "exact_id", 1),
        (
            "same ID, name differs (PERSON_MISMATCH's business)",
            [reg("G" + A, A, "张伟")],
            res(A, "李四"),
            "exact_id",
            1,
        ),
        (
            "mistyped registry ID",
            [reg("G" + MISTYPED, MISTYPED, "张伟")],
            res(A, "张伟"),
            "name_birth_gender",
            1,
        ),
        (
            "L number, traditional name",
            [reg("L430104201503120001", None, "張偉")],
            res(A, "张伟"),
            "name_birth_gender",
            1,
        ),
        (
            "L number, homophone",
            [reg("L430104201503120001", None, "张玮")],
            res(A, "张伟"),
            "name_birth_gender",
            1,
        ),
        (
            "twin: another valid ID",
            [reg("G" + TWIN, TWIN, "张伟")],
            res(A, "张伟"),
            "unlinked",
            None,
        ),
        (
            "L number, other birth date",
            [reg("L430104201503120001", None, "张伟", birth_date=date(2015, 3, 13))],
            res(A, "张伟"),
            "unlinked",
            None,
        ),
        (
            "L number, other gender",
            [reg("L430104201503120001", None, "张伟", gender="F")],
            res(A, "张伟"),
            "unlinked",
            None,
        ),
        (
            "L number, namesake in another county",
            [reg("L430181201503120001", None, "张伟", hukou_area_code="430181001001")],
            res(A, "张伟"),
            "unlinked",
            None,
        ),
        ("no record", [reg("G" + TWIN, TWIN, "李娜")], res(A, "张伟"), "unlinked", None),
    ],
)
def test_residence_links(
    case: str,
    registry: list[dict[str, Any]],
    resident: dict[str, Any],
    method: str,
    row: int | None,
) -> None:
    (got,) = links(registry, [resident])
    assert (got["method"], got["record_row"]) == (method, row), case
    assert (got["person_id"] is None) == (row is None)


def test_exact_id_prefers_the_active_record_of_a_duplicate() -> None:
    registry = [
        reg("G" + A, A, "张伟", status="transferred_out"),
        reg("G" + A, A, "张伟", school_code="4301040002"),
    ]
    (got,) = links(registry, [res(A, "张伟")])
    assert got["record_row"] == 2 and got["method"] == "exact_id" and got["score"] == 1.0


def test_evidence_shows_why() -> None:
    (got,) = links([reg("G" + MISTYPED, MISTYPED, "张伟")], [res(A, "张伟")])
    ev = json.loads(got["evidence"])
    assert ev["levels"] == {
        "id_number": "typo",
        "name": "exact",
        "birth_date": "exact",
        "gender": "same",
        "place": "same_hukou",
    }
    assert ev["scores"]["id_edits"] == 1


def test_a_tie_between_two_people_links_nobody() -> None:
    def edit(number: str, *positions: int) -> str:
        for p in positions:
            number = number[:p] + str((int(number[p]) + 5) % 10) + number[p + 1 :]
        return number

    x, y = edit(A, 2, 9), edit(A, 4, 12)  # each two edits from A, four from each other
    registry = [reg("G" + x, x, "张伟"), reg("G" + y, y, "张伟", school_code="4301040002")]
    ident = resolve_identities(
        typed_tables(registry=registry, residence=[res(A, "张伟")]), default_config(), AS_OF
    )
    assert ident.records["person_id"].n_unique() == 2
    assert ident.residence_links["method"].item() == "unlinked"


def test_every_residence_row_has_a_link_row() -> None:
    got = links([reg("G" + A, A, "张伟")], [res(A, "张伟"), res(TWIN, "张玮"), res(A, "张伟")])
    assert [g["_row"] for g in got] == [1, 2, 3]
    assert [g["method"] for g in got] == ["exact_id", "unlinked", "exact_id"]
