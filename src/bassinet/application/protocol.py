"""Use cases of the protocol engine: stratify, randomise, see the balance, unblind, explain.

The rules are :mod:`bassinet.protocols`'; here each use case is allowed or refused for the
acting user and, where it concerns patients, narrowed to the actor's scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bassinet.access.policy import Action, Actor, authorise
from bassinet.application._guard import authorise_patient, scoped_study_ids, whole_study
from bassinet.errors import DataError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bassinet.protocols.explain import Document
    from bassinet.protocols.randomise import Assignment, StratumBalance
    from bassinet.protocols.service import Stratified


def stratify(
    actor: Actor, engine: Engine, *, protocol: str = "interfant-06", study_ids: list[str] | None = None
) -> list[Stratified]:
    """Evaluate the protocol's risk rules for the patients named (``None``: every patient in
    the actor's scope) and store each group with its reasons."""
    from bassinet.protocols.service import stratify as run_stratify

    if study_ids is None:
        study_ids = scoped_study_ids(engine, actor, Action.STRATIFY)
        if study_ids is not None and not study_ids:
            return []
    else:
        for study_id in study_ids:
            authorise_patient(engine, actor, Action.STRATIFY, study_id)
    return run_stratify(engine, actor=actor.username, protocol=protocol, study_ids=study_ids)


def randomise(
    actor: Actor,
    engine: Engine,
    study_id: str,
    *,
    key: Path | None = None,
    centre: str | None = None,
    on: dt.date | None = None,
) -> Assignment:
    """Randomise an eligible Interfant-06 patient (concealed, stratified), once."""
    authorise_patient(engine, actor, Action.RANDOMISE, study_id, centre=centre)
    from bassinet.protocols.randomise import randomise as run_randomise

    return run_randomise(engine, study_id, actor=actor.username, key=key, centre=centre, on=on)


@dataclass(frozen=True)
class Balance:
    """The allocations so far as ``role`` may see them (``detail`` says by stratum or totals)."""

    role: str
    detail: str
    arms: tuple[str, ...]
    rows: tuple[StratumBalance, ...]


def balance(actor: Actor, engine: Engine, *, role: str | None) -> Balance:
    """The allocation balance, recorded as seen by ``actor`` in ``role``."""
    whole_study(actor, Action.VIEW_BALANCE)
    from bassinet.protocols import randomise as rnd

    if role is None:
        raise DataError(f"--balance needs --role (one of {', '.join(rnd.BALANCE_ROLES)})")
    rows = rnd.balance(engine, actor=actor.username, role=role)
    return Balance(role, rnd.BALANCE_ROLES[role], tuple(rnd.ARMS), tuple(rows))


def unblind(
    actor: Actor, engine: Engine, stratum: str, *, reason: str, positions: int, key: Path | None = None
) -> list[str]:
    """A stratum's allocation sequence, recorded with who asked and why."""
    whole_study(actor, Action.VIEW_BALANCE)
    from bassinet.protocols.randomise import unblind as run_unblind

    return run_unblind(engine, stratum, actor=actor.username, reason=reason, positions=positions, key=key)


def init_key(actor: Actor, engine: Engine, path: Path) -> str:
    """Create the registry's randomisation key file; returns its fingerprint."""
    whole_study(actor, Action.MANAGE_USERS)
    from bassinet.protocols import randomise as rnd
    from bassinet.protocols.keyfile import init_key as create_key

    return create_key(engine, path, protocol=rnd.PROTOCOL, actor=actor.username)


@dataclass(frozen=True)
class PanelSection:
    """One section of the clinician's explanation: heading, paragraphs, bullets (plain text)."""

    heading: str
    paragraphs: tuple[str, ...]
    bullets: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    """What applies to a patient, as Markdown and as HTML (both escaped), and as its title and
    sections of plain text (for a page to lay out, escaping them itself)."""

    study_id: str
    markdown: str
    html: str
    title: str = ""
    sections: tuple[PanelSection, ...] = ()


def explain(
    actor: Actor,
    engine: Engine,
    study_id: str,
    *,
    audience: Literal["clinician", "family"] = "clinician",
    centre: str | None = None,
) -> Explanation:
    """Explain what applies to the patient: protocol and state first, then the decisions."""
    authorise(actor, Action.EXPLAIN)
    from sqlalchemy import select

    from bassinet.protocols.explain import explain_patient
    from bassinet.protocols.service import facts_of, state_of
    from bassinet.registry import models as m
    from bassinet.registry import registry_session
    from bassinet.registry.store import require_current

    require_current(engine)
    with registry_session(engine, actor="bassinet explain") as session:
        if actor.centres_for(Action.EXPLAIN) is None:
            from bassinet.registry.lookup import find_patient

            found = find_patient(session, study_id, centre=centre)
        else:
            from bassinet.access.scope import find_patient as find_in_scope

            found = find_in_scope(session, actor, study_id, centre=centre, action=Action.EXPLAIN)
        allocation = session.scalars(select(m.Allocation).where(m.Allocation.patient_id == found.id)).first()
        facts = facts_of(found)
        state = state_of(found, allocation)
    document = explain_patient(facts, state, audience=audience)
    return Explanation(study_id, document.markdown(), document.html(), document.title, _sections(document))


def _sections(document: Document) -> tuple[PanelSection, ...]:
    return tuple(PanelSection(s.heading, tuple(s.paragraphs), tuple(s.bullets)) for s in document.sections)


