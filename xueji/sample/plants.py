"""Planted problems: each picks unclaimed pupils and changes exactly what the problem
needs, leaving a ``tag`` the truth uses to label every finding it implies.

Each planted case is kept away from every threshold edge except the deliberately
planted edges (tags ending in ``_edge_*``), and away from other plants.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from xueji.sample import ids
from xueji.sample.geography import elsewhere_villages
from xueji.sample.names import draw_given, has_traditional, homophone
from xueji.sample.population import add_resident_children, cohort, id_area_for, ymd
from xueji.sample.schools import STANDARD
from xueji.sample.table import day, is_none
from xueji.sample.world import World


class Picker:
    """Chooses records for plants: free ones only, each record and person used once."""

    def __init__(self, w: World) -> None:
        self.w = w
        s = w.sw.schools
        self.level = s["level"].to_numpy()
        self.gmin = s["gmin"].to_numpy()
        self.gmax = s["gmax"].to_numpy()
        self.has_att = s["has_attendance"].to_numpy()
        self.public = (s["ownership"] == "public").to_numpy()
        self.county = s["county_code"].to_numpy()
        self._free: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of records so far (plants add some)."""
        return len(self.w.records)

    def free(self) -> np.ndarray:
        """Active-pupil records nobody has planted anything on (and not twins etc.);
        recomputed only when records were added, else kept up to date by ``take``."""
        r, p = self.w.records, self.w.people
        if self._free is None or self._free.shape[0] != len(r):
            self._free = (
                is_none(r["tag"])
                & is_none(p["tag"][r["pid"]])
                & (r["status"] == "enrolled")
                & (self.level[r["school"]] != "special")
            )
        return self._free

    def entrant(self) -> np.ndarray:
        """Records entered this school year."""
        return self.w.records["enrol_day"] >= self.w.year_start_day

    def take(self, mask: np.ndarray, k: int, tag: str) -> np.ndarray:
        """Up to ``k`` random records from ``mask & free``; tags them and their person."""
        pool = np.flatnonzero(mask & self.free())
        k = min(k, pool.shape[0])
        chosen = self.w.rng.choice(pool, size=k, replace=False) if k else pool[:0]
        self.w.records["tag"][chosen] = tag
        self.w.people["tag"][self.w.records["pid"][chosen]] = tag
        # a person's other records are no longer free either
        free = self.free()
        free[np.isin(self.w.records["pid"], self.w.records["pid"][chosen])] = False
        return np.sort(chosen)


def plant_entry_age(w: World, pk: Picker) -> None:
    """Grade-1 entrants born after the cut-off day (under six on 31 August); run before
    ID numbers are drawn so each ID carries the planted birth date."""
    r, p = w.records, w.people
    sy = w.school_year
    g1 = (r["grade"] == 1) & pk.entrant() & (r["sn_prefix"] != "J")
    young = pk.take(g1, w.cfg.plants("entry_age"), "entry_age")
    lo, hi = day(date(sy - 6, 9, 3)), day(date(sy - 5, 3, 31))
    birth = lo + (w.rng.random(len(young)) * (hi - lo)).astype(np.int64)
    edge = pk.take(g1, 1, "entry_age_edge_born_1_sep")
    six = pk.take(g1, 1, "entry_age_exactly_6")  # born on the cut-off day: six, not flagged
    for sel, b in (
        (young, birth),
        (edge, np.full(edge.shape[0], day(date(sy - 6, 9, 1)))),
        (six, np.full(six.shape[0], day(date(sy - 6, 8, 31)))),
    ):
        r["birth_day"][sel] = b
        p["birth_day"][r["pid"][sel]] = b


