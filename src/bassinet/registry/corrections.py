"""Corrections after first entry: correct, delete, merge, move; each with a reason and the import rules.

A change is made by writing the patient's records in the import format
(:mod:`.import_format`), changing them, and importing them again with the reason
(:func:`~.importer.import_files`): so every correction passes the same cell checks,
cross-row rules, identity and allocation rules as an import, and is audited field by
field with its reason. A refusal is one line naming what and why; nothing is written.

Deletion removes rows; it does not flag them. Every reader (frames, endpoints, plans,
reports) would otherwise have to remember to skip flagged rows, and one that forgot
would count a deleted patient; the audit trail keeps every old value of a deleted row
with who, when and why, so a deletion can be reviewed and undone. An allocated patient
is never deleted or merged away: the allocation (and its place in the sequence) stays.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bassinet.errors import DataError
from bassinet.registry import models as m
from bassinet.registry.import_format import Rows, cell, load_for_export, registry_rows, write_rows
from bassinet.registry.importer import ImportReport, import_files
from bassinet.registry.problems import ImportRejected
from bassinet.registry.sheets import SHEETS
from bassinet.registry.store import registry_session, require_current

#: Record kinds for ``--record KIND:ID``: the import sheet and its table.
RECORD_KINDS: dict[str, type[m.Base]] = {
    "remissions": m.RemissionAssessment,
    "mrd": m.MRDMeasurement,
    "courses": m.TreatmentCourse,
    "transplants": m.Transplant,
    "events": m.Event,
}
#: Called with the import's session once every rule passed, before anything is written.
BeforeWrite = Callable[[Session], None]
NOT_CORRECTED = {
    "study_id": "a study ID is the patient's identity",
    "centre": "use `bassinet move`",
    "study_group": "it belongs to the centre",
    "original_country": "it belongs to the study group",
}


def _reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise DataError("every change after first entry needs a reason: give --reason TEXT")
    return reason.strip()


def _rows(engine: Engine, study_ids: list[str]) -> Rows:
    require_current(engine)
    with registry_session(engine, actor="bassinet corrections") as session:
        found = load_for_export(session, study_ids)
    missing = [s for s in study_ids if s not in {p.study_id for p in found}]
    if missing:
        raise DataError(f"no patient with study ID {', '.join(map(repr, missing))}")
    return registry_rows(found)


def _apply(
    engine: Engine,
    rows: Rows,
    *,
    actor: str,
    reason: str,
    what: str,
    before_write: BeforeWrite | None = None,
) -> ImportReport:
    with tempfile.TemporaryDirectory(prefix="bassinet-correction-") as folder:
        paths = write_rows(rows, Path(folder))
        patients = paths.pop("patients")
        try:
            return import_files(
                engine,
                patients,
                long_sheets=paths,
                actor=actor,
                reason=reason,
                before_write=before_write,
            )
        except ImportRejected as exc:
            reasons = "; ".join(
                f"{p.field or p.column or 'row'} ({_shown(p.value)}) {p.rule}" for p in exc.problems[:3]
            )
            raise DataError(f"{what} refused, nothing written: {reasons}") from None


def _shown(value: object) -> str:
    from bassinet.registry.problems import show

    return show(value)


def correct(
    engine: Engine,
    study_id: str,
    changes: Mapping[str, str],
    *,
    reason: str | None,
    actor: str,
    before_write: BeforeWrite | None = None,
) -> ImportReport:
    """Set fields of a patient (``{"wbc": "350"}``, text as in an import cell), with a reason.

    ``before_write`` is called in the write's transaction, after every rule passed and while
    the registry's import lock is held (a form's check that nobody changed the record since
    it was read raises there, and nothing is written).
    """
    why = _reason(reason)
    if not changes:
        raise DataError("name at least one FIELD=VALUE to correct")
    _check_fields(changes)
    rows = _rows(engine, [study_id])
    rows["patients"][0].update(changes)
    return _apply(
        engine, rows, actor=actor, reason=why, what=f"correction of {study_id}", before_write=before_write
    )


def rows_of(engine: Engine, study_ids: Sequence[str]) -> Rows:
    """The patients' records as import rows (text cells, by sheet); a DataError for an unknown ID."""
    return _rows(engine, list(study_ids))


