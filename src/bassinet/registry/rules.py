"""Rules that span fields and rows of one patient's records.

Each rule is a pure function over a :class:`PatientRecords` that yields a
:class:`~bassinet.registry.problems.Problem` for every violation, pointing at the row
and column of the value that breaks it. :data:`RULES` lists them in order; the rules
that one cell can check (a code, a date, WBC >= 0, MRD in [0, 1]) are in :mod:`.sheets`.

The dates must run in the order of the disease: birth <= diagnosis <= first complete
remission <= relapse; every dated record on or after diagnosis (a transplant strictly
after); nothing after a death but the death itself; the last contact not before any
record, the randomisation included. Infants only: diagnosis before the first birthday.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta

from bassinet.registry import vocabulary as v
from bassinet.registry.problems import Problem, show


@dataclass
class Record:
    """One parsed row of an import sheet, with where it came from."""

    source: str
    sheet: str
    row: int
    values: dict[str, object]
    columns: Mapping[str, str]

    def problem(self, name: str, rule: str) -> Problem:
        """A problem with this row's value of the registry field ``name``."""
        return Problem(
            self.source,
            self.sheet,
            self.row,
            self.columns.get(name, name),
            self.values.get(name),
            rule,
            field=name,
        )

    def date(self, name: str) -> dt.date | None:
        value = self.values.get(name)
        return value if isinstance(value, dt.date) else None

    def where(self) -> str:
        return f"{self.sheet} row {self.row}"


@dataclass
class PatientRecords:
    """A patient's row and the rows of the long sheets that refer to it."""

    patient: Record
    children: dict[str, list[Record]] = field(default_factory=dict)

    def rows(self, sheet: str) -> list[Record]:
        return self.children.get(sheet, [])

    def events(self, kind: v.EventType) -> list[Record]:
        return [r for r in self.rows("events") if r.values.get("event_type") == kind]


Rule = Callable[[PatientRecords], Iterator[Problem]]

#: Every dated field of the long sheets, as (sheet, field).
DATED_FIELDS: tuple[tuple[str, str], ...] = (
    ("remissions", "assessment_date"),
    ("mrd", "measured_on"),
    ("courses", "start_date"),
    ("transplants", "transplant_date"),
    ("transplants", "engraftment_date"),
    ("transplants", "platelet_engraftment_date"),
    ("transplants", "agvhd_date"),
    ("transplants", "cgvhd_date"),
    ("events", "event_date"),
)


def first_birthday(born: dt.date) -> dt.date:
    """The first birthday; for a birth on 29 February, 28 February of the next year."""
    return born + relativedelta(years=1)


def diagnosed_as_infant(p: PatientRecords) -> Iterator[Problem]:
    born, diagnosed = p.patient.date("date_of_birth"), p.patient.date("diagnosis_date")
    if born and diagnosed and diagnosed >= first_birthday(born):
        yield p.patient.problem(
            "diagnosis_date",
            f"is not before the first birthday ({show(first_birthday(born))}, from "
            f"date_of_birth {show(born)}): the registry holds infants only",
        )


def born_before_diagnosis(p: PatientRecords) -> Iterator[Problem]:
    born, diagnosed = p.patient.date("date_of_birth"), p.patient.date("diagnosis_date")
    if born and diagnosed and born > diagnosed:
        yield p.patient.problem("date_of_birth", f"is after 'diagnosis_date' ({show(diagnosed)})")


def records_after_diagnosis(p: PatientRecords) -> Iterator[Problem]:
    diagnosed = p.patient.date("diagnosis_date")
    if diagnosed is None:
        return
    checks = [(p.patient, "randomisation_date"), (p.patient, "last_contact_date")]
    checks += [(r, name) for sheet, name in DATED_FIELDS for r in p.rows(sheet)]
    for record, name in checks:
        when = record.date(name)
        if when is None:
            continue
        if name == "transplant_date" and when <= diagnosed:
            yield record.problem(
                name,
                f"is not after 'diagnosis_date' ({show(diagnosed)}): a transplant follows diagnosis",
            )
        elif when < diagnosed:
            yield record.problem(name, f"is before 'diagnosis_date' ({show(diagnosed)})")


