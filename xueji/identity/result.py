"""The result of identity resolution: the frames the rules read, and ``explain``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from xueji.errors import NotFound
from xueji.ids import mask_id, mask_id_text
from xueji.io.digest import SIGHTING_SCHEMA

RECORDS_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.Int64(),
    "person_id": pl.Int64(),
    "dup_group_id": pl.String(),
    "dup_evidence": pl.String(),
    # The number as identity read it (``idsim.id_state``): valid, invalid, masked or null.
    "id_state": pl.String(),
}

ATTENDANCE_PERSONS_SCHEMA: dict[str, pl.DataType] = {
    "att_person": pl.Int64(),
    **SIGHTING_SCHEMA,  # how the school writes the person (ID: the best one seen)
    "record_row": pl.Int64(),
    "person_id": pl.Int64(),
    "method": pl.String(),
    "score": pl.Float64(),
    "evidence": pl.String(),
}

# One row per attendance sighting (``xueji.io.digest``): its attendance person and its
# masks over its school's last school days up to the as-of date (bit 0 = the latest).
ATTENDANCE_MASKS_SCHEMA: dict[str, pl.DataType] = {
    "sid": pl.Int64(),
    "att_person": pl.Int64(),
    "school_code": pl.String(),
    "days": pl.Int64(),
    "rows_mask": pl.UInt64(),
    "present_mask": pl.UInt64(),
    "absent_mask": pl.UInt64(),
    "undated_rows": pl.Int64(),
}

# Attendance rows per (school_code, date), every date (nulls: unreadable cells).
ATTENDANCE_DAYS_SCHEMA: dict[str, pl.DataType] = {
    "school_code": pl.String(),
    "date": pl.Date(),
    "rows": pl.Int64(),
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

ATTENDANCE_METHODS = (
    "exact_id",
    "masked_id_name",
    "name_in_class",
    "name_in_school",
    "local_id",
    "unlinked",
)
RESIDENCE_METHODS = ("exact_id", "name_birth_gender", "unlinked")


@dataclass
class Identity:
    """Who is who: registry person clusters, attendance persons and residence links.

    ``records``: one row per registry row (``_row``, ``person_id``, ``dup_group_id``,
    ``dup_evidence``, ``id_state``). ``attendance_persons``: one row per attendance person with the
    registry record it links to. ``attendance_masks``: one row per attendance sighting
    with its ``att_person`` and day masks (``ATTENDANCE_MASKS_SCHEMA``);
    ``attendance_days``: rows per school day — the attendance rows themselves are never
    held. ``residence_links``: one row per residence row with the record it links to. ``registry`` keeps the registry columns ``explain`` shows.
    """

    records: pl.DataFrame
    attendance_persons: pl.DataFrame
    attendance_masks: pl.DataFrame
    attendance_days: pl.DataFrame
    residence_links: pl.DataFrame
    registry: pl.DataFrame = field(default_factory=pl.DataFrame)
    candidate_pairs: dict[str, dict[str, int]] = field(default_factory=dict)

    def explain(self, student_no: str, show_ids: bool = False) -> dict[str, Any]:
        """The record(s) with this student number, their person cluster, the attendance
        persons and residence rows linked to that person, with every link's evidence.

        ID numbers — and the ID inside G student numbers — are masked unless
        ``show_ids``: this is made for screens and logs.
        """
        reg = self.registry.join(self.records, on="_row", how="left")
        mine = reg.filter(pl.col("student_no") == student_no)
        if mine.height == 0:
            shown = student_no if show_ids else _mask_student_no_text(student_no)
            raise NotFound(
                f"student_no {shown}: no such record in the registry (check the number and --data)"
            )
        person_ids = sorted(mine["person_id"].unique().to_list())
        cluster = reg.filter(pl.col("person_id").is_in(person_ids)).sort("_row")
        att = self.attendance_persons.filter(pl.col("person_id").is_in(person_ids)).sort(
            "att_person"
        )
        res = self.residence_links.filter(pl.col("person_id").is_in(person_ids)).sort("_row")

        def _mask(df: pl.DataFrame) -> pl.DataFrame:
            if show_ids:
                return df
            out = df.with_columns(mask_id(pl.col("id_number")).alias("id_number"))
            if "student_no" in out.columns:
                out = out.with_columns(mask_student_no(pl.col("student_no")).alias("student_no"))
            return out

        def _rows(df: pl.DataFrame, evidence_col: str) -> list[dict[str, Any]]:
            out = []
            for r in _mask(df).to_dicts():
                r[evidence_col] = json.loads(r[evidence_col]) if r.get(evidence_col) else None
                out.append(
                    {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
                )
            return out

        return {
            "student_no": student_no if show_ids else _mask_student_no_text(student_no),
            "person_ids": person_ids,
            "records": _rows(cluster, "dup_evidence"),
            "attendance_persons": _rows(att, "evidence"),
            "residence_links": _rows(res, "evidence"),
        }


def mask_student_no(student_no: pl.Expr) -> pl.Expr:
    """A G student number shows the ID number it holds masked (``G430104********1234``);
    J and L numbers hold no ID number and are shown as they are."""
    return (
        pl.when(student_no.str.starts_with("G"))
        .then(pl.lit("G") + mask_id(student_no.str.slice(1)))
        .otherwise(student_no)
    )


def _mask_student_no_text(student_no: str) -> str:
    if student_no.startswith("G"):
        return "G" + (mask_id_text(student_no[1:]) or "")
    return student_no


def format_explanation(info: dict[str, Any]) -> str:
    """``Identity.explain`` as readable lines for the terminal."""
    lines = [
        f"student_no {info['student_no']}: person {', '.join(str(p) for p in info['person_ids'])}"
    ]
    records = info["records"]
    lines.append(f"registry records of this person ({len(records)}):")
    for r in records:
        group = f" group {r['dup_group_id']}" if r.get("dup_group_id") else ""
        lines.append(
            f"  row {r['_row']}: {r['student_no']} {r['name']} {r.get('gender') or '?'} {r.get('birth_date') or '?'} "
            f"ID {r.get('id_number') or '-'} school {r.get('school_code')} grade {r.get('grade')} "
            f"{r.get('class_name') or ''} {r.get('status')}{group}"
        )
        for link in (r.get("dup_evidence") or {}).get("links", []):
            ev = link["evidence"]
            lines.append(f"    ~ row {link['row']}: {_levels(ev)}")
    atts = info["attendance_persons"]
    lines.append(f"attendance persons linked ({len(atts)}):")
    for a in atts:
        lines.append(
            f"  person {a['att_person']}: {a['name']} at {a['school_code']} grade {a['grade']} {a['class_name']} "
            f"ID {a.get('id_number') or '-'} local_id {a.get('local_id') or '-'} → row {a['record_row']} "
            f"by {a['method']} (score {a['score']:.2f}): {_levels(a['evidence'])}"
        )
    res = info["residence_links"]
    lines.append(f"residence rows linked ({len(res)}):")
    for r in res:
        lines.append(
            f"  residence row {r['_row']}: ID {r.get('id_number') or '-'} → row {r['record_row']} by {r['method']} "
            f"(score {r['score']:.2f}): {_levels(r['evidence'])}"
        )
    return "\n".join(lines)


def _levels(evidence: dict[str, Any] | None) -> str:
    if not evidence:
        return "-"
    if "link" in evidence:  # linked through another spelling under the same local_id
        return f"via {evidence.get('via')} spelling {evidence.get('spelling')}: {_levels(evidence['link'])}"
    levels = evidence.get("levels") or {}
    text = ", ".join(f"{k}={v}" for k, v in levels.items())
    scores = evidence.get("scores") or {}
    extra = ", ".join(f"{k} {v}" for k, v in scores.items() if v is not None)
    weight = evidence.get("weight")
    return (
        text
        + (f" [{extra}]" if extra else "")
        + (f" weight {weight:g}" if weight is not None else "")
    )


def beside(frame: pl.DataFrame, other: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``frame`` with ``columns`` of ``other`` for the same ``_row``: put beside it when both
    hold the same rows in the same order (the usual case: both come from the registry
    in file order), else joined."""
    if frame.get_column("_row").equals(other.get_column("_row")):
        return frame.with_columns(other.get_column(c) for c in columns)
    return frame.join(other.select("_row", *columns), on="_row", how="left")
