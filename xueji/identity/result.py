"""The result of identity resolution: the frames the rules read, and ``explain``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from xueji.errors import NotFound
from xueji.ids import mask_id, mask_id_text

RECORDS_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.Int64(),
    "person_id": pl.Int64(),
    "dup_group_id": pl.String(),
    "dup_evidence": pl.String(),
}

ATTENDANCE_PERSONS_SCHEMA: dict[str, pl.DataType] = {
    "att_person": pl.Int64(),
    "school_code": pl.String(),
    "grade": pl.Int64(),
    "class_name": pl.String(),
    "name": pl.String(),
    "id_number": pl.String(),
    "local_id": pl.String(),
    "record_row": pl.Int64(),
    "person_id": pl.Int64(),
    "method": pl.String(),
    "score": pl.Float64(),
    "evidence": pl.String(),
}

ATTENDANCE_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.Int64(),
    "school_code": pl.String(),
    "date": pl.Date(),
    "grade": pl.Int64(),
    "class_name": pl.String(),
    "status": pl.String(),
    "att_person": pl.Int64(),
}

RESIDENCE_LINKS_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.Int64(),
    "id_number": pl.String(),
    "record_row": pl.Int64(),
    "person_id": pl.Int64(),
    "method": pl.String(),
    "score": pl.Float64(),
    "evidence": pl.String(),
}

ATTENDANCE_METHODS = ("exact_id", "masked_id_name", "name_in_class", "name_in_school", "local_id", "unlinked")
RESIDENCE_METHODS = ("exact_id", "name_birth_gender", "unlinked")


@dataclass
class Identity:
    """Who is who: registry person clusters, attendance persons and residence links.

    ``records``: one row per registry row (``_row``, ``person_id``, ``dup_group_id``,
    ``dup_evidence``). ``attendance_persons``: one row per attendance person with the
    registry record it links to. ``attendance``: the attendance table, lazily, with
    ``att_person`` added. ``residence_links``: one row per residence row with the
    record it links to. ``registry`` keeps the registry columns ``explain`` shows.
    """

    records: pl.DataFrame
    attendance_persons: pl.DataFrame
    attendance: pl.LazyFrame
    residence_links: pl.DataFrame
    registry: pl.DataFrame = field(default_factory=pl.DataFrame)
    candidate_pairs: dict[str, dict[str, int]] = field(default_factory=dict)

    def explain(self, student_no: str) -> dict[str, Any]:
        """The record(s) with this student number, their cluster, links and evidence.

        ID numbers are masked: this is made for screens and logs.
        """
        reg = self.registry.join(self.records, on="_row", how="left")
        mine = reg.filter(pl.col("student_no") == student_no)
        if mine.height == 0:
            raise NotFound(f"student_no {mask_id_text(student_no)}: no such record in the registry")
        person_ids = mine["person_id"].unique().to_list()
        cluster = reg.filter(pl.col("person_id").is_in(person_ids)).sort("_row")
        rows = cluster["_row"].to_list()
        att = self.attendance_persons.filter(pl.col("person_id").is_in(person_ids)).sort("att_person")
        res = self.residence_links.filter(pl.col("person_id").is_in(person_ids)).sort("_row")

        def _records(df: pl.DataFrame) -> list[dict[str, Any]]:
            out = []
            for r in df.with_columns(mask_id(pl.col("id_number")).alias("id_number")).to_dicts():
                r["dup_evidence"] = json.loads(r["dup_evidence"]) if r.get("dup_evidence") else None
                r = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
                out.append(r)
            return out

        def _links(df: pl.DataFrame) -> list[dict[str, Any]]:
            out = []
            for r in df.with_columns(mask_id(pl.col("id_number")).alias("id_number")).to_dicts():
                r["evidence"] = json.loads(r["evidence"]) if r.get("evidence") else None
                out.append(r)
            return out

        return {
            "student_no": student_no,
            "person_ids": person_ids,
            "records": _records(cluster),
            "record_rows": rows,
            "attendance_persons": _links(att),
            "residence_links": _links(res),
        }
