"""Reading the workflow database as frames: open, overdue and completed transfers, listings.

The audit's TRANSFER_OVERDUE rule calls ``overdue_transfers`` and its
UNAPPROVED_TRANSFER rule joins registry changes against ``completed_transfers``.
Dates are China dates (UTC+8) of the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
from sqlalchemy import Engine, Executable, func, select
from sqlmodel import col

from xueji.db import session_scope
from xueji.db.models import TERMINAL_STATES, Student, Transfer, TransferEvent
from xueji.workflow.accounts import Identity
from xueji.workflow.chain import FINAL_STATE
from xueji.workflow.workdays import working_days_after

CHINA_TZ = "Asia/Shanghai"

TRANSFER_COLUMNS: dict[str, pl.DataType] = {
    "transfer_id": pl.Int64(),
    "student_no": pl.String(),
    "from_school_code": pl.String(),
    "from_county_code": pl.String(),
    "to_school_code": pl.String(),
    "to_county_code": pl.String(),
    "grade": pl.Int64(),
    "to_class": pl.String(),
    "reason": pl.String(),
    "state": pl.String(),
    "next_party": pl.String(),
    "submitted_by": pl.String(),
    "submitted_at": pl.Datetime("us", "UTC"),
    "state_entered_at": pl.Datetime("us", "UTC"),
}
OVERDUE_COLUMNS = (
    "transfer_id",
    "student_no",
    "from_school_code",
    "to_school_code",
    "state",
    "waiting_since",
    "working_days_waited",
    "next_party",
)


def _frame(engine: Engine, query: Executable, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Run ``query`` into a typed frame. Naive datetimes (SQLite) are read as the UTC they
    were stored in, aware ones (PostgreSQL) are converted to UTC."""
    with session_scope(engine, read_only=True) as session:
        rows = session.execute(query).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def china_date(column: str) -> pl.Expr:
    """The China calendar day of a UTC datetime column."""
    return pl.col(column).dt.convert_time_zone(CHINA_TZ).dt.date()


def transfers_frame(engine: Engine) -> pl.DataFrame:
    """Every transfer with the time it entered its current state (its newest event)."""
    entered = (
        select(col(TransferEvent.transfer_id), func.max(col(TransferEvent.at)).label("entered_at"))
        .group_by(col(TransferEvent.transfer_id))
        .subquery()
    )
    query = (
        select(
            col(Transfer.id),
            col(Transfer.student_no),
            col(Transfer.from_school_code),
            col(Transfer.from_county_code),
            col(Transfer.to_school_code),
            col(Transfer.to_county_code),
            col(Transfer.grade),
            col(Transfer.to_class),
            col(Transfer.reason),
            col(Transfer.state),
            col(Transfer.next_party),
            col(Transfer.submitted_by),
            col(Transfer.submitted_at),
            entered.c.entered_at,
        )
        .join(entered, entered.c.transfer_id == col(Transfer.id), isouter=True)
        .order_by(col(Transfer.id))
    )
    return _frame(engine, query, TRANSFER_COLUMNS)


def open_transfers(
    engine: Engine,
    as_of: date,
    holidays: Sequence[date] = (),
    transfers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Open transfers with waiting_since (Date) and working_days_waited (Int64) at ``as_of``
    (``transfers``: ``transfers_frame(engine)`` when the caller already read it)."""
    return (
        (transfers_frame(engine) if transfers is None else transfers)
        .filter(~pl.col("state").is_in(TERMINAL_STATES))
        .with_columns(china_date("state_entered_at").alias("waiting_since"))
        .with_columns(
            working_days_after(pl.col("waiting_since"), as_of, holidays).alias(
                "working_days_waited"
            )
        )
    )


def overdue_transfers(
    engine: Engine,
    as_of: date,
    holidays: Sequence[date],
    limit_days: int,
    transfers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Open transfers whose current step has waited more than ``limit_days`` working days.

    Columns: transfer_id (Int64), student_no, from_school_code, to_school_code, state
    (the step reached), waiting_since (Date), working_days_waited (Int64), next_party
    (``receiving_bureau:430104``). Working days are Mon–Fri minus ``holidays``, counted
    after waiting_since up to and including ``as_of``. ``transfers``: as for
    ``open_transfers``.
    """
    return (
        open_transfers(engine, as_of, holidays, transfers)
        .filter(pl.col("working_days_waited") > limit_days)
        .select(OVERDUE_COLUMNS)
    )


def completed_transfers(engine: Engine, transfers: pl.DataFrame | None = None) -> pl.DataFrame:
    """Completed transfers: student_no, from_school_code, to_school_code, completed_on (Date)
    (``transfers``: as for ``open_transfers``)."""
    return (
        (transfers_frame(engine) if transfers is None else transfers)
        .filter(pl.col("state") == FINAL_STATE)
        .select(
            "student_no",
            "from_school_code",
            "to_school_code",
            china_date("state_entered_at").alias("completed_on"),
        )
    )


def _involves(user: Identity) -> pl.Expr:
    """Transfers in which the user's org plays any party."""
    org = user.org or ""
    if user.role == "school_registrar":
        return (pl.col("from_school_code") == org) | (pl.col("to_school_code") == org)
    if user.role == "bureau_officer":
        hits = [
            pl.col(c).str.slice(0, n) + pl.lit("0" * (6 - n)) == org
            for c in ("from_county_code", "to_county_code")
            for n in (6, 4, 2)
        ]
        return pl.any_horizontal(hits).fill_null(False)
    return pl.lit(True)


def list_transfers(
    engine: Engine,
    user: Identity,
    *,
    scope: str = "waiting",
    state: str | None = None,
    overdue_limit: int | None = None,
    as_of: date,
    holidays: Sequence[date] = (),
) -> pl.DataFrame:
    """Transfers for ``xueji transfer list``.

    ``scope``: ``waiting`` (those waiting on the user's org; inspectors and admins,
    whom nothing waits on, see every open one), ``mine`` (any in which the user's org
    plays a party) or ``all``. ``overdue_limit`` keeps open ones waiting longer.
    """
    frame = transfers_frame(engine).with_columns(
        china_date("state_entered_at").alias("waiting_since"),
        pl.when(~pl.col("state").is_in(TERMINAL_STATES))
        .then(working_days_after(china_date("state_entered_at"), as_of, holidays))
        .alias("working_days_waited"),
    )
    if scope == "waiting":
        if user.org and user.role in ("school_registrar", "bureau_officer"):
            frame = frame.filter(pl.col("next_party").str.split(":").list.last() == user.org)
        else:
            frame = frame.filter(pl.col("next_party").is_not_null())
    elif scope == "mine":
        frame = frame.filter(_involves(user))
    if state:
        frame = frame.filter(pl.col("state") == state)
    if overdue_limit is not None:
        frame = frame.filter(pl.col("working_days_waited") > overdue_limit)
    names = _names(engine, frame["student_no"].unique().to_list())
    return frame.join(names, on="student_no", how="left").sort("transfer_id")


def _names(engine: Engine, student_nos: list[str]) -> pl.DataFrame:
    """One name per student number (records of one number share the person)."""
    query = (
        select(col(Student.student_no), func.min(col(Student.name)).label("name"))
        .where(col(Student.student_no).in_(student_nos))
        .group_by(col(Student.student_no))
    )
    return _frame(engine, query, {"student_no": pl.String(), "name": pl.String()})
