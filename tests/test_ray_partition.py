"""The cuts of ``xueji.distributed`` — county closures for the rules, hash partitions of
blocking components for duplicate detection — checked without a cluster.

``SerialExecutor`` runs the very tasks a Ray cluster runs, one after the other in this
process, so these tests need no Ray: whatever Ray adds (transport, scheduling) is
``test_ray_executor``'s business. The partitioned findings must equal the local
engine's, on crafted cases that cross county lines and on a generated city.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from xueji.audit.context import build_context, evaluate_rules, select_rules
from xueji.config import load_config
from xueji.distributed import (
    RESIDUAL,
    SerialExecutor,
    blocking_components,
    county_partitions,
    tasks,
)
from xueji.identity import resolve_identities
from xueji.identity.dedupe import dedupe_registry
from xueji.identity.link import registry_features
from xueji.identity.spec import dedupe_spec
from xueji.io import load_inputs
from xueji.rules import attendance_window
from xueji.rules.base import AuditContext
from xueji.testing import attendance_rows, make_id_number, record, school, typed_tables

AS_OF = date(2026, 11, 20)
WEEKDAYS = [d for d in (AS_OF - timedelta(days=i) for i in range(40)) if d.weekday() < 5][::-1][-20:]
A, B, C, D = "4301040001", "4301040002", "4301050001", "4309990001"  # A, B 岳麓区; C 开福区; D: county unknown


def _attendance(person: dict[str, Any], school_code: str, by_id: bool = True, absent_from: int = 20) -> list[dict[str, object]]:
    """20 school days of rows for ``person`` at ``school_code``: present, then absent
    from day ``absent_from`` on."""
    return attendance_rows(person, school_code, WEEKDAYS, by_id=by_id, absent_from=absent_from)


def _crafted() -> dict[str, pl.LazyFrame]:
    """Cases whose evidence lies in more than one county, or in none."""
    # P1: one person, enrolled at A (430104) and at C (430105): a duplicate across counties.
    p1_a = record(1, name="王小明", school_code=A)
    p1_c = record(1, name="王小明", school_code=C, student_no="G" + make_id_number(date(2017, 3, 1), seq=1), class_name="2班")
    # P2: enrolled at C but attending A: separation whose evidence is in another county.
    p2 = record(2, name="李华", school_code=C)
    # P3: enrolled at B, absent for the last 8 school days: dropout risk at home.
    p3 = record(3, name="赵雷", school_code=B)
    # P4: at school D, whose county code is unreadable: its findings have no county.
    p4 = record(4, name="钱多", school_code=D, id_number="430104201703010041")
    # P5, P6: entrants from another city (hukou 431102) this year; P5 holds a residence
    # permit (in residence data), P6 none: only P6 is a cross-city enrolment.
    p5 = record(5, name="孙强", school_code=A, grade=1, enrol_date=date(2026, 9, 1), hukou_area_code="431102001001")
    p6 = record(6, name="吴敏", school_code=C, grade=1, enrol_date=date(2026, 9, 1), hukou_area_code="431102001001")
    # Classmates so A, B and C have attendance of their own.
    mates = [record(10 + i, name=f"同学{i}", school_code=s) for i, s in enumerate((A, A, B, C, C))]
    registry = [p1_a, p1_c, p2, p3, p4, p5, p6, *mates]
    attendance = [
        *_attendance(p2, A),
        *_attendance(p3, B, absent_from=12),
        *_attendance(p1_a, A),
        *(row for m in mates for row in _attendance(m, m["school_code"])),
    ]
    schools = [
        school(A),
        school(B),
        school(C, level="nine_year"),
        school(D, county_code="43A999"),  # unreadable: null county
    ]
    residence = [
        # P1 as public security knows them: another name (person mismatch on both records).
        {"id_number": p1_a["id_number"], "name": "王晓东", "gender": "M", "birth_date": date(2017, 3, 1),
         "hukou_area_code": "430104001001", "residence_area_code": "430104001001", "residence_permit": False},
        {"id_number": p5["id_number"], "name": "孙强", "gender": "M", "birth_date": date(2017, 3, 1),
         "hukou_area_code": "431102001001", "residence_area_code": "430104001001", "residence_permit": True},
        # A child of 8 living in 431102, a county with no school in the data: out of school.
        {"id_number": make_id_number(date(2018, 5, 5), "F", area="431102", seq=7), "name": "孙丽", "gender": "F",
         "birth_date": date(2018, 5, 5), "hukou_area_code": "431102001001", "residence_area_code": None,
         "residence_permit": False},
        # The same ID number living in 430105 too: one finding, from its first row.
        {"id_number": make_id_number(date(2016, 1, 9), "M", area="430105", seq=8), "name": "周杰", "gender": "M",
         "birth_date": date(2016, 1, 9), "hukou_area_code": "430105001001", "residence_area_code": "430105001001",
         "residence_permit": False},
        {"id_number": make_id_number(date(2016, 1, 9), "M", area="430105", seq=8), "name": "周杰", "gender": "M",
         "birth_date": date(2016, 1, 9), "hukou_area_code": "430104001001", "residence_area_code": "430104001001",
         "residence_permit": False},
    ]  # fmt: skip
    tables = typed_tables(schools=schools, registry=registry, attendance=attendance, residence=residence)
    # The loader makes an unreadable county code null (and reports it); so does this table.
    tables["schools"] = tables["schools"].with_columns(
        pl.when(pl.col("county_code").str.contains(r"^\d{6}$")).then(pl.col("county_code")).alias("county_code")
    )
    return tables


def _crafted_student(seq: int, school_code: str) -> str:
    registry = _crafted()["registry"].collect()
    return str(registry.filter((pl.col("name") == ["王小明", "李华"][seq - 1]) & (pl.col("school_code") == school_code))["student_no"].item())


def _both_ways(tables: dict[str, pl.LazyFrame]) -> tuple[pl.DataFrame, pl.DataFrame, SerialExecutor]:
    """(local findings, partitioned findings, the executor that made them), sorted alike."""
    cfg = load_config()
    identity = resolve_identities(tables, cfg, AS_OF)
    rules, _ = select_rules(tables, None, False)
    local, errors, _ = evaluate_rules(build_context(tables, AS_OF, cfg, identity), rules)
    assert errors == {}
    with SerialExecutor() as executor:
        parted, errors, _ = executor.evaluate_rules(build_context(tables, AS_OF, cfg, identity), rules)
    assert errors == {}
    cols = list(local.columns)
    return local.sort(cols, nulls_last=True), parted.sort(cols, nulls_last=True), executor


def test_partitioned_findings_equal_the_local_engines_across_county_lines() -> None:
    local, parted, executor = _both_ways(_crafted())
    assert parted.equals(local)
    # The cases are there, each found once, owned by the county of its finding.
    dup = parted.filter(pl.col("rule") == "DUPLICATE_RECORD")
    assert sorted(dup["county_code"].to_list()) == ["430104", "430105"]
    assert dup["group_id"].n_unique() == 1
    # Both records at C whose persons attend A (P2, and P1's second record) are separated.
    sep = parted.filter(pl.col("rule") == "SEPARATION")
    assert sorted(sep["student_no"].to_list()) == sorted([_crafted_student(1, C), _crafted_student(2, C)])
    assert set(sep["county_code"].to_list()) == {"430105"}
    assert parted.filter(pl.col("rule") == "DROPOUT_RISK")["school_code"].to_list() == [B]
    out = parted.filter(pl.col("rule") == "OUT_OF_SCHOOL_CHILD").sort("county_code")
    assert out["county_code"].to_list() == ["430105", "431102"]  # 周杰 once, from his first row
    assert sorted(parted.filter(pl.col("rule") == "PERSON_MISMATCH")["school_code"].to_list()) == [A, C]
    assert parted.filter(pl.col("school_code") == D)["county_code"].to_list() == [None] * parted.filter(pl.col("school_code") == D).height
    assert parted.filter(pl.col("school_code") == D).height >= 1
    ran = {r.part for r in executor.reports if r.stage == "rules"}
    assert ran == {"430104", "430105", RESIDUAL}


def test_a_rule_reading_an_optional_table_sees_it_in_every_partition() -> None:
    # CROSS_CITY needs only schools and registry, but reads residence permits when
    # residence data is there: a partition must carry it even when asked for that rule alone.
    tables = _crafted()
    cfg = load_config()
    identity = resolve_identities(tables, cfg, AS_OF)
    rules = [r for r in select_rules(tables, None, False)[0] if r.code == "CROSS_CITY"]
    local, _, _ = evaluate_rules(build_context(tables, AS_OF, cfg, identity), rules)
    with SerialExecutor() as executor:
        parted, _, _ = executor.evaluate_rules(build_context(tables, AS_OF, cfg, identity), rules)
    assert parted["name"].to_list() == local["name"].to_list() == ["吴敏"]


def test_county_partitions_are_the_school_counties_then_the_residual_one() -> None:
    schools = pl.DataFrame({"school_code": [A, C, D], "county_code": ["430105", "430104", None]})
    assert county_partitions(schools) == ["430104", "430105", RESIDUAL]


def test_the_rules_read_the_attendance_reductions_a_partition_is_given() -> None:
    # A partition receives window days and person masks computed per county; the rules
    # must take them from the context rather than scan attendance again.
    days = pl.DataFrame({"school_code": [A], "date": [AS_OF], "day_bit": [0], "bit": [1]}).cast(
        {"day_bit": pl.Int32, "bit": pl.UInt64}
    )
    masks = pl.DataFrame(
        {"att_person": [7], "rows_mask": [1], "present_mask": [1], "absent_mask": [0], "school_code": [A], "person_id": [3]}
    ).cast({"rows_mask": pl.UInt64, "present_mask": pl.UInt64, "absent_mask": pl.UInt64})
    ctx = AuditContext(
        as_of=AS_OF,
        cfg=load_config(),
        tables={},
        identity=None,  # type: ignore[arg-type] - never read: both frames are provided
        completed_transfers=pl.DataFrame(),
        overdue_transfers=pl.DataFrame(),
    )
    tasks.provide(ctx, tasks.WINDOW_DAYS, days)
    tasks.provide(ctx, tasks.PERSON_MASKS, masks)
    assert attendance_window.window_days(ctx).collect().equals(days)
    assert attendance_window.person_masks(ctx).collect().equals(masks)


def test_blocking_components_join_records_sharing_any_key_value() -> None:
    spec = dedupe_spec(load_config())
    born = date(2015, 4, 3)
    rows = [
        record(1, name="张伟", birth_date=born),
        record(2, name="张薇", birth_date=born, id_number=None),  # same sound, same day as 1
        record(3, name="张伟", birth_date=date(2015, 3, 4), id_number=None),  # day and month swapped: 1 and 2
        record(4, name="李娜", birth_date=born),  # nobody
        record(5, name="李娜", birth_date=date(2016, 1, 1), id_number=make_id_number(born, seq=4)),  # 4's ID
    ]
    feat = registry_features(typed_tables(registry=rows)["registry"].collect())
    comp = blocking_components(feat, spec).sort("_row")
    assert comp["_component"].to_list() == [1, 1, 1, 4, 4]


@pytest.mark.slow
def test_partitioned_findings_equal_the_local_engines_on_a_generated_city(city_10k: Path) -> None:
    tables = load_inputs(city_10k).tables
    local, parted, executor = _both_ways(tables)
    assert local.height > 100
    assert parted.equals(local)
    assert len({r.part for r in executor.reports if r.stage == "rules"}) > 1


@pytest.mark.slow
def test_deduplication_over_hash_partitions_equals_the_whole_registry(city_10k: Path) -> None:
    cfg = load_config()
    feat = registry_features(load_inputs(city_10k).tables["registry"].collect())
    whole = dedupe_registry(feat, dedupe_spec(cfg))
    with SerialExecutor(dedupe_partitions=5) as executor:
        parted = executor.dedupe(feat, dedupe_spec(cfg))
    assert whole.records["dup_group_id"].drop_nulls().n_unique() > 5
    assert parted.records.equals(whole.records)
    assert parted.counts == whole.counts
    assert parted.refused == whole.refused
    assert len([r for r in executor.reports if r.stage == "dedupe"]) == 5
