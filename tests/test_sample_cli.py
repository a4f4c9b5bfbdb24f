"""``xueji sample generate`` as a user runs it: files, messages, exit codes, same seed
same files, and the committed demo dataset."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from xueji.cli import main
from xueji.sample.truth import RULES

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "sample_data" / "demo"
INPUT_FILES = (
    "schools.csv",
    "catchments.xlsx",
    "registry.csv",
    "attendance.parquet",
    "residence.csv",
    "registry_changes.csv",
)
OTHER_FILES = ("truth.csv", "transfers_seed.csv", "expected_data_errors.csv", "manifest.json")
SMALL = ["sample", "generate", "--students", "1000", "--days", "20", "--seed", "3"]


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


def digest(folder: Path) -> dict[str, str]:
    # xlsx files carry a creation time; compare their cells instead of their bytes
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = (
                path.read_bytes()
                if path.suffix != ".xlsx"
                else pl.read_excel(path).write_csv().encode()
            )
            out[str(path.relative_to(folder))] = hashlib.sha256(data).hexdigest()
    return out


def test_generate_writes_every_file_and_says_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "city"
    code, stdout, stderr = run([*SMALL, "--out", str(out)])
    assert code == 0, stderr
    assert stdout.startswith(f"Wrote {out}:") and "findings in truth.csv" in stdout
    for name in (*INPUT_FILES, *OTHER_FILES):
        assert (out / name).is_file(), name
    for name in ("registry_person", "attendance_person", "residence_person"):
        assert (out / "labels" / f"{name}.parquet").is_file()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert (
        manifest["students"] == 1000
        and manifest["school_days"] == 20
        and manifest["as_of"] == "2026-11-20"
    )
    assert not list(tmp_path.glob(".city.partial-*"))


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert run([*SMALL, "--out", str(a)])[0] == 0
    assert run([*SMALL, "--out", str(b)])[0] == 0
    assert run([*SMALL[:-1], "4", "--out", str(c)])[0] == 0
    assert digest(a) == digest(b)
    assert digest(a)["registry.csv"] != digest(c)["registry.csv"]


def test_refuses_a_folder_with_other_files_and_replaces_a_sample_with_force(tmp_path: Path) -> None:
    out = tmp_path / "city"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, stderr = run([*SMALL, "--out", str(out)])
    assert code == 2 and "folder is not empty (use --force" in stderr
    code, _, stderr = run([*SMALL, "--out", str(out), "--force"])
    assert code == 2 and "not a generated sample" in stderr
    assert (out / "notes.txt").read_text() == "mine"
    fresh = tmp_path / "fresh"
    assert run([*SMALL, "--out", str(fresh)])[0] == 0
    code, _, stderr = run([*SMALL, "--out", str(fresh)])
    assert code == 2
    assert run([*SMALL, "--out", str(fresh), "--force"])[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--students", "10"], "--students 10: use 1000 to 5000000"),
        (["--days", "5"], "--days 5: use 20 to 150"),
        (["--county", "110101"], "--county 110101: not a county of 长沙市"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, stderr = run(["sample", "generate", *args, "--out", str(tmp_path / "x")])
    assert code == 2
    assert message in stderr and "Traceback" not in stderr
    assert not (tmp_path / "x").exists()


def test_help_starts_with_an_example() -> None:
    code, stdout, _ = run(["sample", "generate", "--help"])
    assert code == 0 and "Example:" in stdout and "--students" in stdout


def test_committed_demo_is_one_county_under_15_mb_with_every_rule() -> None:
    manifest = json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["county"] == "430104" and manifest["seed"] == 7 and manifest["students"] == 5000
    size = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert size < 15 * 1024 * 1024
    truth = pl.read_csv(DEMO / "truth.csv", infer_schema=False)
    assert set(truth["rule"]) == set(RULES)
    assert set(truth["county_code"].drop_nulls()) == {"430104"}


def test_committed_demo_loads_with_exactly_the_expected_data_errors() -> None:
    from xueji.io import load_inputs

    inputs = load_inputs(DEMO)
    expected = pl.read_csv(DEMO / "expected_data_errors.csv", infer_schema=False).with_columns(
        pl.col("row").cast(pl.Int64)
    )
    assert sorted(
        inputs.data_errors.select("file", "row", "column", "value").iter_rows()
    ) == sorted(expected.iter_rows())


def test_another_reference_date_moves_the_calendar_and_keeps_the_truth_exact(tmp_path: Path) -> None:
    out = tmp_path / "spring"
    code, _, stderr = run([*SMALL, "--as-of", "2026-05-15", "--out", str(out)])
    assert code == 0, stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2026-05-15"
    truth = pl.read_csv(out / "truth.csv", infer_schema=False)
    assert set(truth["rule"]) == set(RULES)
    assert "incidental" not in set(truth["kind"])
    days = pl.read_parquet(out / "attendance.parquet")["date"]
    assert days.max().isoformat() == "2026-05-15"
