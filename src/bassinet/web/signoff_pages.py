"""The monitoring sign-off pages: source-data verification, casebook locks, the investigator's signature.

The patient page shows a "Monitoring" panel (``templates/signoff/panel.html``, data from
:func:`panel`) to everyone who reads the patient: each record's fields with their
verification, the lock and the signatures (a voided one struck through, with who voided it,
when and the change's reason). A monitor ticks fields and saves them
(``POST /patients/{id}/sdv``) and locks or unlocks the casebook with a reason
(``POST /patients/{id}/lock``, ``/unlock``). An investigator of the patient's centre opens
``GET /patients/{id}/sign``: the casebook, the meaning of the signature, a password field;
``POST`` signs. Every POST needs the session's CSRF token; each route first asks whether the
role allows its action at all, then finds the patient within the user's scope (outside it:
404, as for an id that does not exist).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from bassinet.access import Action, authorise, permits
from bassinet.application.signoff import (
    MEANING,
    CasebookStatus,
    casebook_of,
    lock_casebook,
    sign_casebook,
    unlock_casebook,
    verify_fields,
)
from bassinet.errors import AuthenticationFailed
from bassinet.web.context import Posted, SignedIn, Visit, engine_of, redirect, render

router = APIRouter()
Text = Annotated[str, Form()]


def panel(request: Request, visit: Visit, patient_id: int) -> dict[str, object]:
    """What the Monitoring panel of the patient page shows, and what the user may do there."""
    actor = visit.actor
    status = casebook_of(actor, engine_of(request), patient_id)
    records: dict[str, list[object]] = {}
    for field in status.fields:
        records.setdefault(field.record, []).append(field)
    return {
        "status": status,
        "records": records,
        "can_verify": permits(actor, Action.VERIFY_SOURCE),
        "can_lock": permits(actor, Action.LOCK_RECORD),
        "can_sign": permits(actor, Action.SIGN_RECORD),
    }


def _back(patient_id: int) -> Response:
    return redirect(f"/patients/{patient_id}#monitoring")


@router.post("/patients/{patient_id}/sdv")
async def verify(request: Request, patient_id: int, visit: Posted) -> Response:
    authorise(visit.actor, Action.VERIFY_SOURCE)
    engine = engine_of(request)
    status = casebook_of(visit.actor, engine, patient_id)
    form = await request.form()
    pairs = []
    for value in form.getlist("verified"):
        record, _, field = str(value).partition("|")
        pairs.append((record, field))
    verify_fields(visit.actor, engine, status.study_id, pairs)
    return _back(patient_id)


@router.post("/patients/{patient_id}/lock")
def lock(request: Request, patient_id: int, visit: Posted, reason: Text = "") -> Response:
    authorise(visit.actor, Action.LOCK_RECORD)
    engine = engine_of(request)
    status = casebook_of(visit.actor, engine, patient_id)
    lock_casebook(visit.actor, engine, status.study_id, reason=reason)
    return _back(patient_id)


@router.post("/patients/{patient_id}/unlock")
def unlock(request: Request, patient_id: int, visit: Posted, reason: Text = "") -> Response:
    authorise(visit.actor, Action.LOCK_RECORD)
    engine = engine_of(request)
    status = casebook_of(visit.actor, engine, patient_id)
    unlock_casebook(visit.actor, engine, status.study_id, reason=reason)
    return _back(patient_id)


def _sign_page(
    request: Request, visit: Visit, status: CasebookStatus, *, error: str = "", status_code: int = 200
) -> Response:
    records: dict[str, list[object]] = {}
    for field in status.fields:
        records.setdefault(field.record, []).append(field)
    return render(
        request,
        "signoff/sign.html",
        visit=visit,
        status_code=status_code,
        c=status,
        records=records,
        meaning=MEANING,
        error=error,
    )


@router.get("/patients/{patient_id}/sign")
def sign_form(request: Request, patient_id: int, visit: SignedIn) -> Response:
    authorise(visit.actor, Action.SIGN_RECORD)
    return _sign_page(request, visit, casebook_of(visit.actor, engine_of(request), patient_id))


@router.post("/patients/{patient_id}/sign")
def sign(request: Request, patient_id: int, visit: Posted, password: Text = "") -> Response:
    authorise(visit.actor, Action.SIGN_RECORD)
    engine = engine_of(request)
    status = casebook_of(visit.actor, engine, patient_id)
    if not password:
        return _sign_page(request, visit, status, error="Enter your password to sign.", status_code=400)
    try:
        sign_casebook(visit.actor, engine, status.study_id, password=password, meaning=MEANING)
    except AuthenticationFailed as exc:
        return _sign_page(request, visit, status, error=str(exc), status_code=401)
    return _back(patient_id)
