"""Use cases of data queries: a monitor raises a query on a field of a record, the data
manager answers it (or corrects the value, with a reason, through :func:`.records.correct`),
the monitor closes it; and the list of open queries per centre with their age.

Each step is a write of the ``data_query`` row in an audited session (actor and reason in
the audit trail). The patient is looked up within the centres where the actor may read
patients, so a query or patient of another centre is "not found", exactly like one that
does not exist; the step is then authorised at the patient's centre (``raise_query`` for
monitors, ``answer_query`` for data managers), so a reader without the right is told
"not allowed".
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bassinet.access.policy import Action, Actor, authorise
from bassinet.errors import DataError, RegistryError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from bassinet.registry import models as m


class QueryRefused(DataError):
    """A query step the form cannot take: ``field`` names the form field at fault.

    Raising: ``field`` or ``question``; answering: ``answer``, ``reason`` or ``corrected``
    (a corrected value the import's rules refuse, in the rule's words).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class QueryCorrection:
    """A value the data manager changed in answering a query, as its audit trail records it."""

    field: str
    old: str | None
    new: str | None
    reason: str


@dataclass(frozen=True)
class QueryView:
    """One data query as the front ends show it."""

    id: int
    study_id: str
    patient_id: int
    centre: str
    record: str
    field: str
    question: str
    status: str
    raised_by: str
    raised_at: dt.datetime
    answer: str | None
    answered_by: str | None
    answered_at: dt.datetime | None
    closed_by: str | None
    closed_at: dt.datetime | None
    #: The record in words ("remission assessment of 3 Feb 2025"; "patient" for its own fields).
    record_words: str = "patient"
    #: The monitor's note on closing (kept in the audit trail's reason), if any.
    closing_note: str | None = None
    #: The values corrected with the answer (read from the audit trail), oldest first.
    corrections: tuple[QueryCorrection, ...] = ()

    def age_days(self, now: dt.datetime) -> int:
        """Whole days since the query was raised."""
        raised = self.raised_at if self.raised_at.tzinfo else self.raised_at.replace(tzinfo=dt.UTC)
        return (now - raised).days


@dataclass(frozen=True)
class OpenQueries:
    """The queries not yet closed in the actor's scope, oldest first, and their count per centre."""

    now: dt.datetime
    queries: tuple[QueryView, ...]
    per_centre: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class QueryTarget:
    """A record a query can be raised on: its reference, its words and its fields."""

    record: str
    words: str
    fields: tuple[str, ...]


#: Each record kind's date, named in its words; and the kind in words.
_RECORD_DATES = {
    "remissions": ("remission assessment", "assessment_date"),
    "mrd": ("MRD measurement", "measured_on"),
    "courses": ("treatment course", "start_date"),
    "transplants": ("transplant", "transplant_date"),
    "events": ("event", "event_date"),
}


def day_in_words(day: dt.date) -> str:
    """``day`` as "3 Feb 2025" (no leading zero, month abbreviated in English)."""
    return f"{day.day} {day:%b %Y}"


def _words(session: Session, record: str) -> str:
    """``record`` (``patient`` or ``KIND:ID``) in words: "remission assessment of 3 Feb 2025"."""
    from bassinet.registry.corrections import RECORD_KINDS

    kind, _, number = record.partition(":")
    if kind not in _RECORD_DATES or not number.isdigit():
        return "patient"
    label, date_field = _RECORD_DATES[kind]
    found = session.get(RECORD_KINDS[kind], int(number))
    day = getattr(found, date_field, None) if found is not None else None
    return f"{label} of {day_in_words(day)}" if isinstance(day, dt.date) else f"{label} {number}"


def _closing_note(session: Session, query_id: int) -> str | None:
    """The note the monitor wrote on closing ``query_id``, from the audit trail's reason."""
    from sqlalchemy import select

    from bassinet.registry import models as m

    reasons = session.scalars(
        select(m.AuditEntry.reason).where(
            m.AuditEntry.table_name == "data_query",
            m.AuditEntry.record_id == query_id,
            m.AuditEntry.field == "status",
            m.AuditEntry.new_value == "closed",
        )
    ).all()
    for reason in reasons:
        if reason and reason.startswith("query closed: "):
            return reason.removeprefix("query closed: ")
    return None


