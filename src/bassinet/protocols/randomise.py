"""Concealed, stratified, audited randomisation for Interfant-06 (IB versus ADE + MAE).

Method: permuted blocks of randomly varying size (2, 4 or 6), stratified by risk group
(MR, HR) and study group. Permuted blocks were chosen over Pocock–Simon minimisation:
with two stratification factors fully crossed, blocks keep each stratum balanced
within three patients, the whole sequence is fixed in advance (so an allocation can be
verified later from the secret, and does not depend on who was randomised before),
and random block sizes stop anyone from predicting the last allocations of a block.
Minimisation would balance more factors but is deterministic given past allocations
unless randomised, and harder to verify.

Concealment: each stratum's sequence derives from a secret stored in the registry
(``randomisation_key``, never shown, never audited) by HMAC-SHA256, so it needs no
random-number library whose stream could change between versions. Allocation takes
the next free position of the stratum; the database's unique (stratum, position) and
(patient) constraints make two simultaneous requests take different positions, and the
loser of a race retries. Asking again for an allocated patient returns the same arm.
Every allocation is audited; showing a sequence (:func:`unblind`) is a separate,
explicit call that is itself recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from bassinet.errors import DataError, RegistryError
from bassinet.protocols import interfant06
from bassinet.protocols.decisions import Decision
from bassinet.protocols.service import facts_of
from bassinet.registry import models as m
from bassinet.registry.lookup import find_patient
from bassinet.registry.store import registry_session, require_current
from bassinet.registry.vocabulary import Arm

PROTOCOL = interfant06.NAME
ARMS = interfant06.ARMS
BLOCK_SIZES = (2, 4, 6)
RETRIES = 50


class NotEligible(DataError):
    """The patient cannot be randomised; ``decision`` says why."""

    def __init__(self, study_id: str, decision: Decision) -> None:
        self.decision = decision
        reasons = [c.text for c in decision.criteria if c.met is not True]
        if decision.missing:
            reasons.append("missing: " + ", ".join(decision.missing))
        super().__init__(f"{study_id} is not randomised: " + "; ".join(reasons or decision.notes))


@dataclass(frozen=True)
class Assignment:
    """An allocation as the caller sees it."""

    study_id: str
    arm: str
    stratum: str
    position: int
    allocated_at: dt.datetime
    new: bool


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


def _read_secret(engine: Engine) -> str | None:
    with engine.connect() as connection:
        found = connection.execute(
            select(m.RandomisationKey.secret).where(m.RandomisationKey.protocol == PROTOCOL)
        ).scalar_one_or_none()
    return None if found is None else str(found)


def _secret(engine: Engine) -> str:
    """The protocol's secret, created on first use (a process losing that race reads the winner's)."""
    found = _read_secret(engine)
    if found is not None:
        return found
    # a process that loses the race to create the key reads the winner's below
    with suppress(IntegrityError), registry_session(engine, actor="bassinet randomise") as session:
        session.add(
            m.RandomisationKey(
                protocol=PROTOCOL, secret=secrets.token_hex(32), created_at=dt.datetime.now(dt.UTC)
            )
        )
    found = _read_secret(engine)
    if found is None:  # pragma: no cover - the insert above either succeeded or lost to another
        raise RegistryError("the randomisation key could not be created")
    return found


def _stratum(risk_group: str, study_group: str) -> str:
    return f"{risk_group} / {study_group}"


def randomise(
    engine: Engine, study_id: str, *, actor: str, centre: str | None = None, on: dt.date | None = None
) -> Assignment:
    """Allocate an eligible patient to IB or ADE + MAE; the same arm if already allocated.

    Raises :class:`NotEligible` (with the reasons) for a patient who is not MR or HR in
    complete remission after induction, or whose stratification factors are unknown.
    """
    require_current(engine)
    secret = _secret(engine)
    for attempt in range(RETRIES):
        try:
            return _allocate(engine, secret, study_id, actor, centre, on)
        except (IntegrityError, OperationalError):
            time.sleep(0.01 * (attempt + 1))
    raise RegistryError(f"could not allocate {study_id} after {RETRIES} attempts: the registry is too busy")


def _allocate(
    engine: Engine, secret: str, study_id: str, actor: str, centre: str | None, on: dt.date | None
) -> Assignment:
    with registry_session(engine, actor=actor) as session:
        patient = find_patient(session, study_id, centre=centre)
        existing = session.scalars(
            select(m.Allocation).where(
                m.Allocation.protocol == PROTOCOL, m.Allocation.patient_id == patient.id
            )
        ).first()
        if existing is not None:
            return Assignment(
                study_id, existing.arm, existing.stratum, existing.position, existing.allocated_at, new=False
            )
        loaded = patient
        facts = facts_of(loaded)
        group = interfant06.risk_group(facts)
        eligibility = interfant06.randomisation_eligibility(facts, group)
        if eligibility.outcome != "eligible":
            raise NotEligible(study_id, eligibility)
        study_group = loaded.centre.study_group
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
        assert group.outcome is not None
        stratum = _stratum(group.outcome, study_group.name)
        taken = (
            session.scalar(
                select(func.count())
                .select_from(m.Allocation)
                .where(m.Allocation.protocol == PROTOCOL, m.Allocation.stratum == stratum)
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
                patient_id=loaded.id,
                allocated_at=now,
                allocated_by=actor,
            )
        )
        loaded.randomisation_arm = Arm(arm)
        loaded.randomisation_date = on or now.date()
        session.flush()
        return Assignment(study_id, arm, stratum, taken, now, new=True)


@dataclass(frozen=True)
class StratumBalance:
    stratum: str
    counts: dict[str, int]


def balance(engine: Engine) -> list[StratumBalance]:
    """Allocations so far in each stratum, by arm (nothing about positions to come)."""
    require_current(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(m.Allocation.stratum, m.Allocation.arm, func.count())
            .where(m.Allocation.protocol == PROTOCOL)
            .group_by(m.Allocation.stratum, m.Allocation.arm)
        ).all()
    strata: dict[str, dict[str, int]] = {}
    for stratum, arm, count in rows:
        strata.setdefault(stratum, dict.fromkeys(ARMS, 0))[arm] = int(count)
    return [StratumBalance(s, strata[s]) for s in sorted(strata)]


def unblind(engine: Engine, stratum: str, *, actor: str, reason: str, positions: int) -> list[str]:
    """Show the first ``positions`` arms of a stratum's sequence, recording who asked and why."""
    if not reason or not reason.strip():
        raise DataError("unblinding needs a stated reason (--reason)")
    if positions <= 0:
        raise DataError(f"positions is {positions}: ask for at least one position")
    require_current(engine)
    secret = _read_secret(engine)
    if secret is None:
        raise RegistryError("nobody has been randomised yet: there is no sequence to show")
    with registry_session(engine, actor=actor) as session:
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
