"""Random sequences of actions by random users (hypothesis stateful testing).

A small model of contract section 7, written independently of the service, says for
every action whether it must succeed. After every step the database must agree with
the model; at the end every completed transfer must carry every required approval by
the entitled party, and the event chain must verify.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import (
    POOL,
    REGISTRY,
    S_BACK,
    S_CROSS,
    S_GRADUATING,
    S_JUNIOR,
    S_SAME,
    S_SUSPENDED,
    SCHOOLS,
    USERS,
    A,
    B,
    C,
    J,
    Template,
)
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from xueji.db import make_engine
from xueji.errors import NotAuthorised, NotFound, WorkflowRefused, XuejiError
from xueji.workflow import Application, approve, reject, submit, verify_log, withdraw

COUNTY = dict(zip(SCHOOLS["school_code"], SCHOOLS["county_code"], strict=True))
LEVEL = dict(zip(SCHOOLS["school_code"], SCHOOLS["level"], strict=True))
HOLDS = {"primary": range(1, 7), "junior": range(7, 10)}
STUDENTS = [S_SAME, S_CROSS, S_BACK, S_SUSPENDED, S_GRADUATING, S_JUNIOR, POOL[0]]
USER_NAMES = sorted(USERS)


@dataclass
class Record:
    school: str
    grade: int
    status: str


@dataclass
class ModelTransfer:
    """What the model knows of one transfer: its required steps and how far it got."""

    student: str
    origin: str
    target: str
    submitter: str
    steps: list[tuple[str, tuple[str, str], bool]]  # (state, entitled (role, org), four eyes)
    reached: int = 0  # index into steps
    closed: str | None = None  # rejected / withdrawn
    actors: list[str] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.closed is None and self.reached < len(self.steps) - 1


def required_steps(origin: str, target: str) -> list[tuple[str, tuple[str, str], bool]]:
    """Contract section 7, straight from its text."""
    school_r, school_s = ("school_registrar", target), ("school_registrar", origin)
    bureau_r, bureau_s = ("bureau_officer", COUNTY[target]), ("bureau_officer", COUNTY[origin])
    steps = [
        ("submitted", school_r, False),
        ("receiving_school_approved", school_r, True),
        ("receiving_bureau_approved", bureau_r, False),
        ("sending_school_confirmed", school_s, False),
    ]
    if COUNTY[origin] != COUNTY[target]:
        steps.append(("sending_bureau_approved", bureau_s, False))
    steps.append(("completed", school_r, False))
    return steps


def may_act(m: ModelTransfer, user: str, action: str) -> bool:
    if not m.open:
        return False
    if action == "withdraw":
        return USERS[user] == ("school_registrar", m.target)
    _state, entitled, four_eyes = m.steps[m.reached + 1]
    return USERS[user] == entitled and not (four_eyes and user == m.submitter)


class WorkflowMachine(RuleBasedStateMachine):
    """Drives the real service against the model."""

    template: Template
    folder: Path

    def __init__(self) -> None:
        super().__init__()
        path = self.folder / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template.url.removeprefix("sqlite:///"), path)
        self.engine: Engine = make_engine(f"sqlite:///{path}")
        self.records: dict[str, list[Record]] = {}
        for r in REGISTRY.iter_rows(named=True):
            self.records.setdefault(r["student_no"], []).append(
                Record(r["school_code"], r["grade"], r["status"])
            )
        self.transfers: dict[int, ModelTransfer] = {}

    def teardown(self) -> None:
        self.engine.dispose()

    # --- the model's submission guards (contract section 7) --------------------------
    def may_submit(self, user: str, student: str, target: str) -> bool:
        if USERS[user] != ("school_registrar", target):
            return False
        active = [r for r in self.records.get(student, []) if r.status in ("enrolled", "suspended")]
        if len(active) != 1 or active[0].status == "suspended":
            return False
        record = active[0]
        if any(m.student == student and m.open for m in self.transfers.values()):
            return False
        return (
            record.grade not in (6, 9, 12)
            and record.grade in HOLDS[LEVEL[target]]
            and record.school != target
        )

    @rule(
        user=st.sampled_from(USER_NAMES),
        student=st.sampled_from(STUDENTS),
        school=st.sampled_from([A, B, C, J]),
    )
    def apply(self, user: str, student: str, school: str) -> None:
        target = school
        expected = self.may_submit(user, student, target)
        app = Application(student, target, "2班", "home_move")
        try:
            t = submit(self.engine, self.template.users[user], app)
        except (WorkflowRefused, NotAuthorised, NotFound) as exc:
            assert not expected, f"{user} could not submit {student} → {target}: {exc}"
            return
        assert expected, f"{user} submitted {student} → {target}, which the model refuses"
        assert t.id is not None
        origin = next(r.school for r in self.records[student] if r.status == "enrolled")
        self.transfers[t.id] = ModelTransfer(
            student, origin, target, user, required_steps(origin, target)
        )
        self.transfers[t.id].actors.append(user)

    @rule(data=st.data())
    def the_receiving_school_applies(self, data: st.DataObject) -> None:
        choices = [
            (u, s, t)
            for u in USER_NAMES
            for s in STUDENTS
            for t in (A, B, C, J)
            if self.may_submit(u, s, t)
        ]
        if choices:
            self.apply(*data.draw(st.sampled_from(choices)))

    def _act(self, user: str, tid: int, action: str, expected: bool) -> None:
        call = {
            "approve": approve,
            "reject": lambda e, u, t: reject(e, u, t, "不符合条件"),
            "withdraw": withdraw,
        }
        try:
            call[action](self.engine, self.template.users[user], tid)
        except XuejiError as exc:
            assert not expected, f"{user} could not {action} transfer {tid}: {exc}"
            assert isinstance(exc, NotFound) == (tid not in self.transfers)
            return
        assert expected, f"{user} could {action} transfer {tid}, which the model refuses"
        m = self.transfers[tid]
        if action == "approve":
            m.reached += 1
            m.actors.append(user)
            if m.steps[m.reached][0] == "completed":
                event("a transfer completed")
                record = next(r for r in self.records[m.student] if r.status == "enrolled")
                record.school = m.target
        else:
            m.closed = {"reject": "rejected", "withdraw": "withdrawn"}[action]
            event(f"a transfer {m.closed} at {m.steps[m.reached][0]}")

    @rule(
        data=st.data(),
        user=st.sampled_from(USER_NAMES),
        action=st.sampled_from(["approve", "reject", "withdraw"]),
    )
    def anyone_acts(self, data: st.DataObject, user: str, action: str) -> None:
        tid = data.draw(st.sampled_from([*self.transfers, len(self.transfers) + 1]))
        m = self.transfers.get(tid)
        self._act(user, tid, action, m is not None and may_act(m, user, action))

    @precondition(lambda self: bool(self.transfers))
    @rule(data=st.data(), action=st.sampled_from(["approve", "reject", "withdraw"]))
    def someone_involved_acts(self, data: st.DataObject, action: str) -> None:
        """Users of the transfer's own schools and bureaus, the submitter above all, try out of turn."""
        tid = data.draw(st.sampled_from(sorted(self.transfers)))
        m = self.transfers[tid]
        orgs = {m.origin, m.target, COUNTY[m.origin], COUNTY[m.target]}
        involved = [u for u in USER_NAMES if USERS[u][1] in orgs]
        user = data.draw(st.sampled_from([m.submitter, *involved]))
        self._act(user, tid, action, may_act(m, user, action))

    @precondition(lambda self: any(m.open for m in self.transfers.values()))
    @rule(data=st.data(), action=st.sampled_from(["approve"] * 14 + ["reject", "withdraw"]))
    def the_entitled_party_acts(self, data: st.DataObject, action: str) -> None:
        tid = data.draw(st.sampled_from(sorted(t for t, m in self.transfers.items() if m.open)))
        entitled = [u for u in USER_NAMES if may_act(self.transfers[tid], u, action)]
        if entitled:
            self._act(data.draw(st.sampled_from(entitled)), tid, action, True)

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, state, version, student_no FROM transfers"
            ).all()
            events = conn.exec_driver_sql(
                "SELECT transfer_id, action, to_state, actor FROM transfer_events ORDER BY id"
            ).all()
        assert {r.id for r in rows} == set(self.transfers)
        for r in rows:
            m = self.transfers[r.id]
            assert r.state == (m.closed or m.steps[m.reached][0])
            own = [e for e in events if e.transfer_id == r.id]
            assert r.version == len(own)
            approvals = [e for e in own if e.action in ("apply", "approve")]
            # Every state reached was reached by its entitled party, in the chain's order.
            assert [e.to_state for e in approvals] == [s[0] for s in m.steps[: m.reached + 1]]
            for e, (_state, entitled, four_eyes) in zip(approvals, m.steps, strict=False):
                assert USERS[e.actor] == entitled
                assert not (four_eyes and e.actor == m.submitter)
            if r.state == "completed":
                assert len(approvals) == len(m.steps)
        open_students = [
            r.student_no for r in rows if r.state not in ("completed", "rejected", "withdrawn")
        ]
        assert len(open_students) == len(set(open_students))

    def check_chain(self) -> None:
        check = verify_log(self.engine)
        assert check.ok, check.problem


def test_random_sequences_keep_every_rule(sqlite_template: Template, tmp_path: Path) -> None:
    class Machine(WorkflowMachine):
        template = sqlite_template
        folder = tmp_path

        def teardown(self) -> None:
            self.check_chain()
            super().teardown()

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
