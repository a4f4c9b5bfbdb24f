"""The generator's working state: people, their registry records, attendees, changes.

``people`` are the true persons (one row each, with the truth about them); ``records``
are registry rows as a clerk wrote them (several per person for duplicates); attendees
are the persons a school's attendance system knows, one per school and class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from xueji.sample.config import SampleConfig
from xueji.sample.names import NameArrays, NameBook
from xueji.sample.schools import SchoolWorld
from xueji.sample.table import NO_DATE, Table, day

I64 = np.array([0], dtype=np.int64)
I32_NO_DATE = np.array([NO_DATE], dtype=np.int32)
FALSE = np.array([False])
MINUS = np.array([-1], dtype=np.int64)

PEOPLE_DEFAULTS: dict[str, object] = {
    "male": FALSE,
    "birth_day": I32_NO_DATE,
    "sur": I64,
    "g1": I64,
    "g2": MINUS,
    "minority": MINUS,
    "resident": FALSE,  # holds a resident ID number
    "id_area": I64,
    "id_body": I64,
    "id_check": MINUS,
    "hukou": I64,  # 12-digit hukou village
    "home": I64,  # 12-digit village where the family lives
    "migrant": FALSE,
    "permit": FALSE,
    "in_residence": FALSE,
    "role": "student",
    "tag": None,
    "res_name": "same",  # how residence data writes the name: same/trad/homophone/renamed
    "res_g1": np.array([-2], dtype=np.int64),  # renamed in the register: its given name
    "res_g2": np.array([-2], dtype=np.int64),
    "res_gender_flip": FALSE,
    "res_birth_shift": np.array([0], dtype=np.int32),
    "res_code_filled": FALSE,
    "special_surname": FALSE,  # must not share a surname sound with classmates
}

RECORD_DEFAULTS: dict[str, object] = {
    "pid": I64,
    "school": I64,
    "class_id": I64,
    "grade": I64,
    "status": "enrolled",
    "status_day": I32_NO_DATE,
    "enrol_day": I32_NO_DATE,
    "sn_prefix": "G",
    "sn_num": I64,  # G/J: the 17-digit body; L: the 18 digits after L
    "sn_check": MINUS,
    "id_type": "resident_id",
    "id_body": I64,  # 0: no number
    "id_check": MINUS,
    "id_shape_bad": FALSE,  # written one digit short
    "id_other": None,  # passport / permit number for other id types
    "male": FALSE,  # gender as written
    "birth_day": I32_NO_DATE,  # birth date as written
    "name_form": "same",  # same / trad / homophone
    "is_migrant": FALSE,
    "placement": "none",
    "hukou_w": None,
    "res_w": None,
    "tag": None,
    "rows": "full",  # attendance of this record at its school: full / none / before_window
    "risky_ok": FALSE,  # planted duplicate partner: exempt from the collision check
}


@dataclass
class World:
    """Everything generated so far, plus the run's options and random stream."""

    cfg: SampleConfig
    rng: np.random.Generator
    book: NameBook
    sw: SchoolWorld
    school_days: list[date]
    people: Table = field(default_factory=lambda: Table(PEOPLE_DEFAULTS))
    records: Table = field(default_factory=lambda: Table(RECORD_DEFAULTS))
    notes: dict[str, int] = field(default_factory=dict)  # noise counts for the manifest

    @property
    def as_of_day(self) -> int:
        """The as-of date as a day number."""
        return day(self.cfg.as_of)

    @property
    def year_start_day(self) -> int:
        """1 September of the current school year as a day number."""
        y = (
            self.cfg.as_of.year
            if self.cfg.as_of >= date(self.cfg.as_of.year, 9, 1)
            else self.cfg.as_of.year - 1
        )
        return day(date(y, 9, 1))

    @property
    def school_year(self) -> int:
        """Calendar year in which the current school year began."""
        return (
            self.cfg.as_of.year
            if self.cfg.as_of >= date(self.cfg.as_of.year, 9, 1)
            else self.cfg.as_of.year - 1
        )

    def names_of(self, pids: np.ndarray) -> NameArrays:
        """Name indices of some people."""
        p = self.people
        return NameArrays(
            surname=p["sur"][pids], g1=p["g1"][pids], g2=p["g2"][pids], minority=p["minority"][pids]
        )

    def note(self, key: str, count: int) -> None:
        """Count a kind of noise (reported in the manifest)."""
        self.notes[key] = self.notes.get(key, 0) + int(count)
