"""Concealed, stratified, audited randomisation for Interfant-06 (IB versus ADE + MAE).

Method: permuted blocks of randomly varying size (2, 4 or 6), stratified by risk group
(MR, HR) and study group. Permuted blocks were chosen over Pocock–Simon minimisation:
with two stratification factors fully crossed, blocks keep each stratum balanced
within three patients, the whole sequence is fixed in advance (so an allocation can be
verified later from the secret, and does not depend on who was randomised before),
and random block sizes stop anyone from predicting the last allocations of a block.
Minimisation would balance more factors but is deterministic given past allocations
unless randomised, and harder to verify.

Concealment: each stratum's sequence derives by HMAC-SHA256 from a secret kept in a key
file outside the registry (:mod:`.keyfile`; the registry stores only its fingerprint),
so it needs no random-number library whose stream could change between versions, and
nothing readable in the registry or its exports reproduces it.

One way in: :func:`randomise` allocates only if every condition holds, and otherwise
refuses with the reason (:class:`NotEligible`), writing nothing:

- no arm is on record for the patient from any source (a Bassinet allocation, or an
  arm recorded before Bassinet);
- the stored stratification decision (``bassinet stratify``) is current: the decision
  the rules give today from the facts equals the stored one; and it is MR or HR;
- the patient is in complete remission after induction and the request falls inside
  the protocol's window (:data:`.interfant06.RANDOMISATION_WINDOW`, data in the
  protocol module): on or after that remission assessment, before the first day of
  consolidation; no resistant disease, relapse, death or second malignancy dated on or
  before the request.

The allocation row stores the decision it relied on (its id and protocol version).
Allocation takes the next free position of the stratum; the database's unique
(stratum, position) and (patient) constraints make simultaneous requests take
different positions or, for one patient, only one allocation; the loser of a race
retries and is then refused as already allocated.

Arms recorded before Bassinet (an imported ``randomisation_arm``) become allocations
of source "recorded" in their stratum, without a position: ``balance`` counts them,
and the stratum's sequence is not advanced by them, so the next Bassinet allocation
takes the next unused position and no slot of the sequence is skipped or reused.
(Recorded arms were drawn from another list; the stratum's balance is then the sum of
both, and may differ by more than a block's half.)
Every allocation is audited; showing a sequence (:func:`unblind`) or the balance is a
separate, explicit call that is itself recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bassinet.errors import DataError, RegistryError
from bassinet.protocols import interfant06
from bassinet.protocols.decisions import Decision
from bassinet.protocols.keyfile import read_key
from bassinet.protocols.service import facts_of
from bassinet.registry import models as m
from bassinet.registry.lookup import find_patient
from bassinet.registry.store import registry_session, require_current
from bassinet.registry.vocabulary import Arm

PROTOCOL = interfant06.NAME
ARMS = interfant06.ARMS
WINDOW = interfant06.RANDOMISATION_WINDOW
BLOCK_SIZES = (2, 4, 6)
RETRIES = 50
#: Who may see the balance, and in which detail: by stratum only unblinded, otherwise totals.
BALANCE_ROLES = {
    "unblinded-statistician": "by stratum",
    "trial-statistician": "totals",
    "trial-office": "totals",
}


class NotEligible(DataError):
    """The patient is not randomised; the message says why. ``decision`` where a rule said no."""

    def __init__(self, study_id: str, decision: Decision | None = None, *, reason: str | None = None) -> None:
        self.decision = decision
        if reason is None:
            assert decision is not None
            reasons = [c.text for c in decision.criteria if c.met is not True]
            if decision.missing:
                reasons.append("missing: " + ", ".join(decision.missing))
            reason = "; ".join(reasons or decision.notes)
        super().__init__(f"{study_id} is not randomised: {reason}")


@dataclass(frozen=True)
class Assignment:
    """An allocation as the caller sees it."""

    study_id: str
    arm: str
    stratum: str
    position: int
    allocated_at: dt.datetime
    allocated_on: dt.date
    decision_id: int
    protocol_version: str


def _digest(secret: str, *parts: object) -> int:
    message = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hmac.new(bytes.fromhex(secret), message, hashlib.sha256).digest(), "big")


def _sequence(secret: str, stratum: str, length: int) -> list[str]:
    """The first ``length`` arms of a stratum's sequence (private: see :func:`unblind`)."""
    arms: list[str] = []
    block = 0
    while len(arms) < length:
        size = BLOCK_SIZES[_digest(secret, stratum, "size", block) % len(BLOCK_SIZES)]
        slots = [ARMS[i % 2] for i in range(size)]
        order = sorted(range(size), key=lambda i: _digest(secret, stratum, "order", block, i))
        arms.extend(slots[i] for i in order)
        block += 1
    return arms[:length]


