"""The one gate of the application layer: permission first, then the actor's scope.

Every use case starts with :func:`authorise` (an action anywhere) or :func:`authorise_patient`
(an action on one patient, looked up through :func:`bassinet.access.scope_patients`, so a
patient outside the actor's scope is "not found", never "forbidden").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bassinet.access.policy import Action, Actor, Permission, authorise
from bassinet.errors import AccessDenied
from bassinet.registry.models import Role, ScopeKind

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bassinet.endpoints import ClinicalRecords


def local_operator(name: str) -> Actor:
    """The operator at the terminal: every action over the whole study, named ``name``.

    Whoever runs the ``bassinet`` command holds the database URL and so every right; the
    actor makes that explicit, so that the CLI goes through the same gate as the web
    pages (where the actor is the signed-in user with the permissions of their grants).
    ``user_id`` 0 is no account: the audit trail records ``name``.
    """
    everything = Permission(Role.ADMINISTRATOR, ScopeKind.STUDY, "", None, frozenset(Action))
    return Actor(user_id=0, username=name, permissions=(everything,))


def whole_study(actor: Actor, action: Action) -> None:
    """Allow ``action`` only to an actor who may do it over every centre (e.g. an export of
    the whole registry); an AccessDenied naming the action otherwise."""
    authorise(actor, action)
    if actor.centres_for(action) is not None:
        raise AccessDenied(f"{actor.username} may not {action.value} for the whole study")


def authorise_patient(
    engine: Engine, actor: Actor, action: Action, study_id: str, *, centre: str | None = None
) -> None:
    """Allow ``action`` on the patient ``study_id``, seen through the actor's scope.

    An actor allowed the action over the whole study is let through here and the use
    case's own lookup reports an unknown patient as it always has; otherwise the patient
    is looked up within the centres where the actor may read, so that a patient outside
    them is "not found", and the action is then authorised at the patient's centre.
    """
    authorise(actor, action)
    if actor.centres_for(action) is None:
        return
    from sqlalchemy.orm import Session

    from bassinet.access.scope import find_patient

    with Session(engine) as session:
        found = find_patient(session, actor, study_id, centre=centre)
        authorise(actor, action, found.centre_id)


def scoped_study_ids(engine: Engine, actor: Actor, action: Action) -> list[str] | None:
    """The study IDs of the patients ``actor`` may do ``action`` on; ``None`` for all of them."""
    authorise(actor, action)
    if actor.centres_for(action) is None:
        return None
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.access.scope import scope_patients
    from bassinet.registry.models import Patient

    with Session(engine) as session:
        return list(session.scalars(scope_patients(select(Patient.study_id), actor, action)))


def scoped_records(records: ClinicalRecords, study_ids: Iterable[str] | None) -> ClinicalRecords:
    """``records`` cut to ``study_ids`` (``None``: all of them)."""
    return records if study_ids is None else records.subset(study_ids)
