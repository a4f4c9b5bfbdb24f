"""One transfer in full, for ``xueji transfer show``: timeline, next party and checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select
from sqlmodel import col

from xueji.calendar import working_days_between
from xueji.db import session_scope
from xueji.db.models import RegistryImport, School, Student, Transfer, TransferEvent
from xueji.errors import NotFound
from xueji.vocabulary import ACTIVE
from xueji.workflow.chain import next_step
from xueji.workflow.events import CHINA, as_utc, check_transfer_events


@dataclass(frozen=True)
class TransferDetail:
    """A transfer, its events, the student's record and what the checks found."""

    transfer: Transfer
    events: tuple[TransferEvent, ...]
    student: Student | None
    schools: dict[str, School]
    next_state: str | None
    waiting_since: date | None
    working_days_waited: int | None
    checks: tuple[tuple[str, str], ...]


def _record(records: Sequence[Student], t: Transfer) -> Student | None:
    """The record the transfer is about: at the sending school, else the receiving one."""
    for school in (t.from_school_code, t.to_school_code):
        for r in records:
            if r.school_code == school:
                return r
    return records[0] if records else None


def residence_check(t: Transfer, student: Student | None, residence_imported: bool) -> str:
    """Whether residence data corroborates the reason (hukou_move, home_move)."""
    if t.reason not in ("hukou_move", "home_move"):
        return f"not applicable to reason {t.reason}"
    if not residence_imported:
        return "no residence data (import a folder with residence.csv to check)"
    if student is None or student.res_hukou_area_code is None:
        return "not corroborated: the student's ID number is not in the residence data"
    county = t.to_county_code or "?"
    if t.reason == "hukou_move":
        code, moved = student.res_hukou_area_code, student.res_hukou_moved_in_date
        since = f", moved in on {moved}" if moved else ""
        if code.startswith(county):
            return f"corroborated: residence data puts the hukou in {code}, in the receiving county {county}{since}"
        return f"not corroborated: residence data puts the hukou in {code}, outside the receiving county {county}"
    code = student.res_residence_area_code or student.res_hukou_area_code
    if code.startswith(county):
        return f"corroborated: residence data puts the home in {code}, in the receiving county {county}"
    return f"not corroborated: residence data puts the home in {code}, outside the receiving county {county}"


def _record_check(t: Transfer, student: Student | None) -> str:
    if student is None:
        return f"no record of {t.student_no} in the registry view"
    state = "active" if student.status in ACTIVE else "inactive"
    return (
        f"{state} at school {student.school_code} ({student.status}, grade {student.grade}, "
        f"class {student.class_name})"
    )


def transfer_detail(
    engine: Engine,
    transfer_id: int,
    as_of: date,
    holidays: Sequence[date] = (),
    limit_days: int = 10,
) -> TransferDetail:
    """Everything ``xueji transfer show`` prints about one transfer."""
    with session_scope(engine, read_only=True) as session:
        t = session.get(Transfer, transfer_id)
        if t is None:
            raise NotFound(
                f"transfer {transfer_id} does not exist (see `xueji transfer list --all`)"
            )
        events = tuple(
            session.scalars(
                select(TransferEvent)
                .where(col(TransferEvent.transfer_id) == transfer_id)
                .order_by(col(TransferEvent.id))
            )
        )
        records = session.scalars(
            select(Student).where(col(Student.student_no) == t.student_no)
        ).all()
        schools = {
            s.school_code: s
            for s in session.scalars(
                select(School).where(
                    col(School.school_code).in_([t.from_school_code, t.to_school_code])
                )
            )
        }
        last_import = session.scalars(
            select(RegistryImport).order_by(col(RegistryImport.id).desc())
        ).first()
    student = _record(records, t)
    step = next_step(t.steps, t.state)
    since = as_utc(events[-1].at).astimezone(CHINA).date() if events else None
    waited = None
    if step is not None and since is not None:
        waited = working_days_between(since, as_of, holidays)
    checks = [
        ("student record", _record_check(t, student)),
        (
            "residence data",
            residence_check(
                t, student, last_import is not None and last_import.residence_rows is not None
            ),
        ),
        ("event log", check_transfer_events(t, list(events)) or "intact (hashes and states agree)"),
    ]
    if waited is not None:
        verdict = "OVERDUE" if waited > limit_days else "within the limit"
        checks.append(
            ("waiting", f"{waited} working day(s) since {since} (limit {limit_days}): {verdict}")
        )
    return TransferDetail(
        t, events, student, schools, step["state"] if step else None, since, waited, tuple(checks)
    )
