"""Every change of a transfer's state goes through here: authorise → check → one transaction.

``submit`` creates a transfer; ``approve``, ``reject`` and ``withdraw`` move it. Each
runs in one transaction that updates the transfer with ``WHERE version = :seen``
(optimistic locking), appends one chained event and, on completion, moves the
student's record to the receiving school. If anything fails, nothing is written.

When two people act on the same step at once, one wins; the other's UPDATE matches
no row, and it is refused with what happened instead ("already approved by X at T").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from xueji.db import session_scope
from xueji.db.models import TERMINAL_STATES, School, Student, Transfer, TransferEvent
from xueji.errors import NotAuthorised, NotFound, WorkflowRefused
from xueji.vocabulary import ACTIVE
from xueji.workflow.accounts import ACTING_ROLES, Identity
from xueji.workflow.chain import (
    DEFAULT_CHAIN,
    FINAL_STATE,
    FIRST_STATE,
    PARTY_LEVELS,
    REJECTED,
    WITHDRAWN,
    Step,
    applicable_steps,
    next_step,
    party_label,
    party_org,
)
from xueji.workflow.events import append_event, canonical, local_text, snapshot, utc_now
from xueji.workflow.guards import Application, check_application, check_form

_PAST = {
    "apply": "submitted",
    "seed": "recorded",
    "approve": "approved",
    "reject": "rejected",
    "withdraw": "withdrawn",
}


class _StaleVersionError(Exception):
    """The transfer changed between our read and our write."""


@dataclass(frozen=True)
class History:
    """What ``decide`` needs to know about a transfer's past."""

    events: tuple[TransferEvent, ...]

    @property
    def last(self) -> TransferEvent:
        """The newest event."""
        return self.events[-1]

    def by_state(self, state: str) -> TransferEvent | None:
        """The event that reached ``state``."""
        return next((e for e in self.events if e.to_state == state), None)


def codes(t: Transfer) -> dict[str, str | None]:
    """The school and county codes parties are resolved from."""
    return {
        "from_school_code": t.from_school_code,
        "to_school_code": t.to_school_code,
        "from_county_code": t.from_county_code,
        "to_county_code": t.to_county_code,
    }


def acts_for(user: Identity, party: str, where: Mapping[str, str | None]) -> bool:
    """Whether ``user`` may act as ``party``: the right role and the party's own org."""
    kind = party.split("_", 1)[1]
    role = "school_registrar" if PARTY_LEVELS[kind] == "school" else "bureau_officer"
    org = party_org(party, where)
    return user.role == role and org is not None and user.org == org


def next_party(
    steps: Sequence[Mapping[str, Any]], state: str, where: Mapping[str, str | None]
) -> str | None:
    """``receiving_bureau:430104`` for the step a transfer waits on; None once closed."""
    step = next_step(steps, state)
    return party_label(step["party"], where) if step else None


def _already(t: Transfer, event: TransferEvent) -> WorkflowRefused:
    return WorkflowRefused(
        f"transfer {t.id} already {_PAST[event.action]} by {event.actor} at {local_text(event.at)}"
        + (f"; it now waits on {t.next_party}" if t.next_party else f" (now {t.state})")
    )


def decide(t: Transfer, history: History, user: Identity, action: str) -> str:
    """The state ``action`` by ``user`` leads to, or the refusal explaining why not.

    Pure: reads nothing but its arguments.
    """
    if user.role not in ACTING_ROLES:
        raise NotAuthorised(f"{user.describe()} can read transfers but not act on them")
    where = codes(t)
    step = next_step(t.steps, t.state)
    if t.state in TERMINAL_STATES or step is None:
        raise _already(t, history.last)
    if action == "withdraw":
        submitting = t.steps[0]["party"]
        if acts_for(user, submitting, where):
            return WITHDRAWN
        raise WorkflowRefused(
            f"not your school: only the submitting school ({party_label(submitting, where)}) may withdraw transfer {t.id}"
        )
    if acts_for(user, step["party"], where):
        if step.get("differs_from_submitter") and user.name == t.submitted_by:
            raise WorkflowRefused(
                f"same person as submitter: {user.name} submitted transfer {t.id}; another registrar of "
                f"{party_org(step['party'], where)} must review it ({step['state']})"
            )
        return step["state"] if action == "approve" else REJECTED
    names = [s["state"] for s in t.steps]
    done = names[: names.index(t.state) + 1]
    mine = [s for s in t.steps if acts_for(user, s["party"], where)]
    last_step = t.steps[len(done) - 1]
    if acts_for(user, last_step["party"], where):
        raise _already(t, history.last)
    if any(s["state"] not in done for s in mine):
        later = next(s["state"] for s in mine if s["state"] not in done)
        raise WorkflowRefused(
            f"not your turn: transfer {t.id} waits on {t.next_party} ({step['state']}); you act at {later}"
        )
    if mine:
        own = history.by_state(mine[-1]["state"])
        raise _already(t, own or history.last)
    raise _not_yours(t, user)


