"""Round trips on SQLite and PostgreSQL: export -> import, quarantine -> fix -> import, dry run, decimals."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from bassinet.registry import Mapping, import_files, init_registry, make_engine, read_frames
from bassinet.registry import models as m
from bassinet.registry.frames import TABLES
from bassinet.registry.store import registry_session
from bassinet.simulate import simulate_hsct_infants, simulate_interfant06, write_csv
from tests.registry.builders import patient, write_files
from tests.test_cli import run

#: Tables of patient data; ids, import runs and the audit trail are each registry's own.
DATA = ["study_groups", "centres", "patients", "remissions", "mrd", "courses", "transplants", "events"]


def comparable(engine: Engine) -> dict[str, pd.DataFrame]:
    frames = read_frames(engine)
    out = {}
    for name in DATA:
        frame = frames[name].drop(columns=["id", "centre_id", "study_group_id"], errors="ignore")
        if "patient_id" in frame:
            ids = frames.patients.set_index("id")["study_id"]
            frame = frame.assign(patient_id=frame["patient_id"].map(ids))
        out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def test_export_then_import_into_an_empty_registry_is_identical_on_every_table(
    engine: Engine, tmp_path: Path
) -> None:
    for name, rows in (("a", simulate_interfant06(seed=5, n=60)), ("b", simulate_hsct_infants(seed=6))):
        paths = write_csv(rows, tmp_path / name)
        import_files(engine, paths.pop("patients"), long_sheets=paths, actor="first")
    url = engine.url.render_as_string(hide_password=False)
    code, _, _ = run("export", "--format", "csv", "--out", str(tmp_path / "export"), "--registry", url)
    assert code == 0
    exported = tmp_path / "export"
    with (exported / "patients.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[:4] == ["study_id", "centre", "study_group", "original_country"]
    second_url = f"sqlite:///{tmp_path / 'second.db'}"
    init_registry(second_url)
    second = make_engine(second_url)
    long = {n: exported / f"{n}.csv" for n in ("remissions", "mrd", "courses", "transplants", "events")}
    import_files(second, exported / "patients.csv", long_sheets=long, actor="second")
    before, after = comparable(engine), comparable(second)
    assert set(TABLES) - set(DATA) == {"import_runs"}
    for name in DATA:
        assert len(before[name]) > 0 or name == "study_groups"
        pd.testing.assert_frame_equal(before[name], after[name], check_dtype=False, obj=name)
    second.dispose()


def test_a_corrected_quarantine_file_imports(engine: Engine, tmp_path: Path) -> None:
    events = [
        {"study_id": "P2", "event_type": "relapse", "event_date": "2020-01-01", "relapse_site": "CNS"},
        {"study_id": "P3", "event_type": "relapse", "event_date": "2018-01-01", "relapse_site": "CNS"},
    ]
    path, others = write_files(
        tmp_path, [patient("P1"), patient("P2", wbc="-1"), patient("P3")], events=events
    )
    quarantine = tmp_path / "rejected.csv"
    import_files(engine, path, long_sheets=others, actor="tester", quarantine=quarantine)
    text = quarantine.read_text(encoding="utf-8")
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(text.replace(",-1,", ",12,").replace("2018-01-01", "2020-03-01"), encoding="utf-8")
    report = import_files(engine, fixed, actor="tester")
    assert (report.counts["patients"].inserted, report.counts["events"].inserted) == (2, 2)
    with registry_session(engine, actor="reader") as session:
        wbc = {sid: value for sid, value in session.execute(select(m.Patient.study_id, m.Patient.wbc))}
        assert session.scalar(select(func.count()).select_from(m.Event)) == 2
    assert wbc == {"P1": 412.0, "P2": 12.0, "P3": 412.0}


def test_dry_run_lists_added_changed_and_refused_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    import_files(engine, write_files(tmp_path / "a", [patient("P1")])[0], actor="first")
    with registry_session(engine, actor="reader") as session:
        audit_before = session.scalar(select(func.count()).select_from(m.AuditEntry))
        runs_before = session.scalar(select(func.count()).select_from(m.ImportRun))
    path = write_files(tmp_path / "b", [patient("P1", wbc="350"), patient("P2"), patient("P3", sex="X")])[0]
    url = engine.url.render_as_string(hide_password=False)
    code, output, errors = run("import", str(path), "--dry-run", "--registry", url)
    assert code == 1  # the import it rehearses would be refused
    assert "without --quarantine this import would be refused as a whole" in errors
    assert "dry run: nothing was written" in output
    assert "would add 1 patient(s): P2" in output
    assert "P1 patient.wbc: 412.0 -> 350.0" in output
    assert "would refuse 1 problem(s):" in output and "column 'sex' (X) is not a known code" in output
    with registry_session(engine, actor="reader") as session:
        assert session.scalars(select(m.Patient.study_id)).all() == ["P1"]
        assert session.scalar(select(m.Patient.wbc)) == 412.0
        assert session.scalar(select(func.count()).select_from(m.AuditEntry)) == audit_before
        assert session.scalar(select(func.count()).select_from(m.ImportRun)) == runs_before


def test_a_dry_run_without_problems_exits_0(engine: Engine, tmp_path: Path) -> None:
    import_files(engine, write_files(tmp_path / "a", [patient("P1")])[0], actor="first")
    path = write_files(tmp_path / "b", [patient("P1", wbc="350")])[0]
    url = engine.url.render_as_string(hide_password=False)
    code, output, errors = run("import", str(path), "--dry-run", "--registry", url)
    assert code == 0, errors
    assert "would refuse 0 problem(s):" in output and "refused as a whole" not in errors


def test_a_dry_run_shows_a_move_by_the_centres_names(engine: Engine, tmp_path: Path) -> None:
    import_files(engine, write_files(tmp_path / "a", [patient("P1", centre="Rotterdam")])[0], actor="first")
    path = write_files(tmp_path / "b", [patient("P1", centre="Rotterdam Sophia")])[0]
    url = engine.url.render_as_string(hide_password=False)
    code, output, errors = run("import", str(path), "--dry-run", "--reason", "renamed", "--registry", url)
    assert code == 0, errors
    assert "would add 0 patient(s): -" in output
    assert "P1 patient.centre: Rotterdam -> Rotterdam Sophia" in output  # was 'centre_id: 1 -> 2'
    assert "rehearsing the write of 1 patient(s)" in errors and "writing" not in errors
    assert "centre_id" not in output


def test_a_decimal_comma_and_thousands_point_are_read(engine: Engine, tmp_path: Path) -> None:
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text('decimal: ","\nthousands: "."\n')
    path = write_files(tmp_path, [patient("P1", wbc="412,5", day8_blasts="1.200")])[0]
    url = engine.url.render_as_string(hide_password=False)
    code, _, errors = run("import", str(path), "--mapping", str(mapping_file), "--registry", url)
    assert code == 0, errors
    with registry_session(engine, actor="reader") as session:
        found = session.scalars(select(m.Patient)).one()
    assert (found.wbc, found.day8_blasts) == (412.5, 1200.0)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('decimal: ","\nthousands: ","\n', "is also the decimal mark"),
        ('decimal: "d"\n', "is not one punctuation"),
    ],
)
def test_bad_number_marks_are_refused(tmp_path: Path, document: str, message: str) -> None:
    from bassinet.errors import ConfigurationError
    from bassinet.registry import load_mapping

    path = tmp_path / "mapping.yaml"
    path.write_text(document)
    with pytest.raises(ConfigurationError, match=message):
        load_mapping(path)


def test_the_checking_progress_ends_at_its_total(engine: Engine, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    path = write_files(tmp_path, [patient(f"P{i}") for i in range(3)])[0]
    import_files(
        engine, path, actor="t", progress=lambda phase, done, total: seen.append((phase, done, total))
    )
    checking = [s for s in seen if s[0] == "checking"]
    assert checking[-1] == ("checking", 3, 3)
    assert Mapping().number_text("1,5") == "1,5"  # the default mark is the point