_ANSWERED_WITH = "query answered with a correction: "


def _corrections(session: Session, q: m.DataQuery) -> tuple[QueryCorrection, ...]:
    """The values of the queried record changed with the answer to ``q``, from the audit trail.

    The answer's own audit entry carries the correction's reason; the record's entries with
    that reason, written after the query was raised and before it was answered, are the
    correction (the answer writes them first, in their own transaction).
    """
    from sqlalchemy import select

    from bassinet.registry import models as m
    from bassinet.registry.corrections import RECORD_KINDS

    answered = session.execute(
        select(m.AuditEntry.id, m.AuditEntry.reason)
        .where(
            m.AuditEntry.table_name == "data_query",
            m.AuditEntry.record_id == q.id,
            m.AuditEntry.field == "status",
            m.AuditEntry.new_value == "answered",
        )
        .order_by(m.AuditEntry.id.desc())
    ).first()
    if answered is None or not (answered.reason or "").startswith(_ANSWERED_WITH):
        return ()
    reason = answered.reason.removeprefix(_ANSWERED_WITH)
    kind, _, number = q.record.partition(":")
    if number.isdigit() and kind in RECORD_KINDS:
        table, record_id = RECORD_KINDS[kind].__tablename__, int(number)
    else:
        table, record_id = m.Patient.__tablename__, q.patient_id
    rows = session.execute(
        select(m.AuditEntry.field, m.AuditEntry.old_value, m.AuditEntry.new_value)
        .where(
            m.AuditEntry.patient_id == q.patient_id,
            m.AuditEntry.table_name == table,
            m.AuditEntry.record_id == record_id,
            m.AuditEntry.action == "update",
            m.AuditEntry.reason == reason,
            m.AuditEntry.id < answered.id,
            m.AuditEntry.at >= q.raised_at,
        )
        .order_by(m.AuditEntry.id)
    ).all()
    return tuple(QueryCorrection(r.field, r.old_value, r.new_value, reason) for r in rows)


def _view(q: m.DataQuery, session: Session | None = None) -> QueryView:
    p = q.patient
    words = _words(session, q.record) if session is not None else "patient"
    note = _closing_note(session, q.id) if session is not None and q.status == "closed" else None
    changed = _corrections(session, q) if session is not None and q.status != "open" else ()
    return QueryView(
        q.id,
        p.study_id,
        p.id,
        p.centre.name,
        q.record,
        q.field,
        q.question,
        q.status,
        q.raised_by,
        q.raised_at,
        q.answer,
        q.answered_by,
        q.answered_at,
        q.closed_by,
        q.closed_at,
        words,
        note,
        changed,
    )


def _record_fields(session: Session, patient: m.Patient, record: str) -> set[str]:
    """The fields of ``record`` (``patient`` or ``KIND:ID`` of this patient); else a DataError."""
    from bassinet.registry import models as m
    from bassinet.registry.corrections import RECORD_KINDS

    if record == "patient":
        return {c.name for c in m.Patient.__table__.columns} - {"id", "centre_id"}
    kind, _, number = record.partition(":")
    if kind not in RECORD_KINDS or not number.isdigit():
        raise DataError(
            f"record {record!r} is not 'patient' or KIND:ID with KIND one of {', '.join(RECORD_KINDS)}"
        )
    model = RECORD_KINDS[kind]
    found = session.get(model, int(number))
    if found is None or getattr(found, "patient_id", None) != patient.id:
        raise DataError(f"record {record!r} is not a record of patient {patient.study_id}")
    return {c.name for c in model.__table__.columns} - {"id", "patient_id"}