@dataclass(frozen=True)
class ProtocolPanel:
    """What the patient page shows of the protocol, and which actions the actor may take.

    ``applies`` is False where no protocol rule applies (AML: Interfant-06 stratifies ALL);
    ``complete`` says whether the facts of the risk group and the transplant indication
    are all recorded; ``missing`` names those that are not, in words. ``sections`` is the
    clinician's explanation (:func:`bassinet.protocols.explain.explain_patient`), the same
    text as ``bassinet explain``. ``stored_group`` is the stored stratification decision
    (``stored`` False: none stored) and ``stored_current`` whether the rules still give it.
    """

    study_id: str
    leukemia_type: str
    applies: bool
    complete: bool
    risk_group: str | None
    transplant: str | None
    missing: tuple[str, ...]
    sections: tuple[PanelSection, ...]
    stored: bool
    stored_group: str | None
    stored_current: bool
    arm: str | None
    stratum: str | None
    allocated_on: dt.date | None
    can_stratify: bool
    can_randomise: bool
    can_explain: bool


def protocol_panel(actor: Actor, engine: Engine, patient_id: int) -> ProtocolPanel:
    """The protocol panel of the patient with row id ``patient_id`` in the actor's scope.

    A patient outside the scope is "not found" (:func:`bassinet.access.get_patient`),
    exactly as an unknown one.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.access import get_patient, permits
    from bassinet.protocols import interfant06
    from bassinet.protocols.explain import MISSING_WORDS, explain_patient
    from bassinet.protocols.service import facts_of, state_of
    from bassinet.registry import models as m

    with Session(engine) as session:
        found = get_patient(session, actor, patient_id, Action.READ_PATIENTS)
        allocation = session.scalars(select(m.Allocation).where(m.Allocation.patient_id == found.id)).first()
        stored = session.scalars(
            select(m.RiskAssignment).where(
                m.RiskAssignment.patient_id == found.id, m.RiskAssignment.protocol == interfant06.NAME
            )
        ).first()
        facts = facts_of(found)
        state = state_of(found, allocation)
        centre_id = found.centre_id
        study_id = found.study_id
    applies = facts.leukemia_type != "AML"
    group = interfant06.risk_group(facts)
    sct = interfant06.sct_indication(facts)
    missing = tuple(dict.fromkeys(MISSING_WORDS.get(f, f) for f in (*group.missing, *sct.missing)))
    document = explain_patient(facts, state, audience="clinician")
    return ProtocolPanel(
        study_id=study_id,
        leukemia_type=facts.leukemia_type or "not recorded",
        applies=applies,
        complete=applies and not missing and group.outcome is not None and sct.outcome is not None,
        risk_group=group.outcome if applies else None,
        transplant=sct.outcome if applies else None,
        missing=missing if applies else (),
        sections=_sections(document),
        stored=stored is not None,
        stored_group=stored.risk_group if stored is not None else None,
        stored_current=stored is not None and stored.decision == group.to_dict(),
        arm=allocation.arm if allocation is not None else None,
        stratum=allocation.stratum if allocation is not None else None,
        allocated_on=allocation.allocated_on if allocation is not None else None,
        can_stratify=permits(actor, Action.STRATIFY, centre_id),
        can_randomise=permits(actor, Action.RANDOMISE, centre_id),
        can_explain=permits(actor, Action.EXPLAIN, centre_id),
    )


def study_id_of(actor: Actor, engine: Engine, patient_id: int, action: Action) -> str:
    """The study ID of the patient with row id ``patient_id``, if ``actor`` may do ``action`` on it.

    Outside the actor's scope the patient is "not found"; inside it, an action the actor's
    role at that centre does not allow is refused (:class:`~bassinet.errors.AccessDenied`).
    """
    from sqlalchemy.orm import Session

    from bassinet.access import get_patient

    authorise(actor, action)
    with Session(engine) as session:
        found = get_patient(session, actor, patient_id, Action.READ_PATIENTS)
        authorise(actor, action, found.centre_id)
        return found.study_id


def stratify_patient(actor: Actor, engine: Engine, study_id: str) -> Stratified:
    """Stratify one patient under Interfant-06 and store the decision; refused for AML.

    Interfant-06 stratifies ALL: storing "no group" for an AML patient would say nothing,
    so the refusal says that no rule applies.
    """
    from sqlalchemy.orm import Session

    from bassinet.registry.lookup import find_patient

    authorise_patient(engine, actor, Action.STRATIFY, study_id)
    with Session(engine) as session:
        kind = find_patient(session, study_id).leukemia_type.value
    if kind == "AML":
        raise DataError(
            f"{study_id} has AML: no rule applies. Interfant-06 stratifies ALL, and Bassinet has no "
            "AML protocol rules yet"
        )
    return stratify(actor, engine, study_ids=[study_id])[0]


def randomisation_preview(actor: Actor, engine: Engine, study_id: str) -> str:
    """The stratum a randomisation of the patient would use now, never the arm.

    The safe workflow's conditions are checked as :func:`randomise` checks them (without
    the key, writing nothing); a :class:`~bassinet.protocols.randomise.NotEligible` says
    why not.
    """
    authorise_patient(engine, actor, Action.RANDOMISE, study_id)
    from sqlalchemy.orm import Session

    from bassinet.protocols.randomise import NotEligible, preview
    from bassinet.registry.lookup import find_patient

    with Session(engine) as session:
        kind = find_patient(session, study_id).leukemia_type.value
    if kind == "AML":
        raise NotEligible(
            study_id, reason="the patient has AML: no rule applies (Interfant-06 randomises ALL only)"
        )
    return preview(engine, study_id)
