"""docs/import.md documents every sheet, column and rule that the importer has."""

from __future__ import annotations

from pathlib import Path

import pytest

from bassinet.registry.rules import RULES
from bassinet.registry.sheets import SHEETS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("sheet", list(SHEETS))
def test_every_column_of_every_sheet_is_documented(sheet: str) -> None:
    section = DOC.split(f"### `{sheet}`", 1)[1].split("###", 1)[0]
    for column in SHEETS[sheet].columns:
        assert f"| `{column.name}` |" in section, f"{sheet}.{column.name}"


def test_every_rule_is_documented() -> None:
    for rule in RULES:
        assert f"| `{rule.__name__}` |" in DOC, rule.__name__


def test_the_documented_grants_are_the_ones_bassinet_runs() -> None:
    from bassinet.registry.store import application_role_grants

    for statement in application_role_grants("bassinet_app"):
        assert f"{statement};" in DOC, statement


def test_every_input_limit_is_documented_with_its_variable() -> None:
    from dataclasses import fields

    from bassinet.registry.reading import Limits

    for item in fields(Limits):
        assert f"`{item.metadata['env']}`" in DOC, item.name
