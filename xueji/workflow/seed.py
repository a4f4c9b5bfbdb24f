"""A test and benchmark helper: put transfers in a given state without going through the CLI.

``seed_transfers`` is for tests, benchmarks and the sample data's ``transfers_seed.csv``.
It writes transfers and a valid event chain (actor ``seed``) directly, without
authorisation or guards, so it must never be offered to users.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

import polars as pl
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from xueji.db import session_scope
from xueji.db.models import School, Student, Transfer
from xueji.errors import InputError
from xueji.workflow.chain import DEFAULT_CHAIN, FIRST_STATE, Step, applicable_steps
from xueji.workflow.events import CHINA, append_events, snapshot
from xueji.workflow.service import next_party

SEED_ACTOR = "seed"
# Columns a seeded transfer takes from its row as they are.
_COPIED = (
    "student_no",
    "from_school_code",
    "from_county_code",
    "to_school_code",
    "to_county_code",
    "grade",
    "to_class",
    "reason",
    "state",
)
SEED_COLUMNS = (
    "student_no",
    "from_school_code",
    "to_school_code",
    "to_class",
    "reason",
    "state",
    "submitted_on",
    "state_entered_on",
)


def _morning(day: date) -> datetime:
    """09:00 China time on ``day``: seeded events happen in office hours."""
    return datetime.combine(day, time(9, 0), tzinfo=CHINA)


def _with_context(engine: Engine, rows: pl.DataFrame) -> pl.DataFrame:
    """Fill county codes from the schools table and the grade from the student's record."""
    with session_scope(engine, read_only=True) as session:
        schools = pl.DataFrame(
            session.execute(select(col(School.school_code), col(School.county_code))).all(),
            schema={"school_code": pl.String(), "county_code": pl.String()},
            orient="row",
        )
        grades = pl.DataFrame(
            session.execute(
                select(
                    col(Student.student_no), col(Student.school_code), func.max(col(Student.grade))
                ).group_by(col(Student.student_no), col(Student.school_code))
            ).all(),
            schema={
                "student_no": pl.String(),
                "from_school_code": pl.String(),
                "_grade": pl.Int64(),
            },
            orient="row",
        )
    out = rows
    for side in ("from", "to"):
        county = f"{side}_county_code"
        found = schools.rename({"school_code": f"{side}_school_code", "county_code": f"_{county}"})
        out = out.join(found, on=f"{side}_school_code", how="left")
        existing = pl.col(county) if county in rows.columns else pl.lit(None, pl.String)
        out = out.with_columns(
            pl.coalesce(existing.cast(pl.String), pl.col(f"_{county}")).alias(county)
        ).drop(f"_{county}")
    existing_grade = pl.col("grade") if "grade" in rows.columns else pl.lit(None, pl.Int64)
    out = out.join(grades, on=["student_no", "from_school_code"], how="left")
    return out.with_columns(
        pl.coalesce(existing_grade.cast(pl.Int64), pl.col("_grade")).alias("grade")
    ).drop("_grade")


def seed_transfers(
    engine: Engine, rows: pl.DataFrame, chain: Sequence[Step] = DEFAULT_CHAIN
) -> int:
    """Write transfers that have reached the given states, with a valid event chain.

    TEST AND BENCHMARK HELPER: no authorisation, no guards, actor ``seed``.

    ``rows``: student_no, from_school_code, to_school_code, to_class, reason, state (a
    chain state: the state reached), submitted_on (Date), state_entered_on (Date);
    optional from_county_code, to_county_code, grade (else taken from the schools and
    students tables when present). Intermediate steps are dated submitted_on, the step
    reached state_entered_on. Students are not moved: a seeded ``completed`` transfer
    describes a registry that already shows the student at the receiving school.
    Returns the number of transfers written.
    """
    missing = [c for c in SEED_COLUMNS if c not in rows.columns]
    if missing:
        raise InputError(f"seed rows: {len(missing)} column(s) missing: {', '.join(missing)}")
    if rows.is_empty():
        return 0
    frame = _with_context(
        engine, rows.with_columns(pl.col("submitted_on", "state_entered_on").cast(pl.Date))
    )
    transfers: list[dict[str, Any]] = []
    paths: list[tuple[list[str], date, date]] = []
    problems: list[str] = []
    chains: dict[tuple[str | None, str | None], list[dict[str, Any]]] = {}
    for n, row in enumerate(frame.iter_rows(named=True), start=1):
        counties = (row["from_county_code"], row["to_county_code"])
        if counties not in chains:
            chains[counties] = applicable_steps(chain, *counties)
        steps = chains[counties]
        names = [s["state"] for s in steps]
        if row["state"] not in names:
            problems.append(
                f"row {n}: state {row['state']!r} is not in this transfer's chain ({', '.join(names)})"
            )
            continue
        reached = names[: names.index(row["state"]) + 1]
        values: dict[str, Any] = {
            **{c: row[c] for c in _COPIED},
            "explanation": None,
            "evidence": [],
            "steps": steps,
            "version": len(reached),
            "submitted_by": SEED_ACTOR,
            "submitted_at": _morning(row["submitted_on"]),
            "next_party": next_party(steps, row["state"], row),
        }
        transfers.append(values)
        paths.append((reached, row["submitted_on"], row["state_entered_on"]))
    if problems:
        raise InputError(f"seed rows: {len(problems)} problem(s): " + "; ".join(problems[:20]))
    try:
        _write(engine, transfers, paths)
    except IntegrityError as exc:
        raise InputError(
            "seed rows: a student has two open transfers (one open transfer per student)"
        ) from exc
    return len(transfers)


def _write(
    engine: Engine, transfers: list[dict[str, Any]], paths: list[tuple[list[str], date, date]]
) -> None:
    with session_scope(engine) as session:
        conn = session.connection()
        # One INSERT ... RETURNING per transfer: a single executemany with RETURNING
        # costs SQLAlchemy quadratic time to put the ids back in order.
        statement = insert(Transfer).returning(col(Transfer.id))
        ids = [conn.execute(statement, values).scalar_one() for values in transfers]
        contents: list[dict[str, Any]] = []
        for transfer_id, values, (reached, submitted_on, entered_on) in zip(
            ids, transfers, paths, strict=True
        ):
            for i, state in enumerate(reached):
                last = i == len(reached) - 1
                contents.append(
                    {
                        "transfer_id": transfer_id,
                        "action": "seed" if state == FIRST_STATE else "approve",
                        "from_state": reached[i - 1] if i else None,
                        "to_state": state,
                        "actor": SEED_ACTOR,
                        "actor_org": None,
                        "at": _morning(entered_on if last else submitted_on),
                        "note": None,
                        "payload": snapshot(values) if i == 0 else None,
                    }
                )
        append_events(session, contents)
