"""Races and atomicity: two processes approving one step; a step whose last write fails."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import S_CROSS, S_SAME, B, C, World
from sqlalchemy import Engine, event

from xueji.db import make_engine
from xueji.errors import WorkflowRefused
from xueji.workflow import Application, approve, submit, verify_log

# A worker imports the workflow once, says "ready", then for each job on stdin signs in
# with a token and approves, answering with the exit code the CLI would give and the
# message. The parent releases both workers with one write each, so their approvals
# start within a millisecond of each other.
WORKER = r"""
import json, sys
from xueji.db import make_engine
from xueji.errors import XuejiError
from xueji.workflow import approve, authenticate
print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    engine = make_engine(job["db"])
    try:
        approve(engine, authenticate(engine, job["token"]), job["transfer"])
        answer = {"code": 0, "err": ""}
    except XuejiError as exc:
        answer = {"code": exc.exit_code, "err": str(exc)}
    engine.dispose()
    print(json.dumps(answer), flush=True)
"""


@contextmanager
def workers(n: int) -> Iterator[list[subprocess.Popen[str]]]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        yield procs
    finally:
        for p in procs:
            assert p.stdin is not None and p.stdout is not None
            p.stdin.close()
            p.wait(timeout=30)
            p.stdout.close()


def race(procs: list[subprocess.Popen[str]], jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = [json.dumps(job) + "\n" for job in jobs]
    for p, line in zip(procs, lines, strict=True):
        assert p.stdin is not None
        p.stdin.write(line)
    for p in procs:
        assert p.stdin is not None
        p.stdin.flush()
    return [json.loads(p.stdout.readline()) for p in procs if p.stdout is not None]


def state(w: World, tid: int) -> tuple[str, int]:
    return w.sql("SELECT state, version FROM transfers WHERE id = :t", t=tid)[0]


def test_two_processes_approving_the_same_step(any_world: World) -> None:
    w = any_world
    tid = submit(w.engine, w.users["reg_c1"], Application(S_CROSS, C, "2班", "home_move")).id
    assert tid is not None
    rounds = [
        # (the two users who approve at once, state reached by the winner)
        (("reg_c2", "reg_c2"), "receiving_school_approved"),  # one person, two terminals
        (("off_105a", "off_105b"), "receiving_bureau_approved"),  # two officers of one bureau
        (("reg_a1", "reg_a2"), "sending_school_confirmed"),
        (("off_104a", "off_104b"), "sending_bureau_approved"),
        (("reg_c1", "reg_c2"), "completed"),  # the step that also moves the student
    ]
    with workers(2) as procs:
        for users, reached in rounds:
            version = state(w, tid)[1]
            jobs = [{"db": w.url, "token": w.tokens[u], "transfer": tid} for u in users]
            results = race(procs, jobs)
            codes = sorted(r["code"] for r in results)
            assert codes == [0, 3], results
            loser = next(r for r in results if r["code"] == 3)
            winner = users[[r["code"] for r in results].index(0)]
            assert loser["err"].startswith(f"transfer {tid} already approved by {winner} at "), (
                loser
            )
            assert state(w, tid) == (reached, version + 1)
    check = verify_log(w.engine)
    assert check.ok, check.problem
    assert check.events == 6
    assert w.sql("SELECT school_code, status FROM students WHERE student_no = :s", s=S_CROSS) == [
        (C, "enrolled")
    ]


@contextmanager
def failing(engine: Engine, statement_start: str) -> Iterator[None]:
    """Make the first statement that starts with ``statement_start`` fail."""

    def boom(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(statement_start):
            raise RuntimeError(f"injected failure at: {statement.split()[0:3]}")

    event.listen(engine, "before_cursor_execute", boom)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", boom)


def snapshot(w: World) -> list[list[Any]]:
    return [
        w.sql("SELECT id, state, version, next_party FROM transfers ORDER BY id"),
        w.sql("SELECT id, hash FROM transfer_events ORDER BY id"),
        w.sql("SELECT last_event_id, last_hash FROM event_chain_head"),
        w.sql(
            "SELECT student_no, school_code, class_name, status FROM students ORDER BY student_no, school_code"
        ),
    ]


def test_completion_whose_last_write_fails_changes_nothing(any_world: World) -> None:
    w = any_world
    t = submit(w.engine, w.users["reg_b1"], Application(S_SAME, B, "2班", "home_move"))
    assert t.id is not None
    for actor in ("reg_b2", "off_104a", "reg_a1"):
        approve(w.engine, w.users[actor], t.id)
    before = snapshot(w)
    # The completing step writes the student's record, the transfer, the event, and
    # last the chain head: fail that last write.
    with (
        failing(w.engine, "UPDATE EVENT_CHAIN_HEAD"),
        pytest.raises(RuntimeError, match="injected"),
    ):
        approve(w.engine, w.users["reg_b1"], t.id)
    assert snapshot(w) == before
    assert verify_log(w.engine).ok
    # Nothing was half-done: the same step succeeds afterwards.
    assert approve(w.engine, w.users["reg_b1"], t.id).state == "completed"
    assert w.sql("SELECT school_code FROM students WHERE student_no = :s", s=S_SAME) == [(B,)]


def test_submission_whose_last_write_fails_changes_nothing(any_world: World) -> None:
    w = any_world
    before = snapshot(w)
    with (
        failing(w.engine, "UPDATE EVENT_CHAIN_HEAD"),
        pytest.raises(RuntimeError, match="injected"),
    ):
        submit(w.engine, w.users["reg_b1"], Application(S_SAME, B, "2班", "home_move"))
    assert snapshot(w) == before
    assert (
        submit(w.engine, w.users["reg_b1"], Application(S_SAME, B, "2班", "home_move")).id
        is not None
    )


@pytest.mark.postgres
def test_a_stale_write_is_refused_with_what_happened(pg_world: World) -> None:
    """Both read version 2; the other commits first; our UPDATE ... WHERE version = 2 matches nothing."""
    w = pg_world
    t = submit(w.engine, w.users["reg_c1"], Application(S_CROSS, C, "2班", "home_move"))
    assert t.id is not None
    approve(w.engine, w.users["reg_c2"], t.id)
    other = make_engine(w.url)
    fired = []

    def competitor(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE TRANSFERS") and not fired:
            fired.append(True)
            assert t.id is not None
            approve(other, w.users["off_105b"], t.id)

    event.listen(w.engine, "before_cursor_execute", competitor)
    try:
        with pytest.raises(
            WorkflowRefused, match=f"^transfer {t.id} already approved by off_105b at "
        ):
            approve(w.engine, w.users["off_105a"], t.id)
    finally:
        event.remove(w.engine, "before_cursor_execute", competitor)
        other.dispose()
    assert fired
    assert state(w, t.id) == ("receiving_bureau_approved", 3)
    assert [r[0] for r in w.sql("SELECT actor FROM transfer_events ORDER BY id")] == [
        "reg_c1",
        "reg_c2",
        "off_105b",
    ]
    assert verify_log(w.engine).ok


def test_sqlite_writers_take_turns(world: World) -> None:
    """On SQLite a step holds the write lock from its first read, so a second writer waits its turn."""
    t = submit(world.engine, world.users["reg_c1"], Application(S_CROSS, C, "2班", "home_move"))
    assert t.id is not None
    path = world.url.removeprefix("sqlite:///")
    seen: list[str] = []

    def competitor(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE TRANSFERS") and not seen:
            # Another connection cannot even begin a write while this step holds the lock.
            other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                seen.append("began")
            except sqlite3.OperationalError as exc:
                seen.append(str(exc))
            finally:
                other.close()

    event.listen(world.engine, "before_cursor_execute", competitor)
    try:
        approve(world.engine, world.users["reg_c2"], t.id)
    finally:
        event.remove(world.engine, "before_cursor_execute", competitor)
    assert seen == ["database is locked"]
    assert state(world, t.id) == ("receiving_school_approved", 2)
