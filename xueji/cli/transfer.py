"""``xueji transfer``: apply, approve, reject, withdraw, show, list, verify-log.

Thin: each command resolves the database and the signed-in user, calls
``xueji.workflow`` and prints. Refusals are raised by the library (exit 3: not your
turn, not your school, same person as submitter, guard failed, already decided);
missing or invalid credentials exit 4.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import click

from xueji.cli.accounts import db_option, json_option, print_json, print_table, signed_in
from xueji.db.models import Transfer
from xueji.ids import mask_id_text
from xueji.workflow import (
    REASONS,
    Application,
    approve,
    list_transfers,
    load_transfer_settings,
    reject,
    submit,
    verify_log,
    withdraw,
)
from xueji.workflow.detail import transfer_detail
from xueji.workflow.events import local_text

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    """`--config FILE`: the province profile (its `[transfer]` table)."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Province profile (TOML); default $XUEJI_CONFIG.",
    )(func)


def as_of_option(func: F) -> F:
    """`--as-of DATE`: the day waiting times are counted to."""
    return click.option(
        "--as-of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Count waiting working days up to this day (default: today).",
    )(func)


def _day(value: Any) -> date:
    return value.date() if value is not None else date.today()


def _next(t: Transfer) -> str:
    return f"waits on {t.next_party}" if t.next_party else "closed"


@click.group("transfer")
def transfer_group() -> None:
    """Transfer applications (转学审批) from submission to completion.

    \b
    Example:
        xueji transfer apply --student G430104201503150012 --to-school 4301050002 --class 3班 --reason home_move
        xueji transfer list
    """


@transfer_group.command("apply")
@click.option("--student", "student_no", required=True, help="Student number (学籍号).")
@click.option("--to-school", required=True, help="Receiving school code (your school).")
@click.option("--class", "to_class", required=True, help="Receiving class, e.g. 3班.")
@click.option(
    "--reason", type=click.Choice(list(REASONS)), required=True, help="Why the family moves."
)
@click.option(
    "--explanation", default=None, help="Written explanation (required with --reason other)."
)
@click.option("--evidence", multiple=True, help="Reference of a supporting document (repeatable).")
@click.option(
    "--grade",
    type=int,
    default=None,
    help="Grade joined (default: the current grade; a change is refused).",
)
@db_option
@config_option
def apply_cmd(
    student_no: str,
    to_school: str,
    to_class: str,
    reason: str,
    explanation: str | None,
    evidence: tuple[str, ...],
    grade: int | None,
    db_url: str | None,
    config_path: str | None,
) -> None:
    """Record a guardian's application at the receiving school; prints the new transfer's id.

    \b
    Example:
        xueji transfer apply --student G430104201503150012 --to-school 4301050002 \\
            --class 3班 --reason hukou_move --evidence 户口簿-2026-118

    The id stands alone on the last line: `ID=$(xueji transfer apply ... | tail -n 1)`.
    """
    settings = load_transfer_settings(config_path)
    engine, user = signed_in(db_url)
    app = Application(student_no, to_school, to_class, reason, explanation, evidence, grade)
    t = submit(engine, user, app, settings.chain)
    click.echo(
        f"Transfer {t.id} submitted: student {t.student_no} from school {t.from_school_code} "
        f"to school {t.to_school_code}, class {t.to_class}; {_next(t)}."
    )
    click.echo(str(t.id))


@transfer_group.command("approve")
@click.argument("transfer_id", type=int)
@click.option("--note", default=None, help="A note kept in the event log.")
@db_option
def approve_cmd(transfer_id: int, note: str | None, db_url: str | None) -> None:
    """Approve the step the transfer waits on (the last one moves the student).

    \b
    Example:
        xueji transfer approve 12 --note "材料齐全"
    """
    engine, user = signed_in(db_url)
    t = approve(engine, user, transfer_id, note)
    if t.next_party is None:
        click.echo(
            f"Transfer {t.id} completed by {user.name}: student {t.student_no} is now at school "
            f"{t.to_school_code}, class {t.to_class}."
        )
        return
    click.echo(f"Transfer {t.id} is now {t.state} (by {user.name}); {_next(t)}.")


@transfer_group.command("reject")
@click.argument("transfer_id", type=int)
@click.option("--reason", required=True, help="Why (kept in the event log).")
@db_option
def reject_cmd(transfer_id: int, reason: str, db_url: str | None) -> None:
    """Reject the transfer at the step that waits on you (final).

    \b
    Example:
        xueji transfer reject 12 --reason "户籍证明与住址不符"
    """
    engine, user = signed_in(db_url)
    t = reject(engine, user, transfer_id, reason)
    click.echo(f"Transfer {t.id} rejected by {user.name}: {reason}")


@transfer_group.command("withdraw")
@click.argument("transfer_id", type=int)
@click.option("--note", default=None, help="Why (kept in the event log).")
@db_option
def withdraw_cmd(transfer_id: int, note: str | None, db_url: str | None) -> None:
    """Withdraw an open transfer (the submitting school only).

    \b
    Example:
        xueji transfer withdraw 12 --note "家长撤回申请"
    """
    engine, user = signed_in(db_url)
    t = withdraw(engine, user, transfer_id, note)
    click.echo(f"Transfer {t.id} withdrawn by {user.name}.")


