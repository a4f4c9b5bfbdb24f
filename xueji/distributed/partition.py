"""How the audit's data is cut into partitions for a cluster, in plain Polars.

Two cuts, one per kind of work:

- **County partitions, for the rules.** A finding belongs to the county in its
  ``county_code`` (the *owner*); findings with no county, or a county that holds no
  school, belong to the residual partition ``RESIDUAL``. Each partition receives the
  rows its own findings depend on — its *closure* — and keeps only the findings it
  owns, so the union over partitions is exactly the single-machine result:

  * every registry record at the county's schools;
  * every record of each *person* (identity ``person_id``) with a record there, so a
    person's other records elsewhere (duplicates, separation, status) are seen;
  * the residence rows living in the county (residence code, else hukou code, as the
    rules place a person) together with every other row of the same ID number, and
    every record of the persons those rows are linked to (out-of-school children);
  * the residence rows linked to the partition's persons or carrying the ID number of
    one of its records (catchment, cross-city, person mismatch);
  * the attendance persons at the county's schools and those linked to its persons,
    with their attendance masks (attendance itself is reduced per county first).

- **Hash partitions of blocking keys, for duplicate detection.** Records that share a
  value of any blocking key (or an ID number) are joined into *blocking components*
  by label propagation; a component goes whole to the partition given by a hash of
  its label. Every candidate pair and every base cluster lies inside one component, so
  deduplicating each partition on its own gives exactly the single-machine clusters.

Nothing here imports Ray: the cuts are tested on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from xueji.identity.spec import LinkSpec

RESIDUAL = "-"  # partition of findings and rows that no county with schools owns
PART = "_part"
_HASH_SEED = 7  # any fixed seed: partitions only have to agree within one run


def school_parts(schools: pl.DataFrame) -> pl.DataFrame:
    """``school_code`` → ``_part``: the school's county, else the residual partition."""
    return schools.filter(pl.col("school_code").is_not_null()).select(
        "school_code", pl.col("county_code").fill_null(RESIDUAL).alias(PART)
    ).unique("school_code", keep="first")


def county_partitions(schools: pl.DataFrame) -> list[str]:
    """The partitions of an audit: every county with a school, then the residual one."""
    counties = schools["county_code"].drop_nulls().unique().sort().to_list()
    return [*counties, RESIDUAL]


def owner(county_code: pl.Expr, partitions: Sequence[str]) -> pl.Expr:
    """The partition owning a finding: its county when that is a partition, else residual."""
    return pl.when(county_code.is_in(list(partitions))).then(county_code).otherwise(pl.lit(RESIDUAL))


def lives_in() -> pl.Expr:
    """Where the rules place a residence row: its residence code, else its hukou code
    (6 digits: the county), as OUT_OF_SCHOOL_CHILD names its county."""
    return pl.coalesce("residence_area_code", "hukou_area_code").str.slice(0, 6)


@dataclass
class Membership:
    """Which rows each partition receives: (row key, ``_part``) per table."""

    registry: pl.DataFrame  # _row, _part
    residence: pl.DataFrame  # _row, _part
    att_persons: pl.DataFrame  # att_person, _part

    def sizes(self) -> pl.DataFrame:
        """Rows per partition: ``_part``, ``registry``, ``residence``, ``att_persons``."""
        frames = [
            m.group_by(PART).len().with_columns(pl.lit(name).alias("table"))
            for name, m in (("registry", self.registry), ("residence", self.residence), ("att_persons", self.att_persons))
        ]
        return pl.concat(frames).pivot("table", index=PART, values="len").fill_null(0).sort(PART)

    def describe(self) -> str:
        """One line: each partition's records, residence rows and attendance persons."""
        return "; ".join(
            f"{p}: {r:,} records, {s:,} residence rows, {a:,} attendance persons"
            for p, r, s, a in self.sizes().select(PART, "registry", "residence", "att_persons").iter_rows()
        )


