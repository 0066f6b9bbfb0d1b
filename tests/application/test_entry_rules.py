"""One source of rules: the entry forms and the import give the same verdict, in the same words.

Each case of :data:`CASES` is a row at a boundary of a rule (dates out of order, values out
of range, a missing required value, an unknown code). The row is given to the form handler
(:func:`bassinet.application.entry.check_entry`) and, as a CSV file written here, to the
importer (:func:`bassinet.registry.import_files`, a real import, not a dry run). Both must
accept it, or both refuse it with the same (field, rule) pairs; a rule the row breaks in
another record (the patient's last contact) is shown above the form, in the import's words.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bassinet.application import entry, local_operator
from bassinet.registry import ImportRejected, import_files
from bassinet.registry import models as m
from bassinet.registry.sheets import SHEETS
from tests.access.conftest import World

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()

#: A valid new patient of Rotterdam: born 2020-01-01, diagnosed 2020-03-01, seen 2021-01-01.
PATIENT = {
    "centre": "Rotterdam",
    "sex": "F",
    "date_of_birth": "2020-01-01",
    "diagnosis_date": "2020-03-01",
    "leukemia_type": "ALL",
    "kmt2a_status": "rearranged",
    "wbc": "300",
    "last_contact_date": "2021-01-01",
    "vital_status": "alive",
}
REQUIRED = "is required"

# (case, sheet, the row's values over a valid one, expected problems as (field, rule start)).
# A problem whose field is prefixed "patients." is one of the patient's row (shown above a
# record's form). An empty expectation is an accepted row.
CASES: list[tuple[str, str, dict[str, str], set[tuple[str, str]]]] = [
    ("valid patient", "patients", {}, set()),
    ("diagnosis the day before the first birthday", "patients", {"diagnosis_date": "2020-12-31"}, set()),
    (
        "diagnosis on the first birthday",
        "patients",
        {"diagnosis_date": "2021-01-01"},
        {("diagnosis_date", "is not before the first birthday (2021-01-01")},
    ),
    (
        "birth after diagnosis",
        "patients",
        {"date_of_birth": "2020-03-02"},
        {("date_of_birth", "is after 'diagnosis_date' (2020-03-01)")},
    ),
    ("wbc of exactly 0", "patients", {"wbc": "0"}, set()),
    ("negative wbc", "patients", {"wbc": "-0.1"}, {("wbc", "must be >= 0 x10^9/L")}),
    ("wbc at its bound", "patients", {"wbc": "5000"}, set()),
    ("wbc over its bound", "patients", {"wbc": "5000.1"}, {("wbc", "must be <= 5000 x10^9/L")}),
    ("wbc not a number", "patients", {"wbc": "many"}, {("wbc", "is not a number")}),
    ("missing sex", "patients", {"sex": ""}, {("sex", REQUIRED)}),
    (
        "unknown leukemia code",
        "patients",
        {"leukemia_type": "CML"},
        {("leukemia_type", "is not a known code")},
    ),
    (
        "not a calendar date",
        "patients",
        {"last_contact_date": "2021-02-30"},
        {("last_contact_date", "is not a calendar date")},
    ),
    (
        "date before the era",
        "patients",
        {"date_of_birth": "1979-12-31"},
        {("date_of_birth", "is before 1980-01-01")},
    ),
    (
        "date in the future",
        "patients",
        {"last_contact_date": TOMORROW},
        {("last_contact_date", "is in the future")},
    ),
    (
        "partner without rearrangement",
        "patients",
        {"kmt2a_status": "germline", "kmt2a_partner": "AFF1"},
        {("kmt2a_partner", "is given, but kmt2a_status is germline")},
    ),
    (
        "last contact before diagnosis",
        "patients",
        {"last_contact_date": "2020-02-29"},
        {("last_contact_date", "is before 'diagnosis_date' (2020-03-01)")},
    ),
    (
        "remission on the day of diagnosis",
        "remissions",
        {"time_point": "end_of_induction", "assessment_date": "2020-03-01", "status": "CR"},
        set(),
    ),
    (
        "remission the day before diagnosis",
        "remissions",
        {"time_point": "end_of_induction", "assessment_date": "2020-02-29", "status": "CR"},
        {("assessment_date", "is before 'diagnosis_date' (2020-03-01)")},
    ),
    (
        "remission after the last contact",
        "remissions",
        {"time_point": "end_of_induction", "assessment_date": "2021-01-02", "status": "CR"},
        {("patients.last_contact_date", "is before the latest record, 'assessment_date' 2021-01-02")},
    ),
    (
        "remission without time point",
        "remissions",
        {"time_point": "", "assessment_date": "2020-04-01", "status": "CR"},
        {("time_point", REQUIRED)},
    ),
    (
        "unknown remission status",
        "remissions",
        {"time_point": "day_15", "assessment_date": "2020-04-01", "status": "PR"},
        {("status", "is not a known code")},
    ),
    (
        "MRD of exactly 1",
        "mrd",
        {"time_point": "day_15", "measured_on": "2020-04-01", "method": "PCR", "value": "1"},
        set(),
    ),
    (
        "MRD over 1",
        "mrd",
        {"time_point": "day_15", "measured_on": "2020-04-01", "method": "PCR", "value": "1.0001"},
        {("value", "is not an MRD fraction from 0 to 1")},
    ),
    (
        "MRD below 0",
        "mrd",
        {"time_point": "day_15", "measured_on": "2020-04-01", "method": "PCR", "value": "-0.0001"},
        {("value", "is not an MRD fraction from 0 to 1")},
    ),
    (
        "MRD not understood",
        "mrd",
        {"time_point": "day_15", "measured_on": "2020-04-01", "method": "FCM", "value": "low"},
        {("value", "is not an MRD result")},
    ),
    (
        "MRD without date",
        "mrd",
        {"time_point": "day_15", "measured_on": "", "method": "FCM", "value": "negative"},
        {("measured_on", REQUIRED)},
    ),
    (
        "course before diagnosis",
        "courses",
        {"course": "induction", "start_date": "2020-02-28"},
        {("start_date", "is before 'diagnosis_date' (2020-03-01)")},
    ),
    (
        "unknown course",
        "courses",
        {"course": "CHOP", "start_date": "2020-03-02"},
        {("course", "is not a known code")},
    ),
    (
        "transplant on the day of diagnosis",
        "transplants",
        {"transplant_date": "2020-03-01", "donor_type": "cord", "remission_status": "CR1"},
        {("transplant_date", "is not after 'diagnosis_date' (2020-03-01)")},
    ),
    (
        "transplant the day after diagnosis",
        "transplants",
        {"transplant_date": "2020-03-02", "donor_type": "cord", "remission_status": "CR1"},
        set(),
    ),
    (
        "engraftment before transplant",
        "transplants",
        {
            "transplant_date": "2020-08-01",
            "donor_type": "cord",
            "remission_status": "CR1",
            "engraftment_date": "2020-07-31",
        },
        {("engraftment_date", "is before 'transplant_date' (2020-08-01)")},
    ),
    (
        "MRD method without value",
        "transplants",
        {
            "transplant_date": "2020-08-01",
            "donor_type": "cord",
            "remission_status": "CR1",
            "mrd_method": "PCR",
        },
        {("mrd_method", "is given without 'mrd_value'")},
    ),
    (
        "relapse with a cause of death",
        "events",
        {"event_type": "relapse", "event_date": "2020-09-01", "death_cause": "infection"},
        {("death_cause", "is given for a relapse, not a death")},
    ),
    (
        "death of a patient recorded alive",
        "events",
        {"event_type": "death", "event_date": "2020-09-01"},
        {
            ("patients.vital_status", "is alive, but a death is recorded"),
            ("patients.last_contact_date", "is after the death on 2020-09-01"),
        },
    ),
    (
        "event in the future",
        "events",
        {"event_type": "relapse", "event_date": TOMORROW},
        {("event_date", "is in the future")},
    ),
]


def _write(path: Path, sheet: str, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [c.name for c in SHEETS[sheet].columns])
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def _imported(
    engine: Engine, folder: Path, study_id: str, sheet: str, row: dict[str, str]
) -> set[tuple[str, str]]:
    """The importer's verdict: (field, rule) of each problem ('patients.' for the patient's row)."""
    patient = {"study_id": study_id, "study_group": "DCOG", **PATIENT}
    if sheet == "patients":
        patient.update(row)
        files = {"patients": _write(folder / "patients.csv", "patients", [patient])}
    else:
        files = {
            "patients": _write(folder / "patients.csv", "patients", [patient]),
            sheet: _write(folder / f"{sheet}.csv", sheet, [{"study_id": study_id, **row}]),
        }
    try:
        import_files(engine, files.pop("patients"), long_sheets=files, actor="importer")
    except ImportRejected as exc:
        return {
            (p.field or "" if Path(p.source).stem == sheet else f"patients.{p.field}", p.rule)
            for p in exc.problems
        }
    return set()


def _matches(found: set[tuple[str, str]], expected: set[tuple[str, str]]) -> bool:
    return len(found) == len(expected) and all(
        any(f == field and rule.startswith(start) for f, rule in found) for field, start in expected
    )


@pytest.mark.parametrize(("case", "sheet", "row", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_form_and_the_import_give_the_same_verdict_in_the_same_words(
    world: World, tmp_path: Path, case: str, sheet: str, row: dict[str, str], expected: set[tuple[str, str]]
) -> None:
    engine = world.engine
    actor = local_operator("data manager")
    study_id = "CASE-1"
    if sheet == "patients":
        verdict = entry.check_entry(actor, engine, "patients", {"study_id": study_id, **PATIENT, **row})
    else:
        # the record goes to a valid patient entered first (through the form, as a user would)
        saved = entry.save_entry(actor, engine, "patients", {"study_id": study_id, **PATIENT})
        patient_id = saved.patient_id
        verdict = entry.check_entry(actor, engine, sheet, row, patient_id=patient_id)
    form = {(e.field, e.rule) for e in verdict.errors}
    # a problem of the patient's row, shown above a record's form, in the import's words
    form |= {(f"{o.kind}.{o.field}", o.rule) for o in verdict.elsewhere}
    imported = _imported(engine, tmp_path, "CASE-2", sheet, row)
    assert _matches(imported, expected), f"{case}: the import said {imported}"
    assert form == imported, f"{case}: the form said {form}, the import {imported}"
    with Session(engine) as session:  # the check wrote nothing: no new patient, no new record
        patients = list(session.scalars(select(m.Patient).where(m.Patient.study_id == study_id)))
        assert len(patients) == (0 if sheet == "patients" else 1)
        assert all(not getattr(p, sheet) for p in patients)


# -- the import's file and command-line words, as a form user reads them (cold review) ----


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (
            "differs from the registry, where patient 'P1' is in centre 'Utrecht': a study ID is one "
            "patient, so this is a move from 'Utrecht' to 'Rotterdam'; give --reason to move it "
            "(or use `bassinet move`)",
            "differs from the registry, where patient 'P1' is in centre 'Utrecht': a study ID is one "
            "patient, so this is a move from 'Utrecht' to 'Rotterdam'; a move to another centre is "
            "not made with this form: ask the registry's administrator",
        ),
        (
            "conflicts with the allocation of patient 'P1' (bassinet, allocated 2020-05-01): the registry "
            "holds randomisation_arm 'IB', the file says empty; an allocated arm and its date are not "
            "changed by import",
            "conflicts with the allocation of patient 'P1' (bassinet, allocated 2020-05-01): the registry "
            "holds randomisation_arm 'IB', the form leaves it empty; an allocated arm and its date are "
            "not changed with this form",
        ),
        ("the registry holds x 1, the file says 2", "the registry holds x 1, the form says 2"),
        ("holds x 1, the file has no column", "holds x 1, the form has no field for it"),
        ("must be >= 0 x10^9/L", "must be >= 0 x10^9/L"),  # a rule without file words is unchanged
    ],
)
def test_a_form_shows_the_import_rules_without_file_or_command_line_words(rule: str, words: str) -> None:
    assert entry.form_words(rule) == words


def test_the_form_verdict_shows_a_fields_and_another_records_problem_in_form_words() -> None:
    """The one place where the form maps the import's problems to fields applies the words."""
    from bassinet.registry.problems import Problem

    move = (
        "differs from the registry, where patient 'P1' is in centre 'Utrecht': a study ID is one patient, "
        "so this is a move from 'Utrecht' to 'Rotterdam'; give --reason to move it (or use `bassinet move`)"
    )
    arm = (
        "conflicts with the allocation of patient 'P1' (bassinet, allocated 2020-05-01): the registry holds "
        "randomisation_arm 'IB', the file says empty; an allocated arm and its date are not changed by import"
    )
    problems = (
        Problem("/tmp/x/patients.csv", "patients", 2, "centre", "Rotterdam", move, "centre"),
        Problem("/tmp/x/patients.csv", "patients", 2, "randomisation_arm", None, arm, "randomisation_arm"),
    )
    verdict = entry._verdict(problems, "patients", 0, {"centre"}, [])
    [field] = verdict.errors
    [other] = verdict.elsewhere
    assert field.field == "centre"
    assert field.rule.endswith(
        "; a move to another centre is not made with this form: ask the registry's administrator"
    )
    assert other.field == "randomisation_arm"
    assert other.rule.endswith(
        "the form leaves it empty; an allocated arm and its date are not changed with this form"
    )
    for rule in (field.rule, other.rule):
        assert "--reason" not in rule and "bassinet move" not in rule and "the file" not in rule