def plant_ids(w: World, pk: Picker) -> None:
    """ID_INVALID, STUDENT_NO_MISMATCH and ID_MISMATCH cases (after IDs are drawn)."""
    r, p, rng, cfg = w.records, w.people, w.rng, w.cfg
    g = r["sn_prefix"] == "G"

    def out_of_residence(sel: np.ndarray) -> None:
        # the population register holds the right number, which links to no record
        # here: keep such people out of it rather than leave the link to chance
        p["in_residence"][r["pid"][sel]] = False

    sel = pk.take(g, cfg.plants("id_invalid_check"), "id_invalid_check")
    r["id_check"][sel] = (r["id_check"][sel] + rng.integers(1, 11, size=sel.shape[0])) % 11
    r["sn_check"][sel] = r["id_check"][sel]
    out_of_residence(sel)

    sel = pk.take(g, cfg.plants("id_invalid_date"), "id_invalid_date")
    year = ymd(r["birth_day"][sel]) // 10000
    bad_md = np.array([230, 231, 431, 631, 931, 1131, 1301])[rng.integers(0, 7, size=sel.shape[0])]
    body = ids.make_body(
        r["id_body"][sel] // 10**11, year * 10000 + bad_md, r["id_body"][sel] % 1000
    )
    r["id_body"][sel] = body
    r["id_check"][sel] = ids.check_index(body)
    r["sn_num"][sel], r["sn_check"][sel] = r["id_body"][sel], r["id_check"][sel]
    out_of_residence(sel)

    sel = pk.take(g, cfg.plants("id_invalid_province"), "id_invalid_province")
    bad_prov = np.array([10, 19, 20, 24, 30, 38, 47, 55, 66, 72, 90, 99])[
        rng.integers(0, 12, size=sel.shape[0])
    ]
    area = bad_prov * 10**4 + (r["id_body"][sel] // 10**11) % 10**4
    body = area * 10**11 + r["id_body"][sel] % 10**11
    r["id_body"][sel] = body
    r["id_check"][sel] = ids.check_index(body)
    r["sn_num"][sel], r["sn_check"][sel] = r["id_body"][sel], r["id_check"][sel]
    out_of_residence(sel)

    # one digit short: the student number keeps the full number (a 17-character student
    # number would be a data error), so the two disagree as well
    sel = pk.take(g, cfg.plants("id_invalid_shape"), "id_invalid_shape")
    r["id_shape_bad"][sel] = True
    out_of_residence(sel)

    # a mistyped digit in the ID field only; the student number was made from the right one
    sel = pk.take(g, cfg.plants("id_typo"), "id_typo")
    r["id_body"][sel] = _typo(r["id_body"][sel], rng)
    out_of_residence(sel)

    # student number still carries the number the pupil had before an ID change
    sel = pk.take(g, cfg.plants("student_no_old_id"), "student_no_old_id")
    pid = r["pid"][sel]
    old = ids.unique_bodies(
        rng,
        p["id_area"][pid],
        ymd(p["birth_day"][pid]),
        p["male"][pid],
        taken=p["id_body"][p["resident"]],
    )
    r["sn_num"][sel] = old
    r["sn_check"][sel] = ids.check_index(old)

    sel = pk.take(r["sn_prefix"] == "J", cfg.plants("student_no_j_check"), "student_no_j_check")
    r["sn_check"][sel] = (r["sn_check"][sel] + rng.integers(1, 11, size=sel.shape[0])) % 11

    sel = pk.take(r["sn_prefix"] == "L", cfg.plants("student_no_l_birth"), "student_no_l_birth")
    shifted = r["birth_day"][sel] + rng.choice([-1, 1], size=sel.shape[0]) * rng.integers(
        20, 300, size=sel.shape[0]
    )
    r["sn_num"][sel] = (
        (r["sn_num"][sel] // 10**12) * 10**12 + ymd(shifted) * 10**4 + r["sn_num"][sel] % 10**4
    )

    # the registry's gender or birth date disagrees with the ID (the ID is right)
    sel = pk.take(g & (r["grade"] >= 2), cfg.plants("id_mismatch_gender"), "id_mismatch_gender")
    r["male"][sel] = ~r["male"][sel]
    sel = pk.take(
        g & (r["grade"] >= 2) & ~pk.entrant(), cfg.plants("id_mismatch_birth"), "id_mismatch_birth"
    )
    r["birth_day"][sel] = r["birth_day"][sel] + rng.choice(
        [-1, 1], size=sel.shape[0]
    ) * rng.integers(30, 400, size=sel.shape[0])


def _typo(body: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One digit of the sequence/birth part changed (positions 7–17): MOD 11-2 catches
    every single substitution, so the number fails its check character."""
    pos = rng.integers(0, 11, size=body.shape[0])  # power of ten from the right
    digit = (body // 10**pos) % 10
    new = (digit + rng.integers(1, 10, size=body.shape[0])) % 10
    return body + (new - digit) * 10**pos


def plant_temp_numbers(w: World, pk: Picker) -> None:
    """Active pupils still on an L number long after entry (TEMP_NUMBER_STALE), one on
    the 366-day edge, and one at exactly 365 days (not stale)."""
    r, p, rng = w.records, w.people, w.rng
    base = (r["sn_prefix"] == "G") & (r["grade"] >= 2) & ~pk.entrant()
    stale = pk.take(base, w.cfg.plants("temp_number_stale"), "temp_number_stale")
    edge = pk.take(base, 1, "temp_number_stale_edge_366")
    fine = pk.take(base, 1, "temp_number_365_days")
    r["enrol_day"][edge] = w.as_of_day - 366
    r["enrol_day"][fine] = w.as_of_day - 365
    sel = np.concatenate([stale, edge, fine])
    pid = r["pid"][sel]
    r["sn_prefix"][sel] = "L"
    r["sn_num"][sel] = (
        (p["home"][pid] // 10**6) * 10**12
        + ymd(r["birth_day"][sel]) * 10**4
        + rng.integers(0, 10**4, size=sel.shape[0])
    )
    r["sn_check"][sel] = -1
    r["id_body"][sel] = 0
    r["id_check"][sel] = -1
    p["in_residence"][pid] = False  # the register's ID would link to no record


def _other_school(
    w: World, pk: Picker, sel: np.ndarray, want_att: bool | None, same_county: float
) -> np.ndarray:
    """For each record, another school that holds its grade (-1 when none fits)."""
    r, rng = w.records, w.rng
    out = np.full(sel.shape[0], -1)
    n_sch = pk.level.shape[0]
    for k, i in enumerate(sel):
        g, s = r["grade"][i], r["school"][i]
        ok = (pk.gmin <= g) & (g <= pk.gmax) & (pk.level != "special") & (np.arange(n_sch) != s)
        if want_att is not None:
            ok &= pk.has_att == want_att
        near = ok & (pk.county == pk.county[s])
        pool = np.flatnonzero(near if near.any() and rng.random() < same_county else ok)
        if pool.size:
            out[k] = rng.choice(pool)
    return out


def _class_at(w: World, schools: np.ndarray, grades: np.ndarray, roomy: bool = True) -> np.ndarray:
    """A class of each (school, grade) with room under the standard size."""
    cls = w.sw.classes
    rng = w.rng
    std = np.where(cls["grade"].to_numpy() <= 6, STANDARD["primary"], STANDARD["secondary"])
    ok = is_none(cls["tag"].to_numpy()) & ((cls["size"].to_numpy() <= std - 3) | (not roomy))
    frame = cls.select("class_id", "school", "grade").filter(pl.Series(ok))
    out = np.full(schools.shape[0], -1)
    groups = frame.group_by("school", "grade").agg("class_id")
    lookup = {(s, g): c for s, g, c in groups.iter_rows()}
    for k, (s, g) in enumerate(zip(schools, grades, strict=True)):
        c = lookup.get((int(s), int(g)))
        if c:
            out[k] = c[int(rng.integers(0, len(c)))]
    return out


def _add_record_copy(
    w: World, src: np.ndarray, school: np.ndarray, class_id: np.ndarray, **changes: np.ndarray
) -> np.ndarray:
    """A second registry record of the same people at other schools (enrolled, no
    attendance there), entered between 10 and 11 months ago: not this school year,
    and recent enough that an L number is not stale."""
    r = w.records
    cols = {name: r[name][src].copy() for name in r.cols}
    cols["school"] = school
    cols["class_id"] = class_id
    cols["status"] = np.full(src.shape[0], "enrolled", dtype=object)
    lo, hi = w.as_of_day - 330, w.year_start_day - 20
    cols["enrol_day"] = (lo + (w.rng.random(len(src)) * (hi - lo))).astype(np.int32)
    cols["rows"] = np.full(src.shape[0], "none", dtype=object)
    cols.update(changes)
    return r.append(**cols)


def plant_duplicates(w: World, pk: Picker) -> None:
    """DUPLICATE_RECORD: the same person on two schools' rolls. Where the first school
    has attendance the person attends it, so the second record is also a SEPARATION and
    (when its school has attendance) a GHOST_RECORD."""
    r, rng, cfg = w.records, w.rng, w.cfg
    book = w.book

    def g_mask() -> np.ndarray:
        return (r["sn_prefix"] == "G") & pk.has_att[r["school"]] & ~pk.entrant()

    def pair(sel: np.ndarray, want_att: bool | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        other = _other_school(w, pk, sel, want_att, 0.6)
        cls = _class_at(w, other, r["grade"][sel])
        ok = (other >= 0) & (cls >= 0)
        for i in sel[~ok]:
            r["tag"][i] = None
            w.people["tag"][r["pid"][i]] = None
        return sel[ok], other[ok], cls[ok]

    sel, other, cls = pair(pk.take(g_mask(), cfg.plants("dup_same_id"), "dup_same_id"), None)
    _add_record_copy(w, sel, other, cls)

    # second record has no ID (an L number) and the name written with a homophone or
    # traditional characters; birth date the same or with day and month swapped
    pid = r["pid"]
    bd = ymd(r["birth_day"])
    swappable = ((bd % 100) <= 12) & ((bd % 100) != (bd // 100) % 100)
    cand = g_mask() & (w.people["minority"][pid] < 0)
    sel, other, cls = pair(
        pk.take(cand, cfg.plants("dup_noid_homophone"), "dup_noid_homophone"), None
    )
    if sel.size:
        names = w.names_of(pid[sel])
        _, can_h = homophone(names, book)
        can_t = has_traditional(names, book)
        form = np.where(can_h, "homophone", np.where(can_t, "trad", "same"))
        swap = swappable[sel] & (rng.random(sel.shape[0]) < 0.5)
        b_birth = np.where(swap, _swap_day_month(r["birth_day"][sel]), r["birth_day"][sel])
        area = w.people["home"][pid[sel]] // 10**6
        num = area * 10**12 + ymd(b_birth) * 10**4 + rng.integers(0, 10**4, size=sel.shape[0])
        new = _add_record_copy(
            w, sel, other, cls,
            sn_prefix=np.full(sel.shape[0], "L", dtype=object),
            sn_num=num,
            sn_check=np.full(sel.shape[0], -1),
            id_body=np.zeros(sel.shape[0], dtype=np.int64),
            id_check=np.full(sel.shape[0], -1),
            birth_day=b_birth.astype(np.int32),
            name_form=form.astype(object),
        )  # fmt: skip
        w.note("duplicate_with_swapped_birth_date", int(swap.sum()))
        del new

    # second record's ID mistyped (fails GB 11643, one edit away), day and month swapped
    n_now = len(r)
    cand = np.concatenate([cand, np.zeros(n_now - cand.shape[0], dtype=bool)])
    swappable = np.concatenate([swappable, np.zeros(n_now - swappable.shape[0], dtype=bool)])
    sel, other, cls = pair(
        pk.take(cand & swappable, cfg.plants("dup_typo_swapped"), "dup_typo_swapped"), None
    )
    if sel.size:
        typo = _typo(r["id_body"][sel], rng)
        _add_record_copy(
            w, sel, other, cls,
            id_body=typo,
            sn_num=typo,
            birth_day=_swap_day_month(r["birth_day"][sel]).astype(np.int32),
        )  # fmt: skip

    # both schools without attendance: a duplicate and nothing else
    no_att = (r["sn_prefix"] == "G") & ~pk.has_att[r["school"]] & ~pk.entrant()
    sel, other, cls = pair(
        pk.take(no_att, cfg.plants("dup_no_attendance"), "dup_no_attendance"), False
    )
    _add_record_copy(w, sel, other, cls)


def _swap_day_month(days: np.ndarray) -> np.ndarray:
    """Birth dates with day and month swapped (unchanged where that is no date)."""
    v = ymd(days)
    y, m, d = v // 10000, (v // 100) % 100, v % 100
    out = days.astype(np.int64).copy()
    ok = d <= 12
    for k in np.flatnonzero(ok):
        out[k] = day(date(int(y[k]), int(d[k]), int(m[k])))
    return out


def plant_attendance_cases(w: World, pk: Picker) -> dict[str, np.ndarray]:
    """GHOST_RECORD, SEPARATION, STATUS_CONFLICT and DROPOUT_RISK cases on records;
    returns the records whose person attends another school (separation)."""
    r, rng, cfg = w.records, w.rng, w.cfg
    att = pk.has_att[r["school"]]
    ghost = pk.take(att, cfg.plants("ghost"), "ghost")
    r["rows"][ghost] = "none"
    w.people["special_surname"][r["pid"][ghost]] = True
    if w.cfg.days >= 26:
        left = pk.take(att, cfg.plants("ghost_left_before_window"), "ghost_left_before_window")
        r["rows"][left] = "before_window"

    sep = pk.take(r["sn_prefix"] == "G", cfg.plants("separation"), "separation")
    sep_susp = pk.take(
        r["sn_prefix"] == "G", cfg.plants("separation_suspended"), "separation_suspended"
    )
    r["status"][sep_susp] = "suspended"
    r["status_day"][sep_susp] = w.as_of_day - rng.integers(30, 250, size=sep_susp.shape[0])
    moved = np.concatenate([sep, sep_susp])
    r["rows"][moved] = "none"
    target = _other_school(w, pk, moved, True, 0.8)
    t_cls = _class_at(w, target, r["grade"][moved], roomy=False)
    bad = (target < 0) | (t_cls < 0)
    r["tag"][moved[bad]] = None
    w.people["tag"][r["pid"][moved[bad]]] = None
    r["rows"][moved[bad]] = "full"
    r["status"][moved[bad]] = "enrolled"
    moved, target, t_cls = moved[~bad], target[~bad], t_cls[~bad]
    w.people["special_surname"][r["pid"][moved]] = True

    stale = pk.take(
        np.ones(pk.n, dtype=bool) & ~pk.entrant(), cfg.plants("suspended_stale"), "suspended_stale"
    )
    r["status"][stale] = "suspended"
    r["status_day"][stale] = w.as_of_day - rng.integers(400, 900, size=stale.shape[0])
    for tag, age in (("suspended_stale_edge_366", 366), ("suspended_365_days", 365)):
        e = pk.take(~pk.entrant(), 1, tag)
        r["status"][e] = "suspended"
        r["status_day"][e] = w.as_of_day - age
    r["rows"][r["status"] == "suspended"] = "none"

    s_att = pk.take(att & ~pk.entrant(), cfg.plants("suspended_attending"), "suspended_attending")
    r["status"][s_att] = "suspended"
    r["status_day"][s_att] = w.as_of_day - rng.integers(30, 250, size=s_att.shape[0])
    r["rows"][s_att] = "full"
    dropped = pk.take(
        att & (r["grade"] >= 5) & (r["sn_prefix"] == "G"),
        cfg.plants("inactive_attending"),
        "inactive_attending",
    )
    r["status"][dropped] = "dropped"
    r["status_day"][dropped] = w.as_of_day - rng.integers(30, 200, size=dropped.shape[0])
    r["rows"][dropped] = "full"

    upto9 = att & (r["grade"] <= 9)
    for tag, k in (
        ("dropout_streak", cfg.plants("dropout_streak")),
        ("dropout_total", cfg.plants("dropout_total")),
        ("dropout_edge_streak_5", 1),
        ("dropout_edge_total_8", 1),
        ("absent_4_in_a_row", 1),
        ("absent_7_in_all", 1),
        ("sick_leave_10_days", max(1, cfg.students // 20_000)),
    ):
        pk.take(upto9, k, tag)
    pk.take(att & (r["grade"] >= 10), max(1, cfg.students // 50_000), "senior_absent_6_in_a_row")
    if cfg.days >= 27:
        pk.take(upto9, 1, "absent_6_before_window")
    return {"records": moved, "school": target, "class_id": t_cls}


def plant_unregistered(w: World, pk: Picker) -> dict[str, np.ndarray]:
    """People who attend a school and have no registry record at all (借读), one who
    started five school days ago (an edge) and a four-day visitor (not flagged)."""
    rng, cfg = w.rng, w.cfg
    cls = w.sw.classes
    att_class = cls.filter(
        pl.Series(
            pk.has_att[cls["school"].to_numpy()] & (pk.level[cls["school"].to_numpy()] != "special")
        )
    )
    k = cfg.plants("unregistered")
    tags = ["unregistered"] * k + ["unregistered_edge_5_days", "visitor_4_days"]
    pick = att_class.sample(n=len(tags), with_replacement=True, seed=int(rng.integers(0, 2**31)))
    grade = pick["grade"].to_numpy().astype(np.int64)
    start, end = cohort(grade, w.school_year)
    birth = start + (rng.random(len(tags)) * (end - start - 2)).astype(np.int64) + 1
    pid = add_resident_children(w, "unregistered", birth, None)
    p = w.people
    p["in_residence"][pid] = False
    p["tag"][pid] = np.array(tags, dtype=object)
    p["special_surname"][pid] = True
    p["resident"][pid] = rng.random(len(tags)) < 0.7
    p["id_area"][pid] = id_area_for(w, p["hukou"][pid], birth, np.zeros(len(tags), dtype=bool))
    return {
        "pid": pid,
        "school": pick["school"].to_numpy(),
        "class_id": pick["class_id"].to_numpy(),
    }


def plant_residence(w: World, pk: Picker) -> None:
    """PERSON_MISMATCH (the register names the person differently, or disagrees on
    gender or birth date) and residence-side spellings that are the same name."""
    r, p, rng, cfg = w.records, w.people, w.rng, w.cfg
    in_res = p["in_residence"][r["pid"]] & (r["sn_prefix"] == "G") & (p["minority"][r["pid"]] < 0)
    renamed = pk.take(in_res, cfg.plants("person_renamed"), "person_renamed")
    pid = r["pid"][renamed]
    p["res_name"][pid] = "renamed"
    g1, g2 = draw_given(rng, p["male"][pid], w.book)
    p["res_g1"][pid], p["res_g2"][pid] = g1, g2
    sel = pk.take(in_res, cfg.plants("person_gender"), "person_gender")
    p["res_gender_flip"][r["pid"][sel]] = True
    sel = pk.take(in_res, cfg.plants("person_birth"), "person_birth")
    p["res_birth_shift"][r["pid"][sel]] = (
        rng.choice([-1, 1], size=sel.shape[0]) * rng.integers(40, 300, size=sel.shape[0])
    ).astype(np.int32)


def plant_enrolment(w: World, pk: Picker) -> None:
    """CATCHMENT (entrant living outside the school's catchment), CROSS_CITY (entrant
    with hukou in another city, not a migrant child, no residence permit) and
    GRADE_LEVEL (a grade the school's level cannot hold)."""
    r, p, rng, cfg = w.records, w.people, w.rng, w.cfg
    catch = w.sw.catchments
    n_sch = pk.level.shape[0]
    listed = np.zeros((n_sch, 3), dtype=bool)  # catchment rows for grade 1, grade 7, both
    for s_, g_ in catch.select("school", "entry_grade").unique().iter_rows():
        listed[s_, {1: 0, 7: 1, None: 2}[g_]] = True
    codes: dict[int, list[tuple[str, int | None]]] = {}
    for s_, a_, g_ in catch.iter_rows():
        codes.setdefault(s_, []).append((a_, g_))
    sch, grade = r["school"], r["grade"]
    checked = (
        ((grade == 1) & (listed[sch, 0] | listed[sch, 2]))
        | ((grade == 7) & (listed[sch, 1] | listed[sch, 2]))
    ) & pk.public[sch]
    base = (
        checked
        & pk.entrant()
        & (r["sn_prefix"] == "G")
        & p["in_residence"][r["pid"]]
        & ~p["migrant"][r["pid"]]
    )
    sel = pk.take(base, cfg.plants("catchment"), "catchment")
    all_villages = np.concatenate([a.villages for a in w.sw.areas.values()])
    for i in sel:
        mine = [a for a, g in codes[int(r["school"][i])] if g is None or g == r["grade"][i]]
        for _ in range(100):
            v = int(all_villages[int(rng.integers(0, all_villages.shape[0]))])
            if not any(str(v).startswith(a) for a in mine):
                break
        pid = r["pid"][i]
        p["home"][pid] = v
        p["res_code_filled"][pid] = True
        r["res_w"][i] = str(v)

    local = pk.entrant() & (r["sn_prefix"] == "G") & ~p["migrant"][r["pid"]] & ~r["is_migrant"]
    sel = pk.take(local, cfg.plants("cross_city"), "cross_city")
    pid = r["pid"][sel]
    far = elsewhere_villages(sel.shape[0], rng)
    p["hukou"][pid] = far
    p["in_residence"][pid] = False
    p["permit"][pid] = False
    r["hukou_w"][sel] = np.array([str(v) for v in far], dtype=object)

    # a wrong grade typed on a record; the school's attendance copies the registry's class.
    # Records given the same wrong grade and class number at one school are in one class
    # (one class_id): two classes of one name would give their pupils the same local_id
    # (numbered per class) and escape the one-sound-per-class name check.
    lvl = pk.level[r["school"]]
    sel = pk.take(
        ~pk.entrant() & ~np.isin(lvl, ["twelve_year", "special"]),
        cfg.plants("grade_level"),
        "grade_level",
    )
    cls = w.sw.classes
    start = cls.height
    new_rows: dict[tuple[int, int, int], int] = {}  # (school, grade, class_no) -> class_id
    class_of = np.zeros(sel.shape[0], dtype=np.int64)
    for k, i in enumerate(sel):
        s = int(r["school"][i])
        wrong = [g for g in range(2, 13) if g != 7 and not pk.gmin[s] <= g <= pk.gmax[s]]
        g = int(rng.choice(wrong))
        key = (s, g, int(cls["class_no"][int(r["class_id"][i])]))
        class_of[k] = new_rows.setdefault(key, start + len(new_rows))
        r["grade"][i] = g
    if new_rows:
        extra = pl.DataFrame(
            {
                "class_id": np.array(list(new_rows.values()), dtype=np.int64),
                "school": [x[0] for x in new_rows],
                "grade": pl.Series([x[1] for x in new_rows], dtype=pl.Int8),
                "class_no": pl.Series([x[2] for x in new_rows], dtype=pl.Int16),
                "size": pl.Series([0] * len(new_rows), dtype=pl.Int32),
            }
        ).with_columns(
            (pl.col("class_no").cast(pl.String) + "班").alias("class_name"),
            pl.lit("grade_level").alias("tag"),
        )
        w.sw.classes = pl.concat([cls, extra.select(cls.columns)])
        r["class_id"][sel] = class_of


def plant_transfers(w: World, pk: Picker) -> dict[str, np.ndarray]:
    """Completed transfers last school year (approved in the workflow, so not flagged)
    and some with no approval or one given after the change (UNAPPROVED_TRANSFER);
    open transfers in the workflow, some waiting too long (TRANSFER_OVERDUE)."""
    r, rng, cfg = w.records, w.rng, w.cfg
    ok_grade = (
        (r["grade"] >= 2)
        & ~np.isin(r["grade"] - 1, [6, 9, 12])
        & ~pk.entrant()
        & (r["sn_prefix"] == "G")
    )
    # the grade the pupil was in when moving must fit the new school too
    ok_grade &= pk.gmin[r["school"]] <= r["grade"] - 1
    k_base = max(4, cfg.students // 100)
    done = pk.take(ok_grade, k_base, "transfer")
    none = pk.take(ok_grade, cfg.plants("unapproved_no_record"), "unapproved_no_record")
    late = pk.take(ok_grade, cfg.plants("unapproved_late_approval"), "unapproved_late_approval")
    moved = np.concatenate([done, none, late])
    grade_then = r["grade"][moved] - 1
    tmp_grade = r["grade"][moved].copy()
    r["grade"][moved] = grade_then
    src = _other_school(w, pk, moved, None, 0.8)
    r["grade"][moved] = tmp_grade
    keep = src >= 0
    for i in moved[~keep]:
        r["tag"][i] = None
        w.people["tag"][r["pid"][i]] = None
    moved, src = moved[keep], src[keep]
    lo, hi = day(date(w.school_year - 1, 10, 8)), day(date(w.school_year, 7, 10))
    change = lo + (rng.random(len(moved)) * (hi - lo)).astype(np.int64)
    weekday = (change + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
    change = change - np.where(weekday >= 5, weekday - 4, 0)
    r["enrol_day"][moved] = change.astype(np.int32)

    open_ok = ~np.isin(r["grade"], [6, 9, 12]) & (r["sn_prefix"] == "G") & ~pk.entrant()
    overdue = pk.take(open_ok, cfg.plants("transfer_overdue"), "transfer_overdue")
    in_time = pk.take(open_ok, cfg.plants("transfer_open_in_time"), "transfer_open_in_time")
    opened = np.concatenate([overdue, in_time])
    dest = _other_school(w, pk, opened, None, 0.7)
    for i in opened[dest < 0]:
        r["tag"][i] = None
        w.people["tag"][r["pid"][i]] = None
    opened, dest = opened[dest >= 0], dest[dest >= 0]
    return {"moved": moved, "from": src, "change_day": change, "open": opened, "to": dest}


def plant_placements(w: World, pk: Picker) -> str | None:
    """送教上门 counts per county: about 4 % of special-education placements everywhere,
    15 % in one county (HOME_DELIVERY_RATIO); returns that county."""
    r, rng = w.records, w.rng
    active = np.isin(r["status"], ["enrolled", "suspended"])
    placed = active & (r["placement"] != "none")
    county = pk.county[r["school"]]
    counties = sorted(set(county[placed]))
    if not counties:
        return None
    planted = counties[int(rng.integers(0, len(counties)))]
    for c in counties:
        members = np.flatnonzero(placed & (county == c))
        share = 0.15 if c == planted else 0.04
        k = (
            int(np.ceil(share * members.shape[0]))
            if c == planted
            else int(np.floor(share * members.shape[0]))
        )
        # prefer pupils of the special school: 送教上门 is mostly its teachers' work
        order = members[
            np.argsort(
                -(pk.level[r["school"][members]] == "special").astype(np.int64)
                + rng.random(members.shape[0])
            )
        ]
        r["placement"][order[:k]] = "home_delivery"
    return planted