def memberships(
    registry: pl.DataFrame,
    records: pl.DataFrame,
    schools: pl.DataFrame,
    residence: pl.DataFrame | None,
    residence_links: pl.DataFrame,
    att_persons: pl.DataFrame,
) -> Membership:
    """The closure of every county partition (see the module docstring), as joins.

    ``registry``: typed registry (``_row``, ``school_code``, ``id_number``);
    ``records``: identity records (``_row``, ``person_id``); ``residence``: typed
    residence or None; ``residence_links``: (``_row``, ``person_id``);
    ``att_persons``: (``att_person``, ``school_code``, ``person_id``).
    """
    parts = school_parts(schools)
    counties = [p for p in county_partitions(schools) if p != RESIDUAL]
    reg = (
        registry.select("_row", "school_code", "id_number")
        .join(records.select("_row", "person_id"), on="_row", how="left")
        .join(parts, on="school_code", how="left")
        .with_columns(pl.col(PART).fill_null(RESIDUAL))
    )
    home_persons = reg.filter(pl.col("person_id").is_not_null()).select("person_id", PART)

    if residence is not None and residence.height:
        res = (
            residence.select("_row", "id_number", "residence_area_code", "hukou_area_code")
            .join(residence_links.select("_row", "person_id"), on="_row", how="left")
            .with_columns(owner(lives_in(), counties).alias(PART))
        )
        # Seeds: the rows living in the partition, and every row sharing an ID number
        # with one of them (one finding per ID number, taken from its first row).
        id_parts = res.filter(pl.col("id_number").is_not_null()).select("id_number", PART).unique()
        seeds = pl.concat(
            [
                res.filter(pl.col("id_number").is_not_null()).join(id_parts, on="id_number").select("_row", pl.col(f"{PART}_right").alias(PART)),
                res.filter(pl.col("id_number").is_null()).select("_row", PART),
            ]
        ).unique()
        seed_persons = (
            seeds.join(res.select("_row", "person_id"), on="_row")
            .filter(pl.col("person_id").is_not_null())
            .select("person_id", PART)
        )
        persons = pl.concat([home_persons, seed_persons]).unique()
    else:
        res = None
        seeds = pl.DataFrame(schema={"_row": pl.Int64, PART: pl.String})
        persons = home_persons.unique()

    reg_members = pl.concat(
        [reg.select("_row", PART), reg.join(persons, on="person_id").select("_row", pl.col(f"{PART}_right").alias(PART))]
    ).unique()

    if res is not None:
        ids = (
            reg_members.join(reg.select("_row", "id_number"), on="_row")
            .filter(pl.col("id_number").is_not_null())
            .select("id_number", PART)
            .unique()
        )
        res_members = pl.concat(
            [
                seeds,
                res.join(persons, on="person_id").select("_row", pl.col(f"{PART}_right").alias(PART)),
                res.join(ids, on="id_number").select("_row", pl.col(f"{PART}_right").alias(PART)),
            ]
        ).unique()
    else:
        res_members = seeds

    att = att_persons.select("att_person", "school_code", "person_id")
    att_members = pl.concat(
        [
            att.join(parts, on="school_code", how="left").select("att_person", pl.col(PART).fill_null(RESIDUAL)),
            att.join(persons, on="person_id").select("att_person", PART),
        ]
    ).unique()
    return Membership(reg_members, res_members, att_members)


def split(frame: pl.DataFrame, members: pl.DataFrame, key: str, partitions: Sequence[str]) -> dict[str, pl.DataFrame]:
    """``frame``'s rows for each partition (a row may go to several), in ``frame`` order."""
    joined = frame.join(members, on=key, how="inner", maintain_order="left")
    by_part = joined.partition_by(PART, as_dict=True, include_key=False)
    empty = frame.clear()
    return {p: by_part.get((p,), empty) for p in partitions}


# --- blocking components for duplicate detection --------------------------------------------


def _key_nodes(feat: pl.DataFrame, spec: LinkSpec) -> pl.DataFrame:
    """(``_row``, ``_node``): each record's value of each side of each blocking key, and its
    ID number, hashed; two records can pair only if they share a node."""
    frames = [
        feat.filter(pl.col("id_number").is_not_null()).select(
            "_row", pl.struct(pl.lit("id"), pl.col("id_number")).hash(_HASH_SEED).alias("_node")
        )
    ]
    for key in spec.blocking:
        for cols in {tuple(key.left), tuple(key.right)}:
            # Both sides of a key share one namespace: left values of one record meet
            # right values of another.
            values = [pl.col(c).cast(pl.String) for c in cols]
            frames.append(
                feat.filter(pl.all_horizontal([pl.col(c).is_not_null() for c in cols])).select(
                    "_row", pl.struct(pl.lit(key.name), *values).hash(_HASH_SEED).alias("_node")
                )
            )
    return pl.concat(frames).unique()


def blocking_components(feat: pl.DataFrame, spec: LinkSpec) -> pl.DataFrame:
    """(``_row``, ``_component``): records joined by any shared blocking-key value, labelled
    with the smallest ``_row`` of their component (label propagation, a few rounds)."""
    edges = _key_nodes(feat, spec)
    label = feat.select("_row", pl.col("_row").alias("_component"))
    while True:
        # node label = smallest label of its records; record label = smallest of its nodes.
        node = edges.join(label, on="_row").group_by("_node").agg(pl.col("_component").min())
        proposed = edges.join(node, on="_node").group_by("_row").agg(pl.col("_component").min().alias("_new"))
        nxt = (
            label.join(proposed, on="_row", how="left")
            .select("_row", pl.min_horizontal("_component", "_new").alias("_component"))
        )
        changed = nxt.join(label, on="_row").filter(pl.col("_component") != pl.col("_component_right")).height
        label = nxt
        if changed == 0:
            return label


def component_parts(components: pl.DataFrame, n: int) -> pl.DataFrame:
    """(``_row``, ``_part``): a hash of the component label modulo ``n`` partitions."""
    return components.select(
        "_row", (pl.col("_component").hash(_HASH_SEED) % n).cast(pl.Int64).cast(pl.String).alias(PART)
    )
