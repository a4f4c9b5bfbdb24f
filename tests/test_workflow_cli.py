"""The read side of the CLI and its inputs: list, show, province chains, registry import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest_workflow import *  # noqa: F403  (fixtures)
from conftest_workflow import REGISTRY, S_BACK, S_CROSS, S_SAME, SCHOOLS, SEEDS, A, B, C, World

from xueji.cli import main
from xueji.workflow import Application, add_user, approve, import_registry, seed_transfers, submit


def listing(w: World, user: str, *args: str) -> list[dict]:
    result = w.cli(user, "transfer", "list", "--json", "--as-of", "2026-11-20", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def ids(rows: list[dict]) -> list[int]:
    return [r["transfer_id"] for r in rows]


def test_list_shows_what_waits_on_me(world: World) -> None:
    # 1 waits on county 430105, 2 and 3 on school B; 4 is completed.
    seed_transfers(world.engine, SEEDS)
    assert ids(listing(world, "off_105a")) == [1]
    assert ids(listing(world, "reg_b2")) == [2, 3]
    assert ids(listing(world, "reg_a1")) == []
    assert ids(listing(world, "insp")) == [1, 2, 3]  # nothing waits on an inspector: every open one
    assert ids(listing(world, "reg_a1", "--mine")) == [1, 2, 3, 4]
    assert ids(listing(world, "reg_c1", "--mine")) == [1, 4]
    assert ids(listing(world, "off_104a", "--mine")) == [1, 2, 3, 4]
    assert ids(listing(world, "reg_b1", "--all", "--state", "completed")) == [4]
    # Overdue: more than 10 working days; National Day is not a holiday without a profile.
    assert ids(listing(world, "insp", "--overdue")) == [1, 3]
    row = listing(world, "insp", "--overdue")[0]
    assert row == {
        "transfer_id": 1,
        "student_no": S_CROSS,
        "name": "李华",
        "from_school_code": A,
        "to_school_code": C,
        "state": "receiving_school_approved",
        "next_party": "receiving_bureau:430105",
        "waiting_since": "2026-11-05",
        "working_days_waited": 11,
    }


def test_list_table_for_people(world: World) -> None:
    seed_transfers(world.engine, SEEDS)
    out = world.cli("reg_b1", "transfer", "list", "--as-of", "2026-11-20").stdout
    assert "G430104201703010011" in out and "receiving_school:4301040002" in out
    assert world.cli("reg_a1", "transfer", "list").stdout == "No transfers.\n"


def write_profile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "province.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_profile_holidays_and_limit_change_what_is_overdue(world: World, tmp_path: Path) -> None:
    seed_transfers(world.engine, SEEDS)
    days = ", ".join(f'"2026-10-0{d}"' for d in range(1, 9))
    profile = write_profile(
        tmp_path, f'[transfer]\nholidays = [{days}, "2026-11-19"]\noverdue_working_days = 9\n'
    )
    rows = listing(world, "insp", "--overdue", "--config", str(profile))
    assert [(r["transfer_id"], r["working_days_waited"]) for r in rows] == [(1, 10), (3, 32)]


def test_a_province_chain_with_an_extra_step(world: World, tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path,
        """
