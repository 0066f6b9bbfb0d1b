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
class Explanation:
    """What applies to a patient, as Markdown and as HTML (both escaped)."""

    study_id: str
    markdown: str
    html: str


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
    return Explanation(study_id, document.markdown(), document.html())
