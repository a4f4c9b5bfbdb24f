"""Names redrawn until every planted case links one way only.

Identity resolution links attendance by name within a class and tolerates homophones,
traditional characters and typos; the duplicate rule pairs a record that has no valid
ID with any record of a homophone name, the same gender and the same (or day/month
swapped) birth date. So that the truth is exact, the generator makes sure that:

- within a class no two people's given names sound alike (any tone);
- a person a school should *not* link to a classmate (ghost records, people attending
  a school where they have no record) shares no surname sound with the classmates;
- a record without a valid resident ID meets no other active record or resident with
  the same gender, the same or swapped birth date and a given name that sounds alike;
- a person the population register knows by another name (PERSON_MISMATCH, renamed)
  is given one that does not sound like the registry's: a homophone is the same name.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from loguru import logger

from xueji.sample import ids
from xueji.sample.names import NameArrays, draw_given, given_key
from xueji.sample.population import ymd
from xueji.sample.world import World


def _canonical_birth(days: np.ndarray) -> np.ndarray:
    v = ymd(days)
    y, m, d = v // 10000, (v // 100) % 100, v % 100
    return y * 10000 + np.minimum(m, d) * 100 + np.maximum(m, d)


def _redraw_given(w: World, pids: np.ndarray) -> None:
    pids = np.unique(pids)
    g1, g2 = draw_given(w.rng, w.people["male"][pids], w.book)
    w.people["g1"][pids], w.people["g2"][pids] = g1, g2
    w.people["minority"][pids] = -1


def _given_keys(w: World, pids: np.ndarray) -> np.ndarray:
    return given_key(w.names_of(pids), w.book)


def _renamed_keys(w: World, pids: np.ndarray) -> np.ndarray:
    p = w.people
    names = NameArrays(
        surname=p["sur"][pids],
        g1=np.maximum(p["res_g1"][pids], 0),
        g2=p["res_g2"][pids],
        minority=np.full(pids.shape[0], -1),
    )
    renamed = p["res_g1"][pids] >= 0
    return np.where(renamed, given_key(names, w.book), given_key(w.names_of(pids), w.book))


def _renamed_alike(w: World) -> np.ndarray:
    """People renamed in the population register whose new given name sounds like the one
    the registry writes (any tone): the rules read that as the same name, not a rename."""
    pids = np.flatnonzero(w.people["res_g1"] >= 0)
    return pids[_renamed_keys(w, pids) == _given_keys(w, pids)]


def _redraw_renamed(w: World, pids: np.ndarray) -> None:
    g1, g2 = draw_given(w.rng, w.people["male"][pids], w.book)
    w.people["res_g1"][pids], w.people["res_g2"][pids] = g1, g2


def class_members(w: World, extra: list[tuple[np.ndarray, np.ndarray]]) -> pl.DataFrame:
    """(class_id, pid) of every record and of every attendee who has no record there."""
    r = w.records
    parts = [
        pl.DataFrame({"class_id": r["class_id"].astype(np.int64), "pid": r["pid"].astype(np.int64)})
    ]
    for cls, pid in extra:
        parts.append(pl.DataFrame({"class_id": cls.astype(np.int64), "pid": pid.astype(np.int64)}))
    return pl.concat(parts).unique(maintain_order=True)


def _repeats(group: np.ndarray, pid: np.ndarray) -> np.ndarray:
    """Positions of every member of a group but its first (by person)."""
    order = np.lexsort((pid, group))
    g = group[order]
    same = np.zeros(g.shape[0], dtype=bool)
    same[1:] = g[1:] == g[:-1]
    return order[same]


def _class_clashes(w: World, cls: np.ndarray, pid: np.ndarray) -> np.ndarray:
    group = cls * 10**8 + _given_keys(w, pid)
    return pid[_repeats(group, pid)]


def _surname_clashes(w: World, cls: np.ndarray, pid: np.ndarray) -> np.ndarray:
    p, book = w.people, w.book
    syl = np.where(
        p["minority"][pid] >= 0, 10**5 + p["minority"][pid], book.surname_syllable[p["sur"][pid]]
    )
    group = cls * 10**6 + syl
    _, inverse, counts = np.unique(group, return_inverse=True, return_counts=True)
    clash = pid[(counts[inverse] > 1) & p["special_surname"][pid]]
    unsafe = p["special_surname"] & ~np.isin(p["sur"], book.safe_surnames)
    return np.unique(np.concatenate([clash, np.flatnonzero(unsafe)]))


class _RiskyCheck:
    """Records without a valid resident ID against every active record and resident with
    the same gender and (possibly swapped) birth date: their given names must not sound alike."""

    def __init__(self, w: World) -> None:
        r, p = w.records, w.people
        active = np.isin(r["status"], ["enrolled", "suspended"])
        valid = ids.valid_numeric(r["id_body"], r["id_check"], r["id_shape_bad"]) & (
            r["id_type"] == "resident_id"
        )
        rec = np.flatnonzero(active)
        res = np.flatnonzero(p["in_residence"])
        self.pid = np.concatenate([r["pid"][rec], res])
        male = np.concatenate([r["male"][rec], p["male"][res] ^ p["res_gender_flip"][res]]).astype(
            np.int64
        )
        birth = np.concatenate(
            [
                _canonical_birth(r["birth_day"][rec]),
                _canonical_birth(p["birth_day"][res] + p["res_birth_shift"][res]),
            ]
        )
        self.cell = (birth * 2 + male) * 10**8
        self.risky = np.concatenate([~valid[rec], np.zeros(res.shape[0], dtype=bool)])
        self.is_record = np.concatenate(
            [np.ones(rec.shape[0], dtype=bool), np.zeros(res.shape[0], dtype=bool)]
        )

    def clashes(self, w: World) -> np.ndarray:
        keys = np.where(self.is_record, _given_keys(w, self.pid), _renamed_keys(w, self.pid))
        full = self.cell + keys
        hot = np.unique(full[self.risky])
        near = np.flatnonzero(np.isin(full, hot))
        f, who = full[near], self.pid[near]
        order = np.lexsort((who, f))
        f_sorted, who_sorted = f[order], who[order]
        # one entry per (key, person): a person's record and residence row count once
        new_pair = np.ones(f_sorted.shape[0], dtype=bool)
        new_pair[1:] = (f_sorted[1:] != f_sorted[:-1]) | (who_sorted[1:] != who_sorted[:-1])
        values, counts = np.unique(f_sorted[new_pair], return_counts=True)
        crowded = values[counts > 1]
        hit = near[np.isin(f, crowded) & self.risky[near]]
        return np.unique(self.pid[hit])


def _unregistered_clashes(w: World, schools: np.ndarray, pids: np.ndarray) -> np.ndarray:
    """Two people without a record attending one school must not share a name."""
    keys = _given_keys(w, pids) * 1000 + w.people["sur"][pids]
    return pids[_repeats(schools.astype(np.int64) * 10**11 + keys, pids)]


def resolve_names(
    w: World,
    extra: list[tuple[np.ndarray, np.ndarray]],
    unregistered: tuple[np.ndarray, np.ndarray],
) -> int:
    """Redraw names until no clash is left; returns the number of rounds it took."""
    members = class_members(w, extra)
    cls, pid = members["class_id"].to_numpy(), members["pid"].to_numpy()
    risky = _RiskyCheck(w)
    for round_no in range(1, 60):
        clash = _class_clashes(w, cls, pid)
        if clash.size:
            _redraw_given(w, clash)
        sur = _surname_clashes(w, cls, pid)
        if sur.size:
            safe = w.book.safe_surnames
            w.people["sur"][sur] = safe[w.rng.integers(0, safe.shape[0], size=sur.shape[0])]
            w.people["minority"][sur] = -1
        near = risky.clashes(w)
        if near.size:
            _redraw_given(w, near)
        twice = _unregistered_clashes(w, *unregistered)
        if twice.size:
            _redraw_given(w, twice)
        alike = _renamed_alike(w)
        if alike.size:
            _redraw_renamed(w, alike)
        logger.debug(
            "names round {}: {} class, {} surname, {} risky, {} unregistered, {} renamed-alike clashes",
            round_no,
            clash.size,
            sur.size,
            near.size,
            twice.size,
            alike.size,
        )
        if not (clash.size or sur.size or near.size or twice.size or alike.size):
            return round_no
    raise RuntimeError("names could not be made unambiguous")
