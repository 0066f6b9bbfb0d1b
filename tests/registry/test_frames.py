"""The registry's edge: one DataFrame per table, and export as CSV and Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from bassinet.registry import export_frames, import_files, open_registry, read_audit_log, read_frames
from bassinet.registry.frames import TABLES
from bassinet.simulate import registry_rows, write_csv


@pytest.fixture
def cohort(engine: Engine, tmp_path: Path) -> Engine:
    paths = write_csv(registry_rows(25, seed=7), tmp_path / "in")
    import_files(engine, paths.pop("patients"), long_sheets=paths, actor="tester")
    return engine


def test_every_table_is_a_frame(cohort: Engine) -> None:
    frames = read_frames(cohort)
    assert list(frames) == list(TABLES)
    assert len(frames.patients) == 25
    assert frames["events"] is frames.events


def test_the_patients_frame_has_dates_codes_and_its_centre(cohort: Engine) -> None:
    patients = read_frames(cohort).patients
    assert pd.api.types.is_datetime64_any_dtype(patients["diagnosis_date"])
    assert set(patients["leukemia_type"]) <= {"ALL", "AML"}
    assert patients["centre"].notna().all() and patients["study_group"].notna().all()
    assert ((patients["diagnosis_date"] - patients["date_of_birth"]).dt.days < 366).all()


def test_open_registry_reads_a_url(cohort: Engine) -> None:
    frames = open_registry(cohort.url.render_as_string(hide_password=False))
    assert len(frames.patients) == 25


def test_an_unknown_frame_name_says_which_exist(cohort: Engine) -> None:
    with pytest.raises(KeyError, match="no registry frame 'patient'; frames: study_groups"):
        read_frames(cohort)["patient"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_every_table_and_reads_back(cohort: Engine, tmp_path: Path, fmt: str) -> None:
    frames = read_frames(cohort)
    audit = read_audit_log(cohort)
    written = export_frames(frames, tmp_path / "out", fmt=fmt, audit_log=audit)  # type: ignore[arg-type]
    assert [p.stem for p in written] == [*TABLES, "audit_log"]
    reader = pd.read_csv if fmt == "csv" else pd.read_parquet
    back = reader(tmp_path / "out" / f"patients.{fmt}")
    assert list(back["study_id"]) == list(frames.patients["study_id"])
    assert len(reader(tmp_path / "out" / f"audit_log.{fmt}")) == len(audit) > 25


def test_the_audit_log_is_read_on_request(cohort: Engine) -> None:
    audit = read_audit_log(cohort)
    assert set(audit["action"]) == {"insert"}
    assert pd.api.types.is_datetime64_any_dtype(audit["at"])
    assert audit["patient_id"].dtype == "Int64"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_json_columns_and_timestamps_survive_an_export(cohort: Engine, tmp_path: Path, fmt: str) -> None:
    import json

    frames = read_frames(cohort)
    export_frames(frames, tmp_path / "out", fmt=fmt)  # type: ignore[arg-type]
    reader = pd.read_csv if fmt == "csv" else pd.read_parquet
    runs = reader(tmp_path / "out" / f"import_runs.{fmt}")
    assert [json.loads(c) for c in runs["counts"]] == list(frames.import_runs["counts"])
    assert [json.loads(s) for s in runs["sources"]] == list(frames.import_runs["sources"])
    started = pd.to_datetime(runs["started_at"], utc=True)
    assert list(started) == list(frames.import_runs["started_at"])
