"""Use cases on patient records: import, correct, delete, merge, move; list, show, audit trail.

Each function takes the acting user first, is allowed or refused at its start, and returns
a frozen result. The rules and the writing are the registry's (:mod:`bassinet.registry`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bassinet.access.policy import Action, Actor, authorise
from bassinet.application._guard import authorise_patient, whole_study
from bassinet.errors import DataError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bassinet.registry import ImportReport
    from bassinet.registry.models import Patient

Progress = Callable[[str, int, int], None]
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    BeforeWrite = Callable[[Session], None]


def parse_assignments(pairs: Sequence[str], *, option: str = "") -> dict[str, str]:
    """``FIELD=VALUE`` texts as a mapping; a DataError naming the text that is not one."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise DataError(f"{option + ' ' if option else ''}{pair!r} is not FIELD=VALUE")
        parsed[name.strip()] = value.strip()
    return parsed


def import_records(
    actor: Actor,
    engine: Engine,
    patients: Path,
    *,
    long_sheets: Mapping[str, Path] | None = None,
    mapping: Path | None = None,
    encoding: str | None = None,
    quarantine: Path | None = None,
    reason: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check and import patient files, all or nothing (or with ``quarantine``), audited as ``actor``.

    An import may bring patients of any centre named in its files, so it needs the
    ``import`` permission over the whole study.
    """
    whole_study(actor, Action.IMPORT)
    from bassinet.registry import import_files, load_mapping

    loaded = load_mapping(mapping)
    if encoding:
        loaded = loaded.model_copy(update={"encoding": encoding})
    return import_files(
        engine,
        patients,
        long_sheets=dict(long_sheets or {}),
        mapping=loaded,
        actor=actor.username,
        quarantine=None if dry_run else quarantine,
        progress=progress,
        reason=reason,
        dry_run=dry_run,
    )


@dataclass(frozen=True)
class Correction:
    """What a correction did: the patient, the fields named, whether anything changed."""

    study_id: str
    fields: tuple[str, ...]
    changed: bool


def correct(
    actor: Actor,
    engine: Engine,
    study_id: str,
    changes: Mapping[str, str],
    *,
    reason: str | None,
    before_write: BeforeWrite | None = None,
) -> Correction:
    """Correct fields of a patient record through the import's rules; the reason is audited.

    ``before_write`` runs in the write's transaction once every rule passed (the forms'
    optimistic lock raises there when the record changed since it was read).
    """
    authorise_patient(engine, actor, Action.EDIT_PATIENTS, study_id)
    from bassinet.registry.corrections import correct as run_correct

    report = run_correct(
        engine, study_id, changes, reason=reason, actor=actor.username, before_write=before_write
    )
    return Correction(study_id, tuple(changes), report.counts["patients"].updated > 0)


def correct_record(
    actor: Actor,
    engine: Engine,
    study_id: str,
    kind: str,
    number: int,
    changes: Mapping[str, str],
    *,
    reason: str | None,
    before_write: BeforeWrite | None = None,
) -> Correction:
    """Correct fields of one record (``kind`` and id ``number``) of a patient, as :func:`correct`."""
    authorise_patient(engine, actor, Action.EDIT_PATIENTS, study_id)
    from bassinet.registry.corrections import correct_record as run_correct

    report = run_correct(
        engine,
        study_id,
        kind,
        number,
        changes,
        reason=reason,
        actor=actor.username,
        before_write=before_write,
    )
    count = report.counts[kind]
    return Correction(study_id, tuple(changes), count.updated + count.inserted > 0)


def add_record(
    actor: Actor,
    engine: Engine,
    study_id: str,
    kind: str,
    values: Mapping[str, str],
    *,
    reason: str,
    before_write: BeforeWrite | None = None,
) -> Correction:
    """Add one record of ``kind`` to a patient through the import's rules, audited with ``reason``."""
    authorise_patient(engine, actor, Action.EDIT_PATIENTS, study_id)
    from bassinet.registry.corrections import add_record as run_add

    report = run_add(
        engine, study_id, kind, values, reason=reason, actor=actor.username, before_write=before_write
    )
    return Correction(study_id, tuple(values), report.counts[kind].inserted > 0)


