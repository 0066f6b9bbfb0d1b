"""Use cases of monitoring sign-off: source-data verification, casebook locks, investigator signatures.

A monitor marks fields of a patient's records as verified against the source documents
(:func:`verify_fields`) and locks or unlocks the patient's casebook with a reason
(:func:`lock_casebook`, :func:`unlock_casebook`); an investigator of the patient's centre
signs the casebook (:func:`sign_casebook`), re-entering the password and shown the meaning
of the signature, in the manner of 21 CFR Part 11 (sections 11.50, 11.70, 11.200). What
locks refuse and what voids a signature or a mark is enforced for every write by
:mod:`bassinet.registry.signoff`; :func:`casebook_status` shows it all.

Each use case authorises the action, then finds the patient within the actor's scope (a
patient of another centre is "not found") and authorises the action at its centre.

References
----------
US FDA, 21 CFR Part 11, Electronic records; electronic signatures (1997), sections 11.50,
11.70 and 11.200(a).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bassinet.access.policy import Action, Actor, authorise
from bassinet.errors import AuthenticationFailed, DataError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from bassinet.registry import models as m

#: What a signature means, shown to the investigator before signing and stored with it.
MEANING = (
    "By signing I confirm that I have reviewed the data of this patient's casebook and that they "
    "are complete and accurate to the best of my knowledge."
)


@dataclass(frozen=True)
class FieldState:
    """One field of one record of the casebook, its value and its verification."""

    record: str
    field: str
    value: str | None
    verified_by: str | None
    verified_at: dt.datetime | None
    changed_since_verified: bool

    @property
    def verified(self) -> bool:
        return self.verified_by is not None and not self.changed_since_verified


@dataclass(frozen=True)
class LockView:
    """A lock of the casebook (``unlocked_at`` set once unlocked)."""

    locked_by: str
    locked_at: dt.datetime
    lock_reason: str
    unlocked_by: str | None
    unlocked_at: dt.datetime | None
    unlock_reason: str | None


@dataclass(frozen=True)
class SignatureView:
    """A signature of the casebook; ``voided_at`` set once a change voided it."""

    signed_by: str
    signer_name: str
    signed_at: dt.datetime
    meaning: str
    casebook_sha256: str
    voided_by: str | None
    voided_at: dt.datetime | None
    void_reason: str | None


@dataclass(frozen=True)
class CasebookStatus:
    """A patient's casebook as monitoring sees it: fields and marks, locks, signatures (newest first)."""

    study_id: str
    patient_id: int
    centre: str
    fields: tuple[FieldState, ...]
    locks: tuple[LockView, ...]
    signatures: tuple[SignatureView, ...]
    casebook_sha256: str

    @property
    def lock(self) -> LockView | None:
        """The lock in force, if any."""
        return next((lock for lock in self.locks if lock.unlocked_at is None), None)

    @property
    def signature(self) -> SignatureView | None:
        """The valid signature, if any."""
        return next((s for s in self.signatures if s.voided_at is None), None)

    @property
    def signature_matches(self) -> bool:
        """Whether the valid signature's hash is the casebook's now (False if unsigned)."""
        return self.signature is not None and self.signature.casebook_sha256 == self.casebook_sha256


def _patient(session: Session, actor: Actor, study_id: str, action: Action) -> m.Patient:
    from bassinet.access.scope import find_patient

    patient = find_patient(session, actor, study_id)
    authorise(actor, action, patient.centre_id)
    return patient


def _status(session: Session, patient: m.Patient) -> CasebookStatus:
    from sqlalchemy import select

    from bassinet.registry import models as m
    from bassinet.registry.signoff import casebook_sha256, casebook_values

    rows = casebook_values(session, patient)
    marks = {
        (mark.record, mark.field): mark
        for mark in session.scalars(select(m.SdvMark).where(m.SdvMark.patient_id == patient.id))
    }
    fields = []
    for record, field, value in rows:
        mark = marks.get((record, field))
        fields.append(
            FieldState(
                record,
                field,
                value,
                mark.verified_by if mark else None,
                mark.verified_at if mark else None,
                mark is not None and mark.verified_value != value,
            )
        )
    locks = session.scalars(
        select(m.PatientLock).where(m.PatientLock.patient_id == patient.id).order_by(m.PatientLock.id.desc())
    )
    signatures = session.scalars(
        select(m.CasebookSignature)
        .where(m.CasebookSignature.patient_id == patient.id)
        .order_by(m.CasebookSignature.id.desc())
    )
    return CasebookStatus(
        patient.study_id,
        patient.id,
        patient.centre.name,
        tuple(fields),
        tuple(
            LockView(x.locked_by, x.locked_at, x.lock_reason, x.unlocked_by, x.unlocked_at, x.unlock_reason)
            for x in locks
        ),
        tuple(
            SignatureView(
                s.signed_by,
                s.signer_name,
                s.signed_at,
                s.meaning,
                s.casebook_sha256,
                s.voided_by,
                s.voided_at,
                s.void_reason,
            )
            for s in signatures
        ),
        casebook_sha256(rows),
    )


