"""Who may act at which step: every role × every step, own org and other org, through the CLI."""

from __future__ import annotations

import json

import pytest
from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import S_CROSS, S_SAME, USERS, B, C, World

from xueji.workflow import Application, approve, submit

# Each chain: the transfer, who submits, the canonical actor of each later step and,
# for each step, the (role, org) entitled to act there.
CHAINS = {
    "cross-county": {
        "app": Application(S_CROSS, C, "2班", "home_move"),
        "submitter": "reg_c1",
        "steps": [
            ("receiving_school_approved", "reg_c2", ("school_registrar", C)),
            ("receiving_bureau_approved", "off_105a", ("bureau_officer", "430105")),
            ("sending_school_confirmed", "reg_a1", ("school_registrar", "4301040001")),
            ("sending_bureau_approved", "off_104a", ("bureau_officer", "430104")),
            ("completed", "reg_c1", ("school_registrar", C)),
        ],
    },
    "same-county": {
        "app": Application(S_SAME, B, "2班", "home_move"),
        "submitter": "reg_b1",
        "steps": [
            ("receiving_school_approved", "reg_b2", ("school_registrar", B)),
            ("receiving_bureau_approved", "off_104a", ("bureau_officer", "430104")),
            ("sending_school_confirmed", "reg_a1", ("school_registrar", "4301040001")),
            ("completed", "reg_b1", ("school_registrar", B)),
        ],
    },
}
# Every role, of the transfer's own orgs and of others: the submitter and a colleague at
# the receiving school, the sending school, an unrelated school, both bureaus, an
# unrelated bureau, an inspector and an admin.
ACTORS = {
    "cross-county": [
        "reg_c1",
        "reg_c2",
        "reg_a1",
        "reg_b1",
        "off_105a",
        "off_104a",
        "off_111",
        "insp",
        "admin",
    ],
    "same-county": [
        "reg_b1",
        "reg_b2",
        "reg_a1",
        "reg_c1",
        "off_104a",
        "off_105a",
        "off_111",
        "insp",
        "admin",
    ],
}
CASES = [(chain, done) for chain, spec in CHAINS.items() for done in range(len(spec["steps"]))]


def expected_exit(chain: str, done: int, actor: str, action: str) -> int:
    """0 for the party of the step, 4 for roles that never act, 3 for everyone else."""
    spec = CHAINS[chain]
    role, org = USERS[actor]
    if role in ("inspector", "admin"):
        return 4
    if action == "withdraw":
        return 0 if (role, org) == ("school_registrar", spec["app"].to_school_code) else 3
    state, _canonical, party = spec["steps"][done]
    four_eyes = state == "receiving_school_approved" and actor == spec["submitter"]
    return 0 if (role, org) == party and not four_eyes else 3


def prepared(w: World, chain: str, done: int) -> int:
    """A transfer of ``chain`` with its first ``done`` approvals given (through the library)."""
    spec = CHAINS[chain]
    t = submit(w.engine, w.users[spec["submitter"]], spec["app"])
    assert t.id is not None
    for _state, actor, _party in spec["steps"][:done]:
        approve(w.engine, w.users[actor], t.id)
    return t.id


def state_of(w: World, tid: int) -> tuple[str, int]:
    return w.sql("SELECT state, version FROM transfers WHERE id = :t", t=tid)[0]


@pytest.mark.parametrize("action", ["approve", "reject", "withdraw"])
@pytest.mark.parametrize(("chain", "done"), CASES, ids=[f"{c}-step{d + 2}" for c, d in CASES])
def test_authorisation_matrix(world: World, chain: str, done: int, action: str) -> None:
    """Each actor tries ``action`` at the step; refusals change nothing, the entitled one succeeds."""
    tid = prepared(world, chain, done)
    before = state_of(world, tid)
    extra = ["--reason", "不符合条件"] if action == "reject" else []
    wanted = {actor: expected_exit(chain, done, actor, action) for actor in ACTORS[chain]}
    # Refused actors first (they change nothing), then whoever may act.
    for actor in sorted(wanted, key=lambda a: wanted[a] == 0):
        result = world.cli(actor, "transfer", action, str(tid), *extra)
        assert result.exit_code == wanted[actor], f"{actor}: {result.output}"
        if wanted[actor] == 0:
            step_state = CHAINS[chain]["steps"][done][0]
            after = {"approve": step_state, "reject": "rejected", "withdraw": "withdrawn"}[action]
            assert state_of(world, tid) == (after, before[1] + 1)
            break
        assert state_of(world, tid) == before, actor
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, actor
        if wanted[actor] == 4:
            assert "can read transfers but not act on them" in result.stderr
    else:
        pytest.fail("nobody could act")


