"""Registry deduplication: person clusters, ``dup_group_id`` and their evidence.

Records with the same ID number start as one cluster. Candidate pairs from the other
blocking keys are scored with ``dedupe_spec``; matching pairs join clusters, strongest
first, except that a union which would put two different valid ID numbers in one
cluster is refused (twins linked through a third record stay two people).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl
from loguru import logger

from xueji.identity.link import add_pair_scores, log_counts, pair_frame
from xueji.identity.spec import BlockingKey, LinkSpec

_PAIR_COLS = (
    "_row",
    "student_no",
    "id_number",
    "id_state",
    "name_key",
    "pinyin",
    "birth_date",
    "gender",
    "school_code",
    "grade",
    "hukou",
    "county",
)


@dataclass
class DedupeResult:
    """Per-record clusters and the scored pairs behind them."""

    records: pl.DataFrame  # _row, person_id, dup_group_id, dup_evidence
    pairs: pl.DataFrame  # every scored candidate pair with levels and evidence
    counts: dict[str, int]
    refused: int


def group_id_of(student_no: str) -> str:
    """The duplicate group id derived from the group's smallest student number: stable
    from night to night for the same group, and it does not reveal the ID number a G
    student number contains."""
    return "DG" + hashlib.sha256(student_no.encode("utf-8")).hexdigest()[:12].upper()


def _guarded_clusters(base: pl.DataFrame, edges: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Union-find over the base clusters along ``edges`` (strongest first), refusing a
    union that would join two different valid ID numbers. Returns (_c → cluster, refused).

    The loop runs over matching pairs (a few per hundred records), not over records.
    """
    parent: dict[int, int] = {}
    touched = base.join(
        pl.concat(
            [edges.select(pl.col("_ca").alias("_c")), edges.select(pl.col("_cb").alias("_c"))]
        ).unique(),
        on="_c",
    )
    valid_id: dict[int, str | None] = dict(
        zip(touched["_c"].to_list(), touched["valid_id"].to_list(), strict=True)
    )

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    refused = 0
    for a, b in zip(edges["_ca"].to_list(), edges["_cb"].to_list(), strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        va, vb = valid_id.get(ra), valid_id.get(rb)
        if va is not None and vb is not None and va != vb:
            refused += 1
            continue
        lo, hi = (ra, rb) if ra < rb else (rb, ra)
        parent[hi] = lo
        valid_id[lo] = va if va is not None else vb
    if not parent:
        return pl.DataFrame(
            {"_c": [], "_cluster": []}, schema={"_c": pl.Int64, "_cluster": pl.Int64}
        ), refused
    keys = list(parent)
    return pl.DataFrame(
        {"_c": keys, "_cluster": [find(k) for k in keys]},
        schema={"_c": pl.Int64, "_cluster": pl.Int64},
    ), refused


def _key_pairs(
    feat: pl.DataFrame, key: BlockingKey, seen: dict[tuple[str, ...], pl.DataFrame]
) -> tuple[pl.DataFrame, int]:
    """(pairs ``_i`` < ``_j`` agreeing on ``key``, the candidate pairs ``count_pairs``
    counts) from one join. When both sides of the key are the same columns, only rows
    whose value occurs twice can pair: a window finds them, and the self-join is of a few
    thousand rows, not of the registry. ``seen`` keeps those rows per key (the ID number's
    are read again by ``dedupe_registry``)."""
    lcols, rcols = list(key.left), list(key.right)
    known = pl.all_horizontal([pl.col(c).is_not_null() for c in lcols])
    if key.left == key.right:
        lk = feat.select("_row", *lcols).filter(known).filter(pl.len().over(lcols) >= 2)
        seen[key.left] = lk
        sizes = lk.group_by(lcols).agg(pl.len().cast(pl.Int64).alias("_n"))
        count = int(sizes.select((pl.col("_n") * (pl.col("_n") - 1) // 2).sum()).item() or 0)
        rk = lk.select(pl.col("_row").alias("_rid"), *rcols)
    else:
        lk = feat.select("_row", *lcols).filter(known)
        rk = feat.select(pl.col("_row").alias("_rid"), *rcols).filter(
            pl.all_horizontal([pl.col(c).is_not_null() for c in rcols])
        )
        count = -1
    joined = lk.join(rk, left_on=lcols, right_on=rcols, how="inner")
    if count < 0:
        count = joined.height
    pairs = (
        joined.filter(pl.col("_row") != pl.col("_rid"))
        .select(
            pl.min_horizontal("_row", "_rid").alias("_i"),
            pl.max_horizontal("_row", "_rid").alias("_j"),
        )
        .unique()
    )
    return pairs, count


def dedupe_registry(feat: pl.DataFrame, spec: LinkSpec) -> DedupeResult:
    """Cluster registry records into persons (see the module docstring)."""
    n = feat.height
    rows = feat.select("_row")
    seen: dict[tuple[str, ...], pl.DataFrame] = {}
    blocked = {key.name: _key_pairs(feat, key, seen) for key in spec.blocking}
    counts = {name: count for name, (_, count) in blocked.items()}
    log_counts(spec.name, counts, n)

    frames = [frame for frame, _ in blocked.values()]
    pairs = (
        pl.concat(frames).unique()
        if frames
        else pl.DataFrame(schema={"_i": pl.Int64, "_j": pl.Int64})
    )
    side = feat.select(list(_PAIR_COLS))
    scored = spec.score(
        add_pair_scores(pair_frame(pairs, side, side, "_row", "_row")),
        extra_scores=("name_score", "id_edits"),
    )
    matches = scored.filter("is_match")
    logger.info(f"identity {spec.name}: {scored.height:,} pairs scored, {matches.height:,} match")

    # Only records that share an ID number or are in a matching pair can belong to a
    # person of several records; every other record is a person of its own (person_id =
    # its _row, no group). The clusters are worked out on those few records.
    shared_id = seen.get(("id_number",))
    if shared_id is None:
        shared_id = feat.filter(
            pl.col("id_number").is_not_null() & (pl.len().over("id_number") >= 2)
        )
    involved = pl.concat(
        [
            shared_id.select("_row"),
            matches.select(pl.col("_i").alias("_row")),
            matches.select(pl.col("_j").alias("_row")),
        ]
    )["_row"]
    few = feat.filter(pl.col("_row").is_in(involved.unique().implode()))

    # Base clusters: one per ID number, else one per record. _c is the smallest _row.
    base_rows = few.select(
        "_row",
        pl.when(pl.col("id_number").is_not_null())
        .then(pl.col("_row").min().over("id_number"))
        .otherwise(pl.col("_row"))
        .alias("_c"),
        pl.when(pl.col("id_state") == "valid").then(pl.col("id_number")).alias("valid_id"),
    )
    base = base_rows.group_by("_c").agg(pl.col("valid_id").drop_nulls().first())
    cmap = base_rows.select("_row", "_c")
    edges = (
        matches.join(cmap.rename({"_row": "_i", "_c": "_ca"}), on="_i")
        .join(cmap.rename({"_row": "_j", "_c": "_cb"}), on="_j")
        .filter(pl.col("_ca") != pl.col("_cb"))
        .sort(
            pl.col("decisive").is_null(),
            pl.col("match_weight"),
            "_i",
            "_j",
            descending=[False, True, False, False],
        )
    )
    clusters, refused = _guarded_clusters(base, edges)
    if refused:
        logger.info(
            f"identity {spec.name}: {refused} unions refused (two different valid ID numbers)"
        )

    person = cmap.join(clusters, on="_c", how="left").select(
        "_row", pl.coalesce("_cluster", "_c").alias("person_id")
    )
    # Accepted links: matching pairs whose records ended in one cluster.
    pid = person.rename({"_row": "_i", "person_id": "_pi"})
    accepted = (
        matches.join(pid, on="_i")
        .join(pid.rename({"_i": "_j", "_pi": "_pj"}), on="_j")
        .filter(pl.col("_pi") == pl.col("_pj"))
    )
    info = few.select("_row", "student_no", "active").join(person, on="_row")
    groups = (
        info.filter("active")
        .group_by("person_id")
        .agg(
            pl.len().alias("group_size"),
            # A group none of whose records has a student number (the file lacks the
            # column, or every cell is empty) is named by its first row instead: stable
            # while the file is, and no crash on a null.
            pl.coalesce(
                pl.col("student_no").min(), pl.lit("row ") + pl.col("_row").min().cast(pl.String)
            ).alias("_first"),
        )
        .filter(pl.col("group_size") >= 2)
    )
    groups = groups.with_columns(
        pl.Series(
            "dup_group_id", [group_id_of(s) for s in groups["_first"].to_list()], dtype=pl.String
        )
    )
    link_json = pl.concat_str(
        pl.lit('{"row":'),
        pl.col("_other").cast(pl.String),
        pl.lit(',"school_code":"'),
        pl.col("_other_school").fill_null(""),
        pl.lit('","evidence":'),
        pl.col("evidence"),
        pl.lit("}"),
    )
    both = pl.concat(
        [
            accepted.select(
                pl.col("_i").alias("_row"),
                pl.col("_j").alias("_other"),
                pl.col("school_code_r").alias("_other_school"),
                "evidence",
            ),
            accepted.select(
                pl.col("_j").alias("_row"),
                pl.col("_i").alias("_other"),
                pl.col("school_code_l").alias("_other_school"),
                "evidence",
            ),
        ]
    )
    links = (
        both.sort("_row", "_other").group_by("_row").agg(link_json.str.join(",").alias("_links"))
    )
    involved_records = (
        info.join(
            groups.select("person_id", "dup_group_id", "group_size"), on="person_id", how="left"
        )
        .join(links, on="_row", how="left")
        .select(
            "_row",
            "person_id",
            pl.when("active").then(pl.col("dup_group_id")).alias("dup_group_id"),
            pl.when(pl.col("active") & pl.col("dup_group_id").is_not_null())
            .then(
                pl.concat_str(
                    pl.lit('{"group_size":'),
                    pl.col("group_size").cast(pl.String),
                    pl.lit(',"links":['),
                    pl.col("_links").fill_null(""),
                    pl.lit("]}"),
                )
            )
            .alias("dup_evidence"),
        )
    )
    records = (
        rows.join(involved_records, on="_row", how="left", maintain_order="left")
        .with_columns(pl.coalesce("person_id", "_row").alias("person_id"))
        .select("_row", "person_id", "dup_group_id", "dup_evidence")
    )
    if not records["_row"].is_sorted():
        records = records.sort("_row")
    return DedupeResult(records, scored, counts, refused)
