"""Every submission guard of contract section 7 refuses with its own message (exit 3)."""

from __future__ import annotations

import pytest
from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import (
    S_CROSS,
    S_DUPLICATE,
    S_GONE,
    S_GRADUATING,
    S_JUNIOR,
    S_SAME,
    S_SUSPENDED,
    A,
    B,
    C,
    World,
)

GUARDS = [
    # (user, student, receiving school, extra options, message)
    pytest.param(
        "reg_b1", S_GONE, B, [],
        f"guard failed: student {S_GONE} has no active record (enrolled or suspended) at a sending school: "
        f"transferred_out at {A}",
        id="no-active-record",
    ),
    pytest.param(
        "reg_b1", "G999999999999999999", B, [],
        "guard failed: student G999999999999999999 has no active record (enrolled or suspended) at a "
        "sending school: no record at all",
        id="unknown-student",
    ),
    pytest.param(
        "reg_b1", S_SUSPENDED, B, [],
        f"guard failed: student {S_SUSPENDED} is suspended (休学) at school {A}; resume (复学) before a transfer",
        id="suspended",
    ),
    pytest.param(
        "reg_b1", S_GRADUATING, B, [],
        f"guard failed: student {S_GRADUATING} is in grade 6, a graduating grade (6, 9, 12): no transfer in that year",
        id="graduating-grade",
    ),
    pytest.param(
        "reg_b1", S_SAME, B, ["--grade", "4"],
        f"guard failed: a transfer keeps the grade: student {S_SAME} is in grade 3, the application asks for grade 4",
        id="change-of-grade",
    ),
    pytest.param(
        "reg_b1", S_JUNIOR, B, [],
        f"guard failed: receiving school {B} (primary) cannot hold grade 7 (it holds grades 1–6)",
        id="level-cannot-hold-grade",
    ),
    pytest.param(
        "reg_a1", S_SAME, A, [],
        f"guard failed: student {S_SAME} is already at school {A}: the sending school equals the receiving school",
        id="same-school",
    ),
    pytest.param(
        "reg_b1", S_DUPLICATE, B, [],
        f"guard failed: student {S_DUPLICATE} has 2 active records (schools {A}, {C}); resolve the duplicate "
        "record (重复学籍) first",
        id="two-active-records",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("user", "student", "school", "extra", "message"), GUARDS)
def test_guard_refuses_with_its_message(
    world: World, user: str, student: str, school: str, extra: list[str], message: str
) -> None:
    args = [
        "--student",
        student,
        "--to-school",
        school,
        "--class",
        "2班",
        "--reason",
        "home_move",
        *extra,
    ]
    result = world.cli(user, "transfer", "apply", *args)
    assert result.exit_code == 3, result.output
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""
    assert world.sql("SELECT count(*) FROM transfers") == [(0,)]
    assert world.sql("SELECT count(*) FROM transfer_events") == [(0,)]


def test_another_open_transfer(world: World) -> None:
    first = world.apply("reg_c1", S_CROSS, C)
    result = world.cli(
        "reg_b1",
        "transfer",
        "apply",
        "--student",
        S_CROSS,
        "--to-school",
        B,
        "--class",
        "1班",
        "--reason",
        "parent_job",
    )
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: guard failed: student {S_CROSS} already has open transfer {first} (submitted); "
        "withdraw or finish it first\n"
    )


def test_the_database_itself_refuses_a_second_open_transfer(world: World) -> None:
    """Two submissions passing the guard at the same moment still cannot both be written."""
    world.apply("reg_c1", S_CROSS, C)
    with pytest.raises(Exception, match="(?i)unique"):
        world.sql(
            "INSERT INTO transfers (student_no, from_school_code, to_school_code, to_class, reason, evidence, steps, "
            "state, version, submitted_by, submitted_at) VALUES (:s, :a, :b, '1班', 'home_move', '[]', '[]', "
            "'receiving_bureau_approved', 1, 'x', '2026-11-20 00:00:00')",
            s=S_CROSS, a=A, b=B,
        )  # fmt: skip


def test_other_needs_an_explanation(world: World) -> None:
    args = ["--student", S_SAME, "--to-school", B, "--class", "2班", "--reason", "other"]
    result = world.cli("reg_b1", "transfer", "apply", *args)
    assert result.exit_code == 3
    assert (
        result.stderr
        == "Error: guard failed: reason 'other' (其他) needs a written explanation (--explanation)\n"
    )
    assert (
        world.cli("reg_b1", "transfer", "apply", *args, "--explanation", "随祖父母生活").exit_code
        == 0
    )


def test_a_reason_outside_the_permitted_list_is_a_usage_error(world: World) -> None:
    args = ["--student", S_SAME, "--to-school", B, "--class", "2班", "--reason", "school_quality"]
    result = world.cli("reg_b1", "transfer", "apply", *args)
    assert result.exit_code == 2
    assert (
        "'school_quality' is not one of 'hukou_move', 'parent_job', 'home_move', 'other'"
        in result.stderr
    )


def test_unknown_receiving_school(world: World) -> None:
    args = [
        "--student",
        S_SAME,
        "--to-school",
        "4309990001",
        "--class",
        "2班",
        "--reason",
        "home_move",
    ]
    result = world.cli("reg_j", "transfer", "apply", *args)
    # A registrar can only name their own school; the lookup comes after that.
    assert result.exit_code == 3
    assert "not your school" in result.stderr


def test_unknown_transfer(world: World) -> None:
    result = world.cli("reg_a1", "transfer", "approve", "404")
    assert result.exit_code == 2
    assert result.stderr == "Error: transfer 404 does not exist (see `xueji transfer list --all`)\n"


def test_completion_refused_when_the_registry_moved_the_student(world: World) -> None:
    tid = world.apply("reg_b1", S_SAME, B)
    for actor in ("reg_b2", "off_104a", "reg_a1"):
        assert world.cli(actor, "transfer", "approve", str(tid)).exit_code == 0
    # A registry import meanwhile shows the student left school A another way.
    world.sql("UPDATE students SET status = 'transferred_out' WHERE student_no = :s", s=S_SAME)
    result = world.cli("reg_b1", "transfer", "approve", str(tid))
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: guard failed: student {S_SAME} no longer has an active record at sending school {A}; "
        "the registry changed since the application\n"
    )
    assert world.sql("SELECT state, version FROM transfers WHERE id = :t", t=tid) == [
        ("sending_school_confirmed", 4)
    ]