[transfer]
chain = [
  {state = "submitted", party = "receiving_school"},
  {state = "receiving_school_approved", party = "receiving_school", differs_from_submitter = true},
  {state = "receiving_bureau_approved", party = "receiving_bureau"},
  {state = "city_approved", party = "receiving_city", title = "市教育局核准"},
  {state = "sending_school_confirmed", party = "sending_school"},
  {state = "sending_bureau_approved", party = "sending_bureau", skip_when = "same_county"},
  {state = "completed", party = "receiving_school"},
]
""",
    )
    city, token = add_user(
        world.engine, "city_officer", "bureau_officer", "430100", created_by="admin"
    )
    world.tokens = {**world.tokens, "city_officer": token}
    args = ["--student", S_CROSS, "--to-school", C, "--class", "2班", "--reason", "home_move"]
    result = world.cli("reg_c1", "transfer", "apply", *args, "--config", str(profile))
    assert result.exit_code == 0, result.output
    tid = result.stdout.splitlines()[-1]
    for actor in ("reg_c2", "off_105a"):
        assert world.cli(actor, "transfer", "approve", tid).exit_code == 0
    shown = json.loads(world.cli("insp", "transfer", "show", tid, "--json").stdout)
    assert (shown["next_state"], shown["next_party"]) == ("city_approved", "receiving_city:430100")
    assert world.cli("off_105a", "transfer", "approve", tid).exit_code == 3
    for actor in ("city_officer", "reg_a1", "off_104a", "reg_c1"):
        assert world.cli(actor, "transfer", "approve", tid).exit_code == 0, actor
    assert (
        json.loads(world.cli("insp", "transfer", "show", tid, "--json").stdout)["state"]
        == "completed"
    )
    # The chain was fixed at submission: a transfer submitted without the profile has no city step.
    other = submit(world.engine, world.users["reg_b1"], Application(S_SAME, B, "1班", "parent_job"))
    assert "city_approved" not in [s["state"] for s in other.steps]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[transfer]\nchian = []\n", "unknown key 'chian' in [transfer]; did you mean chain?"),
        (
            "[transfer]\noverdue_working_days = 0\n",
            "[transfer] overdue_working_days = 0 must be a whole number ≥ 1",
        ),
        (
            '[transfer]\nholidays = ["2026-13-01"]\n',
            "[transfer] holidays: 1 not a YYYY-MM-DD date: '2026-13-01'",
        ),
        (
            '[transfer]\nchain = [{state = "submitted", party = "receiving_school"}, '
            '{state = "done", party = "mayor"}]\n',
            "[transfer] chain: 2 problem(s): step 2: party 'mayor' is not one of receiving_school, "
            "receiving_bureau, receiving_city, receiving_province, sending_school, sending_bureau, sending_city, "
            "sending_province; the last step must be 'completed', never skipped",
        ),
    ],
    ids=["typo", "limit", "holiday", "chain"],
)
def test_bad_profiles_are_refused_with_exit_2(
    world: World, tmp_path: Path, body: str, message: str
) -> None:
    profile = write_profile(tmp_path, body)
    result = world.cli("insp", "transfer", "list", "--config", str(profile))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {profile}: {message}\n"


def test_show_corroborates_a_hukou_move(world: World) -> None:
    def check(student: str, school: str, user: str) -> str:
        t = submit(
            world.engine, world.users[user], Application(student, school, "2班", "hukou_move")
        )
        shown = json.loads(world.cli("insp", "transfer", "show", str(t.id), "--json").stdout)
        return shown["checks"]["residence data"]

    assert check(S_CROSS, C, "reg_c1") == (
        "corroborated: residence data puts the hukou in 430105001001, in the receiving county 430105, "
        "moved in on 2026-08-01"
    )
    assert check(S_BACK, A, "reg_a1") == (
        "not corroborated: residence data puts the hukou in 430105002002, outside the receiving county 430104"
    )
    assert (
        check(S_SAME, B, "reg_b1")
        == "not corroborated: the student's ID number is not in the residence data"
    )


def test_show_without_residence_data(world: World) -> None:
    import_registry(world.engine, SCHOOLS, REGISTRY)  # a newer import without residence.csv
    t = submit(world.engine, world.users["reg_c1"], Application(S_CROSS, C, "2班", "hukou_move"))
    shown = json.loads(world.cli("insp", "transfer", "show", str(t.id), "--json").stdout)
    assert (
        shown["checks"]["residence data"]
        == "no residence data (import a folder with residence.csv to check)"
    )


def test_show_timeline_and_waiting_time(world: World) -> None:
    from datetime import UTC, datetime

    t = submit(
        world.engine,
        world.users["reg_c1"],
        Application(S_CROSS, C, "2班", "parent_job"),
        at=datetime(2026, 11, 2, 1, 0, tzinfo=UTC),
    )
    assert t.id is not None
    approve(
        world.engine,
        world.users["reg_c2"],
        t.id,
        note="材料齐全",
        at=datetime(2026, 11, 3, 2, 30, tzinfo=UTC),
    )
    out = world.cli("insp", "transfer", "show", str(t.id), "--as-of", "2026-11-20").stdout
    assert "李华 (430104********0012)" in out
    assert "2026-11-03 10:30 │ reg_c2" in out
    assert "材料齐全" in out
    assert "next: receiving_bureau_approved by receiving_bureau:430105" in out
    assert "13 working day(s) since 2026-11-03 (limit 10): OVERDUE" in out


def test_registry_import_from_a_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "schools.csv").write_bytes(
        "学校标识码,学校名称,所在区县代码,办学类型,举办者类型\n"
        "4301040001,长沙市岳麓区第一小学,430104,小学,公办\n"
        "4301050001,长沙市开福区第一小学,430105,小学,公办\n".encode("gb18030")
    )
    (data / "registry.csv").write_text(
        "student_no,id_type,id_number,name,gender,birth_date,school_code,grade,class_name,status,enrol_date\n"
        "G11010519491231002X,resident_id,11010519491231002X,张三,M,2017-03-01,4301040001,3,3班,enrolled,2023-09-01\n"
        "G440524188001010014,resident_id,440524188001010014,李四,M,2016-03-01,4301050001,4,1班,在籍,2022-09-01\n",
        encoding="utf-8-sig",
    )
    (data / "residence.csv").write_text(
        "id_number,name,gender,birth_date,hukou_area_code,residence_permit\n"
        "11010519491231002X,张三,M,2017-03-01,430105001001,false\n",
        encoding="utf-8",
    )
    env = {"XUEJI_DB": f"sqlite:///{tmp_path / 'x.db'}", "XDG_CONFIG_HOME": str(tmp_path)}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "init"], env=env).exit_code == 0
    result = runner.invoke(main, ["registry", "import", str(data)], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        f"Imported {data}: schools: 2 added, 0 updated; students: 2 added, 0 updated, 0 removed; "
        "1 students found in residence data."
    )
    again = runner.invoke(main, ["registry", "import", str(data)], env=env)
    assert "schools: 0 added, 2 updated; students: 0 added, 2 updated, 0 removed" in again.stdout
    missing = runner.invoke(main, ["registry", "import", str(tmp_path / "nowhere")], env=env)
    assert missing.exit_code == 2
    assert missing.stderr == f"Error: {tmp_path / 'nowhere'}: no such input folder\n"
    # The audit reads a registry lacking a required column; an import would blank it (or,
    # for school_code, remove every student of the folder's schools): refused, nothing changed.
    text = (data / "registry.csv").read_text(encoding="utf-8-sig")
    (data / "registry.csv").write_text(text.replace(",school_code,", ",学校,"), encoding="utf-8")
    refused = runner.invoke(main, ["registry", "import", str(data)], env=env)
    assert refused.exit_code == 2
    assert refused.stderr.splitlines()[-1] == (
        f"Error: {data}: required columns missing (registry.csv: school_code (学校标识码)); "
        "an import replaces each school's students with the file's rows, so nothing was imported"
    )
    (data / "registry.csv").write_text(text, encoding="utf-8")
    after = runner.invoke(main, ["registry", "import", str(data)], env=env)
    assert "students: 0 added, 2 updated, 0 removed" in after.stdout
