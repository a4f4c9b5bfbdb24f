"""The catalogue as users see it: ``xueji rules list|show``, ``xueji config show``, and the
promises every rule keeps (contract codes, finding schema, declared thresholds)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest_audit import run_cli

from xueji.cli.rules import query_plan
from xueji.config import THRESHOLDS, load_config
from xueji.identity import resolve_identities
from xueji.io import load_schemas
from xueji.rules.base import FINDING_SCHEMA, AuditContext, Rule
from xueji.rules.catalogue import all_rules
from xueji.testing import empty_transfers, typed_tables

AS_OF = date(2026, 11, 20)

# Contract §3, in its order.
CONTRACT_CODES = [
    "ID_INVALID", "STUDENT_NO_MISMATCH", "TEMP_NUMBER_STALE", "ID_MISMATCH", "DUPLICATE_RECORD",
    "GHOST_RECORD", "SEPARATION", "UNREGISTERED_ATTENDEE", "DROPOUT_RISK", "OUT_OF_SCHOOL_CHILD",
    "PERSON_MISMATCH", "CATCHMENT", "CROSS_CITY", "UNAPPROVED_TRANSFER", "ENTRY_AGE", "GRADE_LEVEL",
    "OVERSIZED_CLASS", "CLASS_OVER_STANDARD", "OVER_CAPACITY", "STATUS_CONFLICT", "HOME_DELIVERY_RATIO",
    "TRANSFER_OVERDUE",
]  # fmt: skip


def test_catalogue_codes_are_the_contract_s() -> None:
    assert sorted(r.code for r in all_rules()) == sorted(CONTRACT_CODES)


@pytest.fixture(scope="module")
def empty_context() -> AuditContext:
    """Every table present and empty, identities resolved once for the module."""
    tables = typed_tables(**{name: pl.DataFrame() for name in load_schemas()})
    cfg = load_config()
    ident = resolve_identities(tables, cfg, AS_OF)
    return AuditContext(AS_OF, cfg, tables, ident, empty_transfers("completed"), empty_transfers("overdue"))


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_every_rule_is_declared_fully_and_returns_the_finding_schema(rule: Rule, empty_context: AuditContext) -> None:
    assert rule.title and rule.basis and rule.definition and rule.needs
    assert "《" in rule.basis or "GB" in rule.basis, "the basis names a document"
    known = {t.name for t in THRESHOLDS}
    assert set(rule.thresholds) <= known
    # On empty tables the plan runs and yields exactly the columns the runner expects.
    out = rule.build(empty_context).collect()
    assert dict(out.schema) == FINDING_SCHEMA and out.height == 0


def test_query_plan_of_a_rule_on_empty_tables() -> None:
    plan = query_plan(all_rules()[0], load_config(), AS_OF)
    assert "FILTER" in plan and "rule" in plan


def test_rules_list_shows_every_code_title_and_severity() -> None:
    result = run_cli("rules", "list")
    assert result.exit_code == 0
    for rule in all_rules():
        assert rule.code in result.stdout and rule.title in result.stdout
    assert "schools, registry + workflow" in result.stdout  # the transfer rules read the workflow database


def test_rules_show_prints_definition_thresholds_and_plan(tmp_path: Path) -> None:
    result = run_cli("rules", "show", "oversized_class")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("OVERSIZED_CLASS 大班额\nseverity: high\n")
    assert "  class_large = 56\n" in out and "  class_super_large = 66\n" in out
    assert "subject: class (school_code, grade, class_name)" in out
    assert "query plan (optimised, on empty tables):" in out and "AGGREGATE" in out

    profile = tmp_path / "hunan.toml"
    profile.write_text("[thresholds]\nclass_large = 60\n", encoding="utf-8")
    shown = run_cli("rules", "show", "OVERSIZED_CLASS", "--config", profile, "--no-plan").stdout
    assert "  class_large = 60\n" in shown and f"class_large from {profile}" in shown
    assert "query plan" not in shown


def test_rules_show_unknown_code_exits_2_with_a_hint() -> None:
    result = run_cli("rules", "show", "GHOST_RECORDS")
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: no rule called 'GHOST_RECORDS'; did you mean GHOST_RECORD?"


def test_config_show_says_where_each_value_came_from(tmp_path: Path) -> None:
    profile = tmp_path / "hunan.toml"
    profile.write_text('[thresholds]\nage_cutoff = "09-01"\nclass_standard_primary = 40\n', encoding="utf-8")
    result = run_cli("config", "show", "--config", profile, "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert set(doc) == {t.name for t in THRESHOLDS}
    assert doc["age_cutoff"] == {
        "value": "09-01",
        "default": "08-31",
        "source": str(profile),
        "help": "day on which entry age and compulsory age are counted (MM-DD)",
        "basis": "《义务教育法》第十一条; provinces differ",
    }
    assert doc["class_large"]["source"] == "default"
    table = run_cli("config", "show", "--config", profile).stdout
    assert "class_standard_primary" in table and "(default 45)" in table


def test_config_show_rejects_unknown_keys_with_a_hint(tmp_path: Path) -> None:
    profile = tmp_path / "hunan.toml"
    profile.write_text("[thresholds]\nclass_larg = 60\n", encoding="utf-8")
    result = run_cli("config", "show", "--config", profile)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {profile}: unknown threshold 'class_larg'; did you mean class_large?"
    # The audit refuses the same profile before reading any data.
    audit = run_cli("audit", tmp_path, "--config", profile, "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert audit.exit_code == 2 and "did you mean class_large?" in audit.stderr


def test_config_refuses_a_window_the_attendance_masks_cannot_hold(tmp_path: Path) -> None:
    profile = tmp_path / "wide.toml"
    profile.write_text("[thresholds]\nwindow_school_days = 65\n", encoding="utf-8")
    result = run_cli("config", "show", "--config", profile)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {profile}: window_school_days = 65 is more than the largest allowed, 64"
    profile.write_text("[thresholds]\nwindow_school_days = 64\n", encoding="utf-8")
    assert run_cli("config", "show", "--config", profile).exit_code == 0
