"""Protocol actions in the browser: the patient page's panel, stratify, randomise, explain.

Every action goes through :mod:`bassinet.application.protocol` as the signed-in user (so
it is authorised by :data:`bassinet.access.POLICY` at the patient's centre and audited under
that user's name); every POST carries the session's CSRF token. Randomisation has a
confirmation step that shows the stratum the allocation will use and never the arm: the
arm is drawn only by the POST that follows, and shown once drawn. A refusal of the safe
workflow (already randomised, an arm on record, facts missing, AML, outside the window)
is shown as a plain sentence, never as a command line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from bassinet.access import Action, permits
from bassinet.application import protocol
from bassinet.application.protocol import ProtocolPanel
from bassinet.errors import DataError
from bassinet.protocols import interfant06
from bassinet.protocols.explain import FACT_LABELS, MISSING_WORDS
from bassinet.web.context import Posted, SignedIn, Visit, engine_of, redirect, render

router = APIRouter()

#: Command-line advice in the engine's refusals, and what the page says instead.
_ADVICE = (
    (re.compile(r"run `bassinet stratify [^`]*` first"), "stratify the patient first (the Stratify button)"),
    (re.compile(r"\s*\(`bassinet correct [^`]*`\)"), ""),
    (re.compile(r", or give --on the date of the request"), ""),
    (re.compile(r"\s*\(bassinet explain [^)]*\)"), ""),
    (re.compile(r"`([^`]*)`"), r"\1"),
)

_KEY_MISSING = re.compile(r"randomisation key|BASSINET_RANDOMISATION_KEY")
#: Advice to record a fact, which a user who may not edit patients cannot follow.
_RECORD_FIRST = re.compile(r"\brecord the ([^.;:]*?) first\b")


def plain_refusal(message: str, *, may_edit: bool = True) -> str:
    """An engine's refusal as a sentence for the page: no command lines, a capital, a full stop.

    A user who may not edit patients (``may_edit`` False) is told to ask the centre's data
    manager to record a fact, not to record it (as the panel's missing facts say).

    >>> plain_refusal("R1 is not randomised: no stored decision: run `bassinet stratify R1` first")
    'R1 is not randomised: no stored decision: stratify the patient first (the Stratify button).'
    """
    text = message.strip()
    for pattern, words in _ADVICE:
        text = pattern.sub(words, text)
    if not may_edit:
        text = _RECORD_FIRST.sub(r"ask the centre's data manager to record the \1", text)
    if _KEY_MISSING.search(text):
        text = "Randomisation is not set up on this server (no randomisation key): ask the trial office"
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


#: A missing fact as the panel words it -> the label of the field where it is entered.
_LABEL_OF_WORDS = {MISSING_WORDS.get(fact, fact): label for fact, label in FACT_LABELS.items()}


@dataclass(frozen=True)
class PanelView(ProtocolPanel):
    """The panel as the page shows it: why randomisation is not possible now, and whom to ask.

    ``randomise_refusal`` is the safe workflow's refusal in words (None: the patient may be
    randomised now, and the button is shown); ``ask_data_manager`` names by label the facts a
    user who may not edit asks the centre's data manager to enter (empty: none, or the user
    may enter them). ``stale_protocol`` is the protocol whose stored decision the rules no
    longer give (``stored_current`` False), so the page's list of stored decisions marks it.
    """

    randomise_refusal: str | None = None
    ask_data_manager: tuple[str, ...] = ()
    stale_protocol: str | None = None


def panel(request: Request, visit: Visit, patient_id: int) -> PanelView:
    """The protocol panel of the patient page (``templates/protocol/panel.html``)."""
    engine = engine_of(request)
    found = protocol.protocol_panel(visit.actor, engine, patient_id)
    refusal = None
    if found.can_randomise and found.applies:
        try:
            protocol.randomisation_preview(visit.actor, engine, found.study_id)
        except DataError as exc:
            refusal = plain_refusal(str(exc), may_edit=permits(visit.actor, Action.EDIT_PATIENTS))
    ask: tuple[str, ...] = ()
    if found.missing and not permits(visit.actor, Action.EDIT_PATIENTS):
        ask = tuple(dict.fromkeys(_LABEL_OF_WORDS.get(m, m) for m in found.missing if m != "risk group"))
    # a fact without words of its own ("wbc") is named by its field's label
    missing = tuple(
        f"{FACT_LABELS[m]} is not recorded yet" if m in FACT_LABELS and m not in MISSING_WORDS else m
        for m in found.missing
    )
    values = {f.name: getattr(found, f.name) for f in fields(found)}
    stale = interfant06.NAME if found.stored and not found.stored_current else None
    return PanelView(
        **{**values, "missing": missing},
        randomise_refusal=refusal,
        ask_data_manager=ask,
        stale_protocol=stale,
    )


def _back(patient_id: int) -> str:
    return f"/patients/{patient_id}#protocol"


def _refused(
    request: Request, visit: Visit, patient_id: int, study_id: str, title: str, exc: Exception
) -> Response:
    return render(
        request,
        "protocol/refused.html",
        visit=visit,
        status_code=409,
        title=title,
        study_id=study_id,
        message=plain_refusal(str(exc), may_edit=permits(visit.actor, Action.EDIT_PATIENTS)),
        back=_back(patient_id),
    )


@router.get("/patients/{patient_id}/protocol/stratify")
def confirm_stratify(request: Request, patient_id: int, visit: SignedIn) -> Response:
    """The confirmation step: the risk group and transplant indication that will be recorded."""
    engine = engine_of(request)
    study_id = protocol.study_id_of(visit.actor, engine, patient_id, Action.STRATIFY)
    return render(
        request,
        "protocol/confirm_stratify.html",
        visit=visit,
        study_id=study_id,
        patient_id=patient_id,
        protocol=panel(request, visit, patient_id),
        back=_back(patient_id),
    )


@router.post("/patients/{patient_id}/protocol/stratify")
def stratify(request: Request, patient_id: int, visit: Posted) -> Response:
    engine = engine_of(request)
    study_id = protocol.study_id_of(visit.actor, engine, patient_id, Action.STRATIFY)
    try:
        protocol.stratify_patient(visit.actor, engine, study_id)
    except DataError as exc:
        return _refused(request, visit, patient_id, study_id, "Not stratified", exc)
    return redirect(_back(patient_id))


@router.get("/patients/{patient_id}/protocol/randomise")
def confirm_randomise(request: Request, patient_id: int, visit: SignedIn) -> Response:
    """The confirmation step: the stratum the allocation will use, never the arm."""
    engine = engine_of(request)
    study_id = protocol.study_id_of(visit.actor, engine, patient_id, Action.RANDOMISE)
    try:
        stratum = protocol.randomisation_preview(visit.actor, engine, study_id)
    except DataError as exc:
        return _refused(request, visit, patient_id, study_id, "Not randomised", exc)
    return render(
        request,
        "protocol/confirm.html",
        visit=visit,
        study_id=study_id,
        patient_id=patient_id,
        stratum=stratum,
        back=_back(patient_id),
    )


@router.post("/patients/{patient_id}/protocol/randomise")
def randomise(
    request: Request, patient_id: int, visit: Posted, stratum: Annotated[str, Form()] = ""
) -> Response:
    """Allocate, if the stratum confirmed is still the one the allocation would use."""
    engine = engine_of(request)
    study_id = protocol.study_id_of(visit.actor, engine, patient_id, Action.RANDOMISE)
    try:
        now = protocol.randomisation_preview(visit.actor, engine, study_id)
        if now != stratum:
            raise DataError(
                f"{study_id} is not randomised: the stratum is now {now}, not the {stratum or 'none'} "
                "you confirmed; check the patient's facts and confirm again"
            )
        assignment = protocol.randomise(visit.actor, engine, study_id)
    except DataError as exc:
        return _refused(request, visit, patient_id, study_id, "Not randomised", exc)
    return render(
        request,
        "protocol/randomised.html",
        visit=visit,
        a=assignment,
        back=_back(patient_id),
    )


@router.get("/patients/{patient_id}/protocol/explain")
def explain(request: Request, patient_id: int, visit: SignedIn) -> Response:
    """The explanation for the clinician or the family, printable (a print stylesheet)."""
    audience = request.query_params.get("for", "clinician")
    engine = engine_of(request)
    study_id = protocol.study_id_of(visit.actor, engine, patient_id, Action.EXPLAIN)
    if audience not in ("clinician", "family"):
        raise DataError(f"explanation for {audience!r}: choose clinician or family")
    try:
        document = protocol.explain(
            visit.actor, engine, study_id, audience="family" if audience == "family" else "clinician"
        )
    except DataError as exc:
        return _refused(request, visit, patient_id, study_id, "No explanation", exc)
    from sqlalchemy.orm import Session

    from bassinet.application import queries

    with Session(engine) as session:
        centre = queries.patient_detail(session, visit.actor, patient_id).centre
    today = dt.date.today()
    return render(
        request,
        "protocol/explain.html",
        visit=visit,
        document=document,
        audience=audience,
        patient_id=patient_id,
        back=_back(patient_id),
        # the printed letter says when, where and for whom it was written (cold review)
        letter_date=f"{today.day} {today:%B %Y}",
        centre=centre,
        study_id=study_id,
    )
