"""The built-in data-quality checks, as case tables at their boundaries.

Each row: a case, the patient (the clean infant of ``cases.py`` with one thing changed),
the as-of date, and the findings expected as (check, record, field). A row whose
expected set is empty is a boundary that must not be flagged.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bassinet.quality import BUILTIN_CHECKS, Finding, PatientData, Severity, add_years, check_patient
from tests.quality.cases import (
    AS_OF,
    DIAGNOSIS,
    LAST_CONTACT,
    D,
    course,
    event,
    infant,
    mrd,
    remission,
    transplant,
)

Expected = set[tuple[str, str, str]]
DAY = dt.timedelta(days=1)


def found(p: PatientData, as_of: dt.date = AS_OF) -> set[tuple[str, str, str]]:
    return {(f.check, f.record, f.field) for f in check_patient(p, as_of=as_of)}


def test_the_clean_infant_has_no_finding() -> None:
    assert check_patient(infant(), as_of=AS_OF) == []


def test_every_check_has_a_distinct_id() -> None:
    ids = [c.id for c in BUILTIN_CHECKS]
    assert len(ids) == len(set(ids)) == 6


# Required fields by stage of treatment. Day 1 is the day of diagnosis, so the day-8 count
# is due seven days after it (Interfant-06: 7-day prednisone prephase, blasts on day 8).
REQUIRED: list[tuple[str, PatientData, dt.date, Expected]] = [
    ("wbc missing at diagnosis", infant(wbc=None), AS_OF, {("required", "patient", "wbc")}),
    ("CNS status missing", infant(cns_status=None), AS_OF, {("required", "patient", "cns_status")}),
    (
        "immunophenotype missing",
        infant(immunophenotype=None),
        AS_OF,
        {("required", "patient", "immunophenotype")},
    ),
    ("CD10 missing in ALL", infant(cd10=None), AS_OF, {("required", "patient", "cd10")}),
    ("CD10 not due in AML", infant(cd10=None, leukemia_type="AML", day8_blasts=None), AS_OF, set()),
    (
        "partner missing when rearranged",
        infant(kmt2a_partner=None),
        AS_OF,
        {("required", "patient", "kmt2a_partner")},
    ),
    ("partner not due when germline", infant(kmt2a_partner=None, kmt2a_status="germline"), AS_OF, set()),
    ("day-8 count not due on day 7", infant(day8_blasts=None), DIAGNOSIS + 6 * DAY, set()),
    (
        "day-8 count due on day 8",
        infant(day8_blasts=None),
        DIAGNOSIS + 7 * DAY,
        {("required", "patient", "day8_blasts")},
    ),
    (
        "end-of-induction assessment not due during induction",
        infant({"courses": [course("induction", DIAGNOSIS)]}),
        AS_OF,
        set(),
    ),
    (
        "end-of-induction assessment due once IB started",
        infant({"courses": [course("induction", DIAGNOSIS), course("IB", D(2020, 4, 10))]}),
        AS_OF,
        {("required", "patient", "remissions")},
    ),
    (
        "end-of-induction assessment present",
        infant(
            {
                "courses": [course("induction", DIAGNOSIS), course("IB", D(2020, 4, 10))],
                "remissions": [remission("end_of_induction", D(2020, 4, 5))],
            }
        ),
        AS_OF,
        set(),
    ),
    (
        "transplant without stem-cell source",
        infant({"transplants": [transplant(D(2020, 9, 1), stem_cell_source=None)]}),
        AS_OF,
        {("required", "transplants:1", "stem_cell_source")},
    ),
    (
        "dead without a death event",
        infant(vital_status="dead"),
        AS_OF,
        {("required", "patient", "vital_status")},
    ),
    (
        "death without its cause",
        infant({"events": [event("death", LAST_CONTACT, death_cause=None)]}, vital_status="dead"),
        AS_OF,
        {("required", "events:1", "death_cause")},
    ),
]


@pytest.mark.parametrize(("case", "patient", "as_of", "expected"), REQUIRED, ids=[r[0] for r in REQUIRED])
def test_required_fields_by_stage(
    case: str, patient: PatientData, as_of: dt.date, expected: Expected
) -> None:
    assert found(patient, as_of) == expected


RANGES: list[tuple[str, PatientData, Expected]] = [
    ("WBC of exactly 1000 is plausible", infant(wbc=1000.0), set()),
    ("WBC above 1000 is confirmed", infant(wbc=1000.5), {("range", "patient", "wbc")}),
    ("day-8 count of exactly 500,000 is plausible", infant(day8_blasts=500_000.0), set()),
    (
        "day-8 count above 500,000 is confirmed",
        infant(day8_blasts=500_001.0),
        {("range", "patient", "day8_blasts")},
    ),
    ("diagnosis the day before the first birthday", infant(diagnosis_date=D(2020, 12, 31)), set()),
    (
        "diagnosis on the first birthday is not an infant",
        infant(diagnosis_date=D(2021, 1, 1)),
        {("range", "patient", "diagnosis_date")},
    ),
    (
        "born on 29 February: first birthday on 28 February",
        infant(date_of_birth=D(2020, 2, 29), diagnosis_date=D(2021, 2, 28), last_contact_date=D(2021, 3, 1)),
        {("range", "patient", "diagnosis_date")},
    ),
    (
        "a quantified MRD of 0",
        infant({"mrd": [mrd("day_15", D(2020, 3, 15), "quantified", 0.0)]}),
        {("range", "mrd:1", "value")},
    ),
    ("a quantified MRD above 0", infant({"mrd": [mrd("day_15", D(2020, 3, 15), "quantified", 1e-4)]}), set()),
]


@pytest.mark.parametrize(("case", "patient", "expected"), RANGES, ids=[r[0] for r in RANGES])
def test_values_outside_range(case: str, patient: PatientData, expected: Expected) -> None:
    assert found(patient) == expected


ORDER: list[tuple[str, PatientData, Expected]] = [
    ("a course on the day of diagnosis", infant({"courses": [course("induction", DIAGNOSIS)]}), set()),
    (
        "a course the day before diagnosis",
        infant({"courses": [course("induction", DIAGNOSIS - DAY)]}),
        {("date_order", "courses:1", "start_date")},
    ),
    (
        "an assessment on the day of last contact",
        infant({"remissions": [remission("day_15", LAST_CONTACT)]}),
        set(),
    ),
    (
        "an assessment the day after last contact",
        infant({"remissions": [remission("day_15", LAST_CONTACT + DAY)]}),
        {("date_order", "remissions:1", "assessment_date")},
    ),
    (
        "a course after the death",
        infant(
            {"events": [event("death", D(2020, 10, 1))], "courses": [course("induction", D(2020, 10, 2))]},
            vital_status="dead",
        ),
        {("date_order", "courses:1", "start_date")},
    ),
    (
        "consolidation before induction",
        infant({"courses": [course("induction", D(2020, 3, 10)), course("IB", D(2020, 3, 9))]}),
        {("date_order", "courses:2", "start_date"), ("required", "patient", "remissions")},
    ),
    (
        "randomised before diagnosis",
        infant(randomisation_arm="IB", randomisation_date=DIAGNOSIS - DAY),
        {("date_order", "patient", "randomisation_date")},
    ),
]


@pytest.mark.parametrize(("case", "patient", "expected"), ORDER, ids=[r[0] for r in ORDER])
def test_dates_out_of_order(case: str, patient: PatientData, expected: Expected) -> None:
    assert found(patient) == expected


RELAPSE = D(2020, 9, 1)
RELAPSES: list[tuple[str, PatientData, Expected]] = [
    (
        "CR the day before the relapse",
        infant(
            {
                "remissions": [remission("end_of_induction", RELAPSE - DAY)],
                "events": [event("relapse", RELAPSE)],
            }
        ),
        set(),
    ),
    (
        "CR on the day of the relapse is not before it",
        infant(
            {"remissions": [remission("end_of_induction", RELAPSE)], "events": [event("relapse", RELAPSE)]}
        ),
        {("relapse_without_remission", "events:1", "event_date")},
    ),
    (
        "only no CR before the relapse",
        infant(
            {
                "remissions": [remission("end_of_induction", RELAPSE - DAY, "no_CR")],
                "events": [event("relapse", RELAPSE)],
            }
        ),
        {("relapse_without_remission", "events:1", "event_date")},
    ),
    (
        "no assessment at all",
        infant({"events": [event("relapse", RELAPSE)]}),
        {("relapse_without_remission", "events:1", "event_date")},
    ),
]


@pytest.mark.parametrize(("case", "patient", "expected"), RELAPSES, ids=[r[0] for r in RELAPSES])
def test_relapse_needs_a_remission_before_it(case: str, patient: PatientData, expected: Expected) -> None:
    assert found(patient) == expected


MRDS: list[tuple[str, PatientData, Expected]] = [
    ("MRD at day 15 needs nothing else", infant({"mrd": [mrd("day_15", D(2020, 3, 15))]}), set()),
    (
        "MRD at time point 'other'",
        infant({"mrd": [mrd("other", D(2020, 3, 15))]}),
        {("mrd_time_point", "mrd:1", "time_point")},
    ),
    (
        "MRD at end of induction with an induction course",
        infant(
            {"mrd": [mrd("end_of_induction", D(2020, 4, 5))], "courses": [course("induction", DIAGNOSIS)]}
        ),
        set(),
    ),
    (
        "MRD at end of induction without an induction course",
        infant({"mrd": [mrd("end_of_induction", D(2020, 4, 5))]}),
        {("mrd_time_point", "mrd:1", "time_point")},
    ),
    (
        "MRD before transplant without a transplant",
        infant({"mrd": [mrd("pre_transplant", D(2020, 8, 5))]}),
        {("mrd_time_point", "mrd:1", "time_point")},
    ),
    (
        "MRD before transplant with one",
        infant({"mrd": [mrd("pre_transplant", D(2020, 8, 5))], "transplants": [transplant(D(2020, 9, 1))]}),
        set(),
    ),
]


@pytest.mark.parametrize(("case", "patient", "expected"), MRDS, ids=[r[0] for r in MRDS])
def test_mrd_needs_its_time_point(case: str, patient: PatientData, expected: Expected) -> None:
    assert found(patient) == expected


CONTACT: list[tuple[str, PatientData, dt.date, Expected]] = [
    ("exactly one year without contact", infant(), add_years(LAST_CONTACT, 1), set()),
    (
        "one year and a day",
        infant(),
        add_years(LAST_CONTACT, 1) + DAY,
        {("no_contact", "patient", "last_contact_date")},
    ),
    ("as of before the last contact", infant(), LAST_CONTACT - DAY, set()),
    (
        "a dead patient is not followed up",
        infant({"events": [event("death", LAST_CONTACT)]}, vital_status="dead"),
        D(2030, 1, 1),
        set(),
    ),
    (
        "last contact on 29 February: a year is up on 28 February",
        infant(last_contact_date=D(2020, 2, 29), diagnosis_date=D(2020, 2, 1)),
        D(2021, 3, 1),
        {("no_contact", "patient", "last_contact_date")},
    ),
    (
        "last contact on 29 February, as of 28 February next year",
        infant(last_contact_date=D(2020, 2, 29), diagnosis_date=D(2020, 2, 1)),
        D(2021, 2, 28),
        set(),
    ),
]


@pytest.mark.parametrize(("case", "patient", "as_of", "expected"), CONTACT, ids=[r[0] for r in CONTACT])
def test_no_contact_for_over_a_year(
    case: str, patient: PatientData, as_of: dt.date, expected: Expected
) -> None:
    assert found(patient, as_of) == expected


def test_a_finding_names_patient_record_field_value_and_rule() -> None:
    (finding,) = check_patient(infant(wbc=1234.0), as_of=AS_OF)
    assert finding == Finding(
        7,
        "P-7",
        "Rotterdam",
        "patient",
        "wbc",
        "range",
        Severity.WARNING,
        "White cells (WBC) (x10^9/L) 1234 is above 1000 x10^9/L: "
        "a count above 1,000 x10^9/L is rare even in infant ALL; "
        "confirm it against the source",
    )


def test_no_contact_message_counts_the_days() -> None:
    (finding,) = check_patient(infant(), as_of=D(2022, 1, 2))
    assert finding.message == (
        "no contact for over a year: last contact 2021-01-01, 366 days before 2022-01-02"
    )
    assert finding.severity is Severity.WARNING


def test_unknown_record_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown record kind 'visits'"):
        PatientData(1, "P", "C", {}, {"visits": ()})
