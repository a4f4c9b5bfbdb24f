"""Derived frames several rule families share, built once per audit through ``ctx.shared``."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from xueji.identity.result import beside
from xueji.rules.base import AuditContext
from xueji.vocabulary import ACTIVE


def _records(ctx: AuditContext) -> pl.LazyFrame:
    schools = ctx.tables["schools"].select(
        "school_code", "county_code", "level", "ownership", "design_capacity", "school_name"
    )
    registry = beside(
        ctx.tables["registry"].collect(),
        ctx.identity.records,
        ["person_id", "dup_group_id", "dup_evidence", "id_state"],
    )
    return (
        registry.lazy()
        .join(schools, on="school_code", how="left", maintain_order="left")
        .with_columns(
            pl.col("status").is_in(ACTIVE).alias("is_active"),
            (pl.col("status") == "enrolled").alias("is_enrolled"),
        )
    )


def materialise(
    ctx: AuditContext, key: str, plan: Callable[[AuditContext], pl.LazyFrame]
) -> pl.LazyFrame:
    """``plan(ctx)`` collected once per audit (at the first rule that asks) and handed to
    every rule as a lazy frame over the result.

    For frames several rules start from: left as a plan, each rule's query would repeat
    the work (measured: ``collect_all`` of the rules cost the sum of the rules alone)."""

    def build(c: AuditContext) -> pl.LazyFrame:
        return plan(c).collect().lazy()

    result: pl.LazyFrame = ctx.shared(key, build)
    return result


def records(ctx: AuditContext) -> pl.LazyFrame:
    """Registry rows with their school (county_code, level, ownership, design_capacity,
    school_name), identity (person_id, dup_group_id, dup_evidence, id_state) and the flags
    ``is_active`` (enrolled or suspended) and ``is_enrolled``.

    Computed once per audit (at the first rule that asks) and held in memory: the rules'
    plans all scan the same frame."""
    return materialise(ctx, "records", _records)
