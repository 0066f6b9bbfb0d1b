"""The fast checks of a scope give exactly the findings of a straightforward per-patient run.

:func:`bassinet.application.quality.check_scope` reads a scope with one Core query per table
and shares each patient's prepared values between the study rules. The reference here is
the plain way: every patient loaded as an ORM object with its relationships, turned into
:class:`PatientData` field by field, and checked alone by :func:`check_patient`. Both run on
a seeded registry (300 synthetic infants, ``registry_rows`` seed 1) changed by hand so that
every built-in check and every study rule finds something, on each store; the findings must
be equal, in the same order.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bassinet.application import local_operator
from bassinet.application.quality import check_scope
from bassinet.quality import BUILTIN_IDS, RECORD_KINDS, Finding, PatientData, check_patient, parse_rules
from bassinet.registry import import_files, registry_session
from bassinet.registry import models as m
from bassinet.simulate import registry_rows, write_csv

AS_OF = dt.date(2026, 1, 1)

RULES = parse_rules(
    """
rules:
  - id: rearranged_high_wbc_without_mrd
    when: 'kmt2a_status == "rearranged" and wbc != null and wbc >= 300 and mrd.length == 0'
    field: wbc
    severity: warning
    message: KMT2A-rearranged with WBC of 300 or more and no MRD
  - id: randomised_without_induction
    when: 'randomisation_arm != null and [c for c in courses if c["course"] == "induction"].length == 0'
    field: randomisation_arm
    severity: error
    message: randomised, but no induction course is recorded
  - id: old_at_diagnosis
    when: 'age_days > 300 and diagnosis_date < as_of'
    field: diagnosis_date
    severity: warning
    message: older than 300 days at diagnosis
  - id: day8_high
    when: 'day8_blasts > 100000'
    field: day8_blasts
    severity: warning
    message: a day-8 count above 100,000 (no finding where it is missing)
"""
)


def _text(value: Any) -> Any:
    """A value as the checks see it: a code as its text (the ORM gives a StrEnum member)."""
    return value.value if hasattr(value, "value") and not isinstance(value, dt.date) else value


def _reference(engine: Engine) -> list[Finding]:
    """Every patient as an ORM object, one at a time, checked alone."""
    found: list[Finding] = []
    with Session(engine) as session:
        ids = session.scalars(
            select(m.Patient.id).join(m.Centre).order_by(m.Centre.name, m.Patient.study_id)
        ).all()
        for pid in ids:
            patient = session.get_one(m.Patient, pid)
            fields = {
                c.name: _text(getattr(patient, c.key))
                for c in m.Patient.__mapper__.columns
                if c.name not in ("id", "centre_id", "study_id")
            }
            records = {
                kind: tuple(
                    {c.name: _text(getattr(r, c.key)) for c in type(r).__mapper__.columns}
                    for r in sorted(getattr(patient, kind), key=lambda r: r.id)
                )
                for kind in RECORD_KINDS
            }
            data = PatientData(patient.id, patient.study_id, patient.centre.name, fields, records)
            found.extend(check_patient(data, as_of=AS_OF, rules=RULES))
    return found


def _patient(session: Session, index: int) -> m.Patient:
    return session.scalars(select(m.Patient).order_by(m.Patient.id).offset(index).limit(1)).one()


def _seed(engine: Engine) -> None:
    """300 synthetic infants, then a change by hand for each check the simulator does not trip."""
    with tempfile.TemporaryDirectory() as folder:
        paths = write_csv(registry_rows(300, seed=1), Path(folder) / "cohort")
        import_files(engine, paths.pop("patients"), long_sheets=paths, actor="test setup")
    with registry_session(engine, actor="test setup") as session:
        p = _patient(session, 0)  # required: fields due at diagnosis missing
        p.wbc, p.cns_status = None, None
        p = _patient(session, 1)  # date_order: a record dated before the diagnosis
        day = p.diagnosis_date - dt.timedelta(days=3)
        session.add(m.Event(patient=p, event_type="second_malignancy", event_date=day))
        p = _patient(session, 2)  # relapse_without_remission: a relapse the day after diagnosis
        day = p.diagnosis_date + dt.timedelta(days=1)
        session.add(m.Event(patient=p, event_type="relapse", event_date=day, relapse_site="CNS"))
        p = _patient(session, 3)  # mrd_time_point: an MRD without its protocol time point
        day = p.diagnosis_date + dt.timedelta(days=20)
        session.add(
            m.MRDMeasurement(patient=p, time_point="other", measured_on=day, method="PCR", result="negative")
        )
        p = _patient(session, 4)  # rule: rearranged, WBC 400, no MRD
        p.kmt2a_status, p.kmt2a_partner, p.wbc = "rearranged", "AFF1", 400.0
        for r in list(p.mrd):
            session.delete(r)
        p = _patient(session, 5)  # rule: randomised without an induction course
        p.randomisation_arm, p.randomisation_date = "IB", p.diagnosis_date + dt.timedelta(days=40)
        for c in list(p.courses):
            if c.course == "induction":
                session.delete(c)
        p = _patient(session, 6)  # rule: a day-8 count above 100,000
        p.day8_blasts = 200_000.0


def test_the_fast_checks_give_the_findings_of_a_per_patient_run(engine: Engine) -> None:
    _seed(engine)
    fast = check_scope(local_operator("qa"), engine, as_of=AS_OF, rules=RULES)
    reference = _reference(engine)
    assert fast.patients == 300
    # Every built-in check and every rule found something, so every path is compared.
    assert set(fast.by_check()) == set(BUILTIN_IDS) | {r.id for r in RULES}
    assert list(fast.findings) == reference