@dataclass(frozen=True)
class Change:
    """A deletion, merge or move that was made, as one sentence for the front end."""

    study_id: str
    sentence: str


def delete(
    actor: Actor,
    engine: Engine,
    study_id: str,
    *,
    record: str | None = None,
    changes: Mapping[str, str] | None = None,
    reason: str | None,
) -> Change:
    """Delete a patient (never an allocated one) or one of its records (``KIND:ID``)."""
    authorise_patient(engine, actor, Action.EDIT_PATIENTS, study_id)
    from bassinet.registry.corrections import delete as run_delete

    run_delete(
        engine, study_id, record=record, reason=reason, actor=actor.username, changes=dict(changes or {})
    )
    return Change(study_id, f"deleted {record + ' of ' if record else ''}{study_id}")


def merge(actor: Actor, engine: Engine, keep: str, duplicate: str, *, reason: str | None) -> Change:
    """Merge a duplicate record of the same child into the one that stays."""
    authorise_patient(engine, actor, Action.EDIT_PATIENTS, keep)
    authorise_patient(engine, actor, Action.EDIT_PATIENTS, duplicate)
    from bassinet.registry.corrections import merge as run_merge

    run_merge(engine, keep, duplicate, reason=reason, actor=actor.username)
    return Change(keep, f"merged {duplicate} into {keep}")


def move(actor: Actor, engine: Engine, study_id: str, *, centre: str, reason: str | None) -> Change:
    """Move a patient to another centre; the actor must be allowed to edit at both centres."""
    authorise_patient(engine, actor, Action.EDIT_PATIENTS, study_id)
    target = actor.centres_for(Action.EDIT_PATIENTS)
    if target is not None:
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from bassinet.registry.models import Centre

        with Session(engine) as session:
            centre_id = session.scalars(select(Centre.id).where(Centre.name == centre)).first()
        if centre_id is None or centre_id not in target:
            authorise(actor, Action.EDIT_PATIENTS, centre_id if centre_id is not None else -1)
    from bassinet.registry.corrections import move as run_move

    run_move(engine, study_id, centre=centre, reason=reason, actor=actor.username)
    return Change(study_id, f"moved {study_id} to {centre}")


@dataclass(frozen=True)
class PatientList:
    """One page of the patient list: its rows (in ``columns`` order) and the total in scope."""

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    total: int


def list_patients(actor: Actor, engine: Engine, *, centre: str | None = None, limit: int = 50) -> PatientList:
    """The first ``limit`` patients (0: all), of ``centre`` if named.

    The terminal's list covers the whole study; within a narrower scope the web pages'
    list (:mod:`bassinet.application.queries`) is the one to use.
    """
    whole_study(actor, Action.READ_PATIENTS)
    from bassinet.registry.frames import PATIENT_LIST_COLUMNS, patient_page

    rows, total = patient_page(engine, centre=centre, limit=limit)
    return PatientList(tuple(PATIENT_LIST_COLUMNS), tuple(tuple(r) for r in rows), total)


@dataclass(frozen=True)
class AuditRow:
    """One change in the audit trail."""

    at: dt.datetime
    actor: str
    action: str
    table_name: str
    record_id: int
    field: str
    old_value: str | None
    new_value: str | None
    import_run_id: int | None
    reason: str | None


@dataclass(frozen=True)
class AuditTrail:
    """A patient's audit trail, oldest change first, with centre ids shown by name."""

    study_id: str
    centre: str
    entries: tuple[AuditRow, ...]
    centre_names: Mapping[str, str]


def _find(session: object, actor: Actor, study_id: str, centre: str | None, action: Action) -> Patient:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    if actor.centres_for(action) is None:
        from bassinet.registry.lookup import find_patient

        return find_patient(session, study_id, centre=centre)
    from bassinet.access.scope import find_patient as find_in_scope

    return find_in_scope(session, actor, study_id, centre=centre, action=action)