def _not_yours(t: Transfer, user: Identity) -> WorkflowRefused:
    if user.role == "school_registrar":
        place, between = "school", f"from school {t.from_school_code} to school {t.to_school_code}"
    else:
        place, between = "county", f"from county {t.from_county_code} to county {t.to_county_code}"
    return WorkflowRefused(
        f"not your {place}: transfer {t.id} goes {between}; you act for {user.org}"
    )


def _load(session: Session, transfer_id: int) -> tuple[Transfer, History]:
    t = session.get(Transfer, transfer_id)
    if t is None:
        raise NotFound(f"transfer {transfer_id} does not exist (see `xueji transfer list --all`)")
    events = session.scalars(
        select(TransferEvent)
        .where(col(TransferEvent.transfer_id) == transfer_id)
        .order_by(col(TransferEvent.id))
    ).all()
    if not events:
        raise WorkflowRefused(
            f"transfer {transfer_id} has no events: its log was tampered with (run `xueji transfer verify-log`)"
        )
    return t, History(tuple(events))


def claim(session: Session, t: Transfer, to_state: str) -> None:
    """Move ``t`` to ``to_state`` unless somebody else moved it since we read it.

    The only statement in xueji that changes a transfer's state: an UPDATE guarded by
    the version we read. On PostgreSQL a competing step waits here for our commit and
    then matches no row; on SQLite the step's write lock makes competitors wait for
    the whole step.
    """
    done = session.connection().execute(
        update(Transfer)
        .where(col(Transfer.id) == t.id, col(Transfer.version) == t.version)
        .values(
            state=to_state,
            next_party=next_party(t.steps, to_state, codes(t)),
            version=t.version + 1,
        )
    )
    if done.rowcount != 1:
        raise _StaleVersionError


def _move_student(session: Session, t: Transfer) -> str:
    """Move the student's active record to the receiving school; returns the payload text."""
    here = session.scalars(
        select(Student).where(
            col(Student.student_no) == t.student_no, col(Student.school_code) == t.to_school_code
        )
    ).first()
    if here is not None and here.status in ACTIVE:
        raise WorkflowRefused(
            f"guard failed: student {t.student_no} already has an active record at receiving school {t.to_school_code}"
        )
    if here is not None:
        # An old inactive record at the receiving school gives way to the arriving one.
        session.execute(delete(Student).where(col(Student.id) == here.id))
    moved = session.connection().execute(
        update(Student)
        .where(
            col(Student.student_no) == t.student_no,
            col(Student.school_code) == t.from_school_code,
            col(Student.status).in_(ACTIVE),
        )
        .values(school_code=t.to_school_code, class_name=t.to_class)
    )
    if moved.rowcount != 1:
        raise WorkflowRefused(
            f"guard failed: student {t.student_no} no longer has an active record at sending school "
            f"{t.from_school_code}; the registry changed since the application"
        )
    return canonical(
        {"student_no": t.student_no, "school_code": t.to_school_code, "class_name": t.to_class}
    )


def _act(
    engine: Engine,
    user: Identity,
    transfer_id: int,
    action: str,
    note: str | None,
    at: datetime | None,
) -> Transfer:
    when = at or utc_now()
    try:
        with session_scope(engine) as session:
            t, history = _load(session, transfer_id)
            to_state = decide(t, history, user, action)
            # Claim the step first, so a competitor is refused as "already approved"
            # rather than tripping over the student record we are about to move.
            claim(session, t, to_state)
            payload = _move_student(session, t) if to_state == FINAL_STATE else None
            assert t.id is not None
            append_event(
                session,
                transfer_id=t.id,
                action=action,
                from_state=t.state,
                to_state=to_state,
                actor=user.name,
                actor_org=user.org,
                at=when,
                note=note,
                payload=payload,
            )
            session.expire(t)
            session.refresh(t)
            return t
    except _StaleVersionError:
        # Someone acted between our read and our write: explain what they did.
        with session_scope(engine, read_only=True) as session:
            t, history = _load(session, transfer_id)
            decide(t, history, user, action)
        raise WorkflowRefused(
            f"transfer {transfer_id} changed while you acted; run the command again"
        ) from None


