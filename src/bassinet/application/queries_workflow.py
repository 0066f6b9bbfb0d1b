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


def _view(q: m.DataQuery) -> QueryView:
    p = q.patient
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
        raise DataError("a query needs its question (the text the data manager answers)")
    with registry_session(engine, actor=actor.username) as session:
        patient = find_patient(session, actor, study_id)
        authorise(actor, Action.RAISE_QUERY, patient.centre_id)
        fields = _record_fields(session, patient, record)
        if field not in fields:
            raise DataError(
                f"field {field!r} is not a field of {record}: choose one of {', '.join(sorted(fields))}"
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
        return _view(query)


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
    """Answer an open query; with ``corrections`` (``FIELD: VALUE`` of the patient) the values are
    corrected first through the import's rules, the ``reason`` (needed then) in their audit."""
    authorise(actor, Action.ANSWER_QUERY)
    from sqlalchemy.orm import Session

    from bassinet.registry import registry_session

    if not answer.strip():
        raise DataError(f"query {query_id}: an answer needs its text")
    with Session(engine) as session:
        query = _query_in_scope(session, actor, query_id)
        authorise(actor, Action.ANSWER_QUERY, query.patient.centre_id)
        if query.status != "open":
            raise DataError(f"query {query_id} is {query.status}: only an open query can be answered")
        study_id = query.patient.study_id
    if corrections:
        if not reason or not reason.strip():
            raise DataError(f"query {query_id}: a correction needs its reason")
        from bassinet.application.records import correct

        correct(actor, engine, study_id, corrections, reason=reason.strip())
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
        return _view(query)


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
        return _view(query)


def open_queries(actor: Actor, engine: Engine, *, now: dt.datetime | None = None) -> OpenQueries:
    """The queries not closed (open or answered) on patients the actor may read, oldest first."""
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
                .where(m.DataQuery.status != "closed"),
                actor,
                Action.READ_PATIENTS,
            ).order_by(m.DataQuery.raised_at, m.DataQuery.id)
        ).all()
        views = [_view(query) for query in rows]
    counts = Counter(v.centre for v in views)
    return OpenQueries(moment, tuple(views), tuple(sorted(counts.items())))