def audit_trail(actor: Actor, engine: Engine, study_id: str, *, centre: str | None = None) -> AuditTrail:
    """The history of one patient's records (``view_audit``)."""
    authorise(actor, Action.VIEW_AUDIT)
    from sqlalchemy import select

    from bassinet.registry import models as m
    from bassinet.registry import registry_session
    from bassinet.registry.audit import history
    from bassinet.registry.store import require_current

    require_current(engine)
    with registry_session(engine, actor="bassinet audit") as session:
        found = _find(session, actor, study_id, centre, Action.VIEW_AUDIT)
        entries = tuple(
            AuditRow(
                e.at, e.actor, e.action, e.table_name, e.record_id, e.field, e.old_value, e.new_value,
                e.import_run_id, e.reason,
            )
            for e in history(session, found.id)
        )  # fmt: skip
        names = {str(i): n for i, n in session.execute(select(m.Centre.id, m.Centre.name))}
        return AuditTrail(study_id, found.centre.name, entries, names)


@dataclass(frozen=True)
class PatientRecords:
    """Every record of one patient: the patient row's fields, its centre, and the long tables."""

    study_id: str
    fields: tuple[tuple[str, object], ...]
    centre: str
    study_group: str
    tables: tuple[tuple[str, tuple[str, ...], tuple[tuple[object, ...], ...]], ...]


def _columns(obj: object, exclude: set[str]) -> list[str]:
    from sqlalchemy import inspect

    return [a.key for a in inspect(obj).mapper.column_attrs if a.key not in exclude]


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def patient_records(
    actor: Actor, engine: Engine, study_id: str, *, centre: str | None = None
) -> PatientRecords:
    """Every record of one patient in the actor's scope (``read_patients``)."""
    authorise(actor, Action.READ_PATIENTS)
    from bassinet.registry import registry_session
    from bassinet.registry.store import require_current

    require_current(engine)
    with registry_session(engine, actor="bassinet patients show") as session:
        found = _find(session, actor, study_id, centre, Action.READ_PATIENTS)
        fields = tuple((n, _plain(getattr(found, n))) for n in _columns(found, {"id", "centre_id"}))
        group = found.centre.study_group
        tables = []
        for title, rows in (
            ("remissions", found.remissions),
            ("MRD", found.mrd),
            ("courses", found.courses),
            ("transplants", found.transplants),
            ("events", found.events),
        ):
            if rows:
                names = tuple(_columns(rows[0], {"patient_id"}))
                values = tuple(tuple(_plain(getattr(r, n)) for n in names) for r in rows)
                tables.append((title, names, values))
        return PatientRecords(study_id, fields, found.centre.name, group.name if group else "", tuple(tables))


def import_redcap(
    actor: Actor,
    engine: Engine,
    dictionary: Path,
    records: Path,
    mapping: Path,
    *,
    encoding: str = "utf-8-sig",
    quarantine: Path | None = None,
) -> ImportReport:
    """Import a REDCap project (its data dictionary and records export) through the registry's
    validated import, with the REDCap mapping file; audited as ``actor``."""
    whole_study(actor, Action.IMPORT)
    from bassinet.exchange import read_dictionary
    from bassinet.exchange import redcap as rc

    project = read_dictionary(dictionary, encoding=encoding)
    return rc.import_redcap(
        engine,
        project,
        records,
        rc.load_redcap_mapping(mapping),
        actor=actor.username,
        quarantine=quarantine,
        encoding=encoding,
    )


def import_fhir(
    actor: Actor, engine: Engine, files: Sequence[Path], *, quarantine: Path | None = None
) -> ImportReport:
    """Read FHIR R4 bundles (as ``export-as fhir`` writes them) through the validated import."""
    whole_study(actor, Action.IMPORT)
    from bassinet.exchange import import_bundles

    return import_bundles(engine, list(files), actor=actor.username, quarantine=quarantine)
