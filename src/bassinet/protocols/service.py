"""The registry edge of the protocol engine: facts from stored records, decisions stored back.

The rules stay pure (:mod:`.interfant06`, ...); this module loads a patient's records,
turns them into :class:`~.facts.PatientFacts`, calls the rule and stores the decision
with its reasons in ``risk_assignment``. Re-running after the data changed updates the
stored decision, and the audit trail records the change of group like any other edit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from bassinet.protocols import get_protocol, transplant_cohort
from bassinet.protocols.decisions import Decision
from bassinet.protocols.explain import Dated, EventKind, PatientState
from bassinet.protocols.facts import MRD, PatientFacts
from bassinet.registry import models as m
from bassinet.registry.store import registry_session, require_current


def facts_of(patient: m.Patient) -> PatientFacts:
    """The protocol facts of a patient whose records are loaded."""
    induction = [r for r in patient.remissions if r.time_point.value == "end_of_induction"]
    resistant = any(e.event_type.value == "resistant_disease" for e in patient.events)
    relapsed = any(e.event_type.value == "relapse" for e in patient.events)
    cr: bool | None = None
    if induction:
        cr = induction[0].status.value == "CR"
    elif resistant:
        cr = False
    first_remission = None if cr is None else (cr and not relapsed)
    mrd = tuple(
        MRD(r.time_point.value, r.result.value, r.value, r.method.value, r.measured_on) for r in patient.mrd
    )
    partner = patient.kmt2a_partner.value if patient.kmt2a_partner else None
    return PatientFacts.from_dates(
        patient.study_id,
        date_of_birth=patient.date_of_birth,
        diagnosis_date=patient.diagnosis_date,
        leukemia_type=patient.leukemia_type.value,
        kmt2a_status=patient.kmt2a_status.value,
        kmt2a_partner=partner,
        wbc=patient.wbc,
        day8_blasts=patient.day8_blasts,
        cr_after_induction=cr,
        in_first_remission=first_remission,
        mrd=mrd,
    )


def state_of(patient: m.Patient, allocation: m.Allocation | None = None) -> PatientState:
    """The dated history of a patient whose records are loaded, and the events that end front-line care."""
    history = [Dated(patient.diagnosis_date, f"diagnosis of {patient.leukemia_type.value}")]
    history += [
        Dated(r.assessment_date, f"remission assessment at {r.time_point.value}: {r.status.value}")
        for r in patient.remissions
    ]
    history += [Dated(c.start_date, f"course {c.course.value} started") for c in patient.courses]
    history += [
        Dated(
            t.transplant_date,
            f"allogeneic transplant ({t.donor_type.value} donor, {t.remission_status.value})",
        )
        for t in patient.transplants
    ]
    for e in patient.events:
        detail = e.relapse_site or e.death_cause
        history.append(
            Dated(
                e.event_date, e.event_type.value.replace("_", " ") + (f" ({detail.value})" if detail else "")
            )
        )
    arm = (
        allocation.arm
        if allocation
        else (patient.randomisation_arm.value if patient.randomisation_arm else None)
    )
    arm_date = allocation.allocated_on if allocation else patient.randomisation_date
    if arm is not None and arm_date is not None:
        history.append(Dated(arm_date, f"randomised: {arm}"))
    after: list[tuple[EventKind, dt.date]] = []
    for kind, dates in (
        ("relapse", [e.event_date for e in patient.events if e.event_type.value == "relapse"]),
        ("transplant", [t.transplant_date for t in patient.transplants]),
        ("death", [e.event_date for e in patient.events if e.event_type.value == "death"]),
    ):
        if dates:
            after.append((kind, min(dates)))  # type: ignore[arg-type]
    categories: tuple[Decision, ...] = ()
    if patient.transplants:
        first = min(patient.transplants, key=lambda t: t.transplant_date)
        mrd = None
        if first.mrd_result is not None:
            method = first.mrd_method.value if first.mrd_method else None
            mrd = MRD("pre_transplant", first.mrd_result.value, first.mrd_value, method)  # type: ignore[arg-type]
        categories = (
            transplant_cohort.pre_transplant_status(first.remission_status.value),
            transplant_cohort.mrd_status(mrd),
        )
    return PatientState(
        tuple(history),
        tuple(after),
        arm,
        arm_date,
        allocation.source if allocation else None,
        categories,
    )


def load_patients(session: Session, study_ids: list[str] | None = None) -> list[m.Patient]:
    query = (
        select(m.Patient)
        .options(
            selectinload(m.Patient.centre).selectinload(m.Centre.study_group),
            selectinload(m.Patient.remissions),
            selectinload(m.Patient.mrd),
            selectinload(m.Patient.events),
        )
        .order_by(m.Patient.id)
    )
    if study_ids is not None:
        query = query.where(m.Patient.study_id.in_(study_ids))
    return list(session.scalars(query))


@dataclass(frozen=True)
class Stratified:
    """One patient's stored decision and whether this run changed it."""

    study_id: str
    centre: str
    decision: Decision
    change: str  # "new", "changed" or "unchanged"
    previous_group: str | None


def stratify(
    engine: Engine, *, actor: str, protocol: str = "interfant-06", study_ids: list[str] | None = None
) -> list[Stratified]:
    """Evaluate the protocol's risk rule for the patients and store each decision."""
    module = get_protocol(protocol)
    require_current(engine)
    results = []
    with registry_session(engine, actor=actor) as session:
        patients = load_patients(session, study_ids)
        if study_ids is not None:
            found = {p.study_id for p in patients}
            unknown = [s for s in study_ids if s not in found]
            if unknown:
                from bassinet.errors import RegistryError

                raise RegistryError(f"no patient with study ID {', '.join(map(repr, unknown))}")
        stored = {
            a.patient_id: a
            for a in session.scalars(select(m.RiskAssignment).where(m.RiskAssignment.protocol == protocol))
        }
        now = dt.datetime.now(dt.UTC)
        for patient in patients:
            decision: Decision = module.risk_group(facts_of(patient))
            record = stored.get(patient.id)
            payload = decision.to_dict()
            if record is None:
                session.add(
                    m.RiskAssignment(
                        patient_id=patient.id,
                        protocol=protocol,
                        version=decision.version,
                        risk_group=decision.outcome,
                        decision=payload,
                        decided_at=now,
                    )
                )
                change, previous = "new", None
            elif record.risk_group != decision.outcome or record.decision != payload:
                previous = record.risk_group
                record.risk_group, record.decision = decision.outcome, payload
                record.version, record.decided_at = decision.version, now
                change = "changed"
            else:
                change, previous = "unchanged", record.risk_group
            results.append(Stratified(patient.study_id, patient.centre.name, decision, change, previous))
    return results
