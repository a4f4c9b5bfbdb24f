"""Options of one sample run and the rates at which problems are planted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from xueji.errors import InputError
from xueji.sample.geography import COUNTY_NAMES

# Raised whenever the generator's output changes for some size or seed (2: distinct
# permit numbers, one class per planted wrong grade, no homophone renames — only cities
# large enough to collide changed). Cached cities of another version are regenerated.
GENERATOR_VERSION = "2"
DEFAULT_AS_OF = date(2026, 11, 20)
WINDOW_DAYS = 20

# Share of base students given each planted case (at least ``minimum`` cases each).
PLANT_RATES: dict[str, float] = {
    "id_invalid_check": 0.0004,
    "id_invalid_date": 0.0002,
    "id_invalid_province": 0.0001,
    "id_invalid_shape": 0.0001,
    "id_typo": 0.0002,
    "student_no_old_id": 0.0003,
    "student_no_j_check": 0.0001,
    "student_no_l_birth": 0.0001,
    "temp_number_stale": 0.0004,
    "id_mismatch_gender": 0.0003,
    "id_mismatch_birth": 0.0002,
    "dup_same_id": 0.0004,
    "dup_noid_homophone": 0.0003,
    "dup_typo_swapped": 0.0002,
    "dup_no_attendance": 0.0001,
    "ghost": 0.0006,
    "ghost_left_before_window": 0.0002,
    "separation": 0.0006,
    "separation_suspended": 0.0001,
    "unregistered": 0.0006,
    "dropout_streak": 0.0005,
    "dropout_total": 0.0003,
    "out_of_school": 0.0006,
    "person_renamed": 0.0003,
    "person_gender": 0.0001,
    "person_birth": 0.0001,
    "catchment": 0.0004,
    "cross_city": 0.0003,
    "unapproved_no_record": 0.0003,
    "unapproved_late_approval": 0.0001,
    "entry_age": 0.0003,
    "grade_level": 0.0002,
    "suspended_stale": 0.0002,
    "suspended_attending": 0.0002,
    "inactive_attending": 0.0002,
    "transfer_overdue": 0.0004,
    "transfer_open_in_time": 0.0004,
}
MINIMUM_PLANTS = 2


@dataclass(frozen=True)
class SampleConfig:
    """What to generate: how many students, school days, which seed, reference date."""

    students: int = 10_000
    days: int = 60
    seed: int = 1
    as_of: date = DEFAULT_AS_OF
    county: str | None = None
    rates: dict[str, float] = field(default_factory=lambda: dict(PLANT_RATES))

    def validate(self) -> None:
        """Raise ``InputError`` naming each option that cannot be used."""
        problems = []
        if not 1_000 <= self.students <= 5_000_000:
            problems.append(f"--students {self.students}: use 1000 to 5000000")
        if not WINDOW_DAYS <= self.days <= 150:
            problems.append(
                f"--days {self.days}: use {WINDOW_DAYS} to 150 (the audit window is {WINDOW_DAYS} school days)"
            )
        if self.seed < 0:
            problems.append(f"--seed {self.seed}: use a number >= 0")
        if self.county is not None and self.county not in COUNTY_NAMES:
            known = ", ".join(f"{c} {n}" for c, n in COUNTY_NAMES.items())
            problems.append(f"--county {self.county}: not a county of 长沙市 (use one of {known})")
        if self.as_of.year < 2020 or self.as_of.year > 2040:
            problems.append(f"--as-of {self.as_of}: use a date between 2020 and 2040")
        if problems:
            raise InputError(f"{len(problems)} option(s) cannot be used: " + "; ".join(problems))

    def plants(self, name: str) -> int:
        """How many cases of one planted kind this run gets."""
        return max(MINIMUM_PLANTS, int(round(self.rates[name] * self.students)))
