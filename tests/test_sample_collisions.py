"""Chance collisions of a big generated city that made its truth disagree with the
contract: found at 1,000,000 students (seed 1), where the truth missed or invented
findings the rules rightly give. Each case is forced here on a small city.

- two children drawn the same Hong Kong/Macao/Taiwan permit number (area, birth date,
  sequence) — the contract's duplicate rule takes one id_number for one person;
- two grade_level records given the same wrong grade and class number at one school,
  written as two classes of one name, so both pupils got the same local_id;
- a person_renamed register name drawn as a homophone of the registry name, which the
  contract counts as the same name.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import xueji.sample.generator as generator
from xueji.identity.names import same_name_or_homophone
from xueji.io import load_inputs
from xueji.sample import SampleConfig, generate, ids, write_sample
from xueji.sample.config import PLANT_RATES
from xueji.sample.names import homophone
from xueji.sample.population import other_id_numbers
from xueji.testing import read_truth, run_rules, truth_scores


def scores(
    sample: generator.Sample, folder: Path, codes: list[str]
) -> dict[str, tuple[float, float]]:
    """(precision, recall) per rule of the checker's findings on ``sample`` against its truth."""
    write_sample(sample, folder)
    found = run_rules(load_inputs(folder).tables, sample.cfg.as_of, codes)
    table = truth_scores(found, read_truth(folder)).filter(pl.col("rule").is_in(codes))
    return {r["rule"]: (r["precision"], r["recall"]) for r in table.iter_rows(named=True)}


def test_permit_numbers_of_one_birth_date_and_gender_are_all_different() -> None:
    # 900 boys born on one day: 3 permit areas x 500 sequences leave room for all of
    # them, but drawn independently some 250 would share a number.
    n = 900
    kind = np.array(["hmt_permit"] * n + ["other"] * 3, dtype=object)
    out = other_id_numbers(
        np.random.default_rng(5),
        kind,
        np.full(kind.shape[0], 20200808),
        np.ones(kind.shape[0], bool),
    )
    permits = pl.Series(out[:n].tolist(), dtype=pl.String)
    assert permits.n_unique() == n
    assert permits.str.slice(0, 6).is_in(["810000", "820000", "830000"]).all()
    assert pl.select(ids.is_valid_resident_id(pl.lit(permits))).to_series().all()
    assert (permits.str.slice(6, 8) == "20200808").all()
    assert pl.select(ids.embedded_gender(pl.lit(permits)) == "M").to_series().all()
    assert all(x is None for x in out[n:])


class _SamePassportFirst:
    """A random stream whose first passport draw gives every record the same digits."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.first = True

    def integers(self, low: int, high: int | None = None, size: int | None = None) -> np.ndarray:
        if self.first and high == 10**8:
            self.first = False
            return np.full(size or 1, 12_345_678)
        return self.rng.integers(low, high, size=size)

    def __getattr__(self, name: str) -> object:
        return getattr(self.rng, name)


def test_passport_numbers_drawn_twice_are_redrawn() -> None:
    kind = np.array(["passport"] * 40, dtype=object)
    out = other_id_numbers(
        _SamePassportFirst(3),  # type: ignore[arg-type]
        kind,
        np.full(40, 20190101),
        np.zeros(40, bool),
    )
    assert len(set(out)) == 40
    assert all(len(x) == 9 and x.startswith("E") for x in out)


@pytest.fixture(scope="module")
def crowded_grade_level() -> generator.Sample:
    # A fifth of a small city typed into a grade its school cannot hold: many records of
    # one school share the wrong grade and their class number.
    rates = dict(PLANT_RATES) | {"grade_level": 0.2}
    return generate(SampleConfig(students=1_000, days=20, seed=7, rates=rates))


def test_wrong_grade_records_of_one_class_name_share_one_class(
    crowded_grade_level: generator.Sample,
) -> None:
    reg = crowded_grade_level.registry.filter(pl.col("tag") == "grade_level")
    per_class = reg.group_by("school", "grade", "class_name").agg(
        pl.col("class_id").n_unique().alias("ids"), pl.len().alias("records")
    )
    assert per_class["records"].max() >= 2  # the case is there
    assert (per_class["ids"] == 1).all()


def test_local_ids_are_unique_within_a_school(crowded_grade_level: generator.Sample) -> None:
    people = crowded_grade_level.attendance.people.filter(pl.col("local_id").is_not_null())
    shared = people.group_by("school", "local_id").agg(pl.col("pid").n_unique().alias("n"))
    assert (shared["n"] == 1).all()
    # grade_level pupils are among them, several in one wrongly graded class
    planted = crowded_grade_level.registry.filter(pl.col("tag") == "grade_level").select("pid")
    mine = people.join(planted, on="pid")
    assert mine.group_by("school", "grade", "class_name").len()["len"].max() >= 2


def test_checker_links_every_pupil_of_a_wrongly_graded_class(
    crowded_grade_level: generator.Sample, tmp_path: Path
) -> None:
    got = scores(
        crowded_grade_level,
        tmp_path / "city",
        ["GHOST_RECORD", "UNREGISTERED_ATTENDEE", "GRADE_LEVEL"],
    )
    assert got == {
        "GHOST_RECORD": (1.0, 1.0),
        "UNREGISTERED_ATTENDEE": (1.0, 1.0),
        "GRADE_LEVEL": (1.0, 1.0),
    }


def test_renamed_people_never_get_a_homophone_of_their_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    planted = generator.plant_residence

    def renamed_as_homophones(w, pk):  # type: ignore[no-untyped-def]
        planted(w, pk)
        p = w.people
        pids = np.flatnonzero(p["res_g1"] >= 0)
        alike, ok = homophone(w.names_of(pids), w.book)
        # a homophone where the book has one, else the very same given name
        p["res_g1"][pids] = np.where(ok, alike.g1, p["g1"][pids])
        p["res_g2"][pids] = np.where(ok, alike.g2, p["g2"][pids])

    monkeypatch.setattr(generator, "plant_residence", renamed_as_homophones)
    rates = dict(PLANT_RATES) | {"person_renamed": 0.02}
    sample = generate(
        SampleConfig(students=1_000, days=20, seed=5, as_of=date(2026, 11, 20), rates=rates)
    )
    renamed = sample.residence.filter(pl.col("name_form") == "renamed").select(
        "id_number", pl.col("name").alias("res_name")
    )
    pairs = sample.registry.filter(pl.col("tag") == "person_renamed").join(renamed, on="id_number")
    assert pairs.height >= 15
    assert not same_name_or_homophone(pairs["name"], pairs["res_name"]).any()
    flagged = sample.truth.filter(
        (pl.col("rule") == "PERSON_MISMATCH") & (pl.col("kind") == "person_renamed")
    )
    assert set(flagged["student_no"]) == set(pairs["student_no"])
    assert scores(sample, tmp_path / "city", ["PERSON_MISMATCH"]) == {"PERSON_MISMATCH": (1.0, 1.0)}
