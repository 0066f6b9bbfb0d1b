"""The data-query pages: open queries per centre with their age; raise, answer, close.

``GET /queries`` lists the queries not yet closed on the patients the user may read, per
centre, oldest first, with their age in days. A monitor raises a query with the form on
that page (``POST /queries``: study ID, record, field, question) and closes an answered
one (``POST /queries/{id}/close``); a data manager answers (``POST /queries/{id}/answer``),
optionally correcting patient fields (``FIELD=VALUE``, one a line) with a reason. Every
POST needs the session's CSRF token; the use cases (:mod:`bassinet.application.queries_workflow`)
check the role at the patient's centre, and a query or patient outside the user's scope is
404 like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from bassinet.access import Action, permits
from bassinet.application.queries_workflow import answer_query, close_query, open_queries, raise_query
from bassinet.application.records import parse_assignments
from bassinet.web.context import Posted, SignedIn, engine_of, redirect, render

router = APIRouter()
Text = Annotated[str, Form()]


@router.get("/queries")
def queries(request: Request, visit: SignedIn) -> Response:
    listed = open_queries(visit.actor, engine_of(request))
    return render(
        request,
        "quality/queries.html",
        visit=visit,
        listed=listed,
        can_raise=permits(visit.actor, Action.RAISE_QUERY),
        can_answer=permits(visit.actor, Action.ANSWER_QUERY),
        done=_done(request.query_params.get("done", "")),
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
) -> Response:
    changes = parse_assignments(
        [line for line in corrections.splitlines() if line.strip()], option="correction"
    )
    answer_query(
        visit.actor, engine_of(request), query_id, answer=answer, corrections=changes, reason=reason or None
    )
    return redirect(f"/queries?done=answered+{query_id}")


@router.post("/queries/{query_id}/close")
def close(request: Request, query_id: int, visit: Posted, note: Text = "") -> Response:
    close_query(visit.actor, engine_of(request), query_id, note=note or None)
    return redirect(f"/queries?done=closed+{query_id}")