def stratum_of(risk_group: str | None, study_group: str | None) -> str:
    """The stratum's name: risk group and study group."""
    return f"{risk_group or 'no group'} / {study_group or 'no study group'}"


def randomise(
    engine: Engine,
    study_id: str,
    *,
    actor: str,
    key: Path | None = None,
    centre: str | None = None,
    on: dt.date | None = None,
) -> Assignment:
    """Allocate an eligible patient to IB or ADE + MAE, once.

    Parameters
    ----------
    key
        The key file (default ``$BASSINET_RANDOMISATION_KEY``), checked against the
        registry's fingerprint.
    on
        The date of the request (default today): the window and the events are judged
        on it, and it becomes the randomisation date.

    Raises
    ------
    NotEligible
        With the reason, for every condition of the module docstring that fails; nothing
        is written.
    """
    require_current(engine)
    secret = read_key(engine, key, protocol=PROTOCOL)
    today = on or dt.datetime.now(dt.UTC).date()
    for attempt in range(RETRIES):
        try:
            return _allocate(engine, secret, study_id, actor, centre, today)
        except (IntegrityError, OperationalError):
            time.sleep(0.01 * (attempt + 1))
    raise RegistryError(f"could not allocate {study_id} after {RETRIES} attempts: the registry is too busy")


def preview(engine: Engine, study_id: str, *, centre: str | None = None, on: dt.date | None = None) -> str:
    """The stratum a randomisation of the patient would use today (or ``on``); never the arm.

    The same conditions as :func:`randomise`, checked without the key and without writing,
    so that a confirmation step can show the stratum; the allocation itself checks them
    again, in its own transaction.

    Raises
    ------
    NotEligible
        With the reason, as :func:`randomise` would refuse.
    """
    require_current(engine)
    today = on or dt.datetime.now(dt.UTC).date()
    with Session(engine) as session:
        patient = find_patient(session, study_id, centre=centre)
        return _eligible(session, patient, study_id, today)[1]


def _refuse_if_allocated(session: Session, patient: m.Patient, study_id: str) -> None:
    existing = session.scalars(
        select(m.Allocation).where(m.Allocation.protocol == PROTOCOL, m.Allocation.patient_id == patient.id)
    ).first()
    if existing is not None:
        when = existing.allocated_on or existing.allocated_at.date()
        raise NotEligible(
            study_id,
            reason=f"arm {existing.arm} is already on record ({existing.source}, allocated {when}): "
            "a patient is randomised once",
        )
    if patient.randomisation_arm is not None:
        raise NotEligible(
            study_id,
            reason=f"arm {patient.randomisation_arm.value} is already on record (patient record, "
            f"{patient.randomisation_date}): a patient is randomised once",
        )


def _current_decision(
    session: Session, patient: m.Patient, study_id: str, group: Decision
) -> m.RiskAssignment:
    stored = session.scalars(
        select(m.RiskAssignment).where(
            m.RiskAssignment.patient_id == patient.id, m.RiskAssignment.protocol == PROTOCOL
        )
    ).first()
    if stored is None:
        raise NotEligible(
            study_id, reason=f"no stored stratification decision: run `bassinet stratify {study_id}` first"
        )
    if stored.decision != group.to_dict():
        raise NotEligible(
            study_id,
            reason=f"the stored stratification decision ({stored.risk_group or 'no group'}, "
            f"{stored.decided_at:%Y-%m-%d}) is not current: the facts changed since "
            f"(the rules now give {group.outcome or 'no group'}): run `bassinet stratify {study_id}` first",
        )
    return stored