def approve(
    engine: Engine,
    user: Identity,
    transfer_id: int,
    note: str | None = None,
    at: datetime | None = None,
) -> Transfer:
    """Approve the step the transfer waits on (the completing step moves the student)."""
    return _act(engine, user, transfer_id, "approve", note, at)


def reject(
    engine: Engine, user: Identity, transfer_id: int, reason: str, at: datetime | None = None
) -> Transfer:
    """Reject the transfer at the current step (terminal); the reason is required."""
    if not reason.strip():
        raise WorkflowRefused("guard failed: a rejection needs a reason (--reason)")
    return _act(engine, user, transfer_id, "reject", reason, at)


def withdraw(
    engine: Engine,
    user: Identity,
    transfer_id: int,
    note: str | None = None,
    at: datetime | None = None,
) -> Transfer:
    """Withdraw an open transfer (the submitting school only)."""
    return _act(engine, user, transfer_id, "withdraw", note, at)


def _authorise_submit(user: Identity, app: Application, chain: Sequence[Step]) -> None:
    if user.role not in ACTING_ROLES:
        raise NotAuthorised(f"{user.describe()} can read transfers but not submit them")
    party = chain[0].party
    where = {
        "to_school_code": app.to_school_code,
        "from_school_code": None,
        "to_county_code": None,
        "from_county_code": None,
    }
    if acts_for(user, party, where):
        return
    if user.role == "school_registrar":
        raise WorkflowRefused(
            f"not your school: only registrars of the receiving school {app.to_school_code} may submit its transfers; "
            f"you act for {user.org}"
        )
    raise WorkflowRefused(
        f"not your turn: transfers are submitted by the receiving school ({FIRST_STATE})"
    )


def submit(
    engine: Engine,
    user: Identity,
    app: Application,
    chain: Sequence[Step] = DEFAULT_CHAIN,
    at: datetime | None = None,
) -> Transfer:
    """Record a guardian's application at the receiving school; returns the new transfer."""
    _authorise_submit(user, app, chain)
    check_form(app)
    when = at or utc_now()
    try:
        with session_scope(engine) as session:
            receiving = session.get(School, app.to_school_code)
            if receiving is None:
                raise NotFound(
                    f"school {app.to_school_code} is not in the database (import the registry: xueji registry import DATA_DIR)"
                )
            records = session.scalars(
                select(Student).where(col(Student.student_no) == app.student_no)
            ).all()
            open_transfers = session.scalars(
                select(Transfer).where(
                    col(Transfer.student_no) == app.student_no,
                    col(Transfer.state).not_in(TERMINAL_STATES),
                )
            ).all()
            record = check_application(app, records, receiving, open_transfers)
            sending = session.get(School, record.school_code)
            if sending is None:
                raise NotFound(
                    f"sending school {record.school_code} of student {app.student_no} is not in the database"
                )
            steps = applicable_steps(chain, sending.county_code, receiving.county_code)
            t = Transfer(
                student_no=app.student_no,
                from_school_code=sending.school_code,
                from_county_code=sending.county_code,
                to_school_code=receiving.school_code,
                to_county_code=receiving.county_code,
                grade=record.grade,
                to_class=app.to_class.strip(),
                reason=app.reason,
                explanation=(app.explanation or "").strip() or None,
                evidence=list(app.evidence),
                steps=steps,
                state=FIRST_STATE,
                version=1,
                submitted_by=user.name,
                submitted_at=when,
            )
            t.next_party = next_party(steps, FIRST_STATE, codes(t))
            transfer_id = session.execute(
                insert(Transfer).values(**t.model_dump(exclude={"id"})).returning(col(Transfer.id))
            ).scalar_one()
            assert transfer_id is not None
            t.id = transfer_id
            append_event(
                session,
                transfer_id=transfer_id,
                action="apply",
                from_state=None,
                to_state=FIRST_STATE,
                actor=user.name,
                actor_org=user.org,
                at=when,
                note=None,
                payload=snapshot(t.model_dump()),
            )
            return t
    except IntegrityError as exc:
        # The partial unique index caught a second open transfer written at the same moment.
        with session_scope(engine, read_only=True) as session:
            other = session.scalars(
                select(Transfer).where(
                    col(Transfer.student_no) == app.student_no,
                    col(Transfer.state).not_in(TERMINAL_STATES),
                )
            ).first()
        if other is None:
            raise
        raise WorkflowRefused(
            f"guard failed: student {app.student_no} already has open transfer {other.id} ({other.state})"
        ) from exc
