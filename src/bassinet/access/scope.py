"""Patient data seen through the actor's scope: the one filter every patient query goes through."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session, selectinload

from bassinet.access.policy import Action, Actor
from bassinet.errors import RegistryError
from bassinet.registry.models import Centre, Patient

S = TypeVar("S", bound=Select[Any])


def scope_patients(query: S, actor: Actor, action: Action | str = Action.READ_PATIENTS) -> S:
    """``query`` (which must select from or join ``patient``) narrowed to the centres where
    ``actor`` may do ``action``; an actor allowed nowhere gets an empty result."""
    centres = actor.centres_for(action)
    if centres is None:
        return query
    if not centres:
        return query.where(false())
    return query.where(Patient.centre_id.in_(sorted(centres)))


def _loaded() -> Select[Patient]:
    return select(Patient).options(
        selectinload(Patient.centre).selectinload(Centre.study_group),
        selectinload(Patient.remissions),
        selectinload(Patient.mrd),
        selectinload(Patient.courses),
        selectinload(Patient.transplants),
        selectinload(Patient.events),
    )


def get_patient(
    session: Session, actor: Actor, patient_id: int, action: Action | str = Action.READ_PATIENTS
) -> Patient:
    """The patient with database id ``patient_id`` if ``actor`` may do ``action`` on it; otherwise
    a :class:`~bassinet.errors.RegistryError` worded exactly as for an id that does not exist."""
    query = scope_patients(_loaded().where(Patient.id == patient_id), actor, action)
    found = session.scalars(query).first()
    if found is None:
        raise RegistryError(f"no patient with id {patient_id}")
    return found


def find_patient(
    session: Session,
    actor: Actor,
    study_id: str,
    *,
    centre: str | None = None,
    action: Action | str = Action.READ_PATIENTS,
) -> Patient:
    """The patient with ``study_id`` (in ``centre``, if given) within ``actor``'s scope.

    Only centres in scope are searched or named, so an identifier used in another centre
    is neither found nor revealed by an "ambiguous" message.
    """
    query = scope_patients(_loaded().join(Centre).where(Patient.study_id == study_id), actor, action)
    if centre is not None:
        query = query.where(Centre.name == centre)
    found = list(session.scalars(query))
    if not found:
        where = f" in centre '{centre}'" if centre else ""
        raise RegistryError(f"no patient with study ID '{study_id}'{where}")
    if len(found) > 1:
        names = ", ".join(sorted(p.centre.name for p in found))
        raise RegistryError(
            f"study ID '{study_id}' is used in {len(found)} centres ({names}): name one with --centre"
        )
    return found[0]
