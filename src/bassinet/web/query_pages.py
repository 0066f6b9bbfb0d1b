"""The data-query pages: open queries per centre with their age; raise, answer, close.

``GET /queries`` lists the queries not yet closed on the patients the user may read, per
centre, oldest first, with their age in days; ``GET /queries?status=closed`` the closed ones.
A monitor raises a query with the form on that page (``POST /queries``: study ID, record,
field, question) and closes an answered one (``POST /queries/{id}/close``); a data manager
answers (``POST /queries/{id}/answer``), optionally correcting patient fields
(``FIELD=VALUE``, one a line) with a reason; a refused answer shows the list again with the
problem beside that query's form, as typed. Every POST needs the session's CSRF token; the
use cases (:mod:`bassinet.application.queries_workflow`) check the role at the patient's
centre, and a query or patient outside the user's scope is
404 like one that does not exist.

A monitor raises a query from the patient's page: ``GET /patients/{id}/queries/new?record=REF``
shows the record in words and a dropdown of its fields by the entry forms' labels;
``POST`` to the same address raises it, or shows the form again with the problem beside its
field and the question and choices as typed. :func:`patient_panel` gives the patient page its
data-quality findings, its queries and (for monitors) the records to raise a query on.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from bassinet.access import Action, authorise, permits
from bassinet.application.quality import patient_findings
from bassinet.application.queries_workflow import (
    QueryRefused,
    QueryTarget,
    answer_query,
    close_query,
    open_queries,
    patient_queries,
    query_targets,
    raise_query,
)
from bassinet.application.records import parse_assignments
from bassinet.errors import AccessDenied, DataError
from bassinet.registry.vocabulary import field_label
from bassinet.web.context import Posted, SignedIn, Visit, engine_of, redirect, render
from bassinet.web.quality_pages import study_rules

router = APIRouter()
Text = Annotated[str, Form()]


@router.get("/queries")
def queries(request: Request, visit: SignedIn) -> Response:
    closed = request.query_params.get("status") == "closed"  # ?status=closed: the closed queries
    return _queries_page(request, visit, done=_done(request.query_params.get("done", "")), closed=closed)


def _queries_page(
    request: Request,
    visit: Visit,
    *,
    done: str = "",
    refused: dict[str, Any] | None = None,
    closed: bool = False,
) -> Response:
    """The open queries; with ``refused`` (an answer the use case refused: its query id, the
    form field at fault, the message and what was typed) shown again beside that query's form."""
    listed = open_queries(visit.actor, engine_of(request), closed=closed)
    return render(
        request,
        "quality/queries.html",
        visit=visit,
        listed=listed,
        can_raise=permits(visit.actor, Action.RAISE_QUERY),
        can_answer=permits(visit.actor, Action.ANSWER_QUERY),
        label=field_label,
        done=done,
        refused=refused or {},
        closed=closed,
        status_code=400 if refused else 200,
    )


def _done(text: str) -> str:
    """The confirmation of the step just taken, from the redirect's ``done=STEP ID``.

    Only the three steps and a query number are shown: any other text in the link shows
    nothing, so a crafted link cannot put its words on the page (cold review).
    """
    step, _, number = text.partition(" ")
    if step in ("raised", "answered", "closed") and number.isdigit():
        return f"{number} {step}"
    return ""


@router.post("/queries")
def raise_(
    request: Request,
    visit: Posted,
    study_id: Text = "",
    record: Text = "patient",
    field: Text = "",
    question: Text = "",
) -> Response:
    made = raise_query(
        visit.actor,
        engine_of(request),
        study_id.strip(),
        record=record.strip() or "patient",
        field=field.strip(),
        question=question,
    )
    return redirect(f"/queries?done=raised+{made.id}")