@transfer_group.command("show")
@click.argument("transfer_id", type=int)
@db_option
@config_option
@as_of_option
@json_option
def show_cmd(
    transfer_id: int, db_url: str | None, config_path: str | None, as_of: Any, as_json: bool
) -> None:
    """Show a transfer: its timeline (who, when), who acts next, and checks.

    \b
    Example:
        xueji transfer show 12

    Checks: the student's record, whether residence data corroborates a hukou_move or
    home_move, the transfer's own event log, and the working days it has waited.
    """
    settings = load_transfer_settings(config_path)
    engine, _user = signed_in(db_url)
    d = transfer_detail(
        engine, transfer_id, _day(as_of), settings.holidays, settings.overdue_working_days
    )
    t = d.transfer
    timeline = [
        {
            "event": e.id,
            "at": local_text(e.at),
            "actor": e.actor,
            "org": e.actor_org,
            "action": e.action,
            "from": e.from_state,
            "to": e.to_state,
            "note": e.note,
        }
        for e in d.events
    ]
    student = d.student
    if as_json:
        print_json(
            {
                "transfer_id": t.id,
                "student_no": t.student_no,
                "name": student.name if student else None,
                "id_number": mask_id_text(student.id_number) if student else None,
                "from_school_code": t.from_school_code,
                "to_school_code": t.to_school_code,
                "grade": t.grade,
                "to_class": t.to_class,
                "reason": t.reason,
                "explanation": t.explanation,
                "evidence": t.evidence,
                "state": t.state,
                "next_state": d.next_state,
                "next_party": t.next_party,
                "waiting_since": d.waiting_since,
                "working_days_waited": d.working_days_waited,
                "timeline": timeline,
                "checks": dict(d.checks),
            }
        )
        return
    school = {
        code: f"{code} {s.school_name} (county {s.county_code})" for code, s in d.schools.items()
    }
    who = f"{student.name} ({mask_id_text(student.id_number)})" if student else "?"
    click.echo(f"Transfer {t.id}: student {t.student_no} {who}, grade {t.grade}")
    click.echo(f"  from: {school.get(t.from_school_code, t.from_school_code)}")
    click.echo(f"  to:   {school.get(t.to_school_code, t.to_school_code)}, class {t.to_class}")
    reason = f"{t.reason} ({REASONS[t.reason]})" + (f": {t.explanation}" if t.explanation else "")
    click.echo(
        f"  reason: {reason}" + (f"; evidence: {', '.join(t.evidence)}" if t.evidence else "")
    )
    click.echo(
        f"  state: {t.state}"
        + (f"; next: {d.next_state} by {t.next_party}" if t.next_party else " (closed)")
    )
    print_table(
        "Timeline",
        ["event", "at (UTC+8)", "actor", "org", "action", "from", "to", "note"],
        [
            [r["event"], r["at"], r["actor"], r["org"], r["action"], r["from"], r["to"], r["note"]]
            for r in timeline
        ],
    )
    print_table("Checks", ["check", "result"], [list(c) for c in d.checks])


@transfer_group.command("list")
@click.option("--state", default=None, help="Only transfers in this state.")
@click.option(
    "--mine", "scope", flag_value="mine", help="Transfers your school or bureau takes part in."
)
@click.option("--all", "scope", flag_value="all", help="Every transfer.")
@click.option("--overdue", is_flag=True, help="Only open transfers waiting beyond the limit.")
@db_option
@config_option
@as_of_option
@json_option
def list_cmd(
    state: str | None,
    scope: str | None,
    overdue: bool,
    db_url: str | None,
    config_path: str | None,
    as_of: Any,
    as_json: bool,
) -> None:
    """List transfers; by default those waiting on you (for inspectors: every open one).

    \b
    Example:
        xueji transfer list
        xueji transfer list --all --state completed --json
        xueji transfer list --mine --overdue
    """
    settings = load_transfer_settings(config_path)
    engine, user = signed_in(db_url)
    frame = list_transfers(
        engine,
        user,
        scope=scope or "waiting",
        state=state,
        overdue_limit=settings.overdue_working_days if overdue else None,
        as_of=_day(as_of),
        holidays=settings.holidays,
    )
    columns = [
        "transfer_id",
        "student_no",
        "name",
        "from_school_code",
        "to_school_code",
        "state",
        "next_party",
        "waiting_since",
        "working_days_waited",
    ]
    if as_json:
        print_json(frame.select(columns).to_dicts())
        return
    if frame.is_empty():
        click.echo("No transfers.")
        return
    print_table(
        None,
        ["id", "student", "name", "from", "to", "state", "next", "since", "working days"],
        frame.select(columns).rows(),
    )


@transfer_group.command("verify-log")
@db_option
def verify_log_cmd(db_url: str | None) -> None:
    """Check the hash-chained event log; exit 1 naming the first event edited, deleted or reordered.

    \b
    Example:
        xueji transfer verify-log && echo "log intact"
    """
    engine, _user = signed_in(db_url)
    check = verify_log(engine)
    if check.ok:
        click.echo(
            f"Event log intact: {check.events} events over {check.transfers} transfers; "
            f"head {check.head_hash[:16]}…"
        )
        return
    click.echo(f"Event log TAMPERED: {check.problem}")
    click.get_current_context().exit(1)


COMMANDS: tuple[click.Command, ...] = (transfer_group,)
