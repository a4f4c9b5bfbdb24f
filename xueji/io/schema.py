"""Input table schemas, read from the Frictionless Table Schema files in ``schemas/``.

These JSON files are the single source of truth for column names, Chinese headers,
types, constraints and enum aliases; nothing here repeats a column list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

TABLE_ORDER = ("schools", "catchments", "registry", "attendance", "residence", "registry_changes")


def schemas_dir() -> Path:
    """Where the schema files live: inside the installed package, else the repository's ``schemas/``."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_schemas", here.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("xueji's schemas/ folder is missing from the installation")


@dataclass(frozen=True)
class FieldSchema:
    """One column: its English name, Chinese header, type and constraints."""

    name: str
    title: str
    type: str
    description: str
    required: bool = False
    # The file must have the column even where its cells may be empty (contract §1 lists
    # it without "optional"): e.g. registry.id_number, empty only beside an L or J number.
    column_required: bool = False
    pattern: str | None = None
    enum: tuple[Any, ...] | None = None
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    minimum: int | None = None
    maximum: int | None = None
    unique: bool = False
    default: Any = None
    kind: str = "text"
    true_values: tuple[str, ...] = ()
    false_values: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``grade (年级)``: how messages name a column."""
        return f"{self.name} ({self.title})"


@dataclass(frozen=True)
class TableSchema:
    """One input table."""

    name: str
    title: str
    required: bool
    fields: tuple[FieldSchema, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, table, column)

    def field(self, name: str) -> FieldSchema:
        """The field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def required_fields(self) -> tuple[FieldSchema, ...]:
        """Columns that must be present in the file (cells required, or only the column)."""
        return tuple(f for f in self.fields if f.required or f.column_required)

    def header_map(self) -> dict[str, str]:
        """Every accepted header spelling (English name, any case; Chinese title) → field name."""
        out: dict[str, str] = {}
        for f in self.fields:
            out[f.name.lower()] = f.name
            out[f.title] = f.name
        return out


def _field(raw: dict[str, Any]) -> FieldSchema:
    c = raw.get("constraints", {})
    enum = c.get("enum")
    return FieldSchema(
        name=raw["name"],
        title=raw["title"],
        type=raw["type"],
        description=raw.get("description", ""),
        required=bool(c.get("required", False)),
        column_required=bool(raw.get("column_required", False)),
        pattern=c.get("pattern"),
        enum=tuple(enum) if enum is not None else None,
        aliases={k: tuple(v) for k, v in raw.get("aliases", {}).items()},
        minimum=c.get("minimum"),
        maximum=c.get("maximum"),
        unique=bool(c.get("unique", False)),
        default=raw.get("default"),
        kind=raw.get("kind", "text"),
        true_values=tuple(raw.get("trueValues", ())),
        false_values=tuple(raw.get("falseValues", ())),
    )


def parse_schema(raw: dict[str, Any]) -> TableSchema:
    """Build a TableSchema from a parsed Table Schema JSON document."""
    fks = tuple(
        (fk["fields"][0], fk["reference"]["resource"], fk["reference"]["fields"][0])
        for fk in raw.get("foreignKeys", ())
    )
    return TableSchema(
        name=raw["name"],
        title=raw["title"],
        required=bool(raw.get("required", False)),
        fields=tuple(_field(f) for f in raw["fields"]),
        primary_key=tuple(raw.get("primaryKey", ())),
        foreign_keys=fks,
    )


@cache
def load_schemas() -> dict[str, TableSchema]:
    """All input table schemas, keyed by table name, in dependency order."""
    folder = schemas_dir()
    out: dict[str, TableSchema] = {}
    for name in TABLE_ORDER:
        path = folder / f"{name}.schema.json"
        out[name] = parse_schema(json.loads(path.read_text(encoding="utf-8")))
    return out
