"""Shared fixtures: crafted input folders written as bytes, and the CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

SCHOOLS_ZH = "学校标识码,学校名称,所在区县代码,办学类型,举办者类型,设计规模\n" "4301040001,长沙市岳麓区第一小学,430104,小学,公办,2000\n"
REGISTRY_EN = (
    "student_no,id_type,id_number,name,gender,birth_date,school_code,grade,class_name,status,enrol_date\n"
    "G11010519491231002X,resident_id,11010519491231002X,张三,M,2015-03-01,4301040001,3,3班,enrolled,2023-09-01\n"
)


@pytest.fixture
def runner() -> CliRunner:
    """A click runner (stderr kept apart from stdout)."""
    return CliRunner()


WriteFile = Callable[[str, str | bytes, str], Path]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty input folder."""
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def write(data_dir: Path) -> WriteFile:
    """Write ``text`` to ``data_dir/name`` in ``encoding`` (bytes are written as they are)."""

    def _write(name: str, text: str | bytes, encoding: str = "utf-8") -> Path:
        path = data_dir / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
        return path

    return _write


@pytest.fixture
def minimal(write: WriteFile, data_dir: Path) -> Path:
    """A folder with one school (GB18030, Chinese headers) and one student (UTF-8)."""
    write("schools.csv", SCHOOLS_ZH, "gb18030")
    write("registry.csv", REGISTRY_EN, "utf-8")
    return data_dir


@pytest.fixture(scope="session")
def city_10k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated city of 10,000 students (20 school days, seed 5), made once per session."""
    from xueji.cli import main

    out = tmp_path_factory.mktemp("city") / "data"
    result = CliRunner().invoke(main, ["sample", "generate", "--students", "10000", "--days", "20", "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out
