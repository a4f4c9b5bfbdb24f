"""Words of the data contract that several concerns read: the statuses that make a record
active, the grades each school level holds. One place, so the loader's checks, identity,
the rules and the transfer workflow never disagree on them (the sample generator keeps
its own copies on purpose: its truth must not borrow the checker's code)."""

from __future__ import annotations

# Contract §3: "active record: status enrolled or suspended".
ACTIVE: tuple[str, ...] = ("enrolled", "suspended")

# Contract §1, schools.level: the grades a school of each level may hold.
LEVEL_GRADES: dict[str, tuple[int, int]] = {
    "primary": (1, 6),
    "junior": (7, 9),
    "nine_year": (1, 9),
    "twelve_year": (1, 12),
    "complete_secondary": (7, 12),
    "senior": (10, 12),
    "special": (1, 12),
}
