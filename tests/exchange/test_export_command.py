"""`bassinet export --format fhir|odm|dataset-json` and `--deidentify` go through the exchange package."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from typer.testing import CliRunner

from bassinet.cli import app
from bassinet.exchange import list_exports
from bassinet.registry import read_frames

runner = CliRunner()


def _export(filled: Engine, *args: str) -> tuple[int, str]:
    url = filled.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["export", *args, "--registry", url], env={"COLUMNS": "250"})
    return result.exit_code, result.output


def test_export_format_fhir_writes_one_bundle_per_patient_and_logs_it(filled: Engine, tmp_path: Path) -> None:
    code, output = _export(filled, "--format", "fhir", "--out", str(tmp_path / "fhir"))
    assert code == 0, output
    bundles = sorted((tmp_path / "fhir").glob("*.json"))
    assert len(bundles) == 40
    assert {json.loads(b.read_text())["resourceType"] for b in bundles} == {"Bundle"}
    [entry] = list_exports(filled)
    assert entry.format == "fhir" and entry.patients == 40 and not entry.deidentified


def test_export_deidentify_hashes_every_study_id_and_keeps_no_audit_trail(
    filled: Engine, tmp_path: Path, key_file: Path
) -> None:
    code, output = _export(filled, "--deidentify", str(key_file), "--out", str(tmp_path / "out"))
    assert code == 0, output
    study_ids = set(read_frames(filled).patients.study_id)
    exported = pd.read_csv(tmp_path / "out" / "patients.csv", dtype=str)
    assert len(exported) == 40
    assert not study_ids & set(exported.study_id)
    assert not any(sid in (tmp_path / "out" / "patients.csv").read_text() for sid in study_ids)
    assert not (tmp_path / "out" / "audit_log.csv").exists()
    [entry] = list_exports(filled)
    assert entry.deidentified and entry.scope["audit_trail"] is False


def test_export_refuses_an_unknown_format_naming_the_choices(filled: Engine, tmp_path: Path) -> None:
    code, output = _export(filled, "--format", "xml", "--out", str(tmp_path / "x"))
    assert code == 2
    assert "'xml' is not one of csv, parquet, fhir, odm, dataset-json" in output
    assert list_exports(filled) == []