def record_key(engine: Engine, study_id: str, kind: str, number: int) -> tuple[str, ...]:
    """The import key cells (:attr:`~.sheets.SheetSpec.key`) of record ``number`` of ``kind``."""
    if kind not in RECORD_KINDS:
        raise DataError(f"no record kind '{kind}'; kinds: {', '.join(RECORD_KINDS)}")
    with registry_session(engine, actor="bassinet corrections") as session:
        target = session.get(RECORD_KINDS[kind], number)
        owner = getattr(target, "patient", None)
        if target is None or owner is None or owner.study_id != study_id:
            raise DataError(f"{study_id} has no {kind} record {number}")
        return tuple(cell(getattr(target, k)) for k in SHEETS[kind].key)


def _check_record_fields(kind: str, values: Mapping[str, str]) -> None:
    fields = SHEETS[kind].by_name
    for name in values:
        if name == "study_id" or name not in fields:
            raise DataError(
                f"no field '{name}' in a {kind} record; fields: "
                + ", ".join(f for f in fields if f != "study_id")
            )


def correct_record(
    engine: Engine,
    study_id: str,
    kind: str,
    number: int,
    changes: Mapping[str, str],
    *,
    reason: str | None,
    actor: str,
    before_write: BeforeWrite | None = None,
) -> ImportReport:
    """Set fields of record ``number`` of ``kind`` (import cells by column), with a reason.

    Like :func:`correct`, through the import with the patient's other records, so every
    cell and cross-record rule applies. A changed key (another time point) replaces the row.
    """
    why = _reason(reason)
    _check_record_fields(kind, changes)
    key = record_key(engine, study_id, kind, number)
    rows = _rows(engine, [study_id])
    for row in rows[kind]:
        if tuple(row[k] for k in SHEETS[kind].key) == key:
            row.update(changes)
            break
    return _apply(
        engine,
        rows,
        actor=actor,
        reason=why,
        what=f"correction of {kind}:{number} of {study_id}",
        before_write=before_write,
    )


def add_record(
    engine: Engine,
    study_id: str,
    kind: str,
    values: Mapping[str, str],
    *,
    reason: str,
    actor: str,
    before_write: BeforeWrite | None = None,
) -> ImportReport:
    """Add one record of ``kind`` (import cells by column) to a patient, through the import's rules."""
    _check_record_fields(kind, values)
    rows = _rows(engine, [study_id])
    rows[kind].append({"study_id": study_id, **values})
    return _apply(
        engine,
        rows,
        actor=actor,
        reason=_reason(reason),
        what=f"new {kind} record of {study_id}",
        before_write=before_write,
    )


def _check_fields(changes: Mapping[str, str]) -> None:
    fields = SHEETS["patients"].by_name
    for name in changes:
        if name in NOT_CORRECTED:
            raise DataError(f"field '{name}' is not corrected: {NOT_CORRECTED[name]}")
        if name not in fields:
            raise DataError(
                f"no field '{name}' in a patient record; fields: "
                + ", ".join(f for f in fields if f not in NOT_CORRECTED)
            )


def _record_id(record: str) -> tuple[str, int]:
    kind, _, number = record.partition(":")
    if kind not in RECORD_KINDS or not number.isdigit():
        raise DataError(f"--record {record!r} is not KIND:ID with KIND one of {', '.join(RECORD_KINDS)}")
    return kind, int(number)


def delete(
    engine: Engine,
    study_id: str,
    *,
    record: str | None = None,
    reason: str | None,
    actor: str,
    changes: Mapping[str, str] | None = None,
) -> None:
    """Delete a patient with all its records, or one record (``KIND:ID``), with a reason.

    ``changes`` (patient fields, as in :func:`correct`) are made in the same transaction as
    the deletion of a record. A death entered for the wrong child can only go this way:
    deleting it alone leaves ``vital_status`` dead without a death, and correcting
    ``vital_status`` alone contradicts the recorded death.
    """
    why = _reason(reason)
    if changes and record is None:
        raise DataError("--set goes with --record: a deleted patient has no fields to set")
    _check_fields(changes or {})
    require_current(engine)
    if record is not None:
        kind, number = _record_id(record)
        with registry_session(engine, actor=actor) as session:
            target = session.get(RECORD_KINDS[kind], number)
            owner = getattr(target, "patient", None)
            if target is None or owner is None or owner.study_id != study_id:
                raise DataError(f"{study_id} has no {kind} record {number}")
            key = tuple(cell(getattr(target, k)) for k in SHEETS[kind].key)
        rows = _rows(engine, [study_id])
        rows[kind] = [r for r in rows[kind] if tuple(r[k] for k in SHEETS[kind].key) != key]
        rows["patients"][0].update(changes or {})
        try:
            _apply(engine, rows, actor=actor, reason=why, what=f"deletion of {kind}:{number} of {study_id}")
        except DataError as exc:
            if "vital_status" in str(exc) and not changes:
                raise DataError(
                    f"{exc}: delete the death and set the status together, e.g. `bassinet delete "
                    f"{study_id} --record {record} --set vital_status=alive --reason ...`"
                ) from None
            raise
        return
    with registry_session(engine, actor=actor) as session:
        session.info["reason"] = why
        patient = _patient(session, study_id)
        _refuse_if_allocated(session, patient, "deleted")
        for assignment in session.scalars(
            select(m.RiskAssignment).where(m.RiskAssignment.patient_id == patient.id)
        ):
            session.delete(assignment)
        session.delete(patient)


