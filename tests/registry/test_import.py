"""Importing files into the registry, on SQLite and PostgreSQL.

Every bad input must be refused with an error that names the place, the value and the
rule, and must leave the registry exactly as it was.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bassinet.errors import DataError
from bassinet.registry import ImportRejected, Mapping, import_files, load_mapping
from bassinet.registry import models as m
from bassinet.registry.store import registry_session
from bassinet.simulate import registry_rows, write_csv, write_xlsx
from tests.registry.builders import patient, write_files, write_sheet


def count(engine: Engine, model: type[m.Base]) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def snapshot(engine: Engine) -> dict[str, int]:
    return {t.__tablename__: count(engine, t) for t in (*m.REGISTRY_TABLES, m.AuditEntry, m.ImportRun)}


def refused(engine: Engine, path: Path, match: str, **kwargs: object) -> ImportRejected | DataError:
    """Import ``path``, expect it refused with ``match``, and check that nothing was written."""
    before = snapshot(engine)
    with pytest.raises(DataError, match=match) as caught:
        import_files(engine, path, actor="tester", **kwargs)  # type: ignore[arg-type]
    assert snapshot(engine) == before
    return caught.value


# -- valid files -------------------------------------------------------------------------------


def test_a_valid_file_is_imported_with_every_field(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P001"), patient("P002", sex="M", wbc="12.5")])
    report = import_files(engine, path, actor="tester")
    assert report.counts["patients"].inserted == 2
    with registry_session(engine, actor="reader") as session:
        stored = session.scalars(select(m.Patient).order_by(m.Patient.study_id)).all()
        assert [p.study_id for p in stored] == ["P001", "P002"]
        assert stored[1].wbc == 12.5 and stored[1].sex is m.v.Sex.MALE
        assert stored[0].centre.name == "Rotterdam" and stored[0].centre.study_group.name == "DCOG"


def test_long_sheets_are_imported_for_their_patients(engine: Engine, tmp_path: Path) -> None:
    path, others = write_files(
        tmp_path,
        [patient("P001", vital_status="dead", last_contact_date="2020-04-01")],
        mrd=[
            {
                "study_id": "P001",
                "time_point": "end_of_induction",
                "measured_on": "2019-06-05",
                "method": "PCR",
                "value": "1e-4",
            }
        ],
        events=[
            {
                "study_id": "P001",
                "event_type": "relapse",
                "event_date": "2020-01-15",
                "relapse_site": "CNS",
            },
            {
                "study_id": "P001",
                "event_type": "death",
                "event_date": "2020-04-01",
                "death_cause": "leukemia",
            },
        ],
        transplants=[
            {
                "study_id": "P001",
                "transplant_date": "2019-10-01",
                "donor_type": "cord",
                "remission_status": "CR1",
                "mrd_value": "negative",
                "mrd_method": "FCM",
            }
        ],
    )
    report = import_files(engine, path, long_sheets=others, actor="tester")
    assert (
        report.counts["mrd"].inserted,
        report.counts["events"].inserted,
        report.counts["transplants"].inserted,
    ) == (1, 2, 1)
    with registry_session(engine, actor="reader") as session:
        [mrd] = session.scalars(select(m.MRDMeasurement)).all()
        assert (mrd.result, mrd.value) == (m.v.MRDResult.QUANTIFIED, 1e-4)
        [transplant] = session.scalars(select(m.Transplant)).all()
        assert (transplant.mrd_result, transplant.mrd_value) == (m.v.MRDResult.NEGATIVE, None)


def test_an_xlsx_workbook_with_every_sheet_is_imported(engine: Engine, tmp_path: Path) -> None:
    rows = registry_rows(40, seed=5)
    path = write_xlsx(rows, tmp_path / "cohort.xlsx")
    report = import_files(engine, path, actor="tester")
    assert report.counts["patients"].inserted == 40
    assert report.counts["events"].inserted == len(rows["events"])
    assert count(engine, m.Event) == len(rows["events"])


def test_reimporting_the_same_files_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    paths = write_csv(registry_rows(30, seed=3), tmp_path)
    patients = paths.pop("patients")
    import_files(engine, patients, long_sheets=paths, actor="tester")
    before = snapshot(engine)
    report = import_files(engine, patients, long_sheets=paths, actor="tester")
    assert not report.changed
    assert report.counts["patients"].unchanged == 30
    after = snapshot(engine)
    assert after.pop("import_run") == before.pop("import_run") + 1  # the run itself is recorded
    assert after == before


def test_an_updated_file_updates_only_the_changed_fields_and_audits_each(
    engine: Engine, tmp_path: Path
) -> None:
    path, _ = write_files(tmp_path / "v1", [patient("P001"), patient("P002")])
    import_files(engine, path, actor="first")
    audit_before = count(engine, m.AuditEntry)
    path, _ = write_files(tmp_path / "v2", [patient("P001", wbc="299.9", cns_status="CNS2"), patient("P002")])
    report = import_files(engine, path, actor="second")
    assert (report.counts["patients"].updated, report.counts["patients"].unchanged) == (1, 1)
    with registry_session(engine, actor="reader") as session:
        new = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.id > audit_before).order_by(m.AuditEntry.field)
        ).all()
        assert [(e.action, e.field, e.old_value, e.new_value, e.actor) for e in new] == [
            ("update", "cns_status", "CNS1", "CNS2", "second"),
            ("update", "wbc", "412.0", "299.9", "second"),
        ]


def test_a_long_row_missing_from_an_updated_file_is_deleted_and_audited(
    engine: Engine, tmp_path: Path
) -> None:
    mrd = [
        {
            "study_id": "P001",
            "time_point": tp,
            "measured_on": "2019-06-05",
            "method": "PCR",
            "value": "negative",
        }
        for tp in ("end_of_induction", "end_of_consolidation")
    ]
    path, others = write_files(tmp_path / "v1", [patient()], mrd=mrd)
    import_files(engine, path, long_sheets=others, actor="tester")
    path, others = write_files(tmp_path / "v2", [patient()], mrd=mrd[:1])
    report = import_files(engine, path, long_sheets=others, actor="tester")
    assert (report.counts["mrd"].deleted, report.counts["mrd"].unchanged) == (1, 1)
    with registry_session(engine, actor="reader") as session:
        deleted = session.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "delete")).all()
        assert {(e.table_name, e.field, e.old_value) for e in deleted} >= {
            ("mrd_measurement", "time_point", "end_of_consolidation")
        }


def test_a_death_moved_to_another_date_replaces_the_old_death(engine: Engine, tmp_path: Path) -> None:
    # One death per patient is a unique index: the old death row must go before the new
    # one is written, though the unit of work would insert first.
    for version, when in (("v1", "2021-02-01"), ("v2", "2021-03-01")):
        death = [{"study_id": "P001", "event_type": "death", "event_date": when, "death_cause": "leukemia"}]
        dead = patient(vital_status="dead", last_contact_date=when)
        path, others = write_files(tmp_path / version, [dead], events=death)
        report = import_files(engine, path, long_sheets=others, actor="tester")
    assert (report.counts["events"].deleted, report.counts["events"].inserted) == (1, 1)
    with registry_session(engine, actor="reader") as session:
        [event] = session.scalars(select(m.Event)).all()
        assert str(event.event_date) == "2021-03-01"


def test_long_sheets_absent_from_an_import_are_left_alone(engine: Engine, tmp_path: Path) -> None:
    mrd = [
        {
            "study_id": "P001",
            "time_point": "end_of_induction",
            "measured_on": "2019-06-05",
            "method": "PCR",
            "value": "negative",
        }
    ]
    path, others = write_files(tmp_path / "v1", [patient()], mrd=mrd)
    import_files(engine, path, long_sheets=others, actor="tester")
    path, _ = write_files(tmp_path / "v2", [patient()])
    import_files(engine, path, actor="tester")
    assert count(engine, m.MRDMeasurement) == 1


def test_each_import_is_recorded_with_the_files_sha256_counts_and_actor(
    engine: Engine, tmp_path: Path
) -> None:
    path, _ = write_files(tmp_path, [patient()])
    report = import_files(engine, path, actor="data manager")
    with registry_session(engine, actor="reader") as session:
        run = session.get(m.ImportRun, report.import_run_id)
        assert run is not None
        assert run.actor == "data manager"
        assert run.sources == [
            {
                "path": str(path),
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "sheets": {"patients": 1},
            }
        ]
        assert run.counts["patients"]["inserted"] == 1


def test_the_source_file_is_never_modified(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient(), patient("P002", wbc="-1")])
    before = path.read_bytes()
    with pytest.raises(ImportRejected):
        import_files(engine, path, actor="tester")
    import_files(engine, path, actor="tester", quarantine=tmp_path / "rejected.csv")
    assert path.read_bytes() == before


def test_a_study_id_is_one_patient_across_centres(engine: Engine, tmp_path: Path) -> None:
    # Issue 13: the analysis layer keys patients by study ID alone, so a second centre's
    # row with a known study ID is a move (needing --reason), never a second patient.
    import_files(engine, write_files(tmp_path / "a", [patient("P001")])[0], actor="tester")
    other = patient("P001", centre="Kiel", study_group="COALL")
    with pytest.raises(ImportRejected, match="a move from 'Rotterdam' to 'Kiel'; give --reason"):
        import_files(engine, write_files(tmp_path / "b", [other])[0], actor="tester")
    assert count(engine, m.Patient) == 1


# -- a centre's own names and codes ----------------------------------------------------------------


def test_a_mapping_file_maps_a_centres_columns_and_codes(engine: Engine, tmp_path: Path) -> None:
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(
        "sheets:\n  transplants:\n    columns: {Pat: study_id, Donor: donor_type}\n"
        "codes:\n  donor_type: {haplo: haploidentical, Haplo-HSCT: haploidentical, HID: haploidentical}\n"
    )
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2"), patient("P3")])
    transplants = write_sheet(
        tmp_path / "tx.csv",
        [
            {
                "Pat": f"P{i}",
                "transplant_date": "2019-10-01",
                "Donor": code,
                "remission_status": "CR1",
            }
            for i, code in ((1, "haplo"), (2, "Haplo-HSCT"), (3, "HID"))
        ],
    )
    import_files(
        engine,
        path,
        long_sheets={"transplants": transplants},
        mapping=load_mapping(mapping_file),
        actor="tester",
    )
    with registry_session(engine, actor="reader") as session:
        donors = session.scalars(select(m.Transplant.donor_type)).all()
    assert donors == [m.v.DonorType.HAPLOIDENTICAL] * 3


def test_the_example_centre_workbook_imports_through_its_mapping(engine: Engine) -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "centre-export"
    report = import_files(
        engine,
        folder / "patients.xlsx",
        mapping=load_mapping(folder / "mapping.yaml"),
        actor="tester",
    )
    assert report.counts["patients"].inserted == 15


# -- bad input ---------------------------------------------------------------------------------


def test_a_missing_required_column_is_refused(engine: Engine, tmp_path: Path) -> None:
    row = patient()
    del row["diagnosis_date"]
    path, _ = write_files(tmp_path, [row])
    refused(engine, path, r"\[patients\] row 1: the required column 'diagnosis_date' is missing")


def test_an_unknown_column_is_reported_not_dropped(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient(favourite_toy="bear")])
    refused(
        engine,
        path,
        r"row 1: column 'favourite_toy' \(favourite_toy\) is not a column of the "
        r"registry's patients sheet: map it",
    )


def test_an_unknown_column_listed_under_ignore_is_imported_without_it(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient(favourite_toy="bear")])
    mapping = Mapping.model_validate({"sheets": {"patients": {"ignore": ["favourite_toy"]}}})
    assert import_files(engine, path, mapping=mapping, actor="t").counts["patients"].inserted == 1


def test_an_impossible_date_is_refused(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient(), patient("P002", diagnosis_date="2019-02-30")])
    refused(
        engine,
        path,
        r"\[patients\] row 3: column 'diagnosis_date' \(2019-02-30\) is not a calendar date",
    )


def test_an_unparseable_date_is_refused(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient(date_of_birth="10/01/2019")])
    refused(
        engine,
        path,
        r"row 2: column 'date_of_birth' \(10/01/2019\) is not a date in the form YYYY-MM-DD",
    )


def test_death_before_diagnosis_is_refused(engine: Engine, tmp_path: Path) -> None:
    path, others = write_files(
        tmp_path,
        [patient(vital_status="dead", last_contact_date="2019-05-02")],
        events=[{"study_id": "P001", "event_type": "death", "event_date": "2019-04-20"}],
    )
    refused(
        engine,
        path,
        r"\[events\] row 2: column 'event_date' \(2019-04-20\) is before "
        r"'diagnosis_date' \(2019-05-02\)",
        long_sheets=others,
    )


def test_diagnosis_at_thirteen_months_is_refused(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient(date_of_birth="2018-04-02", diagnosis_date="2019-05-02")])
    refused(engine, path, r"column 'diagnosis_date' \(2019-05-02\) is not before the first birthday")


def test_negative_wbc_is_refused(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient(wbc="-3")])
    refused(engine, path, r"row 2: column 'wbc' \(-3\) must be >= 0")


def test_mrd_of_one_and_a_half_is_refused(engine: Engine, tmp_path: Path) -> None:
    path, others = write_files(
        tmp_path,
        [patient()],
        mrd=[
            {
                "study_id": "P001",
                "time_point": "end_of_induction",
                "measured_on": "2019-06-05",
                "method": "PCR",
                "value": "1.5",
            }
        ],
    )
    refused(
        engine,
        path,
        r"\[mrd\] row 2: column 'value' \(1.5\) is not an MRD fraction from 0 to 1",
        long_sheets=others,
    )


def test_an_unknown_donor_code_without_a_mapping_is_refused(engine: Engine, tmp_path: Path) -> None:
    path, others = write_files(
        tmp_path,
        [patient()],
        transplants=[
            {
                "study_id": "P001",
                "transplant_date": "2019-10-01",
                "donor_type": "Haplo-HSCT",
                "remission_status": "CR1",
            }
        ],
    )
    refused(
        engine,
        path,
        r"\[transplants\] row 2: column 'donor_type' \(Haplo-HSCT\) is not a known code",
        long_sheets=others,
    )


def test_duplicate_patient_ids_in_a_file_are_refused(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P001"), patient("P002"), patient("P001")])
    error = refused(engine, path, r"row 4: column 'study_id' \(P001\) appears twice in the patients sheet")
    assert isinstance(error, ImportRejected)
    assert {p.row for p in error.problems} == {2, 4}


def test_a_partner_with_germline_kmt2a_is_refused(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient(kmt2a_status="germline")])
    refused(engine, path, r"column 'kmt2a_partner' \(AFF1\) is given, but kmt2a_status is germline")


def test_two_deaths_are_refused(engine: Engine, tmp_path: Path) -> None:
    path, others = write_files(
        tmp_path,
        [patient(vital_status="dead", last_contact_date="2020-03-01")],
        events=[
            {"study_id": "P001", "event_type": "death", "event_date": d} for d in ("2020-02-01", "2020-03-01")
        ],
    )
    refused(engine, path, "is a second death for this patient", long_sheets=others)


def test_a_long_row_for_an_unknown_patient_is_refused(engine: Engine, tmp_path: Path) -> None:
    path, others = write_files(
        tmp_path,
        [patient()],
        events=[{"study_id": "P999", "event_type": "relapse", "event_date": "2020-01-01"}],
    )
    refused(
        engine,
        path,
        r"\[events\] row 2: column 'study_id' \(P999\) names no patient",
        long_sheets=others,
    )


def test_a_centre_cannot_move_to_another_study_group(engine: Engine, tmp_path: Path) -> None:
    import_files(engine, write_files(tmp_path / "a", [patient("P001")])[0], actor="tester")
    path, _ = write_files(tmp_path / "b", [patient("P002", study_group="AIEOP")])
    refused(
        engine,
        path,
        r"column 'study_group' \(AIEOP\) differs from the registry, where centre "
        r"'Rotterdam' belongs to 'DCOG'",
    )


def test_a_centre_with_two_study_groups_in_one_file_is_refused(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P001"), patient("P002", study_group="AIEOP")])
    refused(engine, path, r"row 3: column 'study_group' \(AIEOP\) differs from patients row 2")


def test_an_empty_file_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_bytes(b"")
    refused(engine, path, "the file is empty")


def test_a_header_without_rows_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "patients.csv", [], columns=list(patient()))
    report = import_files(engine, path, actor="tester")
    assert report.counts["patients"].read == 0 and not report.changed


def test_a_latin1_file_is_refused_with_a_hint_and_read_when_named(engine: Engine, tmp_path: Path) -> None:
    path = write_sheet(
        tmp_path / "patients.csv", [patient(centre="Hôpital Robert-Debré")], encoding="latin-1"
    )
    refused(
        engine,
        path,
        r"line 2: byte 0xf4 is not valid utf-8-sig; the file is in another "
        r"encoding: name it with --encoding",
    )
    import_files(engine, path, mapping=Mapping(encoding="latin-1"), actor="tester")
    with registry_session(engine, actor="reader") as session:
        assert session.scalars(select(m.Centre.name)).all() == ["Hôpital Robert-Debré"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_file_that_is_not_a_spreadsheet_is_refused(engine: Engine, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"patients{suffix}"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    refused(engine, path, "not a spreadsheet")


def test_a_zip_that_is_not_a_workbook_is_refused(engine: Engine, tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "patients.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    refused(engine, path, "not a readable .xlsx workbook")


def test_a_workbook_sheet_that_is_not_a_registry_sheet_is_reported(engine: Engine, tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "cohort.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "patients"
    workbook.active.append(list(patient()))
    workbook.active.append(list(patient().values()))
    workbook.create_sheet("Notes").append(["something the centre wrote"])
    workbook.save(path)
    refused(engine, path, "sheet 'Notes' is not a registry sheet")


def test_every_problem_of_a_file_is_listed_at_once(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(
        tmp_path,
        [
            patient("P1", wbc="-1"),
            patient("P2", sex="X"),
            patient("P3", diagnosis_date="2019-02-30"),
        ],
    )
    error = refused(engine, path, r"3 problem\(s\) in 3 row\(s\)")
    assert isinstance(error, ImportRejected)
    assert [(p.row, p.field) for p in error.problems] == [
        (2, "wbc"),
        (3, "sex"),
        (4, "diagnosis_date"),
    ]


# -- quarantine -----------------------------------------------------------------------------------


def test_quarantine_commits_valid_patients_and_writes_rejected_rows_with_reasons(
    engine: Engine, tmp_path: Path
) -> None:
    path, others = write_files(
        tmp_path,
        [patient("P1"), patient("P2", wbc="-1"), patient("P3")],
        mrd=[
            {
                "study_id": s,
                "time_point": "end_of_induction",
                "measured_on": "2019-06-05",
                "method": "PCR",
                "value": value,
            }
            for s, value in (("P1", "0.01"), ("P2", "0.02"), ("P3", "1.5"))
        ],
    )
    quarantine = tmp_path / "rejected.csv"
    report = import_files(engine, path, long_sheets=others, actor="tester", quarantine=quarantine)
    assert report.counts["patients"].inserted == 1
    with registry_session(engine, actor="reader") as session:
        assert session.scalars(select(m.Patient.study_id)).all() == ["P1"]
    with quarantine.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_place = {(r["sheet"], r["row"]): r for r in rows}
    assert set(by_place) == {("patients", "3"), ("patients", "4"), ("mrd", "3"), ("mrd", "4")}
    assert "column 'wbc' (-1) must be >= 0" in by_place[("patients", "3")]["reasons"]
    assert by_place[("patients", "3")]["wbc"] == "-1"  # the original value is kept
    assert "not imported because other rows of patient 'P2'" in by_place[("mrd", "3")]["reasons"]
    assert "is not an MRD fraction" in by_place[("mrd", "4")]["reasons"]
    assert "not imported because other rows of patient 'P3'" in by_place[("patients", "4")]["reasons"]


def test_quarantined_rows_once_fixed_import_cleanly(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path / "v1", [patient("P1"), patient("P2", wbc="-1")])
    import_files(engine, path, actor="tester", quarantine=tmp_path / "rejected.csv")
    path, _ = write_files(tmp_path / "v2", [patient("P1"), patient("P2", wbc="1")])
    report = import_files(engine, path, actor="tester")
    assert (report.counts["patients"].inserted, report.counts["patients"].unchanged) == (1, 1)