def raise_query(
    actor: Actor, engine: Engine, study_id: str, *, record: str = "patient", field: str, question: str
) -> QueryView:
    """Open a query on ``field`` of ``record`` of the patient ``study_id``; audited as ``actor``."""
    authorise(actor, Action.RAISE_QUERY)
    from bassinet.access.scope import find_patient
    from bassinet.registry import models as m
    from bassinet.registry import registry_session

    if not question.strip():
        raise QueryRefused("question", "a query needs its question (the text the data manager answers)")
    with registry_session(engine, actor=actor.username) as session:
        patient = find_patient(session, actor, study_id)
        authorise(actor, Action.RAISE_QUERY, patient.centre_id)
        fields = _record_fields(session, patient, record)
        if not field:  # the raise form's "choose a field", left as it was
            raise QueryRefused("field", "choose the field the query is about")
        if field not in fields:
            raise QueryRefused(
                "field",
                f"field {field!r} is not a field of {record}: choose one of {', '.join(sorted(fields))}",
            )
        session.info["reason"] = "query raised"
        query = m.DataQuery(
            patient=patient,
            record=record,
            field=field,
            question=question.strip(),
            status="open",
            raised_by=actor.username,
            raised_at=dt.datetime.now(dt.UTC),
        )
        session.add(query)
        session.flush()
        return _view(query, session)


def _query_in_scope(session: Session, actor: Actor, query_id: int) -> m.DataQuery:
    from bassinet.access.scope import get_patient
    from bassinet.registry import models as m

    query = session.get(m.DataQuery, query_id)
    missing = RegistryError(f"no query with id {query_id}")
    if query is None:
        raise missing
    try:
        get_patient(session, actor, query.patient_id)
    except RegistryError:
        raise missing from None
    return query


def answer_query(
    actor: Actor,
    engine: Engine,
    query_id: int,
    *,
    answer: str,
    corrections: Mapping[str, str] | None = None,
    reason: str | None = None,
) -> QueryView:
    """Answer an open query; with ``corrections`` (``FIELD: VALUE`` of the queried record: the
    patient's own fields or the one record) the values are corrected first through the
    import's rules, the ``reason`` (needed then) in their audit."""
    authorise(actor, Action.ANSWER_QUERY)
    from sqlalchemy.orm import Session

    from bassinet.registry import registry_session

    if not answer.strip():
        raise QueryRefused("answer", f"query {query_id}: an answer needs its text")
    with Session(engine) as session:
        query = _query_in_scope(session, actor, query_id)
        authorise(actor, Action.ANSWER_QUERY, query.patient.centre_id)
        if query.status != "open":
            raise DataError(f"query {query_id} is {query.status}: only an open query can be answered")
        study_id, record = query.patient.study_id, query.record
    if corrections:
        if not reason or not reason.strip():
            raise QueryRefused("reason", f"query {query_id}: a correction needs its reason")
        from bassinet.application.records import correct, correct_record

        kind, _, number = record.partition(":")
        try:
            if number.isdigit():  # the queried record's values, through the import's rules
                correct_record(actor, engine, study_id, kind, int(number), corrections, reason=reason.strip())
            else:
                correct(actor, engine, study_id, corrections, reason=reason.strip())
        except QueryRefused:
            raise
        except DataError as refused:  # the rule's words, for the form's corrected value
            raise QueryRefused("corrected", str(refused)) from refused
    with registry_session(engine, actor=actor.username) as session:
        query = _query_in_scope(session, actor, query_id)
        if query.status != "open":
            raise DataError(f"query {query_id} is {query.status}: only an open query can be answered")
        session.info["reason"] = "query answered" + (
            f" with a correction: {reason.strip()}" if corrections and reason else ""
        )
        query.status, query.answer = "answered", answer.strip()
        query.answered_by, query.answered_at = actor.username, dt.datetime.now(dt.UTC)
        session.flush()
        return _view(query, session)