def _patient(session: Session, study_id: str) -> m.Patient:
    patient = session.scalars(select(m.Patient).where(m.Patient.study_id == study_id)).first()
    if patient is None:
        raise DataError(f"no patient with study ID '{study_id}'")
    return patient


def _refuse_if_allocated(session: Session, patient: m.Patient, verb: str) -> None:
    allocation = session.scalars(select(m.Allocation).where(m.Allocation.patient_id == patient.id)).first()
    if allocation is not None:
        raise DataError(
            f"{patient.study_id} holds an allocation ({allocation.arm}, {allocation.source}, "
            f"{allocation.allocated_on}): an allocated patient is not {verb}"
        )


def merge(engine: Engine, keep: str, duplicate: str, *, reason: str | None, actor: str) -> ImportReport:
    """Merge ``duplicate`` into ``keep``: blank fields of ``keep`` filled, records joined, duplicate deleted.

    A field both hold with different values, or a record both hold (same key) with different
    values, is refused: which is right is a correction, not a merge.
    """
    why = _reason(reason)
    if keep == duplicate:
        raise DataError(f"cannot merge {keep} with itself: name two different study IDs")
    rows = _rows(engine, [keep, duplicate])
    kept = {n: [r for r in rs if r["study_id"] == keep] for n, rs in rows.items()}
    other = {n: [r for r in rs if r["study_id"] == duplicate] for n, rs in rows.items()}
    merged = dict(kept["patients"][0])
    for name, value in other["patients"][0].items():
        if name in ("study_id", "centre", "study_group", "original_country"):
            continue
        if not merged[name]:
            merged[name] = value
        elif value and value != merged[name]:
            raise DataError(
                f"merge of {duplicate} into {keep} refused, nothing written: field '{name}' is "
                f"{merged[name]} in {keep} and {value} in {duplicate}: correct one first"
            )
    result: Rows = {"patients": [merged]}
    for name in SHEETS:
        if name == "patients":
            continue
        by_key = {tuple(r[k] for k in SHEETS[name].key): r for r in kept[name]}
        for row in other[name]:
            row = {**row, "study_id": keep}
            key = tuple(row[k] for k in SHEETS[name].key)
            if key in by_key and by_key[key] != row:
                raise DataError(
                    f"merge of {duplicate} into {keep} refused, nothing written: both have a {name} record "
                    f"{', '.join(key)} with different values: correct one first"
                )
            by_key.setdefault(key, row)
        result[name] = list(by_key.values())

    def remove_duplicate(session: Session) -> None:
        patient = _patient(session, duplicate)
        _refuse_if_allocated(session, patient, "merged away")
        for assignment in session.scalars(
            select(m.RiskAssignment).where(m.RiskAssignment.patient_id == patient.id)
        ):
            session.delete(assignment)
        session.delete(patient)
        session.flush()

    return _apply(
        engine,
        result,
        actor=actor,
        reason=why,
        what=f"merge of {duplicate} into {keep}",
        before_write=remove_duplicate,
    )


def move(engine: Engine, study_id: str, *, centre: str, reason: str | None, actor: str) -> ImportReport:
    """Move a patient to another known centre (the same patient: study ID and records stay)."""
    why = _reason(reason)
    require_current(engine)
    with registry_session(engine, actor=actor) as session:
        target = session.scalars(select(m.Centre).where(m.Centre.name == centre)).first()
        if target is None:
            known = ", ".join(sorted(session.scalars(select(m.Centre.name))))
            raise DataError(f"no centre '{centre}' in the registry (centres: {known})")
        group = target.study_group
        group_name = group.name if group else ""
        original = (
            ""
            if group is None or group.original_country is None
            else ("yes" if group.original_country else "no")
        )
    rows = _rows(engine, [study_id])
    if rows["patients"][0]["centre"] == centre:
        raise DataError(f"{study_id} is already in centre '{centre}'")
    rows["patients"][0].update(centre=centre, study_group=group_name, original_country=original)
    return _apply(engine, rows, actor=actor, reason=why, what=f"move of {study_id} to '{centre}'")