def _refuse_outside_window(patient: m.Patient, study_id: str, on: dt.date) -> None:
    blocking = sorted(
        (e.event_date, e.event_type.value.replace("_", " "))
        for e in patient.events
        if e.event_type.value in WINDOW.blocking_events and e.event_date <= on
    )
    if blocking:
        date, kind = blocking[0]
        raise NotEligible(study_id, reason=f"{kind} on {date}, on or before the request ({on})")
    if patient.vital_status.value == "dead":
        raise NotEligible(study_id, reason="the patient record says dead")
    if on > patient.last_contact_date:
        # The registry knows the patient's state only up to the last contact; an allocation
        # dated after it would also break the rule that the follow-up covers every record
        # (``follow_up_covers_records``), so every later import or correction would be refused.
        raise NotEligible(
            study_id,
            reason=f"the request ({on}) is after the last contact ({patient.last_contact_date}): "
            "the registry does not know the patient's state on that date; record the "
            "follow-up (`bassinet correct "
            f"{study_id} last_contact_date=...`) first, or give --on the date of the request",
        )
    remission = [
        r for r in patient.remissions if r.time_point.value == WINDOW.opens_at and r.status.value == "CR"
    ]
    if remission and remission[0].assessment_date > on:
        raise NotEligible(
            study_id,
            reason=f"the request ({on}) is before the remission assessment of "
            f"{remission[0].assessment_date}: the window is {WINDOW.text}",
        )
    started = sorted(
        (c.start_date, c.course.value) for c in patient.courses if c.course.value in WINDOW.closes_at
    )
    if started and started[0][0] <= on:
        date, course = started[0]
        raise NotEligible(
            study_id,
            reason=f"course {course} started on {date}, on or before the request ({on}): "
            f"the window is {WINDOW.text}",
        )


def _eligible(
    session: Session, patient: m.Patient, study_id: str, on: dt.date
) -> tuple[m.RiskAssignment, str]:
    """Every condition of the module docstring, in order; the stored decision and the stratum."""
    _refuse_if_allocated(session, patient, study_id)
    facts = facts_of(patient)
    group = interfant06.risk_group(facts)
    stored = _current_decision(session, patient, study_id, group)
    eligibility = interfant06.randomisation_eligibility(facts, group)
    if eligibility.outcome != "eligible":
        raise NotEligible(study_id, eligibility)
    study_group = patient.centre.study_group
    if study_group is None:
        raise NotEligible(
            study_id,
            Decision(
                PROTOCOL,
                interfant06.VERSION,
                "randomisation eligibility",
                None,
                missing=("study group (a stratification factor)",),
            ),
        )
    _refuse_outside_window(patient, study_id, on)
    assert group.outcome is not None
    return stored, stratum_of(group.outcome, study_group.name)


def _allocate(
    engine: Engine, secret: str, study_id: str, actor: str, centre: str | None, on: dt.date
) -> Assignment:
    with registry_session(engine, actor=actor) as session:
        patient = find_patient(session, study_id, centre=centre)
        stored, stratum = _eligible(session, patient, study_id, on)
        taken = (
            session.scalar(
                select(func.count())
                .select_from(m.Allocation)
                .where(
                    m.Allocation.protocol == PROTOCOL,
                    m.Allocation.stratum == stratum,
                    m.Allocation.position.is_not(None),
                )
            )
            or 0
        )
        arm = _sequence(secret, stratum, taken + 1)[taken]
        now = dt.datetime.now(dt.UTC)
        session.add(
            m.Allocation(
                protocol=PROTOCOL,
                stratum=stratum,
                position=taken,
                arm=arm,
                patient_id=patient.id,
                allocated_at=now,
                allocated_by=actor,
                source="bassinet",
                allocated_on=on,
                decision_id=stored.id,
                protocol_version=stored.version,
            )
        )
        patient.randomisation_arm = Arm(arm)
        patient.randomisation_date = on
        session.info["reason"] = f"randomised ({PROTOCOL}, stratum {stratum})"
        session.flush()
        return Assignment(study_id, arm, stratum, taken, now, on, stored.id, stored.version)