def close_query(actor: Actor, engine: Engine, query_id: int, *, note: str | None = None) -> QueryView:
    """Close an answered query (the monitor accepts the answer); ``note`` goes to the audit trail."""
    authorise(actor, Action.RAISE_QUERY)
    from bassinet.registry import registry_session

    with registry_session(engine, actor=actor.username) as session:
        query = _query_in_scope(session, actor, query_id)
        authorise(actor, Action.RAISE_QUERY, query.patient.centre_id)
        if query.status != "answered":
            raise DataError(f"query {query_id} is {query.status}: only an answered query can be closed")
        session.info["reason"] = "query closed" + (f": {note.strip()}" if note and note.strip() else "")
        query.status, query.closed_by, query.closed_at = "closed", actor.username, dt.datetime.now(dt.UTC)
        session.flush()
        return _view(query, session)


def open_queries(
    actor: Actor, engine: Engine, *, now: dt.datetime | None = None, closed: bool = False
) -> OpenQueries:
    """The queries not closed (open or answered) on patients the actor may read, oldest first.

    With ``closed`` the closed ones instead (their thread, correction and closing note).
    """
    authorise(actor, Action.READ_PATIENTS)
    from sqlalchemy import select
    from sqlalchemy.orm import Session, selectinload

    from bassinet.access.scope import scope_patients
    from bassinet.registry import models as m

    moment = now or dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        rows = session.scalars(
            scope_patients(
                select(m.DataQuery)
                .join(m.Patient, m.Patient.id == m.DataQuery.patient_id)
                .options(selectinload(m.DataQuery.patient).selectinload(m.Patient.centre))
                .where((m.DataQuery.status == "closed") if closed else (m.DataQuery.status != "closed")),
                actor,
                Action.READ_PATIENTS,
            ).order_by(m.DataQuery.raised_at, m.DataQuery.id)
        ).all()
        views = [_view(query, session) for query in rows]
    counts = Counter(v.centre for v in views)
    return OpenQueries(moment, tuple(views), tuple(sorted(counts.items())))


def patient_queries(actor: Actor, engine: Engine, patient_id: int) -> tuple[QueryView, ...]:
    """Every query on the patient ``patient_id`` (open, answered and closed), oldest first.

    For everyone who reads the patient; a patient outside the actor's scope is "not found".
    """
    authorise(actor, Action.READ_PATIENTS)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.access.scope import get_patient
    from bassinet.registry import models as m

    with Session(engine) as session:
        get_patient(session, actor, patient_id)
        rows = session.scalars(
            select(m.DataQuery)
            .where(m.DataQuery.patient_id == patient_id)
            .order_by(m.DataQuery.raised_at, m.DataQuery.id)
        ).all()
        return tuple(_view(q, session) for q in rows)


def query_targets(actor: Actor, engine: Engine, patient_id: int) -> tuple[QueryTarget, ...]:
    """The records of patient ``patient_id`` a monitor may raise a query on, with their fields.

    The fields are those the entry forms show (:func:`bassinet.application.entry.form_fields`)
    that the record stores, in the forms' order; the patient's own fields come first, then
    each record by kind and date.
    """
    authorise(actor, Action.RAISE_QUERY)
    from sqlalchemy.orm import Session

    from bassinet.access.scope import get_patient
    from bassinet.application.entry import form_fields
    from bassinet.registry import models as m
    from bassinet.registry.corrections import RECORD_KINDS

    with Session(engine) as session:
        patient = get_patient(session, actor, patient_id)
        authorise(actor, Action.RAISE_QUERY, patient.centre_id)
        stored = {c.name for c in m.Patient.__table__.columns}
        targets = [
            QueryTarget(
                "patient", "patient", tuple(c.name for c in form_fields("patients") if c.name in stored)
            )
        ]
        for kind, (_, date_field) in _RECORD_DATES.items():
            model = RECORD_KINDS[kind]
            stored = {c.name for c in model.__table__.columns}
            names = tuple(c.name for c in form_fields(kind) if c.name in stored)
            found = sorted(getattr(patient, kind), key=lambda r: (getattr(r, date_field), r.id))
            for record in found:
                ref = f"{kind}:{record.id}"
                targets.append(QueryTarget(ref, _words(session, ref), names))
        return tuple(targets)
