"""Import by upload (the web page for data managers): a dry run, then the same file imported.

Unlike ``bassinet import``, which needs the ``import`` permission over the whole study, an
upload may come from a data manager of some centres: every patient row must then name one
of those centres, and a row naming another is refused like any broken rule (it shows in
the dry run's refusals and goes to the quarantine file), so nothing outside the actor's
scope is added or changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bassinet.access.policy import Action, Actor, authorise

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bassinet.registry import ImportReport


@dataclass(frozen=True)
class ImportScope:
    """The centres an actor may import for: ``names`` (``None``: every centre) and their ids."""

    names: tuple[str, ...] | None
    ids: tuple[int, ...] | None


def import_scope(actor: Actor, engine: Engine) -> ImportScope:
    """Where ``actor`` may import; an AccessDenied if nowhere."""
    authorise(actor, Action.IMPORT)
    ids = actor.centres_for(Action.IMPORT)
    if ids is None:
        return ImportScope(None, None)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.registry.models import Centre

    with Session(engine) as session:
        rows = session.execute(select(Centre.id, Centre.name).where(Centre.id.in_(ids)).order_by(Centre.name))
        pairs = list(rows)
    return ImportScope(tuple(name for _id, name in pairs), tuple(i for i, _name in pairs))


def upload_import(
    actor: Actor,
    engine: Engine,
    patients: Path,
    *,
    mapping: Path | None,
    dry_run: bool,
    quarantine: Path | None = None,
) -> ImportReport:
    """Check (``dry_run``) or import an uploaded patients file or workbook as ``actor``.

    The importer's rules and size limits apply unchanged (:func:`bassinet.registry.import_files`);
    rows of centres outside the actor's import scope are refused. With ``quarantine`` the
    valid patients are committed and the refused rows written there.
    """
    scope = import_scope(actor, engine)
    from bassinet.registry import import_files, load_mapping

    return import_files(
        engine,
        patients,
        mapping=load_mapping(mapping),
        actor=actor.username,
        quarantine=None if dry_run else quarantine,
        dry_run=dry_run,
        centres=scope.names,
    )
