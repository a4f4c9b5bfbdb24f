"""Global CLI behaviour: version, log formats, verbosity, and the schemas against the contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from xueji import __version__
from xueji.io import load_schemas

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract.md"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xueji", *args], capture_output=True, text=True, timeout=120)


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"xueji, version {__version__}"


def test_log_json_writes_one_object_per_line(minimal: Path, tmp_path: Path) -> None:
    result = run("--log-json", "validate", str(minimal), "--errors", str(tmp_path / "e.csv"))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert lines, "no log lines"
    assert any("loaded 2 tables" in line["record"]["message"] for line in lines)


def test_quiet_hides_info_lines(minimal: Path, tmp_path: Path) -> None:
    result = run("-q", "validate", str(minimal), "--errors", str(tmp_path / "e.csv"))
    assert result.returncode == 0
    assert "loaded 2 tables" not in result.stderr
    assert "0 data errors" in result.stdout


@pytest.mark.skipif(not CONTRACT.is_file(), reason="../shared/contract.md is not beside this clone")
def test_schemas_name_every_contract_column_with_its_chinese_header() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    schemas = load_schemas()
    for table, schema in schemas.items():
        section = re.search(rf"### {table} \(.*?\n(.*?)(?=\n###|\n## )", text, flags=re.S)
        assert section, f"contract has no section for {table}"
        rows = re.findall(r"^\| (\w+) \| ([^|]+?) \|", section.group(1), flags=re.M)
        contract_columns = {name: title.strip() for name, title in rows if name != "column"}
        ours = {f.name: f.title for f in schema.fields}
        assert ours == contract_columns, table
