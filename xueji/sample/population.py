"""The base city: class sizes, pupils with their families' places, inactive records,
residents who are not pupils, and everyone's identity numbers."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from xueji.sample import ids
from xueji.sample.geography import COUNTIES, OLD_ID_AREA, elsewhere_villages
from xueji.sample.names import draw_names
from xueji.sample.schools import BASE_SIZE
from xueji.sample.table import NO_DATE, day, is_none
from xueji.sample.world import World


def ymd(days: np.ndarray) -> np.ndarray:
    """Day numbers as yyyymmdd integers (civil-from-days arithmetic, no datetime objects)."""
    z = np.asarray(days, dtype=np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y * 10000 + m * 100 + d


def sep1(years: np.ndarray | int) -> np.ndarray:
    """1 September of each year as day numbers."""
    y = np.asarray(years, dtype=np.int64)
    return (
        ((y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + 8)
        .astype("datetime64[D]")
        .astype(np.int64)
    )


def cohort(grade: np.ndarray, school_year: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last birth day of the usual cohort of each grade (grade 1 in 2026:
    born 2019-09-01 .. 2020-08-31, six full years old on 31 August)."""
    start = sep1(school_year - 6 - grade)
    end = sep1(school_year - 5 - grade) - 1
    return start, end


def plant_class_sizes(w: World) -> None:
    """Make some classes too large (大班额 / 超标准班额), then balance the others so the
    city has exactly ``--students`` active pupils."""
    cls = w.sw.classes
    rng = w.rng
    n_target = w.cfg.students
    level = w.sw.schools["level"].to_numpy()[cls["school"].to_numpy()]
    grade = cls["grade"].to_numpy()
    size = cls["size"].to_numpy().copy()
    tag = np.array([None] * cls.height, dtype=object)
    regular = level != "special"
    order = rng.permutation(np.flatnonzero(regular))
    n_big = max(2, n_target // 100_000 * 2)
    n_std = max(2, n_target // 100_000 * 3)
    big_sizes = [56, 66] + list(rng.integers(57, 76, size=max(0, n_big - 2)))
    primary = order[grade[order] <= 6]
    secondary = order[grade[order] >= 7]
    chosen_big = order[:n_big]
    size[chosen_big] = big_sizes[: len(chosen_big)]
    tag[chosen_big] = np.where(size[chosen_big] >= 66, "oversized_critical", "oversized")
    tag[chosen_big[size[chosen_big] == 56]] = "oversized_edge_56"
    tag[chosen_big[size[chosen_big] == 66]] = "oversized_edge_66"
    rest_p = [c for c in primary if tag[c] is None][: (n_std + 1) // 2]
    rest_s = [c for c in secondary if tag[c] is None][: n_std // 2 + 1]
    for k, c in enumerate(rest_p):
        size[c] = 46 if k == 0 else int(rng.integers(47, 51))
        tag[c] = "over_standard_edge_46" if k == 0 else "over_standard"
    for k, c in enumerate(rest_s):
        size[c] = 51 if k == 0 else int(rng.integers(52, 56))
        tag[c] = "over_standard_edge_51" if k == 0 else "over_standard"

    # balance the untagged regular classes to reach the target exactly
    free = np.flatnonzero(regular & (tag == None))  # noqa: E711 - object array comparison
    lo = np.where(grade[free] <= 6, BASE_SIZE["primary"][0], BASE_SIZE["secondary"][0])
    hi = np.where(grade[free] <= 6, BASE_SIZE["primary"][1], BASE_SIZE["secondary"][1])
    for _ in range(200):
        diff = n_target - int(size.sum())
        if diff == 0:
            break
        room = (hi - size[free]) if diff > 0 else (size[free] - lo)
        can = free[room > 0]
        if can.size == 0:
            lo = lo - 2  # a city can have smaller classes; never larger than the base cap
            if diff > 0:
                raise RuntimeError("too few classes for the requested number of students")
            continue
        pick = rng.choice(can, size=min(abs(diff), can.size), replace=False)
        size[pick] += 1 if diff > 0 else -1
    if int(size.sum()) != n_target:
        raise RuntimeError("could not balance class sizes")
    w.sw.classes = cls.with_columns(
        pl.Series("size", size, dtype=pl.Int32), pl.Series("tag", tag.tolist(), dtype=pl.String)
    )


def _village_draw(
    rng: np.random.Generator, pools: list[np.ndarray], owner: np.ndarray
) -> np.ndarray:
    """One village per row from the pool of its owner (a school or a county)."""
    lengths = np.array([p.shape[0] for p in pools])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat = np.concatenate(pools)
    pick = (rng.random(owner.shape[0]) * lengths[owner]).astype(np.int64)
    return flat[offsets[owner] + pick]


def id_area_for(
    w: World, hukou: np.ndarray, birth_day: np.ndarray, born_elsewhere: np.ndarray
) -> np.ndarray:
    """Area part of the ID: the county where the birth was registered, with the code in
    force then (宁乡县 430124 before 2017, 望城县 430122 before 2011)."""
    rng = w.rng
    area = hukou // 10**6
    city = np.array([int(c[0]) for c in COUNTIES], dtype=np.int64)
    other = city[rng.integers(0, city.shape[0], size=area.shape[0])]
    area = np.where(born_elsewhere & ((area // 100) == 4301), other, area)
    for new, (old, since) in OLD_ID_AREA.items():
        before = birth_day < day(date.fromisoformat(since))
        area = np.where((area == int(new)) & before, int(old), area)
    return area


def add_pupils(w: World) -> None:
    """One active pupil per place in every class: family, birth, entry, documents."""
    rng = w.rng
    cls = w.sw.classes
    sch = w.sw.schools
    class_id = np.repeat(cls["class_id"].to_numpy(), cls["size"].to_numpy())
    n = class_id.shape[0]
    school = cls["school"].to_numpy()[class_id]
    grade = cls["grade"].to_numpy()[class_id].astype(np.int64)
    level = sch["level"].to_numpy()[school]
    gmin = sch["gmin"].to_numpy()[school]
    sy = w.school_year

    male = rng.random(n) < 0.52
    start, end = cohort(grade, sy)
    length = end - start + 1 - (grade == 1)  # grade 1: nobody born on the cut-off day itself
    birth = start + (rng.random(n) * length).astype(np.int64)
    older = rng.random(n) < np.where(level == "special", 0.4, 0.03)
    birth = birth - older * 365 - (level == "special") * rng.integers(0, 700, size=n)

    first = np.where(level == "special", 1, gmin)
    first = np.where(
        (level == "complete_secondary") & (grade >= 10) & (rng.random(n) < 0.5), 10, first
    )
    years_in = grade - first
    enrol = sep1(sy - years_in) + rng.integers(0, 4, size=n)
    entrant = years_in == 0

    # families
    migrant = rng.random(n) < 0.12
    county_idx = {c: i for i, c in enumerate(w.sw.areas)}
    county_of_school = np.array([county_idx[c] for c in sch["county_code"]])[school]
    county_pools = [a.villages for a in w.sw.areas.values()]
    home = _village_draw(rng, w.sw.home_villages, school)
    moved = (~entrant) & (rng.random(n) < 0.03)
    home = np.where(moved, _village_draw(rng, county_pools, county_of_school), home)
    hukou_city = _village_draw(rng, county_pools, rng.integers(0, len(county_pools), size=n))
    hukou = np.where(rng.random(n) < 0.75, home, hukou_city)
    hukou = np.where(migrant, elsewhere_villages(n, rng), hukou)
    permit = migrant & (rng.random(n) < 0.75)

    # documents: most have a resident ID (G number); entrants without one get an L
    # number, a few pupils with no usable ID a J number
    kind = np.full(n, "G", dtype=object)
    kind[entrant & (rng.random(n) < 0.06) & (level != "special")] = "L"
    kind[(kind == "G") & (rng.random(n) < 0.008) & (level != "special")] = "J"
    resident = kind == "G"
    in_res = np.where(migrant, permit, rng.random(n) < 0.96) & resident
    res_filled = (home != hukou) | (rng.random(n) < 0.5)
    # a clerk may leave 是否随迁子女 unticked for a family with a residence permit: the
    # permit (in the residence data) still keeps the pupil out of CROSS_CITY
    is_migrant_flag = migrant & ~(permit & in_res & (rng.random(n) < 0.08))
    w.note("migrant_with_permit_not_flagged_as_migrant", int((migrant & ~is_migrant_flag).sum()))

    names = draw_names(rng, male, w.book)
    pid = w.people.append(
        male=male,
        birth_day=birth.astype(np.int32),
        sur=names.surname,
        g1=names.g1,
        g2=names.g2,
        minority=names.minority,
        resident=resident,
        id_area=id_area_for(w, hukou, birth, rng.random(n) < 0.1),
        hukou=hukou,
        home=home,
        migrant=migrant,
        permit=permit,
        in_residence=in_res,
        res_code_filled=res_filled,
    )

    status = np.full(n, "enrolled", dtype=object)
    suspended = (~entrant) & (rng.random(n) < 0.0025)
    status[suspended] = "suspended"
    status_day = np.where(suspended, w.as_of_day - rng.integers(20, 300, size=n), NO_DATE)

    hukou_w = _code_text(hukou, rng.choice([12, 6, 0], size=n, p=[0.7, 0.15, 0.15]))
    # a township-level (9-digit) address only for pupils not entering this year: an
    # entrant's address must be comparable with village-level catchments
    digits = rng.choice([12, 9, 0], size=n, p=[0.8, 0.1, 0.1])
    digits[entrant & (digits == 9)] = 12
    res_w = _code_text(home, digits)
    hukou_w[kind == "J"] = None
    placement = np.full(n, "none", dtype=object)
    u = rng.random(n)
    placement[u < 0.012] = "regular_class"
    placement[(u >= 0.012) & (u < 0.014)] = "special_class"
    placement[level == "special"] = "special_school"

    w.records.append(
        pid=pid,
        school=school,
        class_id=class_id,
        grade=grade,
        status=status,
        status_day=status_day.astype(np.int32),
        enrol_day=enrol.astype(np.int32),
        sn_prefix=kind,
        male=male,
        birth_day=birth.astype(np.int32),
        is_migrant=is_migrant_flag,
        placement=placement,
        hukou_w=hukou_w,
        res_w=res_w,
    )
    _twins(w, pid)


def _code_text(codes: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """12-digit codes cut to 12, 9 or 6 digits (0: left empty) as text."""
    text = pl.Series(codes).cast(pl.String)
    out = np.array(text.to_list(), dtype=object)
    for k in (9, 6):
        sel = digits == k
        out[sel] = np.array(text.filter(pl.Series(sel)).str.slice(0, k).to_list(), dtype=object)
    out[digits == 0] = None
    return out


def _twins(w: World, pids: np.ndarray) -> None:
    """Twins in the same class: one birth date, one family, two people with two valid
    ID numbers (adjacent sequence numbers) — never a duplicate."""
    rng = w.rng
    rec = w.records
    cls = rec["class_id"][pids]
    cand = np.flatnonzero(
        (cls[:-1] == cls[1:])
        & (rec["sn_prefix"][pids][:-1] == "G")
        & (rec["sn_prefix"][pids][1:] == "G")
    )
    cand = cand[rng.random(cand.shape[0]) < 0.008]
    cand = cand[np.concatenate([[True], np.diff(cand) > 1])] if cand.size else cand
    a, b = pids[cand], pids[cand + 1]
    p = w.people
    for col in (
        "birth_day",
        "sur",
        "hukou",
        "home",
        "migrant",
        "permit",
        "id_area",
        "in_residence",
        "res_code_filled",
    ):
        p[col][b] = p[col][a]
    p["minority"][a] = -1
    p["minority"][b] = -1
    for col in ("birth_day", "is_migrant", "hukou_w", "res_w", "enrol_day"):
        rec[col][b] = rec[col][a]
    p["tag"][a] = "twin"
    p["tag"][b] = "twin"
    # twins share an area and a birth date: their ID numbers differ only in the sequence
    w.note("twin_pairs", a.shape[0])


def add_inactive(w: World) -> None:
    """Records that are no longer active: pupils who dropped out, moved away, went
    abroad or died; and junior-school records of last year's graduates now at senior school."""
    rng = w.rng
    cls = w.sw.classes
    sch = w.sw.schools
    n = w.cfg.students
    level = sch["level"].to_numpy()
    regular = cls.filter(pl.Series(level[cls["school"].to_numpy()] != "special"))
    kinds = [
        ("dropped", 0.003),
        ("transferred_out", 0.002),
        ("abroad", 0.0005),
        ("deceased", 0.0001),
    ]
    for status, rate in kinds:
        k = max(2, int(round(rate * n)))
        pool = regular
        if status == "dropped":
            pool = regular.filter(pl.col("grade").is_between(5, 9))
        pick = pool.sample(n=k, with_replacement=True, seed=int(rng.integers(0, 2**31)))
        grade = pick["grade"].to_numpy().astype(np.int64)
        male = rng.random(k) < 0.55
        start, end = cohort(grade, w.school_year)
        birth = start + (rng.random(k) * (end - start)).astype(np.int64)
        school = pick["school"].to_numpy()
        county_pools = [a.villages for a in w.sw.areas.values()]
        county_idx = {c: i for i, c in enumerate(w.sw.areas)}
        home = _village_draw(
            rng, county_pools, np.array([county_idx[c] for c in sch["county_code"]])[school]
        )
        names = draw_names(rng, male, w.book)
        pid = w.people.append(
            male=male,
            birth_day=birth.astype(np.int32),
            sur=names.surname,
            g1=names.g1,
            g2=names.g2,
            minority=names.minority,
            resident=np.ones(k, dtype=bool),
            id_area=id_area_for(w, home, birth, np.zeros(k, dtype=bool)),
            hukou=home,
            home=home,
            # a child who dropped out still lives here: the residence data has them
            in_residence=np.full(k, status == "dropped"),
            res_code_filled=rng.random(k) < 0.5,
            role=np.full(k, "student", dtype=object),
            tag=np.full(k, f"inactive_{status}", dtype=object),
        )
        status_day = w.as_of_day - rng.integers(30, 500, size=k)
        w.records.append(
            pid=pid,
            school=school,
            class_id=pick["class_id"].to_numpy(),
            grade=grade,
            status=np.full(k, status, dtype=object),
            status_day=status_day.astype(np.int32),
            enrol_day=(sep1(w.school_year - 3 - (grade % 3)) + 1).astype(np.int32),
            male=male,
            birth_day=birth.astype(np.int32),
            hukou_w=_code_text(home, np.full(k, 12)),
            res_w=_code_text(home, np.full(k, 12)),
            rows=np.full(k, "none", dtype=object),
            tag=np.full(k, f"inactive_{status}", dtype=object),
        )
        w.note(f"inactive_{status}", k)
    _graduated(w)


def _graduated(w: World) -> None:
    """A graduated grade-9 record at another school for some of this year's grade-10 pupils."""
    rng = w.rng
    rec = w.records
    sch = w.sw.schools
    level = sch["level"].to_numpy()
    juniors = np.flatnonzero(np.isin(level, ["junior", "nine_year"]))
    if juniors.size == 0:
        return
    cand = np.flatnonzero(
        (rec["grade"] == 10)
        & (rec["sn_prefix"] == "G")
        & (rec["status"] == "enrolled")
        & is_none(rec["tag"])
    )
    cand = cand[rng.random(cand.shape[0]) < 0.02]
    if cand.size == 0:
        return
    old_school = juniors[rng.integers(0, juniors.shape[0], size=cand.shape[0])]
    cls = w.sw.classes
    grade9 = cls.filter(pl.col("grade") == 9)
    first_class = dict(zip(grade9["school"].to_list(), grade9["class_id"].to_list(), strict=False))
    keep = np.array(
        [s in first_class and s != rec["school"][c] for s, c in zip(old_school, cand, strict=True)],
        dtype=bool,
    )
    cand, old_school = cand[keep], old_school[keep]
    w.records.append(
        pid=rec["pid"][cand],
        school=old_school,
        class_id=np.array([first_class[s] for s in old_school], dtype=np.int64),
        grade=np.full(cand.shape[0], 9),
        status=np.full(cand.shape[0], "graduated", dtype=object),
        status_day=np.full(cand.shape[0], day(date(w.school_year, 6, 30)), dtype=np.int32),
        enrol_day=np.full(
            cand.shape[0], int(sep1(np.array([w.school_year - 3]))[0]) + 1, dtype=np.int32
        ),
        male=rec["male"][cand],
        birth_day=rec["birth_day"][cand],
        is_migrant=rec["is_migrant"][cand],
        hukou_w=rec["hukou_w"][cand],
        res_w=rec["res_w"][cand],
        rows=np.full(cand.shape[0], "none", dtype=object),
    )
    w.people["tag"][rec["pid"][cand]] = "has_graduated_record"
    w.note("graduated_record_beside_senior_record", cand.shape[0])


def add_residents(w: World) -> None:
    """Children in the residence data who are not pupils: under-sixes, over-fifteens
    (neither is an out-of-school child), and planted children of compulsory age."""
    rng = w.rng
    n = w.cfg.students
    sy = w.school_year
    groups: list[tuple[str, int, int, int, str | None]] = [
        # (role, count, first birth day, last birth day, tag)
        ("preschool", int(0.05 * n), day(date(sy - 6, 9, 3)), day(date(sy - 3, 8, 31)), None),
        ("teen", int(0.005 * n), day(date(sy - 18, 9, 1)), day(date(sy - 16, 8, 29)), None),
        (
            "out_of_school",
            w.cfg.plants("out_of_school"),
            day(date(sy - 16, 9, 3)),
            day(date(sy - 6, 8, 29)),
            "out_of_school",
        ),
    ]
    for role, k, lo, hi, tag in groups:
        birth = lo + (rng.random(k) * (hi - lo)).astype(np.int64)
        add_resident_children(w, role, birth, tag)
    edges = [
        (day(date(sy - 6, 8, 31)), "out_of_school_edge_age_6"),
        (day(date(sy - 16, 9, 1)), "out_of_school_edge_age_15"),
        (day(date(sy - 6, 9, 1)), None),  # five on the cut-off day: not of compulsory age
        (day(date(sy - 16, 8, 31)), None),  # sixteen on the cut-off day: not of compulsory age
    ]
    for birth_day, tag in edges:
        add_resident_children(
            w, "out_of_school" if tag else "edge_not_compulsory", np.array([birth_day]), tag
        )
    w.note("residents_not_of_compulsory_age", int(0.05 * n) + int(0.005 * n) + 2)


def add_resident_children(w: World, role: str, birth: np.ndarray, tag: str | None) -> np.ndarray:
    """Children in the population register (not pupils unless a plant makes them so)."""
    rng = w.rng
    k = len(birth)
    male = rng.random(k) < 0.52
    pools = [a.villages for a in w.sw.areas.values()]
    home = _village_draw(rng, pools, rng.integers(0, len(pools), size=k))
    migrant = rng.random(k) < 0.1
    hukou = np.where(migrant, elsewhere_villages(k, rng), home)
    names = draw_names(rng, male, w.book)
    return w.people.append(
        male=male,
        birth_day=birth.astype(np.int32),
        sur=names.surname,
        g1=names.g1,
        g2=names.g2,
        minority=names.minority,
        resident=np.ones(k, dtype=bool),
        id_area=id_area_for(w, hukou, birth, np.zeros(k, dtype=bool)),
        hukou=hukou,
        home=home,
        migrant=migrant,
        permit=migrant,
        in_residence=np.ones(k, dtype=bool),
        res_code_filled=np.ones(k, dtype=bool) & (migrant | (rng.random(k) < 0.5)),
        role=np.full(k, role, dtype=object),
        tag=np.full(k, tag, dtype=object),
        special_surname=np.full(k, tag is not None),
    )


def other_id_numbers(
    rng: np.random.Generator, kind: np.ndarray, yyyymmdd: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """The number of each record whose ID is not a resident ID: a passport number (``E`` and
    8 digits), a Hong Kong / Macao / Taiwan residence permit number (GB 11643 shape, area
    810000, 820000 or 830000) or none (``other``). No two records get one number: the
    duplicate rule takes two active records with the same id_number for one person, so
    two children drawn the same sequence on one birth date and permit area (or the same
    passport digits) would be a duplicate the truth does not know of."""
    out = np.array([None] * kind.shape[0], dtype=object)
    pp = kind == "passport"
    number = rng.integers(10**7, 10**8, size=int(pp.sum()))
    for _ in range(100):
        _, first = np.unique(number, return_index=True)
        repeat = np.ones(number.shape[0], dtype=bool)
        repeat[first] = False
        if not repeat.any():
            break
        number[repeat] = rng.integers(10**7, 10**8, size=int(repeat.sum()))
    else:  # pragma: no cover - 10^8 numbers for a few thousand passports
        raise RuntimeError("could not draw distinct passport numbers")
    out[pp] = [f"E{int(x):08d}" for x in number]
    hm = kind == "hmt_permit"
    if hm.any():
        area = rng.choice([810000, 820000, 830000], size=int(hm.sum()))
        hb = ids.unique_bodies(rng, area, yyyymmdd[hm], male[hm])
        out[hm] = ids.render(hb, ids.check_index(hb)).to_list()
    return out


def assign_ids(w: World) -> None:
    """A distinct, valid GB 11643 number for every person who has one, and the G, J or L
    student number of every record as the registry derives it."""
    rng = w.rng
    p = w.people
    res = np.flatnonzero(p["resident"])
    body = ids.unique_bodies(rng, p["id_area"][res], ymd(p["birth_day"][res]), p["male"][res])
    p["id_body"][res] = body
    p["id_check"][res] = ids.check_index(body)

    r = w.records
    pid = r["pid"]
    g = r["sn_prefix"] == "G"
    r["id_body"][g] = p["id_body"][pid[g]]
    r["id_check"][g] = p["id_check"][pid[g]]
    r["sn_num"][g] = r["id_body"][g]
    r["sn_check"][g] = r["id_check"][g]

    j = np.flatnonzero(r["sn_prefix"] == "J")
    if j.size:
        # J: built by the ID rules from area and birth date, check character included
        jb = ids.unique_bodies(
            rng,
            p["id_area"][pid[j]],
            ymd(p["birth_day"][pid[j]]),
            p["male"][pid[j]],
            taken=p["id_body"][res],
        )
        r["sn_num"][j] = jb
        r["sn_check"][j] = ids.check_index(jb)
        kind = rng.choice(["passport", "hmt_permit", "other"], size=j.shape[0], p=[0.4, 0.4, 0.2])
        r["id_type"][j] = kind
        r["id_other"][j] = other_id_numbers(
            rng, kind, ymd(p["birth_day"][pid[j]]), p["male"][pid[j]]
        )
        r["hukou_w"][j] = None

    lrec = np.flatnonzero(r["sn_prefix"] == "L")
    if lrec.size:
        area = p["home"][pid[lrec]] // 10**6
        tail = rng.integers(0, 10000, size=lrec.shape[0])
        r["sn_num"][lrec] = area * 10**12 + ymd(r["birth_day"][lrec]) * 10**4 + tail