def record_arm(session: Session, patient: m.Patient, *, actor: str) -> m.Allocation:
    """The allocation of source "recorded" for an arm on the patient's record before Bassinet."""
    assert patient.randomisation_arm is not None
    try:
        group = interfant06.risk_group(facts_of(patient)).outcome
    except DataError:
        group = None
    study_group = patient.centre.study_group.name if patient.centre.study_group else None
    allocation = m.Allocation(
        protocol=PROTOCOL,
        stratum=stratum_of(group, study_group),
        position=None,
        arm=patient.randomisation_arm.value,
        patient_id=patient.id,
        allocated_at=dt.datetime.now(dt.UTC),
        allocated_by=actor,
        source="recorded",
        allocated_on=patient.randomisation_date,
    )
    session.add(allocation)
    return allocation


@dataclass(frozen=True)
class StratumBalance:
    stratum: str
    counts: dict[str, int]


def balance(engine: Engine, *, actor: str, role: str) -> list[StratumBalance]:
    """Allocations so far (Bassinet's and recorded), by arm; recorded in ``balance_view``.

    Counts per stratum let the next arm of a block be guessed far more often than by
    chance, so only the unblinded statistician sees them by stratum; the trial
    statistician and the trial office see the totals; other roles are refused.
    """
    detail = BALANCE_ROLES.get(role)
    if detail is None:
        raise DataError(
            f"role {role!r} may not see the allocation balance (roles: {', '.join(BALANCE_ROLES)})"
        )
    require_current(engine)
    with registry_session(engine, actor=actor) as session:
        session.info["reason"] = f"balance shown to {role} ({detail})"
        session.add(
            m.BalanceView(
                protocol=PROTOCOL, role=role, detail=detail, actor=actor, at=dt.datetime.now(dt.UTC)
            )
        )
        rows = session.execute(
            select(m.Allocation.stratum, m.Allocation.arm, func.count())
            .where(m.Allocation.protocol == PROTOCOL)
            .group_by(m.Allocation.stratum, m.Allocation.arm)
        ).all()
    strata: dict[str, dict[str, int]] = {}
    for stratum, arm, count in rows:
        name = stratum if detail == "by stratum" else "all strata"
        counts = strata.setdefault(name, dict.fromkeys(ARMS, 0))
        counts[arm] = counts.get(arm, 0) + int(count)
    return [StratumBalance(s, strata[s]) for s in sorted(strata)]


def strata(engine: Engine) -> list[str]:
    """Every stratum that exists: MR and HR by each study group of the registry, and any allocated."""
    with engine.connect() as connection:
        groups = connection.execute(select(m.StudyGroup.name)).scalars().all()
        allocated = (
            connection.execute(
                select(m.Allocation.stratum).where(m.Allocation.protocol == PROTOCOL).distinct()
            )
            .scalars()
            .all()
        )
    return sorted({stratum_of(g, s) for g in ("MR", "HR") for s in groups} | set(allocated))


def unblind(
    engine: Engine, stratum: str, *, actor: str, reason: str, positions: int, key: Path | None = None
) -> list[str]:
    """Show the first ``positions`` arms of a stratum's sequence, recording who asked and why."""
    if not reason or not reason.strip():
        raise DataError("unblinding needs a stated reason (--reason)")
    if positions <= 0:
        raise DataError(f"positions is {positions}: ask for at least one position")
    require_current(engine)
    known = strata(engine)
    if stratum not in known:
        raise DataError(f"stratum {stratum!r} does not exist; strata: {', '.join(known) or 'none yet'}")
    secret = read_key(engine, key, protocol=PROTOCOL)
    with registry_session(engine, actor=actor) as session:
        session.info["reason"] = reason.strip()
        session.add(
            m.Unblinding(
                protocol=PROTOCOL,
                stratum=stratum,
                positions=positions,
                reason=reason.strip(),
                actor=actor,
                at=dt.datetime.now(dt.UTC),
            )
        )
    return _sequence(secret, stratum, positions)
