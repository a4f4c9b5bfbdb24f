"""Editing, deleting or reordering event rows in the database is caught by ``verify-log``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import S_CROSS, S_SAME, B, C, World
from sqlalchemy import select

from xueji.db import session_scope
from xueji.db.models import TransferEvent
from xueji.workflow.events import CONTENT_COLUMNS, event_hash


def history(w: World) -> None:
    """Events 1–5: T1 apply, T2 apply, T1 approve, T2 approve, T1 approve."""
    t1 = w.apply("reg_b1", S_SAME, B)
    t2 = w.apply("reg_c1", S_CROSS, C)
    for actor, tid in (("reg_b2", t1), ("reg_c2", t2), ("off_104a", t1)):
        assert w.cli(actor, "transfer", "approve", str(tid)).exit_code == 0
    assert (t1, t2) == (1, 2)


def verify(w: World) -> tuple[int, str]:
    result = w.cli("insp", "transfer", "verify-log")
    return result.exit_code, result.stdout.strip()


def rehash(w: World, event_id: int) -> None:
    """What an attacker who knows the scheme does after editing: recompute that row's hash."""
    with session_scope(w.engine) as session:
        e = session.scalars(select(TransferEvent).where(TransferEvent.id == event_id)).one()
        e.hash = event_hash(e.prev_hash, {c: getattr(e, c) for c in CONTENT_COLUMNS})


def swap(w: World) -> None:
    w.sql("UPDATE transfer_events SET id = -1 WHERE id = 2")
    w.sql("UPDATE transfer_events SET id = 2 WHERE id = 3")
    w.sql("UPDATE transfer_events SET id = 3 WHERE id = -1")


def edit_and_rehash(w: World) -> None:
    w.sql("UPDATE transfer_events SET actor = 'reg_b1' WHERE id = 3")
    rehash(w, 3)


def delete_newest_and_move_head(w: World) -> None:
    w.sql("DELETE FROM transfer_events WHERE id = 5")
    w.sql(
        "UPDATE event_chain_head SET last_event_id = 4, "
        "last_hash = (SELECT hash FROM transfer_events WHERE id = 4)"
    )


TAMPERING: list[tuple[str, Callable[[World], None], str]] = [
    (
        "edited-note",
        lambda w: w.sql("UPDATE transfer_events SET note = '已核实' WHERE id = 3"),
        "event 3 (transfer 1) was edited: its content no longer matches its hash",
    ),
    (
        "edited-time",
        lambda w: w.sql("UPDATE transfer_events SET at = :t WHERE id = 4", t="2026-01-01 00:00:00"),
        "event 4 (transfer 2) was edited: its content no longer matches its hash",
    ),
    (
        "deleted-middle",
        lambda w: w.sql("DELETE FROM transfer_events WHERE id = 3"),
        "event 3 was deleted: event 4 (transfer 2) links to an event that is missing",
    ),
    (
        "deleted-first-two",
        lambda w: w.sql("DELETE FROM transfer_events WHERE id IN (1, 2)"),
        "events 1–2 were deleted: event 3 (transfer 1) links to an event that is missing",
    ),
    (
        "deleted-newest",
        lambda w: w.sql("DELETE FROM transfer_events WHERE id = 5"),
        "event 5 was deleted: the chain head names event 5",
    ),
    (
        "reordered",
        swap,
        "event 2 (transfer 1) is out of order (reordered): it was written after event 3",
    ),
    (
        "edited-and-rehashed",
        edit_and_rehash,
        "event 3 (transfer 1) was edited and re-hashed: event 4 no longer links to it",
    ),
    (
        "deleted-newest-and-head-moved-back",
        delete_newest_and_move_head,
        "transfer 1 is in state receiving_bureau_approved (version 3) but its 2 event(s) end in "
        "receiving_school_approved (event 3): the row was edited or its newest events deleted",
    ),
    (
        "transfer-state-edited",
        lambda w: w.sql("UPDATE transfers SET state = 'sending_school_confirmed' WHERE id = 2"),
        "transfer 2 is in state sending_school_confirmed (version 2) but its 2 event(s) end in "
        "receiving_school_approved (event 4): the row was edited or its newest events deleted",
    ),
    (
        "transfer-school-edited",
        lambda w: w.sql("UPDATE transfers SET to_school_code = '4301040003' WHERE id = 2"),
        "transfer 2 was edited: its row no longer matches its submission (event 2)",
    ),
]


@pytest.mark.parametrize(
    ("tamper", "message"), [t[1:] for t in TAMPERING], ids=[t[0] for t in TAMPERING]
)
def test_verify_log_names_the_first_tampered_event(
    any_world: World, tamper: Callable[[World], None], message: str
) -> None:
    history(any_world)
    code, out = verify(any_world)
    assert code == 0
    assert out.startswith("Event log intact: 5 events over 2 transfers; head ")
    tamper(any_world)
    assert verify(any_world) == (1, f"Event log TAMPERED: {message}")


def test_show_flags_a_tampered_transfer(world: World) -> None:
    history(world)
    world.sql("UPDATE transfer_events SET note = 'x' WHERE id = 3")
    out = world.cli("insp", "transfer", "show", "1").stdout
    assert "event 3 was edited: its content no longer matches its hash" in out
    assert "intact" in world.cli("insp", "transfer", "show", "2").stdout
