"""FHIR out and back: every resource validates as R4; reading the bundles back gives the same registry."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import Engine
from typer.testing import CliRunner

from bassinet.cli import app
from bassinet.errors import DataError
from bassinet.exchange import deidentify, export_registry, import_bundles, list_exports, load_key
from bassinet.registry import RegistryFrames, init_registry, make_engine, read_frames
from tests.registry.test_import import snapshot

COMPARED = ("patients", "remissions", "mrd", "courses", "transplants", "events")


def comparable(frames: RegistryFrames) -> dict[str, pd.DataFrame]:
    """Each registry table keyed by study id and contents, without database ids."""
    ids = frames.patients.set_index("id")["study_id"]
    out = {}
    for name in COMPARED:
        frame = frames[name].copy()
        if name != "patients":
            frame["study_id"] = frame.pop("patient_id").map(ids)
        frame = frame.drop(columns=[c for c in ("id", "centre_id") if c in frame])
        out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def fresh(tmp_path: Path, name: str) -> Engine:
    url = f"sqlite:///{tmp_path / name}"
    init_registry(url)
    return make_engine(url)


def test_every_resource_of_every_bundle_validates_as_fhir(filled: Engine, tmp_path: Path) -> None:
    files = export_registry(filled, "fhir", tmp_path / "fhir", actor="stats").files
    assert len(files) == 40
    kinds: set[str] = set()
    for path in files:
        document = json.loads(path.read_text())
        Bundle.model_validate(document)
        assert document["type"] == "collection"
        for entry in document["entry"]:
            resource = entry["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            kinds.add(resource["resourceType"])
        [patient] = [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "Patient"]
        assert patient["meta"]["profile"] == [
            "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-patient"
        ]
    assert kinds == {"Patient", "Organization", "Condition", "Observation", "Procedure"}
    assert list_exports(filled)[0].patients == 40


def test_reading_the_bundles_into_an_empty_registry_gives_the_same_registry(
    filled: Engine, tmp_path: Path
) -> None:
    files = export_registry(filled, "fhir", tmp_path / "fhir", actor="stats").files
    copy = fresh(tmp_path, "copy.db")
    report = import_bundles(copy, files, actor="reader")
    assert report.counts["patients"].inserted == 40
    original, read_back = comparable(read_frames(filled)), comparable(read_frames(copy))
    for name in COMPARED:
        pd.testing.assert_frame_equal(original[name], read_back[name], check_dtype=False, obj=name)
    again = import_bundles(copy, files, actor="reader")
    assert not again.changed
    copy.dispose()


def test_wbc_and_diagnosis_use_loinc_and_snomed(filled: Engine, tmp_path: Path) -> None:
    files = export_registry(filled, "fhir", tmp_path / "fhir", actor="stats").files
    text = "".join(p.read_text() for p in files)
    assert '"code": "26464-8"' in text and '"code": "10*9/L"' in text
    assert '"code": "91857003"' in text or '"code": "91861009"' in text
    assert '"code": "97509-4"' in text


def test_a_deidentified_fhir_export_carries_pseudonyms_and_shifted_dates(
    filled: Engine, tmp_path: Path, key_file: Path
) -> None:
    frames = read_frames(filled)
    files = export_registry(filled, "fhir", tmp_path / "fhir", actor="s", key_file=key_file).files
    text = "".join(p.read_text() for p in files)
    assert not any(f'"value": "{s}"' in text for s in frames.patients["study_id"])
    released = deidentify(frames, key=load_key(key_file)).frames.patients.set_index("study_id")
    for path in files[:5]:
        entries = [e["resource"] for e in json.loads(path.read_text())["entry"]]
        [patient] = [r for r in entries if r["resourceType"] == "Patient"]
        expected = released.loc[patient["identifier"][0]["value"]]
        assert patient["birthDate"] == expected["date_of_birth"].date().isoformat()


def test_the_risk_group_is_an_observation_with_its_protocol(filled: Engine, tmp_path: Path) -> None:
    from bassinet.protocols.service import stratify

    decided = stratify(filled, actor="stats", protocol="interfant-06", study_ids=None)
    files = export_registry(filled, "fhir", tmp_path / "fhir", actor="stats").files
    groups = []
    for path in files:
        for entry in json.loads(path.read_text())["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Observation" and resource["code"]["text"] == "risk group":
                groups.append(resource["valueCodeableConcept"]["text"])
                assert resource["component"][0]["valueString"] == "interfant-06"
    assert sorted(groups) == sorted(r.decision.outcome or "none" for r in decided)


def test_a_bundle_with_a_wrong_resource_type_is_refused_and_nothing_written(
    filled: Engine, tmp_path: Path
) -> None:
    files = export_registry(filled, "fhir", tmp_path / "fhir", actor="stats").files[:3]
    document = json.loads(files[1].read_text())
    document["entry"].append(
        {"fullUrl": "urn:uuid:1b4f3c9e-0000-5000-8000-000000000001",
         "resource": {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                      "subject": {"reference": "Patient/x"}, "medicationCodeableConcept": {"text": "6-MP"}}}
    )  # fmt: skip
    files[1].write_text(json.dumps(document))
    copy = fresh(tmp_path, "copy.db")
    before = snapshot(copy)
    entry = len(document["entry"]) - 1
    with pytest.raises(
        DataError, match=rf"entry {entry}: resourceType 'MedicationRequest' is not one Bassinet"
    ):
        import_bundles(copy, files, actor="reader")
    assert snapshot(copy) == before


def test_a_file_that_is_not_a_bundle_and_an_invalid_resource_are_refused(tmp_path: Path) -> None:
    copy = fresh(tmp_path, "copy.db")
    path = tmp_path / "patient.json"
    path.write_text(json.dumps({"resourceType": "Patient", "gender": "female"}))
    with pytest.raises(DataError, match="resourceType 'Patient' is not a Bundle"):
        import_bundles(copy, [path], actor="reader")
    bad = {"resourceType": "Bundle", "type": "collection",
           "entry": [{"resource": {"resourceType": "Observation", "code": {"text": "wbc"}}}]}  # fmt: skip
    path.write_text(json.dumps(bad))
    with pytest.raises(
        DataError, match=r"entry 0: Observation.status: Value for the field 'status' is required"
    ):
        import_bundles(copy, [path], actor="reader")


def test_export_as_fhir_and_import_fhir_on_the_command_line(filled: Engine, tmp_path: Path) -> None:
    url = filled.url.render_as_string(hide_password=False)
    runner = CliRunner()
    env = {"COLUMNS": "200", "BASSINET_USER": "cli"}
    written = runner.invoke(
        app, ["export-as", "fhir", "--out", str(tmp_path / "f"), "--registry", url], env=env
    )
    assert written.exit_code == 0, written.output
    copy = fresh(tmp_path, "copy.db")
    target = copy.url.render_as_string(hide_password=False)
    read = runner.invoke(app, ["import-fhir", str(tmp_path / "f"), "--registry", target], env=env)
    assert read.exit_code == 0, read.output
    assert len(read_frames(copy).patients) == 40


def test_redcap_to_registry_to_fhir_to_registry_keeps_every_record(engine: Engine, tmp_path: Path) -> None:
    from tests.exchange.redcap_project import BASELINE, MRD_FORM, write_dictionary, write_records
    from tests.exchange.test_redcap import LONG_HEADER, flat_rows, proposed

    rows = [
        {**flat_rows()[0], "redcap_event_name": "baseline_arm_1"},
        {**flat_rows()[1], "redcap_event_name": "baseline_arm_1"},
        {"record_id": "101", "redcap_event_name": "baseline_arm_1", "redcap_repeat_instrument": "mrd",
         "redcap_repeat_instance": "1", "mrd_tp": "1", "mrd_date": "2019-06-05", "mrd_method": "1",
         "mrd_value": "0.0001"},
    ]  # fmt: skip
    records = write_records(tmp_path / "r.csv", LONG_HEADER, rows)
    mapping = proposed(tmp_path, BASELINE + MRD_FORM, records)
    from bassinet.exchange import import_redcap, read_dictionary

    dictionary = read_dictionary(write_dictionary(tmp_path / "dictionary.csv", BASELINE + MRD_FORM))
    import_redcap(engine, dictionary, records, mapping, actor="dm")
    files = export_registry(engine, "fhir", tmp_path / "fhir", actor="stats").files
    copy = fresh(tmp_path, "copy.db")
    import_bundles(copy, files, actor="reader")
    original, read_back = comparable(read_frames(engine)), comparable(read_frames(copy))
    assert len(original["patients"]) == 2 and len(original["mrd"]) == 1
    for name in COMPARED:
        pd.testing.assert_frame_equal(original[name], read_back[name], check_dtype=False, obj=name)


def test_missing_optional_values_survive_the_round_trip(engine: Engine, tmp_path: Path) -> None:
    from bassinet.registry import import_files
    from tests.registry.builders import patient, write_files

    path, others = write_files(
        tmp_path / "in",
        [
            patient(
                "A1",
                vital_status="dead",
                last_contact_date="2020-03-01",
                randomisation_arm="IB",
                randomisation_date="2019-07-01",
                wbc="",
                cd10="",
                kmt2a_partner="",
            ),
            patient("A2", kmt2a_status="unknown", kmt2a_partner="", immunophenotype="", day8_blasts=""),
        ],
        mrd=[
            {
                "study_id": "A1",
                "time_point": "end_of_induction",
                "measured_on": "2019-06-05",
                "method": "PCR",
                "value": "negative",
            },
            {
                "study_id": "A2",
                "time_point": "end_of_induction",
                "measured_on": "2019-06-05",
                "method": "FCM",
                "value": "PNQ",
            },
        ],
        transplants=[
            {
                "study_id": "A1",
                "transplant_date": "2019-10-01",
                "donor_type": "cord",
                "remission_status": "CR1",
            }
        ],
        events=[
            {"study_id": "A1", "event_type": "relapse", "event_date": "2020-01-15", "relapse_site": "CNS"},
            {"study_id": "A1", "event_type": "death", "event_date": "2020-03-01", "death_cause": "leukemia"},
        ],
    )
    import_files(engine, path, long_sheets=others, actor="loader")
    files = export_registry(engine, "fhir", tmp_path / "fhir", actor="stats").files
    assert "null" not in "".join(p.read_text() for p in files)
    copy = fresh(tmp_path, "copy.db")
    import_bundles(copy, files, actor="reader")
    original, read_back = comparable(read_frames(engine)), comparable(read_frames(copy))
    for name in COMPARED:
        pd.testing.assert_frame_equal(original[name], read_back[name], check_dtype=False, obj=name)
    assert read_back["transplants"]["engraftment_date"].isna().all()
    assert sorted(read_back["mrd"]["result"]) == ["negative", "positive_nq"]


def test_a_registry_rule_broken_in_a_bundle_names_the_file_and_entry(engine: Engine, tmp_path: Path) -> None:
    from bassinet.registry import ImportRejected

    files = export_registry_small(engine, tmp_path)
    document = json.loads(files[0].read_text())
    index, person = next(
        (i, e["resource"])
        for i, e in enumerate(document["entry"])
        if e["resource"]["resourceType"] == "Patient"
    )
    person["birthDate"] = "2030-01-01"  # born after diagnosis
    files[0].write_text(json.dumps(document))
    copy = fresh(tmp_path, "copy.db")
    with pytest.raises(ImportRejected) as caught:
        import_bundles(copy, files, actor="reader")
    assert f"{files[0]} [entry {index}]: column 'date_of_birth' (2030-01-01)" in str(caught.value)


def export_registry_small(engine: Engine, tmp_path: Path) -> list[Path]:
    from bassinet.registry import import_files
    from tests.registry.builders import patient, write_files

    path, others = write_files(tmp_path / "small", [patient("S1")])
    import_files(engine, path, long_sheets=others, actor="loader")
    return export_registry(engine, "fhir", tmp_path / "fhir", actor="stats").files
