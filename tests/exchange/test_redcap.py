"""REDCap in: dictionary and records in REDCap's formats, a proposed mapping, the registry's import."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from bassinet.cli import app
from bassinet.errors import DataError
from bassinet.exchange import (
    RedcapMapping,
    import_redcap,
    load_redcap_mapping,
    propose_mapping,
    read_dictionary,
)
from bassinet.registry import ImportRejected, read_frames
from bassinet.registry import models as m
from bassinet.registry.reading import read_csv
from bassinet.registry.store import registry_session
from tests.exchange.redcap_project import (
    BASELINE,
    FLAT_HEADER,
    MRD_FORM,
    flat_rows,
    write_dictionary,
    write_records,
)
from tests.registry.test_import import snapshot

runner = CliRunner()


def proposed(
    tmp_path: Path, fields: list[tuple[str, str, str, str, str, str]], records: Path
) -> RedcapMapping:
    dictionary = read_dictionary(write_dictionary(tmp_path / "dictionary.csv", fields))
    document = yaml.safe_load(propose_mapping(dictionary, read_csv(records, delimiter=",")))
    document.pop("centre_field", None)
    document["centre"] = "Rotterdam"
    document["study_group"] = "DCOG"
    return RedcapMapping.model_validate(document)


# -- the dictionary and the proposal --------------------------------------------------------------


def test_the_dictionary_is_read_with_its_choice_lists_and_checkbox_columns(tmp_path: Path) -> None:
    dictionary = read_dictionary(write_dictionary(tmp_path / "d.csv", BASELINE))
    assert dictionary.record_id == "record_id"
    assert dictionary.fields["sex"].choices == {"1": "Male", "2": "Female"}
    assert dictionary.fields["kmt2a_partner"].choices["1"] == "t(4;11)"
    found = dictionary.checkbox_column("cns___2")
    assert found is not None and found[0].name == "cns" and found[1] == "2"
    assert dictionary.checkbox_column("cns___7") is None


def test_the_proposal_maps_fields_and_choices_by_name_and_label(tmp_path: Path) -> None:
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, flat_rows())
    dictionary = read_dictionary(write_dictionary(tmp_path / "d.csv", BASELINE))
    document = yaml.safe_load(propose_mapping(dictionary, read_csv(records, delimiter=",")))
    assert document["sheets"]["patients"]["fields"] == {
        "sex": "sex",
        "dob": "date_of_birth",
        "dx_date": "diagnosis_date",
        "leukemia_type": "leukemia_type",
        "kmt2a": "kmt2a_status",
        "kmt2a_partner": "kmt2a_partner",
        "wbc": "wbc",
        "cns": "cns_status",
        "last_contact": "last_contact_date",
        "vital_status": "vital_status",
    }
    assert document["codes"]["sex"] == {"1": "M", "2": "F"}
    assert document["codes"]["kmt2a_partner"] == {
        "1": "AFF1",
        "2": "MLLT1",
        "3": "MLLT3",
        "4": "MLLT10",
        "5": "other",
    }
    assert document["codes"]["vital_status"] == {"1": "alive", "2": "dead"}
    assert document["centre"] == "CHANGE ME"
    assert "comments" not in str(document["sheets"])


# -- shapes of projects ---------------------------------------------------------------------------


def test_a_flat_project_is_imported_with_checkbox_and_codes(engine: Engine, tmp_path: Path) -> None:
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, flat_rows())
    mapping = proposed(tmp_path, BASELINE, records)
    dictionary = read_dictionary(tmp_path / "dictionary.csv")
    report = import_redcap(engine, dictionary, records, mapping, actor="dm")
    assert report.counts["patients"].inserted == 2
    patients = read_frames(engine).patients.set_index("study_id")
    assert patients.loc["101", "sex"] == "F" and patients.loc["101", "kmt2a_partner"] == "AFF1"
    assert patients.loc["101", "cns_status"] == "CNS1" and patients.loc["101", "wbc"] == 412.0
    assert patients.loc["102", "kmt2a_status"] == "germline" and patients.loc["102", "centre"] == "Rotterdam"
    # Re-importing the same export changes nothing.
    again = import_redcap(engine, dictionary, records, mapping, actor="dm")
    assert not again.changed


def test_a_label_export_imports_the_same_as_the_raw_one(engine: Engine, tmp_path: Path) -> None:
    raw = write_records(tmp_path / "raw.csv", FLAT_HEADER, flat_rows())
    mapping = proposed(tmp_path, BASELINE, raw)
    dictionary = read_dictionary(tmp_path / "dictionary.csv")
    labels = {
        "sex": {"1": "Male", "2": "Female"},
        "leukemia_type": {"1": "ALL"},
        "kmt2a_partner": {"1": "t(4;11)"},
        "kmt2a": {"0": "Germline", "1": "Rearranged"},
        "vital_status": {"1": "Alive"},
        "cns___1": {"1": "Checked", "0": "Unchecked"},
        "cns___2": {"0": "Unchecked"},
        "cns___3": {"0": "Unchecked"},
    }
    rows = [{k: labels.get(k, {}).get(v, v) for k, v in row.items()} for row in flat_rows()]
    import_redcap(
        engine, dictionary, write_records(tmp_path / "l.csv", FLAT_HEADER, rows), mapping, actor="dm"
    )
    by_labels = read_frames(engine).patients.drop(columns=["id"])
    report = import_redcap(engine, dictionary, raw, mapping, actor="dm")
    assert not report.changed
    assert by_labels.loc[0, "sex"] == "F"


LONG_HEADER = [
    "record_id",
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    *FLAT_HEADER[1:],
    "mrd_tp",
    "mrd_date",
    "mrd_method",
    "mrd_value",
    "mrd_complete",
]


def test_a_longitudinal_project_with_mrd_by_event_is_imported(engine: Engine, tmp_path: Path) -> None:
    base, follow = flat_rows()[0], {"last_contact": "2022-06-30", "vital_status": "1"}
    enrol = {k: v for k, v in base.items() if k not in follow}
    rows = [
        {**enrol, "redcap_event_name": "baseline_arm_1"},
        {
            "record_id": "101",
            "redcap_event_name": "eoi_arm_1",
            "mrd_date": "2019-06-05",
            "mrd_method": "1",
            "mrd_value": "0.0001",
        },
        {
            "record_id": "101",
            "redcap_event_name": "eoc_arm_1",
            "mrd_date": "2019-09-01",
            "mrd_method": "1",
            "mrd_value": "0",
        },
        {"record_id": "101", "redcap_event_name": "followup_arm_1", **follow},
    ]
    fields = BASELINE + [f for f in MRD_FORM if f[0] != "mrd_tp"]
    records = write_records(tmp_path / "r.csv", [c for c in LONG_HEADER if c != "mrd_tp"], rows)
    mapping = proposed(tmp_path, fields, records)
    assert mapping.events == ["baseline_arm_1", "eoc_arm_1", "eoi_arm_1", "followup_arm_1"]
    assert mapping.sheets["mrd"].fields == {
        "mrd_date": "measured_on",
        "mrd_method": "method",
        "mrd_value": "value",
    }
    mapping.sheets["mrd"].by_event = {
        "eoi_arm_1": {"time_point": "end_of_induction"},
        "eoc_arm_1": {"time_point": "end_of_consolidation"},
    }
    mapping.codes["mrd_method"] = {"1": "PCR", "2": "FCM"}
    import_redcap(engine, read_dictionary(tmp_path / "dictionary.csv"), records, mapping, actor="dm")
    mrd = read_frames(engine).mrd.sort_values("measured_on")
    assert list(mrd["time_point"]) == ["end_of_induction", "end_of_consolidation"]
    assert list(mrd["result"]) == ["quantified", "quantified"] and list(mrd["value"]) == [1e-4, 0.0]


def test_a_repeating_mrd_instrument_gives_one_row_per_instance(engine: Engine, tmp_path: Path) -> None:
    rows = [
        {**flat_rows()[0], "redcap_event_name": "baseline_arm_1"},
        {
            "record_id": "101",
            "redcap_event_name": "baseline_arm_1",
            "redcap_repeat_instrument": "mrd",
            "redcap_repeat_instance": "1",
            "mrd_tp": "1",
            "mrd_date": "2019-06-05",
            "mrd_method": "2",
            "mrd_value": "0.002",
        },
        {
            "record_id": "101",
            "redcap_event_name": "baseline_arm_1",
            "redcap_repeat_instrument": "mrd",
            "redcap_repeat_instance": "2",
            "mrd_tp": "2",
            "mrd_date": "2019-09-01",
            "mrd_method": "2",
            "mrd_value": "0.00005",
        },
    ]
    records = write_records(tmp_path / "r.csv", LONG_HEADER, rows)
    mapping = proposed(tmp_path, BASELINE + MRD_FORM, records)
    assert mapping.codes["mrd_tp"] == {"1": "end_of_induction", "2": "end_of_consolidation"}
    assert mapping.codes["mrd_method"] == {"1": "PCR", "2": "FCM"}
    import_redcap(engine, read_dictionary(tmp_path / "dictionary.csv"), records, mapping, actor="dm")
    mrd = read_frames(engine).mrd.sort_values("measured_on")
    assert list(mrd["method"]) == ["FCM", "FCM"] and list(mrd["value"]) == [0.002, 0.00005]


# -- bad input: a clear error naming field and value, nothing written ----------------------------


def refused(engine: Engine, match: str, *args: object) -> None:
    before = snapshot(engine)
    with pytest.raises(DataError, match=match):
        import_redcap(engine, *args, actor="dm")  # type: ignore[arg-type]
    assert snapshot(engine) == before


def test_a_choice_list_that_does_not_map_is_refused_before_any_record(engine: Engine, tmp_path: Path) -> None:
    fields = [f if f[0] != "sex" else (*f[:4], "1, Male | 2, Female | 3, Not stated", "") for f in BASELINE]
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, flat_rows())
    mapping = proposed(tmp_path, fields, records)
    assert mapping.codes["sex"]["3"] is None
    dictionary = read_dictionary(tmp_path / "dictionary.csv")
    refused(
        engine,
        r"field 'sex': choice '3' \(Not stated\) is not mapped; it must map to one of F, M",
        dictionary,
        records,
        mapping,
    )


def test_a_record_in_an_unknown_event_is_refused(engine: Engine, tmp_path: Path) -> None:
    rows = [{**flat_rows()[0], "redcap_event_name": "baseline_arm_1"}]
    records = write_records(tmp_path / "r.csv", LONG_HEADER, rows)
    mapping = proposed(tmp_path, BASELINE + MRD_FORM, records)
    rows.append({"record_id": "101", "redcap_event_name": "relapse_arm_2", "mrd_date": "2020-01-01"})
    write_records(records, LONG_HEADER, rows)
    refused(
        engine,
        r"line 3 \(record 101, event relapse_arm_2\): field 'redcap_event_name' \(relapse_arm_2\) "
        "is not an event of the mapping",
        read_dictionary(tmp_path / "dictionary.csv"),
        records,
        mapping,
    )


def test_a_checkbox_column_without_its_field_is_refused(engine: Engine, tmp_path: Path) -> None:
    records = write_records(tmp_path / "r.csv", [*FLAT_HEADER, "cd10___1"], flat_rows())
    mapping = proposed(tmp_path, BASELINE, records)
    refused(
        engine,
        "column 'cd10___1' is a checkbox column, but the data dictionary has no checkbox field "
        "'cd10' with choice '1'",
        read_dictionary(tmp_path / "dictionary.csv"),
        records,
        mapping,
    )


def test_a_value_that_is_not_a_choice_is_refused(engine: Engine, tmp_path: Path) -> None:
    rows = flat_rows()
    rows[1]["sex"] = "7"
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, rows)
    mapping = proposed(tmp_path, BASELINE, records)
    refused(
        engine,
        r"line 3 \(record 102\): field 'sex' \(7\) is not one of its choices \(1 = Male, 2 = Female\)",
        read_dictionary(tmp_path / "dictionary.csv"),
        records,
        mapping,
    )


def test_a_registry_rule_is_reported_at_the_redcap_line_and_field(engine: Engine, tmp_path: Path) -> None:
    rows = flat_rows()
    rows[1]["dob"] = "2021-01-01"  # born after diagnosis
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, rows)
    mapping = proposed(tmp_path, BASELINE, records)
    before = snapshot(engine)
    with pytest.raises(ImportRejected) as caught:
        import_redcap(engine, read_dictionary(tmp_path / "dictionary.csv"), records, mapping, actor="dm")
    assert snapshot(engine) == before
    assert any(p.source == str(records) and p.row == 3 and p.column == "dob" for p in caught.value.problems)
    assert "record 102" in str(caught.value)


# -- the command ----------------------------------------------------------------------------------


def test_the_command_proposes_a_mapping_then_imports_with_it(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    dictionary = write_dictionary(tmp_path / "dictionary.csv", BASELINE)
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, flat_rows())
    proposal = tmp_path / "mapping.yaml"
    env = {"COLUMNS": "200"}
    first = runner.invoke(
        app,
        [
            "import-redcap",
            "--dictionary",
            str(dictionary),
            "--records",
            str(records),
            "--propose-mapping",
            str(proposal),
        ],
        env=env,
    )
    assert first.exit_code == 0, first.output
    text = proposal.read_text().replace("CHANGE ME", "Utrecht")
    proposal.write_text(text)
    assert load_redcap_mapping(proposal).centre == "Utrecht"
    second = runner.invoke(
        app,
        [
            "import-redcap",
            "--dictionary",
            str(dictionary),
            "--records",
            str(records),
            "--mapping",
            str(proposal),
            "--user",
            "dm",
            "--registry",
            url,
        ],
        env=env,
    )
    assert second.exit_code == 0, second.output
    assert "patients" in second.output
    with registry_session(engine, actor="t") as session:
        assert sorted(session.scalars(select(m.Patient.study_id))) == ["101", "102"]


def test_the_command_names_the_record_and_sheet_of_a_broken_rule(engine: Engine, tmp_path: Path) -> None:
    rows = flat_rows()
    rows[1]["dob"] = "2021-01-01"
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, rows)
    mapping = proposed(tmp_path, BASELINE, records)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(mapping.model_dump()))
    url = engine.url.render_as_string(hide_password=False)
    args = ["import-redcap", "--dictionary", str(tmp_path / "dictionary.csv"), "--records", str(records),
            "--mapping", str(path), "--user", "dm", "--registry", url]  # fmt: skip
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert (
        f"{records} [patients: record 102] row 3: column 'dob' (-> date_of_birth) (2021-01-01)"
        in result.output
    )


def test_with_a_quarantine_file_the_valid_records_are_committed(engine: Engine, tmp_path: Path) -> None:
    rows = flat_rows()
    rows[1]["dob"] = "2021-01-01"  # born after diagnosis: record 102 is rejected
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, rows)
    mapping = proposed(tmp_path, BASELINE, records)
    quarantine = tmp_path / "rejected.csv"
    dictionary = read_dictionary(tmp_path / "dictionary.csv")
    report = import_redcap(engine, dictionary, records, mapping, actor="dm", quarantine=quarantine)
    assert report.counts["patients"].inserted == 1 and report.counts["patients"].rejected == 1
    assert list(read_frames(engine).patients["study_id"]) == ["101"]
    rejected = quarantine.read_text()
    assert "102" in rejected and "is after 'diagnosis_date'" in rejected


# -- found trying the commands cold (cr20) --------------------------------------------------------

COLD = [
    ("record_id", "enrolment", "text", "Record ID", "", ""),
    ("dx_date", "enrolment", "text", "Date of diagnosis", "", "date_dmy"),
    ("diagnosis", "enrolment", "dropdown", "Diagnosis", "1, ALL | 2, AML", ""),
    ("kmt2a", "enrolment", "radio", "KMT2A", "1, Rearranged | 0, Germline | 9, Not done", ""),
    ("ev_type", "events", "dropdown", "Event", "1, Relapse | 2, Death", ""),
    ("ev_date", "events", "text", "Event date", "", "date_ymd"),
    ("ev_note", "events", "notes", "Event details", "", ""),
]  # fmt: skip


def test_a_coded_diagnosis_field_is_proposed_as_the_leukemia_type_not_a_date(tmp_path: Path) -> None:
    dictionary = read_dictionary(write_dictionary(tmp_path / "d.csv", COLD))
    document = yaml.safe_load(propose_mapping(dictionary))
    assert document["sheets"]["patients"]["fields"] == {
        "dx_date": "diagnosis_date",
        "diagnosis": "leukemia_type",
        "kmt2a": "kmt2a_status",
    }
    assert document["codes"]["diagnosis"] == {"1": "ALL", "2": "AML"}
    assert document["codes"]["kmt2a"] == {"1": "rearranged", "0": "germline", "9": "unknown"}


def test_an_events_form_with_its_own_field_prefix_is_proposed_as_the_events_sheet(tmp_path: Path) -> None:
    dictionary = read_dictionary(write_dictionary(tmp_path / "d.csv", COLD))
    text = propose_mapping(dictionary)
    document = yaml.safe_load(text)
    assert document["sheets"]["events"] == {
        "form": "events",
        "fields": {"ev_type": "event_type", "ev_date": "event_date"},
    }
    assert document["codes"]["ev_type"] == {"1": "relapse", "2": "death"}
    assert "#   ev_note (events: Event details)" in text


def test_a_mapping_without_a_required_registry_column_is_refused_in_the_mappings_terms(
    engine: Engine, tmp_path: Path
) -> None:
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, flat_rows())
    mapping = proposed(tmp_path, BASELINE, records)
    del mapping.sheets["patients"].fields["vital_status"]
    mapping.sheets["patients"].fields["comments"] = "disease"
    with pytest.raises(DataError) as caught:
        import_redcap(engine, read_dictionary(tmp_path / "dictionary.csv"), records, mapping, actor="dm")
    message = str(caught.value)
    assert "sheets.patients: no field maps to 'vital_status', which the registry requires" in message
    assert "field 'comments' maps to 'disease', not a column of patients (centre, study_group," in message
    assert "bassinet-redcap-" not in message  # never the temporary files' names


def test_a_mapped_field_empty_in_every_record_is_reported_at_the_redcap_lines(
    engine: Engine, tmp_path: Path
) -> None:
    rows = flat_rows()
    for row in rows:
        row["vital_status"] = ""
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, rows)
    mapping = proposed(tmp_path, BASELINE, records)
    with pytest.raises(ImportRejected) as caught:
        import_redcap(engine, read_dictionary(tmp_path / "dictionary.csv"), records, mapping, actor="dm")
    found = {(p.source, p.row, p.column, p.rule) for p in caught.value.problems}
    assert found == {
        (str(records), 2, "vital_status", "is required"),
        (str(records), 3, "vital_status", "is required"),
    }


def test_dates_exported_day_first_are_refused_with_a_hint_then_read_with_date_format(
    engine: Engine, tmp_path: Path
) -> None:
    rows = flat_rows()
    rows[0]["dob"], rows[0]["dx_date"] = "10/01/2019", "02-05-2019"  # 10 Jan, 2 May
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, rows)
    mapping = proposed(tmp_path, BASELINE, records)
    dictionary = read_dictionary(tmp_path / "dictionary.csv")
    refused(
        engine,
        r"r\.csv line 2 \(record 101\): field 'dob' \(10/01/2019\) is not a date as REDCap exports it "
        r"by default \(YYYY-MM-DD\).*`date_format: DMY`",
        dictionary,
        records,
        mapping,
    )
    mapping.date_format = "DMY"
    import_redcap(engine, dictionary, records, mapping, actor="dm")
    patients = read_frames(engine).patients.set_index("study_id")
    assert str(patients.loc["101", "date_of_birth"])[:10] == "2019-01-10"
    assert str(patients.loc["101", "diagnosis_date"])[:10] == "2019-05-02"
    assert str(patients.loc["102", "date_of_birth"])[:10] == "2020-03-01"  # ISO values are left as they are


def test_month_first_dates_are_read_with_date_format_mdy(engine: Engine, tmp_path: Path) -> None:
    rows = flat_rows()
    rows[0]["dob"] = "01/10/2019"
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, rows)
    mapping = proposed(tmp_path, BASELINE, records)
    mapping.date_format = "MDY"
    import_redcap(engine, read_dictionary(tmp_path / "dictionary.csv"), records, mapping, actor="dm")
    assert (
        str(read_frames(engine).patients.set_index("study_id").loc["101", "date_of_birth"])[:10]
        == "2019-01-10"
    )


def test_the_command_reads_a_cp1252_export_with_encoding_and_names_a_missing_file(
    engine: Engine, tmp_path: Path
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    fields = [f if f[0] != "sex" else (*f[:4], "1, Garçon | 2, Fille", "") for f in BASELINE]
    dictionary = write_dictionary(tmp_path / "d.csv", fields)
    dictionary.write_bytes(dictionary.read_text(encoding="utf-8").encode("cp1252"))
    rows = flat_rows()
    rows[0]["sex"] = "Fille"  # a label export
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, rows)
    mapping = tmp_path / "m.yaml"
    document = yaml.safe_load(propose_mapping(read_dictionary(dictionary, encoding="cp1252")))
    document.update(centre="Lyon", codes={**document["codes"], "sex": {"1": "M", "2": "F"}})
    mapping.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    base = ["import-redcap", "--records", str(records), "--mapping", str(mapping), "--registry", url]
    refused = runner.invoke(app, [*base, "--dictionary", str(dictionary)], env={"COLUMNS": "300"})
    assert refused.exit_code == 1
    assert "byte 0xe7 is not valid utf-8-sig" in refused.output
    missing = runner.invoke(app, [*base, "--dictionary", str(tmp_path / "nope.csv")], env={"COLUMNS": "300"})
    assert missing.exit_code == 1
    assert "nope.csv: no such file (the data dictionary)" in missing.output
    done = runner.invoke(app, [*base, "--dictionary", str(dictionary), "--encoding", "cp1252"])
    assert done.exit_code == 0, done.output
    patients = read_frames(engine).patients.set_index("study_id")
    assert patients.loc["101", "sex"] == "F" and patients.loc["102", "sex"] == "M"


def test_a_broken_rule_on_a_patient_field_names_the_event_row_that_holds_it(
    engine: Engine, tmp_path: Path
) -> None:
    base = flat_rows()[0]
    follow = {"last_contact": "2019-01-01", "vital_status": "1"}  # before the diagnosis on 2019-05-02
    enrol = {k: v for k, v in base.items() if k not in follow}
    rows = [
        {**enrol, "redcap_event_name": "baseline_arm_1"},
        {"record_id": "101", "redcap_event_name": "followup_arm_1", **follow},
    ]
    header = ["record_id", "redcap_event_name", *FLAT_HEADER[1:]]
    records = write_records(tmp_path / "r.csv", header, rows)
    mapping = proposed(tmp_path, BASELINE, records)
    with pytest.raises(ImportRejected) as caught:
        import_redcap(engine, read_dictionary(tmp_path / "dictionary.csv"), records, mapping, actor="dm")
    located = {(p.row, p.column, p.sheet) for p in caught.value.problems}
    assert (3, "last_contact", "patients: record 101, event followup_arm_1") in located


def test_accented_labels_are_proposed_without_guessing_and_matched_in_either_unicode_form(
    engine: Engine, tmp_path: Path
) -> None:
    import unicodedata

    immuno = (
        "immuno",
        "enrolment",
        "dropdown",
        "Immunophénotype",
        "1, Pro-B | 2, Pré-B | 3, Pré-B commune",
        "",
    )
    dictionary = read_dictionary(write_dictionary(tmp_path / "d.csv", [*BASELINE, immuno]))
    document = yaml.safe_load(propose_mapping(dictionary))
    # 'Pré-B commune' is common B, not pre-B: it is left for the data manager to decide.
    assert document["codes"]["immuno"] == {"1": "pro_B", "2": "pre_B", "3": None}
    rows = flat_rows()
    rows[0]["immuno"] = unicodedata.normalize("NFD", "Pré-B")  # as a Mac spreadsheet may save it
    rows[1]["immuno"] = "3"
    records = write_records(tmp_path / "r.csv", [*FLAT_HEADER, "immuno"], rows)
    mapping = proposed(tmp_path, [*BASELINE, immuno], records)
    mapping.codes["immuno"]["3"] = "common_B"
    import_redcap(engine, read_dictionary(tmp_path / "dictionary.csv"), records, mapping, actor="dm")
    patients = read_frames(engine).patients.set_index("study_id")
    assert list(patients.loc[["101", "102"], "immunophenotype"]) == ["pre_B", "common_B"]


def test_the_proposal_points_out_day_first_dates_in_the_records(tmp_path: Path) -> None:
    rows = flat_rows()
    rows[1]["dob"] = "01/03/2020"
    records = write_records(tmp_path / "r.csv", FLAT_HEADER, rows)
    dictionary = read_dictionary(write_dictionary(tmp_path / "d.csv", BASELINE))
    text = propose_mapping(dictionary, read_csv(records, delimiter=","))
    assert "# The records hold dates such as 01/03/2020, not YYYY-MM-DD: add date_format: DMY" in text
    plain = propose_mapping(dictionary, read_csv(write_records(tmp_path / "s.csv", FLAT_HEADER, flat_rows())))
    assert "date_format" not in plain