def remission_before_relapse(p: PatientRecords) -> Iterator[Problem]:
    remissions = [
        (r.date("assessment_date"), r)
        for r in p.rows("remissions")
        if r.values.get("status") == v.RemissionStatus.CR and r.date("assessment_date")
    ]
    if not remissions:
        return
    first_cr, cr_row = min(remissions, key=lambda pair: pair[0] or dt.date.max)
    assert first_cr is not None
    for relapse in p.events(v.EventType.RELAPSE):
        when = relapse.date("event_date")
        if when and when < first_cr:
            yield relapse.problem(
                "event_date",
                f"is a relapse before the first complete remission ({show(first_cr)}, {cr_row.where()})",
            )


def nothing_after_death(p: PatientRecords) -> Iterator[Problem]:
    deaths = p.events(v.EventType.DEATH)
    dates = [when for when in (d.date("event_date") for d in deaths) if when is not None]
    died = min(dates, default=None)
    if died is None:
        return
    checks = [(p.patient, "randomisation_date"), (p.patient, "last_contact_date")]
    checks += [(r, name) for sheet, name in DATED_FIELDS for r in p.rows(sheet)]
    for record, name in checks:
        when = record.date(name)
        if when and when > died:
            yield record.problem(name, f"is after the death on {show(died)}")


def follow_up_covers_records(p: PatientRecords) -> Iterator[Problem]:
    last = p.patient.date("last_contact_date")
    if last is None:
        return
    latest: tuple[dt.date, Record, str] | None = None
    dated = [(p.patient, "randomisation_date")]
    dated += [(record, name) for sheet, name in DATED_FIELDS for record in p.rows(sheet)]
    for record, name in dated:
        when = record.date(name)
        if when and (latest is None or when > latest[0]):
            latest = (when, record, name)
    if latest and last < latest[0]:
        when, record, name = latest
        yield p.patient.problem(
            "last_contact_date",
            f"is before the latest record, '{name}' {show(when)} ({record.where()}): "
            "the last contact cannot precede any event",
        )


def one_death_at_most(p: PatientRecords) -> Iterator[Problem]:
    deaths = p.events(v.EventType.DEATH)
    for extra in deaths[1:]:
        yield extra.problem("event_type", f"is a second death for this patient (first: {deaths[0].where()})")


def vital_status_agrees_with_death(p: PatientRecords) -> Iterator[Problem]:
    status = p.patient.values.get("vital_status")
    deaths = p.events(v.EventType.DEATH)
    if deaths and status == v.VitalStatus.ALIVE:
        yield p.patient.problem("vital_status", f"is alive, but a death is recorded ({deaths[0].where()})")
    if not deaths and status == v.VitalStatus.DEAD and "events" in p.children:
        yield p.patient.problem(
            "vital_status", "is dead, but the events sheet records no death with its date"
        )


def partner_only_if_rearranged(p: PatientRecords) -> Iterator[Problem]:
    status = p.patient.values.get("kmt2a_status")
    if p.patient.values.get("kmt2a_partner") is not None and status != v.KMT2AStatus.REARRANGED:
        yield p.patient.problem(
            "kmt2a_partner", f"is given, but kmt2a_status is {show(status)}, not rearranged"
        )


def arm_with_date(p: PatientRecords) -> Iterator[Problem]:
    arm, date = (
        p.patient.values.get("randomisation_arm"),
        p.patient.values.get("randomisation_date"),
    )
    if (arm is None) != (date is None):
        missing = "randomisation_date" if date is None else "randomisation_arm"
        present = "randomisation_arm" if date is None else "randomisation_date"
        yield p.patient.problem(present, f"is given without '{missing}': give both or neither")


