"""The transfer chain driven through the CLI: happy paths, rejection and withdrawal at every step."""

from __future__ import annotations

import json

import pytest
from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import S_CROSS, S_SAME, A, B, C, World

SAME_COUNTY = [  # (actor, state reached, next party)
    ("reg_b2", "receiving_school_approved", "receiving_bureau:430104"),
    ("off_104a", "receiving_bureau_approved", "sending_school:4301040001"),
    ("reg_a1", "sending_school_confirmed", "receiving_school:4301040002"),
    ("reg_b1", "completed", None),
]
CROSS_COUNTY = [
    ("reg_c2", "receiving_school_approved", "receiving_bureau:430105"),
    ("off_105a", "receiving_bureau_approved", "sending_school:4301040001"),
    ("reg_a1", "sending_school_confirmed", "sending_bureau:430104"),
    ("off_104a", "sending_bureau_approved", "receiving_school:4301050001"),
    ("reg_c1", "completed", None),
]


def show(w: World, transfer_id: int, user: str = "insp") -> dict:
    result = w.cli(user, "transfer", "show", str(transfer_id), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def school_of(w: World, student_no: str) -> list[tuple[str, str, str]]:
    return [
        tuple(r)
        for r in w.sql(
            "SELECT school_code, class_name, status FROM students WHERE student_no = :s",
            s=student_no,
        )
    ]


def test_same_county_happy_path(any_world: World) -> None:
    w = any_world
    tid = w.apply("reg_b1", S_SAME, B)
    assert show(w, tid)["next_party"] == "receiving_school:4301040002"
    for actor, state, party in SAME_COUNTY:
        result = w.cli(actor, "transfer", "approve", str(tid), "--note", f"ok {actor}")
        assert result.exit_code == 0, result.output
        detail = show(w, tid)
        assert (detail["state"], detail["next_party"]) == (state, party)
    # The sending bureau's step is skipped: one county, one bureau approval.
    timeline = show(w, tid)["timeline"]
    assert [(e["actor"], e["action"], e["to"]) for e in timeline] == [
        ("reg_b1", "apply", "submitted"),
        ("reg_b2", "approve", "receiving_school_approved"),
        ("off_104a", "approve", "receiving_bureau_approved"),
        ("reg_a1", "approve", "sending_school_confirmed"),
        ("reg_b1", "approve", "completed"),
    ]
    assert timeline[2]["note"] == "ok off_104a"
    assert school_of(w, S_SAME) == [(B, "2班", "enrolled")]
    result = w.cli("insp", "transfer", "verify-log")
    assert result.exit_code == 0
    assert "Event log intact: 5 events over 1 transfers" in result.stdout


def test_cross_county_happy_path(any_world: World) -> None:
    w = any_world
    tid = w.apply("reg_c1", S_CROSS, C)
    for actor, state, party in CROSS_COUNTY:
        result = w.cli(actor, "transfer", "approve", str(tid))
        assert result.exit_code == 0, result.output
        detail = show(w, tid)
        assert (detail["state"], detail["next_party"]) == (state, party)
    assert "completed by reg_c1" in result.stdout
    assert "now at school 4301050001, class 2班" in result.stdout
    assert school_of(w, S_CROSS) == [(C, "2班", "enrolled")]
    assert [e["actor"] for e in show(w, tid)["timeline"]] == [
        "reg_c1",
        "reg_c2",
        "off_105a",
        "reg_a1",
        "off_104a",
        "reg_c1",
    ]
    assert w.cli("insp", "transfer", "verify-log").exit_code == 0


def _advance(w: World, tid: int, steps: int) -> None:
    for actor, _state, _party in CROSS_COUNTY[:steps]:
        assert w.cli(actor, "transfer", "approve", str(tid)).exit_code == 0


@pytest.mark.parametrize("done", range(len(CROSS_COUNTY)), ids=lambda n: f"after-{n}-approvals")
def test_rejection_at_every_step(world: World, done: int) -> None:
    tid = world.apply("reg_c1", S_CROSS, C)
    _advance(world, tid, done)
    rejecter = CROSS_COUNTY[done][0]
    result = world.cli(rejecter, "transfer", "reject", str(tid), "--reason", "材料不全")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Transfer {tid} rejected by {rejecter}: 材料不全"
    detail = show(world, tid)
    assert (detail["state"], detail["next_party"]) == ("rejected", None)
    assert detail["timeline"][-1]["note"] == "材料不全"
    assert school_of(world, S_CROSS) == [(A, "1班", "enrolled")]
    # Rejection is final: nobody can approve, reject or withdraw any more.
    again = world.cli("reg_c1", "transfer", "withdraw", str(tid))
    assert again.exit_code == 3
    assert f"already rejected by {rejecter} at " in again.stderr
    # The student may apply again afterwards.
    assert world.apply("reg_c1", S_CROSS, C) == tid + 1


@pytest.mark.parametrize("done", range(len(CROSS_COUNTY)), ids=lambda n: f"after-{n}-approvals")
def test_withdrawal_at_every_step(world: World, done: int) -> None:
    tid = world.apply("reg_c1", S_CROSS, C)
    _advance(world, tid, done)
    # Any registrar of the submitting school may withdraw, not only the submitter.
    result = world.cli("reg_c2", "transfer", "withdraw", str(tid), "--note", "家长撤回")
    assert result.exit_code == 0, result.output
    assert show(world, tid)["state"] == "withdrawn"
    approve = world.cli(CROSS_COUNTY[done][0], "transfer", "approve", str(tid))
    assert approve.exit_code == 3
    assert f"Error: transfer {tid} already withdrawn by reg_c2 at " in approve.stderr
    assert school_of(world, S_CROSS) == [(A, "1班", "enrolled")]


def test_completed_transfer_cannot_be_withdrawn(world: World) -> None:
    tid = world.apply("reg_c1", S_CROSS, C)
    _advance(world, tid, len(CROSS_COUNTY))
    result = world.cli("reg_c1", "transfer", "withdraw", str(tid))
    assert result.exit_code == 3
    assert "already approved by reg_c1 at " in result.stderr
    assert "(now completed)" in result.stderr


def test_reject_needs_a_reason(world: World) -> None:
    tid = world.apply("reg_c1", S_CROSS, C)
    result = world.cli("reg_c2", "transfer", "reject", str(tid), "--reason", "  ")
    assert result.exit_code == 3
    assert "a rejection needs a reason" in result.stderr
    assert show(world, tid)["state"] == "submitted"


def test_evidence_and_explanation_are_kept(world: World) -> None:
    result = world.cli(
        "reg_c1",
        "transfer",
        "apply",
        "--student", S_CROSS,
        "--to-school", C,
        "--class", "3班",
        "--reason", "other",
        "--explanation", "随祖父母生活",
        "--evidence", "监护证明-01",
        "--evidence", "居住证-77",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    detail = show(world, int(result.stdout.splitlines()[-1]))
    assert detail["reason"] == "other"
    assert detail["explanation"] == "随祖父母生活"
    assert detail["evidence"] == ["监护证明-01", "居住证-77"]
    assert detail["to_class"] == "3班"
    assert detail["id_number"] == "430104********0012"
