"""Entry forms in the browser: a new patient, and adding and correcting each record of one.

Server-rendered, no script: a form posts, the server checks it under every rule of the
import (:mod:`bassinet.application.entry`) and shows it again with each problem beside its
field and the values as typed, or saves it and goes back to the patient's records. A
correction asks for its reason and carries the version it was read at; a save over a
change made since is refused with both values side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bassinet.application import entry
from bassinet.application.quality import patient_findings
from bassinet.errors import DataError
from bassinet.registry.vocabulary import field_label, label
from bassinet.web.context import CSRFRefused, SignedIn, Visit, current_state, engine_of, redirect, render
from bassinet.web.quality_pages import study_rules
from bassinet.web.security import csrf_matches

router = APIRouter()


def _choices(column: Any) -> list[str] | None:
    if column.kind == "code" and column.codes is not None:
        return [member.value for member in column.codes]
    if column.kind == "yes_no":
        return ["yes", "no"]
    return None


def _page(
    request: Request,
    visit: Visit,
    kind: str,
    *,
    form: entry.RecordForm,
    values: Mapping[str, str],
    fmt: entry.EntryFormat,
    verdict: entry.Verdict | None = None,
    changed: entry.RecordChanged | None = None,
    reason: str = "",
    status_code: int = 200,
) -> Response:
    new_patient = form.patient_id is None
    editing = form.patient_id is not None and (kind == "patients" or form.record_id is not None)
    columns = entry.form_fields(kind, new=new_patient)
    fields = []
    for column in columns:
        choices = form.centres if column.name == "centre" and new_patient else _choices(column)
        hint = column.doc
        if column.kind == "date":
            hint = f"Date as {fmt.date_pattern}."
        elif column.kind in ("number", "mrd"):
            mark = "a comma" if fmt.decimal_mark == "," else "a point"
            hint = (hint + " " if hint else "") + f"Decimals with {mark}."
        fields.append(
            {
                "name": column.name,
                "label": field_label(column.name),
                "required": column.required,
                "codes": choices,
                # each choice as (code, words): a centre is shown by its name, a code in words
                "choices": None
                if choices is None
                else [(c, c if column.name == "centre" else label(c)) for c in choices],
                "hint": hint,
                "value": values.get(column.name, ""),
            }
        )
    what = entry.KINDS[kind]
    if new_patient:
        title, action = "New patient", "/patients/new"
    elif kind == "patients":
        title, action = f"Correct patient {form.study_id}", f"/patients/{form.patient_id}/edit"
    elif form.record_id is None:
        title, action = f"New {what} of {form.study_id}", f"/patients/{form.patient_id}/records/{kind}/new"
    else:
        title = f"Correct {what} {form.record_id} of {form.study_id}"
        action = f"/patients/{form.patient_id}/records/{kind}/{form.record_id}"
    return render(
        request,
        "forms/record.html",
        visit=visit,
        title=title,
        action=action,
        fields=fields,
        errors=verdict.by_field() if verdict else {},
        elsewhere=verdict.elsewhere if verdict else (),
        changed=changed,
        editing=editing,
        reason=reason,
        version=form.version,
        back=f"/patients/{form.patient_id}/records" if form.patient_id is not None else "/patients",
        status_code=status_code,
    )


async def _posted(request: Request) -> tuple[Visit, dict[str, str]]:
    """The signed-in visit and the posted form's text fields, once its CSRF token matched."""
    from bassinet.web.context import visit as signed_visit

    form = await request.form()
    state = current_state(request)
    if state is None or not csrf_matches(state.csrf_token, form.get("csrf_token")):
        raise CSRFRefused()
    return signed_visit(request), {k: v for k, v in form.items() if isinstance(v, str)}


def _version(text: str | None) -> int:
    if text is None or not text.isdigit():
        raise DataError(f"version {text!r} is not a whole number: reload the form")
    return int(text)


def _show(
    request: Request, visit: Visit, kind: str, patient_id: int | None, record_id: int | None
) -> Response:
    engine = engine_of(request)
    fmt = entry.entry_format(visit.actor, engine)
    form = entry.open_form(visit.actor, engine, kind, patient_id=patient_id, record_id=record_id, fmt=fmt)
    return _page(request, visit, kind, form=form, values=form.values, fmt=fmt)


