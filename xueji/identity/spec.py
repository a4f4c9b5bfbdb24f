"""Blocking keys and comparisons declared as data, in the style of splink.

A ``LinkSpec`` is what one linker does: the blocking keys that make candidate pairs
(rows that agree on a key), and the comparisons that score a pair. A comparison is an
ordered list of levels; a pair takes the first level whose condition holds (the last
level is the "else"). Each level carries a match weight (log2 of how much more often
the level is seen among true matches than among non-matches, set by hand from the
contract and the generated data) or is decisive: ``MATCH`` (same ID number: same
person, whatever else differs) or ``VETO`` (e.g. two different valid ID numbers: two
people, twins included). A pair links when one level says ``MATCH``, or when no level
vetoes it and the weights add up to the spec's threshold.

Level conditions are Polars expressions over a pair frame whose columns are the
features of both sides with the suffixes ``_l`` and ``_r`` (see ``xueji.identity.link``).
``xueji identity explain-config`` prints all of this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from xueji.config import Config

MATCH = math.inf
VETO = -math.inf


def L(col: str) -> pl.Expr:  # noqa: N802 - reads like splink's l. / r. prefixes
    """A left-side feature of a pair frame."""
    return pl.col(f"{col}_l")


def R(col: str) -> pl.Expr:  # noqa: N802
    """A right-side feature of a pair frame."""
    return pl.col(f"{col}_r")


@dataclass(frozen=True, eq=False)
class Level:
    """One level of a comparison: a label, a condition (None: every remaining pair), a weight."""

    label: str
    when: pl.Expr | None
    weight: float
    description: str

    def weight_text(self) -> str:
        """The weight as printed: a signed number, MATCH or VETO."""
        if self.weight == MATCH:
            return "MATCH"
        if self.weight == VETO:
            return "VETO"
        return f"{self.weight:+g}"


@dataclass(frozen=True, eq=False)
class Comparison:
    """An ordered list of levels for one aspect of a pair (name, ID number, birth date...)."""

    name: str
    description: str
    levels: tuple[Level, ...]

    def level_expr(self) -> pl.Expr:
        """The label of the first level whose condition holds, as ``{name}``."""
        # coalesce keeps the first non-null: the first level whose condition is true
        labels = [
            pl.when(lvl.when.fill_null(False)).then(pl.lit(lvl.label))
            for lvl in self.levels
            if lvl.when is not None
        ]
        fallback = [pl.lit(lvl.label) for lvl in self.levels if lvl.when is None][:1]
        return pl.coalesce([*labels, *fallback, pl.lit(None, pl.String)]).alias(self.name)

    def weights(self) -> dict[str, float]:
        """Weight of each level label."""
        return {lvl.label: lvl.weight for lvl in self.levels}


@dataclass(frozen=True, eq=False)
class BlockingKey:
    """Candidate pairs are the pairs that agree on ``left`` = ``right`` (all non-null)."""

    name: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    description: str


@dataclass(frozen=True, eq=False)
class LinkSpec:
    """One linker: blocking keys, comparisons, the threshold and how a link is chosen."""

    name: str
    description: str
    blocking: tuple[BlockingKey, ...]
    comparisons: tuple[Comparison, ...]
    threshold: float
    decision: str

    def comparison(self, name: str) -> Comparison:
        """The comparison called ``name``."""
        return next(c for c in self.comparisons if c.name == name)

    def score(self, pairs: pl.DataFrame, extra_scores: tuple[str, ...] = ()) -> pl.DataFrame:
        """``pairs`` with one level column per comparison, ``match_weight`` (sum of the
        finite weights), ``decisive`` (``match``, ``veto`` or null), ``is_match`` and
        ``evidence`` (JSON: the levels, the scores in ``extra_scores`` and the weight)."""
        names = [c.name for c in self.comparisons]
        out = pairs.with_columns([c.level_expr() for c in self.comparisons])
        # Everything else follows from the levels and the extra scores, which a million
        # pairs combine in a few hundred ways: it is worked out once per distinct
        # combination and joined back (the scores are finite: never NaN).
        parts = [*names, *extra_scores]
        combos = out.select(parts).unique()
        weight_cols = []
        for c in self.comparisons:
            finite = {k: (v if math.isfinite(v) else 0.0) for k, v in c.weights().items()}
            weight_cols.append(
                pl.col(c.name)
                .replace_strict(finite, default=0.0, return_dtype=pl.Float64)
                .alias(f"_w_{c.name}")
            )
        combos = combos.with_columns(weight_cols)
        match_labels = {
            c.name: [k for k, v in c.weights().items() if v == MATCH] for c in self.comparisons
        }
        veto_labels = {
            c.name: [k for k, v in c.weights().items() if v == VETO] for c in self.comparisons
        }
        any_match = pl.any_horizontal([pl.col(n).is_in(match_labels[n]) for n in names])
        any_veto = pl.any_horizontal([pl.col(n).is_in(veto_labels[n]) for n in names])
        total = pl.sum_horizontal([f"_w_{n}" for n in names]).alias("match_weight")
        combos = combos.with_columns(
            total,
            pl.when(any_match)
            .then(pl.lit("match"))
            .when(any_veto)
            .then(pl.lit("veto"))
            .alias("decisive"),
        ).with_columns(
            (
                (pl.col("decisive") == "match")
                | (pl.col("decisive").is_null() & (pl.col("match_weight") >= self.threshold))
            )
            .fill_null(False)
            .alias("is_match")
        )
        scores = [pl.col(s) for s in extra_scores]
        evidence = pl.struct(
            pl.lit(self.name).alias("linker"),
            pl.struct([pl.col(n) for n in names]).alias("levels"),
            *([pl.struct(scores).alias("scores")] if scores else []),
            pl.col("match_weight").round(2).alias("weight"),
            pl.col("decisive"),
        ).struct.json_encode()
        derived = ["match_weight", "decisive", "is_match", "evidence"]
        combos = combos.with_columns(evidence.alias("evidence")).select(*parts, *derived)
        return out.drop(derived, strict=False).join(
            combos, on=parts, how="left", nulls_equal=True, maintain_order="left"
        )

    def describe(self) -> str:
        """The spec as readable text (for ``xueji identity explain-config``)."""
        lines = [
            f"[{self.name}] {self.description}",
            "  blocking keys (candidate pairs agree on every column):",
        ]
        for b in self.blocking:
            pairs = ", ".join(
                f"{a}={c}" if a != c else a for a, c in zip(b.left, b.right, strict=True)
            )
            lines.append(f"    - {b.name}: {pairs} — {b.description}")
        lines.append("  comparisons (first level that holds; weight or MATCH/VETO):")
        for c in self.comparisons:
            lines.append(f"    - {c.name}: {c.description}")
            for lvl in c.levels:
                lines.append(f"        {lvl.label:<20} {lvl.weight_text():>6}  {lvl.description}")
        lines.append(f"  threshold: match weight >= {self.threshold:g} when nothing is decisive")
        lines.append(f"  decision: {self.decision}")
        return "\n".join(lines)


def swapped_date(d: pl.Expr) -> pl.Expr:
    """The date with day and month swapped, when that is another real date (day ≤ 12)."""
    day, month = d.dt.day(), d.dt.month()
    return pl.when((day <= 12) & (day != month)).then(pl.date(d.dt.year(), day, month))


def _id_comparison(
    max_edits: int, masked: bool, different_weight: float, missing_weight: float = 0.0
) -> Comparison:
    levels = [
        Level("exact", L("id_number") == R("id_number"), MATCH, "the same ID number: one person"),
    ]
    if masked:
        levels += [
            Level(
                "masked_consistent",
                (L("id_state") == "masked") & pl.col("id_mask_ok"),
                8.0,
                "a masked number (430104********1234) that agrees at every visible character",
            ),
            Level(
                "masked_inconsistent",
                L("id_state") == "masked",
                VETO,
                "a masked number that disagrees",
            ),
        ]
    levels += [
        Level(
            "both_valid_differ",
            (L("id_state") == "valid") & (R("id_state") == "valid"),
            VETO,
            "two different numbers that both pass GB 11643: two people (twins)",
        ),
        Level(
            "typo",
            ((L("id_state") == "invalid") | (R("id_state") == "invalid"))
            & (pl.col("id_edits") <= max_edits),
            6.0 if masked else 10.0,
            f"one number fails GB 11643 and is within {max_edits} edits (substitution or adjacent "
            "transposition) of the other: a mistyped copy",
        ),
        Level(
            "missing",
            L("id_number").is_null() | R("id_number").is_null(),
            missing_weight,
            "one side has no ID number",
        ),
        Level("different", None, different_weight, "numbers that differ beyond a typo"),
    ]
    return Comparison("id_number", "ID number (GB 11643)", tuple(levels))


def _name_comparison(similar_min: float | None, twin_guard: bool = False) -> Comparison:
    levels = [
        Level(
            "exact",
            L("name_key") == R("name_key"),
            4.0,
            "the same name up to script (繁/简), spaces and the middle dot",
        ),
    ]
    if twin_guard:
        levels.append(
            Level(
                "homophone_same_grade",
                (L("pinyin") == R("pinyin"))
                & (L("school_code") == R("school_code"))
                & (L("grade") == R("grade")),
                VETO,
                "a homophone in the same school and grade: twins (张伟/张玮), not one person twice",
            )
        )
    levels += [
        Level(
            "homophone",
            L("pinyin") == R("pinyin"),
            2.0,
            "the same toneless pinyin (surnames read as surnames)",
        ),
    ]
    if similar_min is not None:
        levels.append(
            Level(
                "similar",
                pl.col("name_score") >= similar_min,
                1.0,
                f"name similarity >= {similar_min:g} (characters and pinyin, rapidfuzz)",
            )
        )
    levels.append(Level("different", None, VETO, "a different name"))
    return Comparison("name", "name (姓名)", tuple(levels))


def _gender_comparison() -> Comparison:
    return Comparison(
        "gender",
        "gender (性别)",
        (
            Level("same", L("gender") == R("gender"), 1.0, "the same gender"),
            Level("different", None, VETO, "different or unknown gender"),
        ),
    )


def _place_comparison() -> Comparison:
    return Comparison(
        "place",
        "hukou address (户籍地): namesakes born on one day are common in a city, one person's records share a hukou",
        (
            Level(
                "same_hukou",
                L("hukou") == R("hukou"),
                3.0,
                "the same hukou address code (all digits)",
            ),
            Level(
                "same_county",
                L("county") == R("county"),
                1.0,
                "the same hukou county (first 6 digits)",
            ),
            Level(
                "unknown",
                L("county").is_null() | R("county").is_null(),
                0.0,
                "no hukou on one side (the area in an ID or L number is not where a child lives)",
            ),
            Level("elsewhere", None, -5.0, "different counties"),
        ),
    )


def dedupe_spec(cfg: Config) -> LinkSpec:
    """Registry deduplication (DUPLICATE_RECORD): one person with several records."""
    max_edits = int(cfg["dup_id_max_edits"])
    return LinkSpec(
        name="registry_dedupe",
        description="registry record ↔ registry record: one person holding several records (一人多籍)",
        blocking=(
            BlockingKey("same_id", ("id_number",), ("id_number",), "the same ID number"),
            BlockingKey(
                "pinyin_birth_date",
                ("pinyin", "birth_date"),
                ("pinyin", "birth_date"),
                "the same name sound and birth date",
            ),
            BlockingKey(
                "pinyin_swapped_birth_date",
                ("pinyin", "birth_date_swapped"),
                ("pinyin", "birth_date"),
                "the same name sound, birth date with day and month swapped",
            ),
        ),
        comparisons=(
            _id_comparison(max_edits, masked=False, different_weight=VETO, missing_weight=2.0),
            _name_comparison(None, twin_guard=True),
            Comparison(
                "birth_date",
                "birth date (出生日期)",
                (
                    Level("exact", L("birth_date") == R("birth_date"), 3.0, "the same birth date"),
                    Level(
                        "day_month_swapped",
                        L("birth_date") == swapped_date(R("birth_date")),
                        1.0,
                        "day and month swapped",
                    ),
                    Level("different", None, VETO, "a different or unknown birth date"),
                ),
            ),
            _gender_comparison(),
            _place_comparison(),
        ),
        threshold=float(cfg["dup_min_weight"]),
        decision=(
            "a match links two records; clusters are the connected records (transitive), "
            "but a union that would put two different valid ID numbers in one cluster is refused"
        ),
    )


def attendance_spec(cfg: Config) -> LinkSpec:
    """Attendance person → registry record."""
    max_edits = int(cfg["dup_id_max_edits"])
    name_min = float(cfg["link_name_min_score"])
    class_min = float(cfg["link_class_name_min_score"])
    return LinkSpec(
        name="attendance",
        description="attendance person (the same child across days) → registry record",
        blocking=(
            BlockingKey(
                "exact_id", ("id_number",), ("id_number",), "a full ID number equal to the record's"
            ),
            BlockingKey(
                "masked_id",
                ("mask_prefix", "mask_suffix"),
                ("mask_prefix", "mask_suffix"),
                "the visible head and tail of a masked ID number (430104…1234)",
            ),
            BlockingKey(
                "class",
                ("school_code", "grade", "class_name"),
                ("school_code", "grade", "class_name"),
                "the same school, grade and class (names scored with rapidfuzz cdist per class)",
            ),
            BlockingKey(
                "school",
                ("school_code",),
                ("school_code",),
                "the same school (names scored per school)",
            ),
        ),
        comparisons=(
            _id_comparison(max_edits, masked=True, different_weight=-4.0),
            _name_comparison(min(name_min, class_min)),
            Comparison(
                "context",
                "where the child is seen",
                (
                    Level(
                        "same_class",
                        (L("school_code") == R("school_code"))
                        & (L("grade") == R("grade"))
                        & (L("class_name") == R("class_name")),
                        3.0,
                        "the record's school, grade and class",
                    ),
                    Level(
                        "same_grade",
                        (L("school_code") == R("school_code")) & (L("grade") == R("grade")),
                        2.0,
                        "the record's school and grade",
                    ),
                    Level(
                        "same_school",
                        (L("school_code") == R("school_code"))
                        & ((L("grade") - R("grade")).abs() <= 1).fill_null(True),
                        1.0,
                        "the record's school, a grade next to the record's",
                    ),
                    Level(
                        "grade_apart",
                        L("school_code") == R("school_code"),
                        VETO,
                        "the record's school but two or more grades apart: a namesake",
                    ),
                    Level("other_school", None, 0.0, "another school"),
                ),
            ),
            Comparison(
                "status",
                "the record's status",
                (
                    Level("active", R("active"), 0.5, "enrolled or suspended"),
                    Level("inactive", None, 0.0, "transferred out, graduated, dropped..."),
                ),
            ),
        ),
        threshold=4.0,
        decision=(
            "a cascade, each step only for persons still unlinked: exact_id (exact ID level); "
            f"masked_id_name (masked_consistent and name score >= {name_min:g}); "
            f"name_in_class (class block, name score >= {class_min:g}); "
            f"name_in_school (school block, name score >= {name_min:g}); local_id (another spelling of the "
            "same school-internal number linked). Within a step the highest match weight wins; a tie "
            "between records of different persons leaves the person unlinked; fuzzy (non-exact, "
            "non-homophone) name links are one-to-one within a class or school"
        ),
    )


def residence_spec(cfg: Config) -> LinkSpec:
    """Residence person → registry record."""
    max_edits = int(cfg["dup_id_max_edits"])
    return LinkSpec(
        name="residence",
        description="residence person (户籍/居住证) → registry record",
        blocking=(
            BlockingKey("exact_id", ("id_number",), ("id_number",), "the same ID number"),
            BlockingKey(
                "pinyin_birth_gender",
                ("pinyin", "birth_date", "gender"),
                ("pinyin", "birth_date", "gender"),
                "the same name sound, birth date and gender (for records whose ID is missing or mistyped)",
            ),
        ),
        comparisons=(
            _id_comparison(max_edits, masked=False, different_weight=VETO),
            _name_comparison(None),
            Comparison(
                "birth_date",
                "birth date (出生日期)",
                (
                    Level("exact", L("birth_date") == R("birth_date"), 3.0, "the same birth date"),
                    Level("different", None, VETO, "a different or unknown birth date"),
                ),
            ),
            _gender_comparison(),
            _place_comparison(),
        ),
        threshold=float(cfg["residence_min_weight"]),
        decision=(
            "exact_id first; else name_birth_gender: the best non-vetoed record (a mistyped ID beats a "
            "missing one, an exact name beats a homophone, an active record beats an inactive one) "
            "reaching the threshold; a tie between different persons leaves the row unlinked"
        ),
    )


def all_specs(cfg: Config) -> tuple[LinkSpec, ...]:
    """The three linkers' specs."""
    return (dedupe_spec(cfg), attendance_spec(cfg), residence_spec(cfg))