@router.post("/queries/{query_id}/answer")
def answer(
    request: Request,
    query_id: int,
    visit: Posted,
    answer: Text = "",
    corrections: Text = "",
    reason: Text = "",
    field: Text = "",
    corrected: Text = "",
) -> Response:
    changes = parse_assignments(
        [line for line in corrections.splitlines() if line.strip()], option="correction"
    )
    if corrected.strip() and field.strip():  # the answer form's "corrected value" of the queried field
        changes = {**changes, field.strip(): corrected.strip()}
    try:
        answer_query(
            visit.actor,
            engine_of(request),
            query_id,
            answer=answer,
            corrections=changes,
            reason=reason or None,
        )
    except QueryRefused as refused:  # the list again, the problem beside that query's form, as typed
        typed = {"answer": answer, "corrected": corrected, "reason": reason}
        return _queries_page(
            request,
            visit,
            refused={"id": query_id, "field": refused.field, "message": str(refused), **typed},
        )
    return redirect(f"/queries?done=answered+{query_id}")


@router.post("/queries/{query_id}/close")
def close(request: Request, query_id: int, visit: Posted, note: Text = "") -> Response:
    close_query(visit.actor, engine_of(request), query_id, note=note or None)
    return redirect(f"/queries?done=closed+{query_id}")


def patient_panel(request: Request, visit: Visit, patient_id: int) -> dict[str, Any]:
    """What the patient page shows of data quality and queries, for the signed-in user.

    Its current findings (built-in checks and the study rules of ``$BASSINET_QUALITY_RULES``),
    its queries (open, answered and closed), and for a monitor the records to raise one on.
    """
    engine = engine_of(request)
    can_raise = permits(visit.actor, Action.RAISE_QUERY)
    targets: tuple[QueryTarget, ...] = ()
    if can_raise:
        try:
            targets = query_targets(visit.actor, engine, patient_id)
        except AccessDenied:  # a monitor elsewhere who reads this centre's patients
            can_raise = False
    return {
        "findings": patient_findings(visit.actor, engine, patient_id, rules=study_rules()),
        "queries": patient_queries(visit.actor, engine, patient_id),
        "targets": targets,
        "can_raise": can_raise,
        "label": field_label,
    }


def _raise_page(
    request: Request,
    visit: Visit,
    patient_id: int,
    record: str,
    *,
    field: str = "",
    question: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    targets = query_targets(visit.actor, engine_of(request), patient_id)
    chosen = next((t for t in targets if t.record == record), None)
    if chosen is None:
        raise DataError(f"record {record!r} is not a record of patient {patient_id} to raise a query on")
    return render(
        request,
        "quality/raise.html",
        visit=visit,
        patient_id=patient_id,
        study_id=_study_id(request, visit, patient_id),
        target=chosen,
        choices=[(name, field_label(name)) for name in chosen.fields],
        field=field,
        question=question,
        errors=errors or {},
        label=field_label,
        status_code=400 if errors else 200,
    )


def _study_id(request: Request, visit: Visit, patient_id: int) -> str:
    from sqlalchemy.orm import Session

    from bassinet.access.scope import get_patient

    with Session(engine_of(request)) as session:
        return get_patient(session, visit.actor, patient_id).study_id


@router.get("/patients/{patient_id}/queries/new")
def new_query(request: Request, patient_id: int, visit: SignedIn) -> Response:
    return _raise_page(request, visit, patient_id, request.query_params.get("record") or "patient")


@router.post("/patients/{patient_id}/queries/new")
def raise_on_record(
    request: Request,
    patient_id: int,
    visit: Posted,
    record: Text = "patient",
    field: Text = "",
    question: Text = "",
) -> Response:
    authorise(visit.actor, Action.RAISE_QUERY)  # a role without it is refused before any lookup
    chosen = record.strip() or "patient"
    study_id = _study_id(request, visit, patient_id)
    try:
        made = raise_query(
            visit.actor, engine_of(request), study_id, record=chosen, field=field.strip(), question=question
        )
    except QueryRefused as refused:
        return _raise_page(
            request,
            visit,
            patient_id,
            chosen,
            field=field,
            question=question,
            errors={refused.field: str(refused)},
        )
    return redirect(f"/queries?done=raised+{made.id}#query-{made.id}")
