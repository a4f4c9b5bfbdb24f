"""``resolve_identities``: run the three linkers and assemble the ``Identity``."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import polars as pl

from xueji.config import Config
from xueji.identity.result import (
    ATTENDANCE_PERSONS_SCHEMA,
    ATTENDANCE_SCHEMA,
    RECORDS_SCHEMA,
    RESIDENCE_LINKS_SCHEMA,
    Identity,
)

ACTIVE = ("enrolled", "suspended")
_SIGHT = ["school_code", "grade", "class_name", "name", "id_number", "local_id"]


def _group_id(student_no: pl.Series) -> pl.Series:
    # A digest of the group's smallest student number: stable night to night for the same
    # group, and it does not reveal the ID number a G student number contains.
    return student_no.map_elements(
        lambda s: "DG" + hashlib.sha1(s.encode()).hexdigest()[:12].upper(), return_dtype=pl.String
    )


def _records(reg: pl.DataFrame) -> pl.DataFrame:
    base = reg.with_columns(
        pl.when(pl.col("id_number").is_not_null())
        .then(pl.col("_row").min().over("id_number"))
        .otherwise(pl.col("_row"))
        .alias("person_id"),
        pl.col("status").is_in(ACTIVE).fill_null(False).alias("_active"),
    )
    groups = (
        base.filter("_active")
        .group_by("person_id")
        .agg(pl.len().alias("n"), pl.col("student_no").min().alias("first_no"))
        .filter(pl.col("n") >= 2)
    )
    groups = groups.with_columns(_group_id(groups["first_no"]).alias("dup_group_id"))
    out = base.join(groups.select("person_id", "dup_group_id"), on="person_id", how="left").with_columns(
        pl.when("_active").then(pl.col("dup_group_id")).alias("dup_group_id")
    )
    evidence = json.dumps({"comparisons": {"id_number": "exact"}})
    return out.select(
        "_row",
        "person_id",
        "dup_group_id",
        pl.when(pl.col("dup_group_id").is_not_null()).then(pl.lit(evidence)).alias("dup_evidence"),
    )


def resolve_identities(tables: dict[str, pl.LazyFrame], cfg: Config, as_of: date) -> Identity:
    """Resolve who is who across registry, attendance and residence (see ``Identity``)."""
    reg = tables["registry"].collect()
    records = _records(reg).cast(RECORDS_SCHEMA)  # type: ignore[arg-type]
    rec = reg.join(records, on="_row")

    if "attendance" in tables:
        att_lf = tables["attendance"].with_columns(
            pl.struct(_SIGHT).hash(seed=7).cast(pl.Int64).alias("att_person")
        )
        persons = att_lf.group_by(_SIGHT).agg(pl.col("att_person").first()).collect()
        by_id = (
            rec.filter(pl.col("id_number").is_not_null())
            .sort(pl.col("status").is_in(ACTIVE).not_(), "_row")
            .unique("id_number", keep="first")
            .select("id_number", pl.col("_row").alias("rid"), pl.col("person_id").alias("pid"))
        )
        by_name = (
            rec.filter(pl.col("status").is_in(ACTIVE))
            .group_by("school_code", "grade", "class_name", "name")
            .agg(pl.col("_row").first().alias("rn"), pl.col("person_id").first().alias("pn"), pl.len().alias("k"))
            .filter(pl.col("k") == 1)
            .drop("k")
        )
        linked = persons.join(by_id, on="id_number", how="left").join(
            by_name, on=["school_code", "grade", "class_name", "name"], how="left"
        )
        att_persons = linked.select(
            "att_person",
            *_SIGHT,
            pl.coalesce("rid", "rn").alias("record_row"),
            pl.coalesce("pid", "pn").alias("person_id"),
            pl.when(pl.col("rid").is_not_null())
            .then(pl.lit("exact_id"))
            .when(pl.col("rn").is_not_null())
            .then(pl.lit("name_in_class"))
            .otherwise(pl.lit("unlinked"))
            .alias("method"),
            pl.when(pl.col("rid").is_not_null() | pl.col("rn").is_not_null()).then(1.0).otherwise(0.0).alias("score"),
            pl.lit("{}").alias("evidence"),
        ).select(list(ATTENDANCE_PERSONS_SCHEMA)).cast(ATTENDANCE_PERSONS_SCHEMA)  # type: ignore[arg-type]
        attendance = att_lf.select(list(ATTENDANCE_SCHEMA))
    else:
        att_persons = pl.DataFrame(schema=ATTENDANCE_PERSONS_SCHEMA)
        attendance = pl.LazyFrame(schema=ATTENDANCE_SCHEMA)

    if "residence" in tables:
        res = tables["residence"].select("_row", "id_number").collect()
        by_id = (
            rec.filter(pl.col("id_number").is_not_null())
            .sort(pl.col("status").is_in(ACTIVE).not_(), "_row")
            .unique("id_number", keep="first")
            .select("id_number", pl.col("_row").alias("record_row"), "person_id")
        )
        res_links = res.join(by_id, on="id_number", how="left").with_columns(
            pl.when(pl.col("record_row").is_not_null()).then(pl.lit("exact_id")).otherwise(pl.lit("unlinked")).alias("method"),
            pl.when(pl.col("record_row").is_not_null()).then(1.0).otherwise(0.0).alias("score"),
            pl.lit("{}").alias("evidence"),
        ).select(list(RESIDENCE_LINKS_SCHEMA)).cast(RESIDENCE_LINKS_SCHEMA)  # type: ignore[arg-type]
    else:
        res_links = pl.DataFrame(schema=RESIDENCE_LINKS_SCHEMA)

    return Identity(records, att_persons, attendance, res_links, registry=reg)
