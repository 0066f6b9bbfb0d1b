"""The built-in data-quality checks: missing, implausible and inconsistent data.

Each check reads one :class:`~bassinet.quality.findings.PatientData` and an as-of date and
returns :class:`~bassinet.quality.findings.Finding` values; none reads a database. The
checks look at what the import's rules (:mod:`bassinet.registry.rules`) let through
because it may be true, or is not yet known: a field that is optional on the day of
diagnosis but due by now, a value that is possible but rare enough to confirm against the
source, dates that the database accepts one by one but that tell an impossible story
together.

The stages of treatment and their due fields follow the Interfant-06 protocol (Pieters
et al., Lancet 2007;370:240-250; Pieters et al., J Clin Oncol 2019;37:2246-2256): the
biology at diagnosis, the day-8 blast count after the 7-day prednisone prephase, a
remission assessment at the end of induction before consolidation starts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bassinet.quality.findings import (
    PATIENT,
    RECORD_DATE,
    Finding,
    PatientData,
    Record,
    Severity,
    record_ref,
)
from bassinet.registry.vocabulary import field_label, label

CheckFunction = Callable[[PatientData, dt.date], Iterator[Finding]]

#: Days from diagnosis to the day-8 blast count (day 1 is the day of diagnosis and the first
#: prednisone dose, so day 8 is seven days after it).
DAY8_OFFSET = 7

#: Courses that follow induction: once one has started, the end-of-induction assessment is due.
AFTER_INDUCTION = ("IB", "ADE", "MAE", "MARMA", "OCTADAD", "maintenance")

#: Soft upper limits, (field, highest plausible, unit, why). Above them a value is possible
#: but rare enough to confirm against the source; the import's hard bounds
#: (:data:`bassinet.registry.vocabulary.LAB_BOUNDS`) refuse what cannot be a real value.
PLAUSIBLE_HIGHEST: tuple[tuple[str, float, str, str], ...] = (
    ("wbc", 1000.0, "x10^9/L", "a count above 1,000 x10^9/L is rare even in infant ALL"),
    ("day8_blasts", 500_000.0, "per uL", "a day-8 count above 500,000 per uL is rare"),
)

#: Time points that need a record of another kind before them: (MRD time point, record
#: kind, the record's code field, the codes that satisfy it, words).
TIME_POINT_NEEDS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "end_of_induction": ("courses", "course", ("induction",), "an induction course"),
    "end_of_consolidation": ("courses", "course", ("IB", "ADE", "MAE"), "a consolidation course"),
    "start_of_octadad": ("courses", "course", ("OCTADAD",), "an OCTADAD course"),
    "pre_transplant": ("transplants", "donor_type", (), "a transplant"),
}


@dataclass(frozen=True)
class Check:
    """A built-in check: its id (as findings name it), what it looks for, and the function."""

    id: str
    description: str
    run: CheckFunction


def _finding(p: PatientData, record: str, name: str, check: str, severity: Severity, message: str) -> Finding:
    return Finding(p.patient_id, p.study_id, p.centre, record, name, check, severity, message)


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` moved by whole calendar years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# --- required fields by stage of treatment -----------------------------------------------


def _required(p: PatientData, as_of: dt.date) -> Iterator[Finding]:
    f = p.fields
    check = "required"

    def missing(name: str, stage: str) -> Iterator[Finding]:
        if f.get(name) is None:
            message = f"{field_label(name)} is missing: due {stage}"
            yield _finding(p, PATIENT, name, check, Severity.ERROR, message)

    yield from missing("wbc", "at diagnosis")
    yield from missing("cns_status", "at diagnosis")
    yield from missing("immunophenotype", "at diagnosis")
    if f.get("leukemia_type") == "ALL":
        yield from missing("cd10", "at diagnosis of ALL")
    if f.get("kmt2a_status") == "rearranged":
        yield from missing("kmt2a_partner", "once KMT2A is known to be rearranged")
    diagnosis = p.date("diagnosis_date")
    if f.get("leukemia_type") == "ALL" and diagnosis is not None:
        day8 = diagnosis + dt.timedelta(days=DAY8_OFFSET)
        if as_of >= day8:
            yield from missing("day8_blasts", f"from day 8 of the prednisone prephase ({day8.isoformat()})")
    started = sorted(
        (c["start_date"], c["course"]) for c in p.records["courses"] if c.get("course") in AFTER_INDUCTION
    )
    has_eoi = any(r.get("time_point") == "end_of_induction" for r in p.records["remissions"])
    if started and not has_eoi:
        day, course = started[0]
        yield _finding(
            p,
            PATIENT,
            "remissions",
            check,
            Severity.ERROR,
            f"no remission assessment at end of induction, though {label(course)} started on "
            f"{day.isoformat()}",
        )
    for t in p.records["transplants"]:
        for name in ("stem_cell_source", "mrd_result"):
            if t.get(name) is None:
                yield _finding(
                    p,
                    record_ref("transplants", t),
                    name,
                    check,
                    Severity.ERROR,
                    f"{field_label(name)} of the transplant of {t['transplant_date'].isoformat()} is missing",
                )
    deaths = [e for e in p.records["events"] if e.get("event_type") == "death"]
    if f.get("vital_status") == "dead" and not deaths:
        yield _finding(
            p,
            PATIENT,
            "vital_status",
            check,
            Severity.ERROR,
            "the vital status is 'dead' but no death event is recorded",
        )
    for e in p.records["events"]:
        for kind, name in (("death", "death_cause"), ("relapse", "relapse_site")):
            if e.get("event_type") == kind and e.get(name) is None:
                yield _finding(
                    p,
                    record_ref("events", e),
                    name,
                    check,
                    Severity.ERROR,
                    f"{field_label(name)} of the {kind} of {e['event_date'].isoformat()} is missing",
                )


# --- values outside their plausible range ------------------------------------------------


def _range(p: PatientData, as_of: dt.date) -> Iterator[Finding]:
    check = "range"
    for name, highest, unit, why in PLAUSIBLE_HIGHEST:
        value = p.fields.get(name)
        if value is not None and value > highest:
            yield _finding(
                p,
                PATIENT,
                name,
                check,
                Severity.WARNING,
                f"{field_label(name)} {value:g} is above {highest:g} {unit}: {why}; "
                "confirm it against the source",
            )
    birth, diagnosis = p.date("date_of_birth"), p.date("diagnosis_date")
    if birth is not None and diagnosis is not None and diagnosis >= add_years(birth, 1):
        yield _finding(
            p,
            PATIENT,
            "diagnosis_date",
            check,
            Severity.ERROR,
            f"the diagnosis date {diagnosis.isoformat()} is on or after the first birthday "
            f"({add_years(birth, 1).isoformat()}): not an infant",
        )
    for kind, result, value in (("mrd", "result", "value"), ("transplants", "mrd_result", "mrd_value")):
        for r in p.records[kind]:
            if r.get(result) == "quantified" and r.get(value) == 0:
                yield _finding(
                    p,
                    record_ref(kind, r),
                    value,
                    check,
                    Severity.WARNING,
                    f"{field_label(value)} is 0 with the result 'quantified': "
                    "a measurement finding no disease is 'negative'",
                )


# --- dates out of order ------------------------------------------------------------------


def _dated(p: PatientData) -> Iterator[tuple[str, Record, str, dt.date]]:
    for kind, name in RECORD_DATE.items():
        for r in p.records[kind]:
            day = r.get(name)
            if isinstance(day, dt.date):
                yield kind, r, name, day


def _date_order(p: PatientData, as_of: dt.date) -> Iterator[Finding]:
    check = "date_order"
    diagnosis, last = p.date("diagnosis_date"), p.date("last_contact_date")
    death = min(
        (e["event_date"] for e in p.records["events"] if e.get("event_type") == "death"), default=None
    )
    for kind, r, name, day in _dated(p):
        ref = record_ref(kind, r)
        if diagnosis is not None and day < diagnosis:
            yield _finding(
                p,
                ref,
                name,
                check,
                Severity.ERROR,
                f"{field_label(name)} {day.isoformat()} is before the diagnosis date {diagnosis.isoformat()}",
            )
        if last is not None and day > last:
            yield _finding(
                p,
                ref,
                name,
                check,
                Severity.ERROR,
                f"{field_label(name)} {day.isoformat()} is after the last contact date {last.isoformat()}",
            )
        if death is not None and day > death:
            yield _finding(
                p,
                ref,
                name,
                check,
                Severity.ERROR,
                f"{field_label(name)} {day.isoformat()} is after the death on {death.isoformat()}",
            )
    randomised = p.date("randomisation_date")
    if randomised is not None and diagnosis is not None and randomised < diagnosis:
        yield _finding(
            p,
            PATIENT,
            "randomisation_date",
            check,
            Severity.ERROR,
            f"the randomisation date {randomised.isoformat()} is before the diagnosis date "
            f"{diagnosis.isoformat()}",
        )
    induction = [c for c in p.records["courses"] if c.get("course") == "induction"]
    if induction:
        start = induction[0]["start_date"]
        for c in p.records["courses"]:
            if c.get("course") in AFTER_INDUCTION and c["start_date"] < start:
                yield _finding(
                    p,
                    record_ref("courses", c),
                    "start_date",
                    check,
                    Severity.ERROR,
                    f"{label(c['course'])} starts on {c['start_date'].isoformat()}, before induction "
                    f"({start.isoformat()})",
                )


# --- a relapse needs a remission before it -----------------------------------------------


def _relapse_without_remission(p: PatientData, as_of: dt.date) -> Iterator[Finding]:
    remissions = [r["assessment_date"] for r in p.records["remissions"] if r.get("status") == "CR"]
    for e in p.records["events"]:
        if e.get("event_type") != "relapse":
            continue
        day = e["event_date"]
        if not any(cr < day for cr in remissions):
            yield _finding(
                p,
                record_ref("events", e),
                "event_date",
                "relapse_without_remission",
                Severity.ERROR,
                f"relapse on {day.isoformat()} has no complete remission (CR) assessed before it",
            )


# --- an MRD needs its time point ---------------------------------------------------------


def _mrd_time_point(p: PatientData, as_of: dt.date) -> Iterator[Finding]:
    check = "mrd_time_point"
    for r in p.records["mrd"]:
        point, day = r.get("time_point"), r["measured_on"]
        ref = record_ref("mrd", r)
        if point in (None, "other"):
            yield _finding(
                p,
                ref,
                "time_point",
                check,
                Severity.WARNING,
                f"MRD of {day.isoformat()} has no protocol time point ({point or 'missing'}): "
                "the protocol's MRD rules cannot use it",
            )
            continue
        need = TIME_POINT_NEEDS.get(str(point))
        if need is None:
            continue
        kind, code, codes, words = need
        if not any(not codes or x.get(code) in codes for x in p.records[kind]):
            yield _finding(
                p,
                ref,
                "time_point",
                check,
                Severity.WARNING,
                f"MRD of {day.isoformat()} is at {label(point)} but the patient has no record of {words}",
            )


# --- follow-up -----------------------------------------------------------------------------


def _no_contact(p: PatientData, as_of: dt.date) -> Iterator[Finding]:
    last = p.date("last_contact_date")
    if p.fields.get("vital_status") != "alive" or last is None:
        return
    due = add_years(last, 1)
    if as_of > due:
        yield _finding(
            p,
            PATIENT,
            "last_contact_date",
            "no_contact",
            Severity.WARNING,
            f"no contact for over a year: last contact {last.isoformat()}, "
            f"{(as_of - last).days} days before {as_of.isoformat()}",
        )


#: The built-in checks, in the order their findings are listed.
BUILTIN_CHECKS: tuple[Check, ...] = (
    Check("required", "required fields missing by stage of treatment", _required),
    Check("range", "values outside their plausible range", _range),
    Check("date_order", "dates out of order", _date_order),
    Check(
        "relapse_without_remission",
        "a relapse without a complete remission before it",
        _relapse_without_remission,
    ),
    Check("mrd_time_point", "an MRD without its protocol time point", _mrd_time_point),
    Check(
        "no_contact", "an alive patient with no contact for over a year (before the as-of date)", _no_contact
    ),
)