async def _save(request: Request, kind: str, patient_id: int | None, record_id: int | None) -> Response:
    visit, posted = await _posted(request)
    engine = engine_of(request)
    fmt = entry.entry_format(visit.actor, engine)
    editing = patient_id is not None and (kind == "patients" or record_id is not None)
    version = _version(posted.get("version")) if editing else 0
    reason = posted.get("reason", "")
    try:
        saved = entry.save_entry(
            visit.actor,
            engine,
            kind,
            posted,
            patient_id=patient_id,
            record_id=record_id,
            version=version,
            reason=reason,
            fmt=fmt,
        )
    except (entry.EntryRefused, entry.RecordChanged) as exc:
        form = entry.open_form(visit.actor, engine, kind, patient_id=patient_id, record_id=None, fmt=fmt)
        form = entry.RecordForm(
            kind, form.patient_id, form.study_id, record_id, form.values, version, form.centres
        )
        return _page(
            request,
            visit,
            kind,
            form=form,
            values=posted,
            fmt=fmt,
            verdict=exc.verdict if isinstance(exc, entry.EntryRefused) else None,
            changed=exc if isinstance(exc, entry.RecordChanged) else None,
            reason=reason,
            status_code=409 if isinstance(exc, entry.RecordChanged) else 400,
        )
    return redirect(f"/patients/{saved.patient_id}/records?saved=1")


def _kind(kind: str) -> str:
    if kind not in entry.KINDS or kind == "patients":
        raise DataError(f"no record kind '{kind}'")
    return kind


@router.get("/patients/new")
def new_patient(request: Request, visit: SignedIn) -> Response:
    return _show(request, visit, "patients", None, None)


@router.post("/patients/new")
async def create_patient(request: Request) -> Response:
    return await _save(request, "patients", None, None)


@router.get("/patients/{patient_id}/records")
def patient_records(request: Request, patient_id: int, visit: SignedIn) -> Response:
    engine = engine_of(request)
    fmt = entry.entry_format(visit.actor, engine)
    entries = entry.patient_entries(visit.actor, engine, patient_id, fmt=fmt)
    saved = request.query_params.get("saved") == "1"
    # Run on save: the patient's data-quality findings, shown as warnings (never refusals).
    findings = patient_findings(visit.actor, engine, patient_id, rules=study_rules()) if saved else ()
    return render(
        request,
        "forms/records.html",
        visit=visit,
        e=entries,
        fmt=fmt,
        saved=saved,
        findings=findings,
        label=field_label,
    )


@router.get("/patients/{patient_id}/edit")
def edit_patient(request: Request, patient_id: int, visit: SignedIn) -> Response:
    return _show(request, visit, "patients", patient_id, None)


@router.post("/patients/{patient_id}/edit")
async def save_patient(request: Request, patient_id: int) -> Response:
    return await _save(request, "patients", patient_id, None)


@router.get("/patients/{patient_id}/records/{kind}/new")
def new_record(request: Request, patient_id: int, kind: str, visit: SignedIn) -> Response:
    return _show(request, visit, _kind(kind), patient_id, None)


@router.post("/patients/{patient_id}/records/{kind}/new")
async def add_record(request: Request, patient_id: int, kind: str) -> Response:
    return await _save(request, _kind(kind), patient_id, None)


@router.get("/patients/{patient_id}/records/{kind}/{record_id}")
def edit_record(request: Request, patient_id: int, kind: str, record_id: int, visit: SignedIn) -> Response:
    return _show(request, visit, _kind(kind), patient_id, record_id)


@router.post("/patients/{patient_id}/records/{kind}/{record_id}")
async def save_record(request: Request, patient_id: int, kind: str, record_id: int) -> Response:
    return await _save(request, _kind(kind), patient_id, record_id)


@router.get("/account/entry-format")
def entry_format(request: Request, visit: SignedIn) -> Response:
    fmt = entry.entry_format(visit.actor, engine_of(request))
    return render(
        request, "forms/entry_format.html", visit=visit, fmt=fmt, formats=entry.DATE_FORMATS, saved=False
    )


@router.post("/account/entry-format")
async def set_entry_format(request: Request) -> Response:
    visit, posted = await _posted(request)
    fmt = entry.set_entry_format(
        visit.actor,
        engine_of(request),
        date_format=posted.get("date_format", ""),
        decimal_mark=posted.get("decimal_mark", ""),
    )
    return render(
        request, "forms/entry_format.html", visit=visit, fmt=fmt, formats=entry.DATE_FORMATS, saved=True
    )
