"""A generated sample read back through the loader: the files hold what the generator
meant, the unreadable cells are exactly the expected data errors, and truth.csv agrees
with the rules recomputed here in plain Polars from the loaded tables and the labels."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from xueji.io import load_inputs
from xueji.sample import SampleConfig, generate, write_sample
from xueji.sample.truth import RULES, TRUTH_COLUMNS

AS_OF = date(2026, 11, 20)
ACTIVE = ["enrolled", "suspended"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city") / "sample"
    write_sample(generate(SampleConfig(students=3_000, days=30, seed=11)), out)
    return out


@pytest.fixture(scope="module")
def loaded(folder: Path) -> dict[str, pl.DataFrame]:
    inputs = load_inputs(folder)
    tables = {name: frame.collect() for name, frame in inputs.tables.items()}
    tables["data_errors"] = inputs.data_errors
    return tables


@pytest.fixture(scope="module")
def truth(folder: Path) -> pl.DataFrame:
    return pl.read_csv(folder / "truth.csv", infer_schema=False)


def keys(frame: pl.DataFrame, *cols: str) -> set[tuple[object, ...]]:
    return set(frame.select(*cols).iter_rows())


def truth_keys(truth: pl.DataFrame, rule: str, *cols: str) -> set[tuple[object, ...]]:
    return keys(truth.filter(pl.col("rule") == rule), *cols)


def test_truth_covers_every_rule_and_nothing_is_accidental(truth: pl.DataFrame) -> None:
    assert tuple(truth.columns) == TRUTH_COLUMNS
    assert set(truth["rule"]) == set(RULES)
    assert truth.filter(pl.col("kind") == "incidental").height == 0


def test_loader_reports_exactly_the_planted_data_errors(
    folder: Path, loaded: dict[str, pl.DataFrame]
) -> None:
    expected = pl.read_csv(folder / "expected_data_errors.csv", infer_schema=False).with_columns(
        pl.col("row").cast(pl.Int64)
    )
    got = loaded["data_errors"].select("file", "row", "column", "value")
    assert sorted(got.iter_rows()) == sorted(expected.iter_rows())
    assert expected.height >= 8


def test_manifest_names_files_counts_and_reference_date(
    folder: Path, loaded: dict[str, pl.DataFrame]
) -> None:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2026-11-20" and manifest["seed"] == 11
    assert manifest["counts"]["registry"] == loaded["registry"].height
    assert manifest["counts"]["attendance"] == loaded["attendance"].height
    assert manifest["files"]["schools.csv"]["encoding"] == "gb18030"
    assert (folder / "schools.csv").read_bytes().decode("gb18030").startswith("学校标识码,")
    assert (folder / "registry.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_attendance_days_are_weekdays_before_as_of_without_national_day(
    loaded: dict[str, pl.DataFrame],
) -> None:
    days = sorted(loaded["attendance"]["date"].unique().to_list())
    assert len(days) == 30 and days[-1] == AS_OF
    assert all(d.weekday() < 5 for d in days)
    assert not any(date(2026, 10, 1) <= d <= date(2026, 10, 8) for d in days)


def test_record_rules_recomputed_from_the_loaded_registry(
    loaded: dict[str, pl.DataFrame], truth: pl.DataFrame
) -> None:
    reg = loaded["registry"].join(
        loaded["schools"].select("school_code", "level"), on="school_code"
    )
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

    def valid(n: str | None) -> bool:
        if n is None or len(n) != 18 or not n[:17].isdigit():
            return False
        try:
            date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
        except ValueError:
            return False
        return (
            n[:2] in {"11", "43", "44", "42", "36", "52", "51", "41", "45", "81", "82", "83"}
            and "10X98765432"[sum(int(c) * w for c, w in zip(n[:17], weights, strict=True)) % 11]
            == n[17]
        )

    rows = reg.to_dicts()
    invalid = {
        (r["student_no"], r["school_code"])
        for r in rows
        if r["id_type"] == "resident_id" and r["id_number"] and not valid(r["id_number"])
    }
    assert invalid == truth_keys(truth, "ID_INVALID", "student_no", "school_code")

    def sn_bad(r: dict[str, object]) -> bool:
        sn = str(r["student_no"])
        if sn[0] == "G":
            return sn[1:] != r["id_number"]
        if sn[0] == "J":
            return not (
                sn[1:18].isdigit()
                and "10X98765432"[
                    sum(int(c) * w for c, w in zip(sn[1:18], weights, strict=True)) % 11
                ]
                == sn[18]
            )
        return r["birth_date"] is not None and sn[7:15] != r["birth_date"].strftime("%Y%m%d")  # type: ignore[attr-defined]

    assert {(r["student_no"], r["school_code"]) for r in rows if sn_bad(r)} == truth_keys(
        truth, "STUDENT_NO_MISMATCH", "student_no", "school_code"
    )
    stale = {
        (r["student_no"], r["school_code"])
        for r in rows
        if r["status"] in ACTIVE
        and r["student_no"][0] == "L"
        and (AS_OF - r["enrol_date"]).days > 365
    }
    assert stale == truth_keys(truth, "TEMP_NUMBER_STALE", "student_no", "school_code")
    grades = {
        "primary": (1, 6),
        "junior": (7, 9),
        "nine_year": (1, 9),
        "twelve_year": (1, 12),
        "complete_secondary": (7, 12),
        "senior": (10, 12),
        "special": (1, 12),
    }
    wrong = {
        (r["student_no"], r["school_code"])
        for r in rows
        if r["status"] in ACTIVE
        and not grades[r["level"]][0] <= r["grade"] <= grades[r["level"]][1]
    }
    assert wrong == truth_keys(truth, "GRADE_LEVEL", "student_no", "school_code")
    young = {
        (r["student_no"], r["school_code"])
        for r in rows
        if r["status"] == "enrolled"
        and r["grade"] == 1
        and r["enrol_date"]
        and r["enrol_date"] >= date(2026, 9, 1)
        and r["birth_date"]
        and r["birth_date"] > date(2020, 8, 31)
    }
    assert young == truth_keys(truth, "ENTRY_AGE", "student_no", "school_code")


def test_capacity_rules_recomputed(loaded: dict[str, pl.DataFrame], truth: pl.DataFrame) -> None:
    enrolled = loaded["registry"].filter(pl.col("status") == "enrolled")
    sizes = enrolled.group_by("school_code", "grade", "class_name").len()
    std = pl.when(pl.col("grade") <= 6).then(45).otherwise(50)
    assert keys(sizes.filter(pl.col("len") >= 56), "school_code", "grade", "class_name") == {
        (s, int(g), c)
        for s, g, c in truth_keys(truth, "OVERSIZED_CLASS", "school_code", "grade", "class_name")
    }
    assert keys(
        sizes.filter((pl.col("len") < 56) & (pl.col("len") > std)),
        "school_code",
        "grade",
        "class_name",
    ) == {
        (s, int(g), c)
        for s, g, c in truth_keys(
            truth, "CLASS_OVER_STANDARD", "school_code", "grade", "class_name"
        )
    }
    per_school = enrolled.group_by("school_code").len().join(loaded["schools"], on="school_code")
    assert keys(
        per_school.filter(pl.col("len") > pl.col("design_capacity")), "school_code"
    ) == truth_keys(truth, "OVER_CAPACITY", "school_code")
    # ordinary classes (not the special school's small ones) keep realistic sizes
    ordinary = sizes.filter(pl.col("len") >= 20)
    assert ordinary.filter(pl.col("len").is_between(34, 50)).height >= 0.9 * ordinary.height


def test_transfer_rules_recomputed(
    folder: Path, loaded: dict[str, pl.DataFrame], truth: pl.DataFrame
) -> None:
    codes = {c: pl.String for c in ("student_no", "from_school_code", "to_school_code", "to_class")}
    seed = pl.read_csv(folder / "transfers_seed.csv", schema_overrides=codes, try_parse_dates=True)
    done = seed.filter(pl.col("state") == "completed")
    moves = loaded["registry_changes"].filter(pl.col("change_type") == "transfer")
    ok = moves.join(done, on=["student_no", "from_school_code", "to_school_code"]).filter(
        pl.col("state_entered_on") <= pl.col("change_date")
    )
    bad = moves.join(
        ok.select("student_no", "to_school_code"), on=["student_no", "to_school_code"], how="anti"
    )
    assert keys(bad, "student_no", "to_school_code") == truth_keys(
        truth, "UNAPPROVED_TRANSFER", "student_no", "school_code"
    )
    open_ = seed.filter(pl.col("state") != "completed")
    holidays = [np.datetime64(date(2026, 10, d)) for d in range(1, 9)]
    waited = [
        int(np.busday_count(np.datetime64(d) + 1, np.datetime64(AS_OF) + 1, holidays=holidays))
        for d in open_["state_entered_on"]
    ]
    late = open_.with_columns(pl.Series("waited", waited)).filter(pl.col("waited") > 10)
    assert keys(late, "student_no", "to_school_code") == truth_keys(
        truth, "TRANSFER_OVERDUE", "student_no", "school_code"
    )
    assert 0 < late.height < open_.height
    assert not open_.join(
        loaded["registry"].filter(pl.col("grade").is_in([6, 9, 12])), on="student_no"
    ).height


def test_identity_rules_recomputed_from_labels(
    folder: Path, loaded: dict[str, pl.DataFrame], truth: pl.DataFrame
) -> None:
    labels = folder / "labels"
    reg_person = pl.read_parquet(labels / "registry_person.parquet")
    # labels hold names as written; the loader turns the full-width space into a plain one
    att_person = pl.read_parquet(labels / "attendance_person.parquet").with_columns(
        pl.col("name").str.replace_all("\u3000", " ")
    )
    res_person = pl.read_parquet(labels / "residence_person.parquet")
    reg = loaded["registry"].join(reg_person, on=["student_no", "school_code"])
    assert reg.height == loaded["registry"].height
    active = reg.filter(pl.col("status").is_in(ACTIVE))
    dup = active.filter(pl.len().over("person_key") > 1)
    assert keys(dup, "student_no", "school_code") == truth_keys(
        truth, "DUPLICATE_RECORD", "student_no", "school_code"
    )

    att = loaded["attendance"].join(
        att_person,
        on=["school_code", "grade", "class_name", "name", "id_number", "local_id"],
        how="left",
        nulls_equal=True,
    )
    assert att["person_key"].null_count() == 0
    window = sorted(att["date"].unique().to_list())[-20:]
    win = att.filter(pl.col("date").is_in(window))
    stats = win.group_by("person_key", "school_code").agg(
        pl.col("status").is_in(["present", "late"]).sum().alias("present"),
        (pl.col("status") == "absent").sum().alias("absent"),
    )
    runs = (
        win.sort("person_key", "school_code", "date")
        .with_columns((pl.col("status") == "absent").alias("a"))
        .with_columns(pl.col("a").rle_id().over("person_key", "school_code").alias("run"))
        .filter(pl.col("a"))
        .group_by("person_key", "school_code", "run")
        .len()
        .group_by("person_key", "school_code")
        .agg(pl.col("len").max().alias("longest"))
    )
    stats = stats.join(runs, on=["person_key", "school_code"], how="left").with_columns(
        pl.col("longest").fill_null(0)
    )
    enrolled = reg.filter(pl.col("status") == "enrolled")
    with_att = win.select("school_code").unique()
    ghost = enrolled.join(with_att, on="school_code").join(
        stats, on=["person_key", "school_code"], how="anti"
    )
    assert keys(ghost, "student_no", "school_code") == truth_keys(
        truth, "GHOST_RECORD", "student_no", "school_code"
    )
    risk = enrolled.filter(pl.col("grade") <= 9).join(
        stats.filter((pl.col("longest") >= 5) | (pl.col("absent") >= 8)),
        on=["person_key", "school_code"],
    )
    assert keys(risk, "student_no", "school_code") == truth_keys(
        truth, "DROPOUT_RISK", "student_no", "school_code"
    )
    attends = stats.filter(pl.col("present") >= 5)
    sep = active.join(
        attends.select("person_key", pl.col("school_code").alias("at")), on="person_key"
    ).filter(pl.col("at") != pl.col("school_code"))
    assert keys(sep, "student_no", "school_code") == truth_keys(
        truth, "SEPARATION", "student_no", "school_code"
    )
    nobody = attends.join(reg.select("person_key").unique(), on="person_key", how="anti")
    unreg = (
        win.join(nobody, on=["person_key", "school_code"]).select("school_code", "name").unique()
    )
    assert keys(unreg, "school_code", "name") == truth_keys(
        truth, "UNREGISTERED_ATTENDEE", "school_code", "name"
    )

    res = loaded["residence"].join(res_person, on="id_number")
    cutoff = date(2026, 8, 31)
    res = res.with_columns(
        pl.col("birth_date")
        .map_elements(
            lambda b: cutoff.year - b.year - ((b.month, b.day) > (cutoff.month, cutoff.day)),
            return_dtype=pl.Int64,
        )
        .alias("age")
    )
    ooc = res.filter(pl.col("age").is_between(6, 15)).join(
        active.select("person_key").unique(), on="person_key", how="anti"
    )
    assert keys(ooc, "id_number") == truth_keys(truth, "OUT_OF_SCHOOL_CHILD", "id_number")

    latest_inactive = (
        reg.join(attends.select("person_key").unique(), on="person_key")
        .filter(~pl.col("status").is_in(ACTIVE).any().over("person_key"))
        .sort("person_key", "status_date")
        .group_by("person_key", maintain_order=True)
        .last()
    )
    susp = reg.filter(pl.col("status") == "suspended")
    conflict = (
        keys(latest_inactive, "student_no", "school_code")
        | keys(
            susp.join(attends.select("person_key").unique(), on="person_key"),
            "student_no",
            "school_code",
        )
        | keys(
            susp.filter(pl.col("status_date") < AS_OF - timedelta(days=365)),
            "student_no",
            "school_code",
        )
    )
    assert conflict == truth_keys(truth, "STATUS_CONFLICT", "student_no", "school_code")


def test_noise_that_must_not_be_flagged_is_there(
    folder: Path, loaded: dict[str, pl.DataFrame]
) -> None:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    noise = manifest["noise_not_flagged"]
    assert noise["twin_pairs"] > 0
    assert noise["residence_name_traditional"] > 0 and noise["residence_name_homophone"] > 0
    att = loaded["attendance"]
    assert att.filter(pl.col("id_number").str.contains(r"\*")).height > 0
    assert att["id_number"].null_count() > 0
    sn = loaded["registry"]["student_no"]
    assert sn.str.starts_with("L").sum() > 0 and sn.str.starts_with("J").sum() > 0
    names = loaded["registry"]["name"]
    top = names.str.slice(0, 1).value_counts(sort=True)["name"].head(6).to_list()
    assert {"李", "王", "张", "刘", "陈"} & set(top)
