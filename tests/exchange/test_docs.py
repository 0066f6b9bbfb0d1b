"""docs/exchange.md has a worked example of every exchange command."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "exchange.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "command",
    ["import-redcap --dictionary", "import-redcap --api", "export-as fhir", "import-fhir", "export-as odm",
     "export-as dataset-json", "deidentify-key", "export-as csv --out release --deidentify", "exports"],
)  # fmt: skip
def test_every_command_has_a_worked_example(command: str) -> None:
    assert f"$ bassinet {command}" in DOC


def test_the_readme_names_each_exchange_path() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("REDCap in", "FHIR out and back", "CDISC out", "De-identified releases"):
        assert f"**{name}" in readme