def casebook_status(actor: Actor, engine: Engine, study_id: str) -> CasebookStatus:
    """The casebook of ``study_id`` with its SDV marks, locks and signatures, for anyone who reads it."""
    authorise(actor, Action.READ_PATIENTS)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return _status(session, _patient(session, actor, study_id, Action.READ_PATIENTS))


def casebook_of(actor: Actor, engine: Engine, patient_id: int) -> CasebookStatus:
    """As :func:`casebook_status`, for the patient with database id ``patient_id`` (the web pages)."""
    authorise(actor, Action.READ_PATIENTS)
    from sqlalchemy.orm import Session

    from bassinet.access.scope import get_patient

    with Session(engine) as session:
        return _status(session, get_patient(session, actor, patient_id))


def _reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        raise DataError(f"{what} needs its reason")
    return reason.strip()


def verify_fields(
    actor: Actor, engine: Engine, study_id: str, fields: Iterable[tuple[str, str]]
) -> CasebookStatus:
    """Mark ``(record, field)`` pairs of the casebook as verified against the source (a monitor).

    A pair that names no field of the casebook is a DataError naming it; a field already
    verified at its current value keeps its mark.
    """
    authorise(actor, Action.VERIFY_SOURCE)
    from sqlalchemy import select

    from bassinet.registry import models as m
    from bassinet.registry import registry_session
    from bassinet.registry.signoff import casebook_values

    wanted = list(dict.fromkeys(fields))
    with registry_session(engine, actor=actor.username) as session:
        patient = _patient(session, actor, study_id, Action.VERIFY_SOURCE)
        values = {(record, field): value for record, field, value in casebook_values(session, patient)}
        for record, field in wanted:
            if (record, field) not in values:
                raise DataError(f"patient {study_id}: {record} has no field {field!r} to verify")
        marks = {
            (x.record, x.field): x
            for x in session.scalars(select(m.SdvMark).where(m.SdvMark.patient_id == patient.id))
        }
        session.info["reason"] = "source-data verification"
        now = dt.datetime.now(dt.UTC)
        for record, field in wanted:
            mark = marks.get((record, field))
            if mark is None:
                session.add(
                    m.SdvMark(
                        patient_id=patient.id,
                        record=record,
                        field=field,
                        verified_value=values[(record, field)],
                        verified_by=actor.username,
                        verified_at=now,
                    )
                )
            elif mark.verified_value != values[(record, field)]:
                mark.verified_value, mark.verified_by, mark.verified_at = (
                    values[(record, field)],
                    actor.username,
                    now,
                )
        session.flush()
        return _status(session, patient)


def lock_casebook(actor: Actor, engine: Engine, study_id: str, *, reason: str | None) -> CasebookStatus:
    """Lock the patient's casebook (a monitor): no change to it until unlocked with a reason."""
    authorise(actor, Action.LOCK_RECORD)
    from bassinet.registry import models as m
    from bassinet.registry import registry_session
    from bassinet.registry.signoff import open_lock

    why = _reason(reason, f"locking the casebook of {study_id}")
    with registry_session(engine, actor=actor.username) as session:
        patient = _patient(session, actor, study_id, Action.LOCK_RECORD)
        held = open_lock(session, patient.id)
        if held is not None:
            raise DataError(f"patient {study_id}: the casebook is already locked by {held.locked_by}")
        session.info["reason"] = f"casebook locked: {why}"
        session.add(
            m.PatientLock(
                patient_id=patient.id,
                locked_by=actor.username,
                locked_at=dt.datetime.now(dt.UTC),
                lock_reason=why,
            )
        )
        session.flush()
        return _status(session, patient)