def test_everyone_signed_in_can_read(world: World) -> None:
    tid = prepared(world, "cross-county", 2)
    for actor in USERS:
        assert world.cli(actor, "transfer", "show", str(tid)).exit_code == 0
        assert world.cli(actor, "transfer", "list", "--all").exit_code == 0


@pytest.mark.parametrize(
    ("done", "actor", "message"),
    [
        (0, "reg_c1", "same person as submitter: reg_c1 submitted transfer {t}; another registrar of "
         "4301050001 must review it (receiving_school_approved)"),
        (0, "off_105a", "not your turn: transfer {t} waits on receiving_school:4301050001 "
         "(receiving_school_approved); you act at receiving_bureau_approved"),
        (0, "reg_a1", "not your turn: transfer {t} waits on receiving_school:4301050001 "
         "(receiving_school_approved); you act at sending_school_confirmed"),
        (1, "reg_b1", "not your school: transfer {t} goes from school 4301040001 to school 4301050001; "
         "you act for 4301040002"),
        (1, "off_111", "not your county: transfer {t} goes from county 430104 to county 430105; "
         "you act for 430111"),
        (2, "off_105b", "transfer {t} already approved by off_105a at {off_105a}; it now waits on "
         "sending_school:4301040001"),
        (3, "reg_c2", "not your turn: transfer {t} waits on sending_bureau:430104 "
         "(sending_bureau_approved); you act at completed"),
        (4, "reg_a2", "transfer {t} already approved by reg_a1 at {reg_a1}; it now waits on "
         "receiving_school:4301050001"),
    ],
    ids=["four-eyes", "bureau-too-early", "sending-school-too-early", "other-school", "other-county",
         "double-approval-by-colleague", "receiving-school-waits-for-completion", "sending-school-done"],
)  # fmt: skip
def test_refusal_messages(world: World, done: int, actor: str, message: str) -> None:
    tid = prepared(world, "cross-county", done)
    shown = json.loads(world.cli("insp", "transfer", "show", str(tid), "--json").stdout)
    times = {e["actor"]: e["at"] for e in shown["timeline"]}
    result = world.cli(actor, "transfer", "approve", str(tid))
    assert result.exit_code == 3
    assert result.stderr == f"Error: {message.format(t=tid, **times)}\n"


def test_four_eyes_a_colleague_may_review(world: World) -> None:
    tid = prepared(world, "cross-county", 0)
    assert world.cli("reg_c1", "transfer", "approve", str(tid)).exit_code == 3
    assert world.cli("reg_c1", "transfer", "reject", str(tid), "--reason", "x").exit_code == 3
    assert world.cli("reg_c2", "transfer", "approve", str(tid)).exit_code == 0
    # The submitter may still act at later steps of their school (completion).
    assert state_of(world, tid) == ("receiving_school_approved", 2)


def test_double_approval_by_the_same_person(world: World) -> None:
    tid = prepared(world, "cross-county", 1)
    first = world.cli("off_105a", "transfer", "approve", str(tid))
    assert first.exit_code == 0
    second = world.cli("off_105a", "transfer", "approve", str(tid))
    assert second.exit_code == 3
    assert second.stderr.startswith(f"Error: transfer {tid} already approved by off_105a at ")
    assert second.stderr.endswith("; it now waits on sending_school:4301040001\n")
    assert state_of(world, tid) == ("receiving_bureau_approved", 3)
    assert world.sql("SELECT count(*) FROM transfer_events WHERE transfer_id = :t", t=tid) == [(3,)]


def test_submission_is_for_the_receiving_school(world: World) -> None:
    args = ["--student", S_CROSS, "--to-school", C, "--class", "2班", "--reason", "home_move"]
    cases = {
        "reg_a1": (3, f"not your school: only registrars of the receiving school {C} may submit its transfers; "
                      "you act for 4301040001"),
        "off_105a": (3, "not your turn: transfers are submitted by the receiving school (submitted)"),
        "insp": (4, "insp (inspector) can read transfers but not submit them"),
        "admin": (4, "admin (admin) can read transfers but not submit them"),
    }  # fmt: skip
    for actor, (code, message) in cases.items():
        result = world.cli(actor, "transfer", "apply", *args)
        assert (result.exit_code, result.stderr) == (code, f"Error: {message}\n"), actor
    assert world.cli("reg_c2", "transfer", "apply", *args).exit_code == 0


def test_missing_and_invalid_credentials_exit_4(world: World) -> None:
    result = world.cli(None, "transfer", "list")
    assert result.exit_code == 4
    assert (
        result.stderr == "Error: no credentials: set XUEJI_TOKEN or run `xueji login --token T`\n"
    )
    world.tokens = {**world.tokens, "forged": "xj_000000000000_secret"}
    result = world.cli("forged", "transfer", "approve", "1")
    assert result.exit_code == 4
    assert "invalid token" in result.stderr
