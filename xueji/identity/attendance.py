"""Attendance persons and their links to registry records.

Attendance comes one row per child per day, keyed the way schools key it. A
*sighting* is one distinct way a child is written (school, grade, class, name, ID as
seen, local_id); an *attendance person* gathers the sightings of one child: all
sightings with the same school-internal number (``local_id`` is stable within a
school), else those with the same name key and ID in one class. Each person is linked
by a cascade (``attendance_spec``): exact ID, masked ID + name, name within the class,
name within the school, and — when only another spelling under the same local_id
linked — ``local_id``.

The 60-million-row table itself is never read here: the loader's attendance digest
(``xueji.io.digest``) holds its distinct sightings, each with its day masks, and
``att_person`` is attached to those.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import polars as pl
from loguru import logger

from xueji.identity.idsim import MASK, id_state, mask_prefix_len, mask_suffix_len
from xueji.identity.link import (
    add_pair_scores,
    block_pairs,
    count_pairs,
    log_counts,
    name_pairs_in_blocks,
    pair_frame,
)
from xueji.identity.names import with_name_keys
from xueji.identity.result import (
    ATTENDANCE_DAYS_SCHEMA,
    ATTENDANCE_MASKS_SCHEMA,
    ATTENDANCE_PERSONS_SCHEMA,
)
from xueji.identity.spec import BlockingKey, LinkSpec
from xueji.io.digest import SIGHTING, AttendanceDigest, digest_attendance
from xueji.io.schema import load_schemas

_STAGES = ("exact_id", "masked_id_name", "name_in_class", "name_in_school")
_VARIANT_COLS = (
    "_v",
    "att_person",
    "school_code",
    "grade",
    "class_name",
    "id_number",
    "id_state",
    "name_key",
    "pinyin",
    "is_main",
)
_RECORD_COLS = (
    "_row",
    "id_number",
    "id_state",
    "name_key",
    "pinyin",
    "school_code",
    "grade",
    "class_name",
    "active",
    "person_id",
)


def _json_strings(s: pl.Series) -> pl.Series:
    """Each string as a JSON string literal (quotes and escapes), vectorised."""
    return pl.DataFrame({"v": s}).select(
        pl.struct("v").struct.json_encode().str.slice(5).str.head(-1)
    )["v"]


@dataclass
class AttendanceResult:
    """Persons with their links, each sighting's masks with its att_person, rows per
    school day, pair counts."""

    persons: pl.DataFrame
    masks: pl.DataFrame
    days: pl.DataFrame
    counts: dict[str, int]


def _with_id_state(sightings: pl.DataFrame) -> pl.DataFrame:
    """``sightings`` with ``id_state``. Only full numbers need the GB 11643 check; an
    empty or masked number is decided by its shape. Checking the full ones directly
    (a third of a city's sightings) costs less than looking them up among the
    registry's verdicts, which means hashing a million numbers."""
    number = pl.col("id_number")
    full = (number.is_not_null() & ~number.str.contains(MASK, literal=True)).fill_null(False)
    # Split, not when/then: Polars would run the check on every row either way.
    checked = sightings.filter(full).with_columns(id_state(number).alias("id_state"))
    shaped = sightings.filter(~full).with_columns(
        pl.when(number.is_not_null()).then(pl.lit("masked")).alias("id_state")
    )
    return pl.concat([shaped, checked])


# A fixed seed: an attendance person keeps its id from night to night (findings'
# evidence lists these ids, and a dismissal lapses when its evidence changes).
_PERSON_SEED = 20260902


def _person_ids(keys: pl.Series) -> pl.Series:
    """An id per distinct person key: its 64-bit hash, the same every night the key is
    seen (a rank would shift whenever a key is added anywhere in the city) and cheap to
    compute. Should two keys ever collide, the keys' dense rank is used instead, so
    two people never share an id."""
    hashed = keys.hash(_PERSON_SEED).reinterpret(signed=True)
    # Only keys whose hash repeats can collide (most keys are seen once).
    repeated = hashed.is_duplicated()
    if repeated.any() and keys.filter(repeated).n_unique() != hashed.filter(repeated).n_unique():
        return keys.rank("dense").cast(pl.Int64)
    return hashed


def _persons(
    sightings: pl.DataFrame, known_names: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(sighting → att_person, persons, variants) from the distinct sightings."""
    # Names the registry already keyed are looked up, not converted again.
    s = _with_id_state(with_name_keys(sightings, known=known_names))
    # A local_id is one child's only while it never shows two valid ID numbers: a school
    # that hands a leaver's number to a newcomer (or a typo) would merge two children
    # into one person, who then links to neither record.
    reused = (
        s.filter(pl.col("local_id").is_not_null() & (pl.col("id_state") == "valid"))
        .group_by("school_code", "local_id")
        .agg(pl.col("id_number").n_unique().alias("_ids"))
        .filter(pl.col("_ids") > 1)
        .select("school_code", "local_id")
    )
    by_local_id = pl.col("local_id").is_not_null()
    if reused.height:
        s = s.join(reused.with_columns(pl.lit(True).alias("_reused")), on=["school_code", "local_id"], how="left")
        by_local_id = by_local_id & pl.col("_reused").is_null()
    person_key = (
        pl.when(by_local_id)
        .then(
            pl.concat_str(
                [pl.col("school_code").fill_null(""), pl.lit("L"), pl.col("local_id")],
                separator="|",
            )
        )
        .otherwise(
            pl.concat_str(
                [
                    pl.col("school_code").fill_null(""),
                    pl.lit("N"),
                    pl.col("grade").cast(pl.String).fill_null(""),
                    pl.col("class_name").fill_null(""),
                    pl.col("name_key").fill_null(""),
                    pl.col("id_number").fill_null(""),
                ],
                separator="|",
            )
        )
    )
    s = s.with_columns(person_key.alias("_pkey"))
    s = s.with_columns(_person_ids(s.get_column("_pkey")).alias("att_person"))
    # The main sighting of a person: the one seen on most days.
    s = s.sort("att_person", "days", "_sight", descending=[False, True, False]).with_columns(
        (pl.col("att_person") != pl.col("att_person").shift(1)).fill_null(True).alias("_main")
    )
    best_id = (
        s.filter(pl.col("id_number").is_not_null())
        .sort(
            "att_person",
            pl.col("id_state") == "masked",
            pl.col("days"),
            descending=[False, False, True],
        )
        .group_by("att_person", maintain_order=True)
        .agg(pl.col("id_number").first().alias("_id"))
    )
    persons = (
        s.filter("_main")
        .select("att_person", "school_code", "grade", "class_name", "name", "local_id")
        .join(best_id, on="att_person", how="left")
        .rename({"_id": "id_number"})
    )
    variants = (
        s.group_by(
            "att_person",
            "school_code",
            "grade",
            "class_name",
            "name_key",
            "pinyin",
            "id_number",
            "id_state",
        )
        .agg(
            pl.col("_main").any().alias("is_main"),
            pl.col("days").sum(),
            pl.col("name").first().alias("name_seen"),
        )
        .sort("att_person", "is_main", "days", descending=[False, True, True])
        .with_row_index("_v")
        .with_columns(pl.col("_v").cast(pl.Int64))
    )
    mapping = s.select("_sight", "att_person").unique("_sight", keep="first")
    return mapping, persons, variants


def _choose(
    cands: pl.DataFrame,
    stage: str,
    claimed: pl.DataFrame,
    one_to_one_fuzzy: bool,
) -> pl.DataFrame:
    """Per person, the best candidate of one stage: (att_person, _v, record_row, person_id,
    score, evidence, method). Ties between different registry persons leave the person
    unlinked; fuzzy name links must be unclaimed and mutually best."""
    if cands.height == 0:
        return pl.DataFrame(
            schema={
                "att_person": pl.Int64,
                "_v": pl.Int64,
                "record_row": pl.Int64,
                "person_id": pl.Int64,
                "score": pl.Float64,
                "evidence": pl.String,
                "method": pl.String,
            }
        )
    c = cands.join(
        claimed.select(pl.col("_row").alias("_j"), pl.lit(True).alias("_claimed")),
        on="_j",
        how="left",
    )
    c = c.with_columns(
        pl.col("_claimed").fill_null(False),
        (
            pl.col("name").is_in(["exact", "homophone"])
            | pl.col("id_number").is_in(["typo", "masked_consistent", "exact"])
        ).alias("_strong"),
    )
    c = c.sort(
        "att_person_l",
        "match_weight",
        "name_score",
        "_claimed",
        "is_main_l",
        "_j",
        descending=[False, True, True, False, True, False],
    )
    rank_cols = ["match_weight", "name_score", "_claimed"]
    # Sorted by person first: a person's best candidate is its first row (a shift, not
    # a window over every person).
    top = c.filter((pl.col("att_person_l") != pl.col("att_person_l").shift(1)).fill_null(True))
    # Ambiguous: another candidate as good as the best, belonging to another person.
    ties = c.join(
        top.select(
            "att_person_l",
            *[pl.col(k).alias(f"_top_{k}") for k in rank_cols],
            pl.col("person_id_r").alias("_top_pid"),
        ),
        on="att_person_l",
    )
    ambiguous = (
        ties.filter(
            pl.all_horizontal([pl.col(k) == pl.col(f"_top_{k}") for k in rank_cols])
            & (pl.col("person_id_r") != pl.col("_top_pid"))
        )
        .select("att_person_l")
        .unique()
    )
    top = top.join(ambiguous, on="att_person_l", how="anti")
    if one_to_one_fuzzy:
        fuzzy = top.filter(~pl.col("_strong"))
        strong_taken = top.filter("_strong").select("_j").unique()
        # The record's best fuzzy suitor must be this person, and the record claimed by
        # nobody: not in an earlier step, not by a sure link of this step.
        best_suitor = (
            fuzzy.sort("_j", "match_weight", "name_score", descending=[False, True, True])
            .group_by("_j", maintain_order=True)
            .agg(pl.col("att_person_l").first().alias("_suitor"))
        )
        fuzzy_ok = (
            fuzzy.join(best_suitor, on="_j")
            .join(strong_taken, on="_j", how="anti")
            .filter(~pl.col("_claimed") & (pl.col("_suitor") == pl.col("att_person_l")))
            .select(top.columns)
        )
        top = pl.concat([top.filter("_strong"), fuzzy_ok])
    return top.select(
        pl.col("att_person_l").alias("att_person"),
        pl.col("_i").alias("_v"),
        pl.col("_j").alias("record_row"),
        pl.col("person_id_r").alias("person_id"),
        pl.when(pl.col("id_number") == "exact")
        .then(1.0)
        .otherwise(pl.col("name_score"))
        .alias("score"),
        "evidence",
        pl.lit(stage).alias("method"),
    )


# Days two persons may share and still be one child: the day a child changes class can
# be recorded by both classes.
_SHARED_DAYS_MAX = 1
_CLASS = ("school_code", "grade", "class_name")


def _apart_from_holders(
    chosen: pl.DataFrame,
    earlier: list[pl.DataFrame],
    persons: pl.DataFrame,
    sightings: pl.DataFrame,
    mapping: pl.DataFrame,
) -> pl.DataFrame:
    """``chosen`` name links without those to a record an earlier-linked person of another
    class of the same school holds, when the two were seen on the same days: one child is
    not in two classes on one day, so that namesake is another child. A same-name link to
    a record already held stays otherwise: a child whose class changed shows as two
    persons, and one written twice in one class is still one child."""
    if not earlier or chosen.height == 0:
        return chosen
    holders = pl.concat([x.select(pl.col("att_person").alias("_holder"), "record_row") for x in earlier])
    where = persons.select("att_person", *_CLASS)
    pairs = (
        chosen.select("att_person", "record_row")
        .join(holders, on="record_row")
        .join(where, on="att_person")
        .join(where.rename({c: f"{c}_h" for c in where.columns}), left_on="_holder", right_on="att_person_h")
        .filter(
            (pl.col("school_code") == pl.col("school_code_h"))
            & ((pl.col("grade") != pl.col("grade_h")) | (pl.col("class_name") != pl.col("class_name_h"))).fill_null(
                False
            )
        )
    )
    if pairs.height == 0:
        return chosen
    who = pl.concat([pairs["att_person"], pairs["_holder"]]).unique().implode()
    days = (
        mapping.filter(pl.col("att_person").is_in(who))
        .join(sightings.select(pl.col("sid").alias("_sight"), "rows_mask"), on="_sight")
        .group_by("att_person")
        .agg(pl.col("rows_mask").bitwise_or().alias("_days"))
    )
    clash = (
        pairs.join(days, on="att_person")
        .join(days.rename({"att_person": "_holder", "_days": "_holder_days"}), on="_holder")
        .filter((pl.col("_days") & pl.col("_holder_days")).bitwise_count_ones() > _SHARED_DAYS_MAX)
        .select("att_person")
        .unique()
    )
    return chosen.join(clash, on="att_person", how="anti")


def as_digest(attendance: pl.LazyFrame | AttendanceDigest) -> AttendanceDigest:
    """The digest of ``attendance`` (typed rows, as ``Inputs.tables`` holds them), or
    ``attendance`` itself when it is one already."""
    if isinstance(attendance, AttendanceDigest):
        return attendance
    digest, _ = digest_attendance(attendance, load_schemas()["attendance"], as_of=None)
    return digest


def prepare_attendance(
    attendance: pl.LazyFrame | AttendanceDigest, known_names: pl.DataFrame | None = None
) -> tuple[AttendanceDigest, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(digest, sighting → att_person, persons, variants) from the attendance digest's
    distinct sightings: the rows themselves are never read here. ``known_names``: name
    keys already computed (the registry's name, name_key, pinyin)."""
    digest = as_digest(attendance)
    sightings = digest.sightings.select(*SIGHTING, "days", pl.col("sid").alias("_sight"))
    mapping, persons, variants = _persons(sightings, known_names)
    return digest, mapping, persons, variants


@dataclass
class _Sides:
    """The two sides of attendance linking and their blocking helpers."""

    var: pl.DataFrame
    rec: pl.DataFrame
    spec: LinkSpec

    def __post_init__(self) -> None:
        self.keys = {b.name: b for b in self.spec.blocking}
        self.full = self.var.filter(pl.col("id_state").is_in(["valid", "invalid"]))
        self.masked = self.var.filter(pl.col("id_state") == "masked").with_columns(
            mask_prefix_len(pl.col("id_number")).alias("_p"),
            mask_suffix_len(pl.col("id_number")).alias("_s"),
        )
        shapes = self.masked.select("_p", "_s").unique().sort("_p", "_s").rows()
        self.shapes = [(p, q) for p, q in shapes if p is not None and q is not None and p + q > 0]

    def masked_side(self, p: int, q: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Masked numbers of one shape (p visible head, q visible tail), and the records'
        numbers cut to the same head and tail."""
        left = self.masked.filter((pl.col("_p") == p) & (pl.col("_s") == q)).with_columns(
            pl.col("id_number").str.slice(0, p).alias("mask_prefix"),
            pl.col("id_number")
            .str.slice(pl.col("id_number").str.len_chars() - q)
            .alias("mask_suffix"),
        )
        right = self.rec.filter(pl.col("id_number").str.len_chars() == 18).with_columns(
            pl.col("id_number").str.slice(0, p).alias("mask_prefix"),
            pl.col("id_number").str.slice(18 - q).alias("mask_suffix"),
        )
        return left, right

    def counts(self) -> dict[str, int]:
        """Candidate pairs per blocking key (before any scoring or cascade)."""
        k = self.keys
        return {
            "exact_id": count_pairs(self.full, self.rec, k["exact_id"]),
            "masked_id": sum(
                count_pairs(*self.masked_side(p, q), k["masked_id"]) for p, q in self.shapes
            ),
            "class": count_pairs(self.var, self.rec, k["class"]),
            "school": count_pairs(self.var, self.rec, k["school"]),
        }


def attendance_pair_counts(
    attendance: pl.LazyFrame | AttendanceDigest, records: pl.DataFrame, spec: LinkSpec
) -> dict[str, int]:
    """Candidate pairs per blocking key of the attendance linker."""
    _, _, _, variants = prepare_attendance(attendance)
    return _Sides(
        variants.select(list(_VARIANT_COLS)), records.select(list(_RECORD_COLS)), spec
    ).counts()


def link_attendance(
    attendance: pl.LazyFrame | AttendanceDigest,
    records: pl.DataFrame,
    spec: LinkSpec,
    name_min: float,
    class_min: float,
    count_candidates: bool = True,
) -> AttendanceResult:
    """Attendance persons linked to registry ``records`` (registry features + person_id).

    ``count_candidates``: count (and log) the candidate pairs of every blocking key
    before linking — a diagnostic that costs seconds on a city, which the nightly audit
    skips (it logs the pairs each stage scored instead).
    """
    clock, stages = time.perf_counter(), {}

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stages[stage] = now - clock
        clock = now

    known = records.select([c for c in ("name", "name_key", "pinyin") if c in records.columns])
    digest, mapping, persons, variants = prepare_attendance(attendance, known)
    sides = _Sides(variants.select(list(_VARIANT_COLS)), records.select(list(_RECORD_COLS)), spec)
    var, rec, keys, full = sides.var, sides.rec, sides.keys, sides.full
    counts: dict[str, int] = {}
    if count_candidates:
        counts = sides.counts()
        log_counts(spec.name, counts, var.height)
    scored_pairs: dict[str, int] = {}
    lap("prepare")

    def scored(pairs: pl.DataFrame, left: pl.DataFrame) -> pl.DataFrame:
        scored_pairs["exact_id"] = pairs.height
        frame = pair_frame(pairs, left.select(list(_VARIANT_COLS)), rec, "_v", "_row")
        return spec.score(add_pair_scores(frame), extra_scores=("name_score", "id_edits"))

    links: list[pl.DataFrame] = []
    claimed = pl.DataFrame(schema={"_row": pl.Int64})

    def unlinked(frame: pl.DataFrame) -> pl.DataFrame:
        done = (
            pl.concat([x.select("att_person") for x in links])
            if links
            else pl.DataFrame(schema={"att_person": pl.Int64})
        )
        return frame.join(done, on="att_person", how="anti")

    # 1. exact ID
    pairs = block_pairs(full, rec, keys["exact_id"], "_v", "_row")
    c = scored(pairs, full).filter(pl.col("id_number") == "exact")
    links.append(_choose(c, "exact_id", claimed, one_to_one_fuzzy=False))
    lap("exact_id")
    # 2. masked ID + name
    mframes = []
    mkey = keys["masked_id"]
    for p, q in sides.shapes:
        left, right = sides.masked_side(p, q)
        left = unlinked(left)
        # Within a masked block, same name or same sound first (hash joins); every
        # record of the block only for numbers that found neither.
        sure = pl.concat(
            [
                block_pairs(
                    left,
                    right,
                    BlockingKey("masked_id", (*mkey.left, c), (*mkey.right, c), ""),
                    "_v",
                    "_row",
                )
                for c in ("name_key", "pinyin")
            ]
        )
        rest = left.join(sure.select(pl.col("_i").alias("_v")), on="_v", how="anti")
        pairs = pl.concat([sure, block_pairs(rest, right, mkey, "_v", "_row")]).unique()
        frame = pair_frame(pairs, left.select(list(_VARIANT_COLS)), rec, "_v", "_row")
        # One run of stars between the visible head and tail: the block already agrees
        # at every visible character.
        one_run = pl.col("id_number_l").str.count_matches(r"\*", literal=False) == (
            pl.col("id_number_l").str.len_chars() - p - q
        )
        frame = frame.with_columns(pl.when(one_run).then(True).alias("id_mask_ok"))
        scored_pairs["masked_id_name"] = scored_pairs.get("masked_id_name", 0) + frame.height
        mframes.append(spec.score(add_pair_scores(frame), extra_scores=("name_score", "id_edits")))
    if mframes:
        c = pl.concat(mframes).filter(
            (pl.col("id_number") == "masked_consistent")
            & (pl.col("name_score") >= name_min)
            & (pl.col("decisive").is_null())
        )
        links.append(_choose(c, "masked_id_name", claimed, one_to_one_fuzzy=False))
    lap("masked_id_name")
    # 3–4. names within the class, then within the school
    for stage, block, floor in (
        ("name_in_class", ("school_code", "grade", "class_name"), class_min),
        ("name_in_school", ("school_code",), name_min),
    ):
        claimed = pl.concat([x.select(pl.col("record_row").alias("_row")) for x in links]).unique()
        left = unlinked(var)
        # Only the records of blocks someone unlinked is in, once few are left (by the
        # school stage a few hundred): every join below would otherwise hash a city.
        few = left.height * 10 < rec.height
        brec = rec.join(left.select(block).unique(), on=list(block), how="semi") if few else rec
        # Same name or same sound in the block: hash joins. rapidfuzz matrices only for
        # those with neither, or showing a full ID number (a typo may hide behind it).
        sure = pl.concat(
            [
                block_pairs(
                    left, brec, BlockingKey(stage, (*block, col), (*block, col), ""), "_v", "_row"
                )
                for col in ("name_key", "pinyin")
            ]
        ).unique()
        rest = pl.concat(
            [
                left.join(sure.select(pl.col("_i").alias("_v")).unique(), on="_v", how="anti"),
                left.filter(pl.col("id_state").is_in(["valid", "invalid"])),
            ]
        ).unique("_v")
        fuzzy = name_pairs_in_blocks(rest, brec, block, "_v", "_row", floor)
        pairs = pl.concat(
            [sure.with_columns(pl.lit(None, pl.Float64).alias("name_score")), fuzzy]
        ).unique(["_i", "_j"], keep="last")
        frame = pair_frame(pairs, left.select(list(_VARIANT_COLS)), brec, "_v", "_row")
        scored_pairs[stage] = frame.height
        c = spec.score(add_pair_scores(frame), extra_scores=("name_score", "id_edits")).filter(
            pl.col("decisive").is_null() & (pl.col("match_weight") >= spec.threshold)
        )
        chosen = _choose(c, stage, claimed, one_to_one_fuzzy=True)
        links.append(_apart_from_holders(chosen, links, persons, digest.sightings, mapping))
        lap(stage)

    linked = pl.concat(links)
    main_v = variants.filter("is_main").select("att_person", pl.col("_v").alias("_main_v"))
    linked = (
        linked.join(main_v, on="att_person", how="left")
        .join(variants.select("_v", "name_seen"), on="_v", how="left")
        .with_columns(
            # Linked only through another spelling sharing the school-internal number.
            pl.when(pl.col("_v") != pl.col("_main_v"))
            .then(pl.lit("local_id"))
            .otherwise(pl.col("method"))
            .alias("method"),
            pl.when(pl.col("_v") != pl.col("_main_v"))
            .then(
                pl.concat_str(
                    pl.lit('{"via":"'),
                    pl.col("method"),
                    pl.lit('","spelling":'),
                    pl.col("name_seen").map_batches(_json_strings, return_dtype=pl.String),
                    pl.lit(',"link":'),
                    pl.col("evidence"),
                    pl.lit("}"),
                )
            )
            .otherwise(pl.col("evidence"))
            .alias("evidence"),
        )
    )
    out = persons.join(
        linked.drop("_v", "_main_v", "name_seen"), on="att_person", how="left"
    ).with_columns(
        pl.col("method").fill_null("unlinked"),
        pl.col("score").fill_null(0.0),
        pl.col("evidence").fill_null('{"linker":"attendance","levels":null}'),
    )
    out = (
        out.select(list(ATTENDANCE_PERSONS_SCHEMA))
        .cast(pl.Schema(ATTENDANCE_PERSONS_SCHEMA))
        .sort("att_person")
    )
    lap("assemble")
    by_method = out.group_by("method").len().sort("method").rows()
    logger.info(
        f"identity attendance: {out.height:,} persons; "
        + ", ".join(f"{m} {n:,}" for m, n in by_method)
        + "; pairs scored: "
        + ", ".join(f"{k} {n:,}" for k, n in scored_pairs.items())
        + "; seconds: "
        + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
    )
    masks = (
        digest.sightings.join(mapping.rename({"_sight": "sid"}), on="sid", how="left")
        .select(list(ATTENDANCE_MASKS_SCHEMA))
    )
    return AttendanceResult(out, masks, digest.days, counts)


def empty_attendance() -> AttendanceResult:
    """The result when no attendance table was supplied."""
    return AttendanceResult(
        pl.DataFrame(schema=ATTENDANCE_PERSONS_SCHEMA),
        pl.DataFrame(schema=ATTENDANCE_MASKS_SCHEMA),
        pl.DataFrame(schema=ATTENDANCE_DAYS_SCHEMA),
        {},
    )
