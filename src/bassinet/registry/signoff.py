"""The sign-off rules of the one write path: a locked casebook refuses changes; a change voids
signatures and SDV marks.

Every change to a patient's records, whatever front end makes it (web forms, ``bassinet
correct``, import and re-import, a query answered with a correction, ``bassinet delete``),
is flushed by a Bassinet session. The ``before_flush`` listener here is therefore the one
place where, for each patient whose casebook (the patient row and its records) a flush
changes,

(a) a locked casebook refuses the change, naming the patient, the record, the field and the
    rule ("locked by X on D: unlock with a reason first"), so nothing is written;
(b) a valid signature is voided, by the session's actor, with the change's reason, in the
    same transaction;
(c) the source-data verification mark of each changed field is deleted (the audit trail
    keeps it).

A casebook's canonical values (:func:`casebook_values`) and their SHA-256 are what an
investigator signs (:func:`casebook_sha256`).

References
----------
US FDA, 21 CFR Part 11, Electronic records; electronic signatures, sections 11.50
(signature manifestations: name, date and time, meaning) and 11.70 (signature/record
linking).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from bassinet.errors import DataError
from bassinet.registry import models as m
from bassinet.registry.audit import audit_text, updated_value

#: The kind of each record model, as ``KIND:ID`` names it (the keys of the corrections' kinds).
KIND_OF: dict[type[m.Base], str] = {
    m.RemissionAssessment: "remissions",
    m.MRDMeasurement: "mrd",
    m.TreatmentCourse: "courses",
    m.Transplant: "transplants",
    m.Event: "events",
}
#: Fields that identify a row rather than hold its data.
_KEYS = frozenset({"id", "patient_id"})


class CasebookLocked(DataError):
    """A change to a locked patient's casebook was refused; ``record`` and ``field`` name what changed."""

    def __init__(self, message: str, *, record: str, field: str) -> None:
        super().__init__(message)
        self.record, self.field = record, field


@dataclass(frozen=True)
class FieldChange:
    """One field of one record changed (or inserted, or deleted) by a flush."""

    patient_id: int
    record: str
    field: str


def record_name(obj: m.Base) -> str:
    """``patient`` or ``KIND:ID`` (``KIND:new`` before the row has its id)."""
    if isinstance(obj, m.Patient):
        return "patient"
    return f"{KIND_OF[type(obj)]}:{getattr(obj, 'id', None) or 'new'}"


def record_fields(model: type[m.Base]) -> tuple[str, ...]:
    """The data fields of a record model, in table order (not its id, patient or centre link)."""
    skip = _KEYS | ({"centre_id"} if model is m.Patient else set())
    return tuple(c.key for c in inspect(model).column_attrs if c.key not in skip)


def _changes(session: Session) -> list[FieldChange]:
    found: list[FieldChange] = []
    for action, objects in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not (isinstance(obj, m.Patient) or type(obj) in KIND_OF):
                continue
            patient_id = obj.id if isinstance(obj, m.Patient) else getattr(obj, "patient_id", None)
            if patient_id is None and not isinstance(obj, m.Patient):
                parent = getattr(obj, "patient", None)
                patient_id = getattr(parent, "id", None)
            if patient_id is None:  # a new patient: nothing of it can be locked, signed or verified
                continue
            state = inspect(obj)
            if isinstance(obj, m.Patient) and action == "update":
                attrs = state.attrs
                if attrs["centre"].history.has_changes() or attrs["centre_id"].history.has_changes():
                    found.append(FieldChange(patient_id, "patient", "centre"))
            for name in record_fields(type(obj)):
                if action == "update":
                    if updated_value(state, name) is None:
                        continue
                elif state.dict.get(name) is None and action == "insert":
                    continue
                found.append(FieldChange(patient_id, record_name(obj), name))
    return found


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%d %b %Y %H:%M UTC")


def locked_rule(study_id: str, record: str, field: str, lock: m.PatientLock) -> str:
    """The words of the refusal of a change to a locked casebook (the same for every write path)."""
    return (
        f"patient {study_id}, record {record}, field {field}: the casebook is "
        f"locked by {lock.locked_by} on {_when(lock.locked_at)}: unlock with a reason first"
    )


@event.listens_for(Session, "before_flush")
def _enforce(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Refuse changes to locked casebooks; void the signatures and SDV marks that a change makes stale."""
    changes = _changes(session)
    if not changes:
        return
    patient_ids = sorted({c.patient_id for c in changes})
    with session.no_autoflush:
        locks = {
            lock.patient_id: lock
            for lock in session.scalars(
                select(m.PatientLock).where(
                    m.PatientLock.patient_id.in_(patient_ids), m.PatientLock.unlocked_at.is_(None)
                )
            )
        }
        for change in changes:
            lock = locks.get(change.patient_id)
            if lock is not None:
                study_id = session.scalar(select(m.Patient.study_id).where(m.Patient.id == change.patient_id))
                raise CasebookLocked(
                    locked_rule(str(study_id), change.record, change.field, lock),
                    record=change.record,
                    field=change.field,
                )
        actor = str(session.info.get("actor") or "unknown")
        reason = str(session.info.get("reason") or "a change without a reason")
        now = dt.datetime.now(dt.UTC)
        for signature in session.scalars(
            select(m.CasebookSignature).where(
                m.CasebookSignature.patient_id.in_(patient_ids), m.CasebookSignature.voided_at.is_(None)
            )
        ):
            signature.voided_at, signature.voided_by, signature.void_reason = now, actor, reason
        changed = {(c.patient_id, c.record, c.field) for c in changes}
        for mark in session.scalars(select(m.SdvMark).where(m.SdvMark.patient_id.in_(patient_ids))):
            if (mark.patient_id, mark.record, mark.field) in changed:
                session.delete(mark)


def open_lock(session: Session, patient_id: int) -> m.PatientLock | None:
    """The lock that holds the casebook of patient ``patient_id`` now (not unlocked), or None."""
    held = m.PatientLock.patient_id == patient_id, m.PatientLock.unlocked_at.is_(None)
    return session.scalars(select(m.PatientLock).where(*held)).first()


def casebook_values(session: Session, patient: m.Patient) -> list[tuple[str, str, str | None]]:
    """The casebook of ``patient`` as ``(record, field, value)`` rows, in a canonical order.

    The patient row first (its centre by name), then each record kind in the order of
    :data:`KIND_OF` and each record by id; values as the audit trail writes them.
    """
    rows: list[tuple[str, str, str | None]] = [("patient", "centre", patient.centre.name)]
    rows += [("patient", f, audit_text(getattr(patient, f))) for f in record_fields(m.Patient)]
    for model in KIND_OF:
        records: Iterable[m.Base] = session.scalars(
            select(model).filter_by(patient_id=patient.id).order_by(*inspect(model).primary_key)
        )
        for record in records:
            name = record_name(record)
            rows += [(name, f, audit_text(getattr(record, f))) for f in record_fields(model)]
    return rows


def casebook_sha256(rows: list[tuple[str, str, str | None]]) -> str:
    """SHA-256 of the canonical JSON of :func:`casebook_values` (what a signature is linked to)."""
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