def event_details_fit_type(p: PatientRecords) -> Iterator[Problem]:
    for record in p.rows("events"):
        kind = record.values.get("event_type")
        if record.values.get("relapse_site") is not None and kind != v.EventType.RELAPSE:
            yield record.problem("relapse_site", f"is given for a {show(kind)}, not a relapse")
        if record.values.get("death_cause") is not None and kind != v.EventType.DEATH:
            yield record.problem("death_cause", f"is given for a {show(kind)}, not a death")


def engraftment_after_transplant(p: PatientRecords) -> Iterator[Problem]:
    for record in p.rows("transplants"):
        given = record.date("transplant_date")
        for name in ("engraftment_date", "platelet_engraftment_date"):
            engrafted = record.date(name)
            if given and engrafted and engrafted < given:
                yield record.problem(name, f"is before 'transplant_date' ({show(given)})")


def gvhd_after_transplant(p: PatientRecords) -> Iterator[Problem]:
    """GVHD is diagnosed after the transplant, never on its day (day 0 is the infusion).

    Chronic GVHD before day 100 is *not* an error: the NIH consensus criteria define chronic
    GVHD by its manifestations, not by the day it appears (Jagasia et al., Biol Blood Marrow
    Transplant 2015;21:389-401), nor is acute GVHD after day 100 (late acute GVHD).
    """
    for record in p.rows("transplants"):
        given = record.date("transplant_date")
        for name in ("agvhd_date", "cgvhd_date"):
            when = record.date(name)
            if given and when and when <= given:
                yield record.problem(
                    name, f"is not after 'transplant_date' ({show(given)}): GVHD follows the transplant"
                )


def gvhd_grade_with_date(p: PatientRecords) -> Iterator[Problem]:
    """A date with every acute GVHD grade I-IV and chronic GVHD, none without: the endpoints
    (GRFS, GVHD incidences) need the date, and a grade 0 or 'none' has no date."""
    for record in p.rows("transplants"):
        for grade_name, date_name, none in (
            ("agvhd_grade", "agvhd_date", v.AcuteGVHDGrade.GRADE_0),
            ("cgvhd_severity", "cgvhd_date", v.ChronicGVHDSeverity.NONE),
        ):
            grade, when = record.values.get(grade_name), record.values.get(date_name)
            if grade is not None and grade != none and when is None:
                yield record.problem(
                    grade_name, f"is {show(grade)} without '{date_name}': give the date it was diagnosed"
                )
            elif when is not None and grade is None:
                yield record.problem(date_name, f"is given without '{grade_name}'")
            elif when is not None and grade == none:
                yield record.problem(date_name, f"is given, but '{grade_name}' is {show(grade)}: no GVHD")
        treated = record.values.get("cgvhd_systemic_treatment")
        severity = record.values.get("cgvhd_severity")
        if treated is True and severity in (None, v.ChronicGVHDSeverity.NONE):
            yield record.problem(
                "cgvhd_systemic_treatment",
                f"is yes, but 'cgvhd_severity' is {show(severity)}: treatment needs a chronic GVHD",
            )


def mrd_method_with_value(p: PatientRecords) -> Iterator[Problem]:
    for record in p.rows("transplants"):
        if record.values.get("mrd_method") is not None and record.values.get("mrd_value") is None:
            yield record.problem("mrd_method", "is given without 'mrd_value'")


RULES: tuple[Rule, ...] = (
    diagnosed_as_infant,
    born_before_diagnosis,
    records_after_diagnosis,
    remission_before_relapse,
    nothing_after_death,
    follow_up_covers_records,
    one_death_at_most,
    vital_status_agrees_with_death,
    partner_only_if_rearranged,
    arm_with_date,
    event_details_fit_type,
    engraftment_after_transplant,
    gvhd_after_transplant,
    gvhd_grade_with_date,
    mrd_method_with_value,
)


def check_patient(p: PatientRecords) -> list[Problem]:
    """Every cross-field problem of one patient's records."""
    return [problem for rule in RULES for problem in rule(p)]
