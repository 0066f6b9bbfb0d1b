"""Every export is logged: who, when, format, scope, patients, file hashes; `bassinet exports` lists them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from bassinet.cli import app
from bassinet.errors import ConfigurationError
from bassinet.exchange import export_registry, list_exports

runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250", "BASSINET_USER": "cli-test"})
    assert result.exit_code == 0, result.output
    return result.output


def test_an_identified_csv_export_is_logged_with_its_files_hashes(filled: Engine, tmp_path: Path) -> None:
    release = export_registry(filled, "csv", tmp_path / "out", actor="stats")
    [entry] = list_exports(filled)
    assert entry == release.entry
    assert entry.actor == "stats" and entry.format == "csv" and not entry.deidentified
    assert entry.patients == 40 and len(entry.patient_ids) == 40
    assert entry.scope["audit_trail"] is True
    by_path = {f["path"]: f["sha256"] for f in entry.files}
    patients = tmp_path / "out" / "patients.csv"
    assert by_path[str(patients)] == hashlib.sha256(patients.read_bytes()).hexdigest()
    assert str(tmp_path / "out" / "audit_log.csv") in by_path


def test_a_deidentified_export_is_logged_without_the_key_and_without_the_audit_trail(
    filled: Engine, tmp_path: Path, key_file: Path
) -> None:
    release = export_registry(
        filled, "csv", tmp_path / "out", actor="stats", key_file=key_file, coarsen_centres=True
    )
    assert release.entry.deidentified
    assert release.entry.scope == {
        "patients": "all",
        "audit_trail": False,
        "dates": "shifted",
        "coarsen_centres": True,
    }
    assert not (tmp_path / "out" / "audit_log.csv").exists()
    assert key_file.read_text().strip() not in str(release.entry)


def test_the_export_log_is_append_only(filled: Engine, tmp_path: Path) -> None:
    export_registry(filled, "csv", tmp_path / "out", actor="stats")
    with pytest.raises(DBAPIError, match="export_log is append-only"), filled.begin() as connection:
        connection.execute(text("UPDATE export_log SET actor = 'someone else'"))
    with pytest.raises(DBAPIError, match="export_log is append-only"), filled.begin() as connection:
        connection.execute(text("DELETE FROM export_log"))
    assert [e.actor for e in list_exports(filled)] == ["stats"]


def test_days_from_diagnosis_is_refused_for_formats_that_need_dates(
    filled: Engine, tmp_path: Path, key_file: Path
) -> None:
    with pytest.raises(ConfigurationError, match="csv or parquet only, not fhir"):
        export_registry(filled, "fhir", tmp_path, actor="s", key_file=key_file, dates="days_from_diagnosis")
    assert list_exports(filled) == []


def test_bassinet_export_and_export_as_are_both_listed_by_bassinet_exports(
    filled: Engine, tmp_path: Path, key_file: Path
) -> None:
    url = filled.url.render_as_string(hide_password=False)
    cli("export", "--out", str(tmp_path / "a"), "--registry", url)
    cli("export-as", "csv", "--out", str(tmp_path / "b"), "--deidentify", str(key_file),
        "--user", "statistician", "--registry", url)  # fmt: skip
    listing = cli("exports", "--registry", url)
    assert "2 export(s)" in listing
    rows = [line for line in listing.splitlines() if "│ csv" in line]
    assert len(rows) == 2
    assert "cli-test" in rows[0] and "│ no " in rows[0] and "│ 40 " in rows[0]
    assert "statistician" in rows[1] and "│ yes " in rows[1] and "coarsen_centres=False" in rows[1]
