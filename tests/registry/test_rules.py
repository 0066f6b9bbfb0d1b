"""Rules across a patient's records: a case table at each rule's boundary.

Each case is one patient profile changed from a valid one, the rule it tests, and
whether it is accepted; a refused case names the field the problem points at and
words of the message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from bassinet.registry import vocabulary as v
from bassinet.registry.rules import PatientRecords, Record, check_patient, first_birthday

D = dt.date


def base_patient(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "study_id": "P1",
        "centre": "Rotterdam",
        "date_of_birth": D(2019, 1, 10),
        "diagnosis_date": D(2019, 5, 2),
        "kmt2a_status": v.KMT2AStatus.REARRANGED,
        "kmt2a_partner": v.KMT2APartner.AFF1,
        "randomisation_arm": None,
        "randomisation_date": None,
        "last_contact_date": D(2022, 6, 30),
        "vital_status": v.VitalStatus.ALIVE,
    }
    values.update(changes)
    return values


@dataclass
class Case:
    name: str
    rule: str
    patient: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refused_field: str | None = None
    words: str = ""


def records(case: Case) -> PatientRecords:
    patient = Record("in.csv", "patients", 2, base_patient(**case.patient), {})
    children = {
        sheet: [Record("in.csv", sheet, i + 2, dict(values), {}) for i, values in enumerate(rows)]
        for sheet, rows in case.rows.items()
    }
    return PatientRecords(patient, children)


def relapse(when: dt.date) -> dict[str, Any]:
    return {"event_type": v.EventType.RELAPSE, "event_date": when}


def death(when: dt.date) -> dict[str, Any]:
    return {"event_type": v.EventType.DEATH, "event_date": when}


def cr(when: dt.date) -> dict[str, Any]:
    return {
        "time_point": v.TimePoint.END_OF_INDUCTION,
        "assessment_date": when,
        "status": v.RemissionStatus.CR,
    }


DEAD = {"vital_status": v.VitalStatus.DEAD, "last_contact_date": D(2020, 3, 1)}

CASES = [
    # Infants only: diagnosis before the first birthday.
    Case("diagnosed the day before the first birthday", "infant", {"diagnosis_date": D(2020, 1, 9)}),
    Case(
        "diagnosed on the first birthday",
        "infant",
        {"diagnosis_date": D(2020, 1, 10)},
        refused_field="diagnosis_date",
        words="is not before the first birthday (2020-01-10",
    ),
    Case(
        "diagnosed at 13 months",
        "infant",
        {"diagnosis_date": D(2020, 2, 10)},
        refused_field="diagnosis_date",
        words="the registry holds infants only",
    ),
    Case(
        "born on a leap day, diagnosed 28 Feb next year",
        "infant",
        {
            "date_of_birth": D(2020, 2, 29),
            "diagnosis_date": D(2021, 2, 28),
            "last_contact_date": D(2021, 6, 1),
        },
        refused_field="diagnosis_date",
        words="first birthday (2021-02-28",
    ),
    Case("diagnosed on the day of birth", "birth <= diagnosis", {"date_of_birth": D(2019, 5, 2)}),
    Case(
        "born after diagnosis",
        "birth <= diagnosis",
        {"date_of_birth": D(2019, 5, 3)},
        refused_field="date_of_birth",
        words="is after 'diagnosis_date' (2019-05-02)",
    ),
    # Every record on or after diagnosis; a transplant strictly after.
    Case(
        "relapse on the day of diagnosis",
        "records after diagnosis",
        rows={"events": [relapse(D(2019, 5, 2))]},
    ),
    Case(
        "relapse the day before diagnosis",
        "records after diagnosis",
        rows={"events": [relapse(D(2019, 5, 1))]},
        refused_field="event_date",
        words="is before 'diagnosis_date' (2019-05-02)",
    ),
    Case(
        "death before diagnosis",
        "records after diagnosis",
        {**DEAD, "last_contact_date": D(2019, 5, 2)},
        rows={"events": [death(D(2019, 4, 1))]},
        refused_field="event_date",
        words="is before 'diagnosis_date'",
    ),
    Case(
        "MRD measured before diagnosis",
        "records after diagnosis",
        rows={"mrd": [{"measured_on": D(2019, 4, 30)}]},
        refused_field="measured_on",
        words="is before 'diagnosis_date'",
    ),
    Case(
        "transplant on the day of diagnosis",
        "transplant after diagnosis",
        rows={"transplants": [{"transplant_date": D(2019, 5, 2)}]},
        refused_field="transplant_date",
        words="is not after 'diagnosis_date'",
    ),
    Case(
        "transplant the day after diagnosis",
        "transplant after diagnosis",
        rows={"transplants": [{"transplant_date": D(2019, 5, 3)}]},
    ),
    Case(
        "randomised before diagnosis",
        "records after diagnosis",
        {"randomisation_arm": v.Arm.IB, "randomisation_date": D(2019, 5, 1)},
        refused_field="randomisation_date",
        words="is before 'diagnosis_date'",
    ),
    # Remission <= relapse.
    Case(
        "relapse on the day of first remission",
        "remission <= relapse",
        rows={"remissions": [cr(D(2019, 6, 5))], "events": [relapse(D(2019, 6, 5))]},
    ),
    Case(
        "relapse the day before first remission",
        "remission <= relapse",
        rows={"remissions": [cr(D(2019, 6, 5))], "events": [relapse(D(2019, 6, 4))]},
        refused_field="event_date",
        words="is a relapse before the first complete remission (2019-06-05",
    ),
    # Nothing after death but the death record.
    Case(
        "relapse on the day of death",
        "nothing after death",
        DEAD,
        rows={"events": [relapse(D(2020, 3, 1)), death(D(2020, 3, 1))]},
    ),
    Case(
        "relapse the day after death",
        "nothing after death",
        {**DEAD, "last_contact_date": D(2020, 3, 2)},
        rows={"events": [relapse(D(2020, 3, 2)), death(D(2020, 3, 1))]},
        refused_field="event_date",
        words="is after the death on 2020-03-01",
    ),
    Case(
        "MRD after death",
        "nothing after death",
        DEAD,
        rows={"events": [death(D(2020, 3, 1))], "mrd": [{"measured_on": D(2020, 4, 1)}]},
        refused_field="measured_on",
        words="is after the death on 2020-03-01",
    ),
    Case(
        "last contact after death",
        "nothing after death",
        {**DEAD, "last_contact_date": D(2020, 3, 2)},
        rows={"events": [death(D(2020, 3, 1))]},
        refused_field="last_contact_date",
        words="is after the death on 2020-03-01",
    ),
    # Last follow-up not before any event.
    Case(
        "last contact on the day of relapse",
        "follow-up covers records",
        {"last_contact_date": D(2020, 1, 1)},
        rows={"events": [relapse(D(2020, 1, 1))]},
    ),
    Case(
        "last contact the day before relapse",
        "follow-up covers records",
        {"last_contact_date": D(2019, 12, 31)},
        rows={"events": [relapse(D(2020, 1, 1))]},
        refused_field="last_contact_date",
        words="is before the latest record, 'event_date' 2020-01-01",
    ),
    Case(
        "last contact before diagnosis",
        "records after diagnosis",
        {"last_contact_date": D(2019, 5, 1)},
        refused_field="last_contact_date",
        words="is before 'diagnosis_date'",
    ),
    # One death at most, and the vital status agrees.
    Case(
        "two deaths",
        "one death at most",
        DEAD,
        rows={"events": [death(D(2020, 2, 1)), death(D(2020, 3, 1))]},
        refused_field="event_type",
        words="is a second death for this patient",
    ),
    Case(
        "alive with a death recorded",
        "vital status agrees",
        {"last_contact_date": D(2020, 3, 1)},
        rows={"events": [death(D(2020, 3, 1))]},
        refused_field="vital_status",
        words="is alive, but a death is recorded",
    ),
    Case(
        "dead with no death event",
        "vital status agrees",
        DEAD,
        rows={"events": []},
        refused_field="vital_status",
        words="is dead, but the events sheet records no death",
    ),
    # KMT2A partner only when rearranged.
    Case(
        "partner with KMT2A germline",
        "partner only if rearranged",
        {"kmt2a_status": v.KMT2AStatus.GERMLINE},
        refused_field="kmt2a_partner",
        words="kmt2a_status is germline, not rearranged",
    ),
    Case(
        "partner with KMT2A unknown",
        "partner only if rearranged",
        {"kmt2a_status": v.KMT2AStatus.UNKNOWN},
        refused_field="kmt2a_partner",
        words="is unknown, not rearranged",
    ),
    Case(
        "germline without a partner",
        "partner only if rearranged",
        {"kmt2a_status": v.KMT2AStatus.GERMLINE, "kmt2a_partner": None},
    ),
    # Randomisation arm and date together.
    Case(
        "arm without a date",
        "arm with date",
        {"randomisation_arm": v.Arm.IB},
        refused_field="randomisation_arm",
        words="is given without 'randomisation_date'",
    ),
    Case(
        "date without an arm",
        "arm with date",
        {"randomisation_date": D(2019, 6, 7)},
        refused_field="randomisation_date",
        words="is given without 'randomisation_arm'",
    ),
    # Event details fit the event.
    Case(
        "relapse site on a death",
        "event details fit type",
        DEAD,
        rows={"events": [{**death(D(2020, 3, 1)), "relapse_site": v.RelapseSite.CNS}]},
        refused_field="relapse_site",
        words="is given for a death, not a relapse",
    ),
    Case(
        "death cause on a relapse",
        "event details fit type",
        rows={"events": [{**relapse(D(2020, 1, 1)), "death_cause": v.DeathCause.INFECTION}]},
        refused_field="death_cause",
        words="is given for a relapse, not a death",
    ),
    # The last contact is on or after the randomisation (issue 16).
    Case(
        "last contact on the randomisation day",
        "follow-up covers records",
        {
            "randomisation_arm": v.Arm.IB,
            "randomisation_date": D(2019, 7, 1),
            "last_contact_date": D(2019, 7, 1),
        },
    ),
    Case(
        "last contact the day before the randomisation",
        "follow-up covers records",
        {
            "randomisation_arm": v.Arm.IB,
            "randomisation_date": D(2019, 7, 1),
            "last_contact_date": D(2019, 6, 30),
        },
        refused_field="last_contact_date",
        words="is before the latest record, 'randomisation_date' 2019-07-01 (patients row 2)",
    ),
    # Transplant details.
    Case(
        "engraftment on the transplant day",
        "engraftment after transplant",
        rows={"transplants": [{"transplant_date": D(2019, 9, 1), "engraftment_date": D(2019, 9, 1)}]},
    ),
    Case(
        "engraftment before the transplant",
        "engraftment after transplant",
        rows={"transplants": [{"transplant_date": D(2019, 9, 1), "engraftment_date": D(2019, 8, 31)}]},
        refused_field="engraftment_date",
        words="is before 'transplant_date' (2019-09-01)",
    ),
    Case(
        "MRD method without a value",
        "MRD method with value",
        rows={"transplants": [{"transplant_date": D(2019, 9, 1), "mrd_method": v.MRDMethod.FCM}]},
        refused_field="mrd_method",
        words="is given without 'mrd_value'",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule_case_table(case: Case) -> None:
    problems = check_patient(records(case))
    if case.refused_field is None:
        assert problems == [], f"{case.rule}: {case.name} should be accepted"
        return
    assert problems, f"{case.rule}: {case.name} should be refused"
    messages = [str(p) for p in problems if p.field == case.refused_field]
    assert any(case.words in m for m in messages), messages or [str(p) for p in problems]


def test_first_birthday_of_a_leap_day_birth_is_28_february() -> None:
    assert first_birthday(D(2020, 2, 29)) == D(2021, 2, 28)


def test_a_problem_names_file_sheet_row_column_value_and_rule() -> None:
    case = Case("x", "birth <= diagnosis", {"date_of_birth": D(2019, 5, 3)})
    patient = records(case).patient
    patient.columns = {"date_of_birth": "DOB"}
    [problem] = check_patient(PatientRecords(patient, {}))
    assert str(problem) == (
        "in.csv [patients] row 2: column 'DOB' (-> date_of_birth) (2019-05-03) "
        "is after 'diagnosis_date' (2019-05-02)"
    )