def unlock_casebook(actor: Actor, engine: Engine, study_id: str, *, reason: str | None) -> CasebookStatus:
    """Unlock the patient's casebook with a reason (a monitor); the lock stays in its history."""
    authorise(actor, Action.LOCK_RECORD)
    from bassinet.registry import registry_session
    from bassinet.registry.signoff import open_lock

    why = _reason(reason, f"unlocking the casebook of {study_id}")
    with registry_session(engine, actor=actor.username) as session:
        patient = _patient(session, actor, study_id, Action.LOCK_RECORD)
        held = open_lock(session, patient.id)
        if held is None:
            raise DataError(f"patient {study_id}: the casebook is not locked")
        session.info["reason"] = f"casebook unlocked: {why}"
        held.unlocked_by, held.unlocked_at, held.unlock_reason = actor.username, dt.datetime.now(dt.UTC), why
        session.flush()
        return _status(session, patient)


def sign_casebook(
    actor: Actor, engine: Engine, study_id: str, *, password: str, meaning: str = MEANING
) -> CasebookStatus:
    """Sign the patient's casebook as its investigator, with the password re-entered.

    A wrong password is refused (:class:`~bassinet.errors.AuthenticationFailed`) and written
    to the security log as a failed sign-in is. Signing is refused while a query on the
    patient is open or answered but not closed. The signature records the signer's username
    and full name, the time, ``meaning`` and the SHA-256 of the casebook's values.
    """
    authorise(actor, Action.SIGN_RECORD)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.access.accounts import LOCKOUT, MAX_FAILURES, utc
    from bassinet.access.passwords import verify_password
    from bassinet.access.security_log import SecurityEvent, log_security_event
    from bassinet.registry import models as m
    from bassinet.registry import registry_session
    from bassinet.registry.signoff import casebook_sha256, casebook_values

    with Session(engine) as session:
        patient = _patient(session, actor, study_id, Action.SIGN_RECORD)
        user = session.get(m.User, actor.user_id)
        now = dt.datetime.now(dt.UTC)
        if user is not None and user.locked_until is not None and utc(user.locked_until) > now:
            raise AuthenticationFailed(
                f"signing the casebook of {study_id}: the account is locked after failed passwords"
            )
        if user is None or not verify_password(user.password_hash, password):
            log_security_event(
                session,
                SecurityEvent.LOGIN_FAILED,
                actor=actor.username,
                subject=actor.username,
                detail=f"wrong password when signing the casebook of patient {study_id}",
                at=now,
            )
            if user is not None:  # counted towards the lockout as a failed sign-in is
                user.failed_logins += 1
                if user.failed_logins >= MAX_FAILURES:
                    user.locked_until, user.failed_logins = now + LOCKOUT, 0
                    log_security_event(
                        session,
                        SecurityEvent.LOCKOUT,
                        actor=actor.username,
                        subject=actor.username,
                        detail=f"{MAX_FAILURES} wrong passwords in a row when signing: locked until "
                        f"{user.locked_until.isoformat()}",
                        at=now,
                    )
            session.commit()
            raise AuthenticationFailed(f"signing the casebook of {study_id}: the password is not correct")
        if user.failed_logins:
            user.failed_logins = 0
            session.commit()
    with registry_session(engine, actor=actor.username) as session:
        patient = _patient(session, actor, study_id, Action.SIGN_RECORD)
        pending = session.scalars(
            select(m.DataQuery).where(m.DataQuery.patient_id == patient.id, m.DataQuery.status != "closed")
        ).all()
        if pending:
            listed = ", ".join(f"query {q.id} on {q.record} {q.field} ({q.status})" for q in pending)
            raise DataError(
                f"patient {study_id}: the casebook cannot be signed while a query is not closed: {listed}"
            )
        current = session.scalars(
            select(m.CasebookSignature).where(
                m.CasebookSignature.patient_id == patient.id, m.CasebookSignature.voided_at.is_(None)
            )
        ).first()
        if current is not None:
            raise DataError(f"patient {study_id}: the casebook is already signed by {current.signer_name}")
        user = session.get(m.User, actor.user_id)
        name = (user.full_name if user is not None and user.full_name else None) or actor.username
        session.info["reason"] = "casebook signed"
        session.add(
            m.CasebookSignature(
                patient_id=patient.id,
                signed_by=actor.username,
                signer_name=name,
                signed_at=dt.datetime.now(dt.UTC),
                meaning=meaning,
                casebook_sha256=casebook_sha256(casebook_values(session, patient)),
            )
        )
        session.flush()
        return _status(session, patient)
