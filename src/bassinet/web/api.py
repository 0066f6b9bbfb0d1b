"""The JSON API under ``/api/v1``: patients, their audit trail, centres and report jobs.

Scripts authenticate with a personal access token (``Authorization: Bearer bsn_...``,
see :mod:`bassinet.access.tokens`), which acts as its owner or narrower. Every endpoint
names the action it needs in one dependency, :func:`require`, which authenticates the
token and asks :func:`bassinet.access.authorise` whether the action is allowed anywhere;
the data are then narrowed by :func:`bassinet.access.scope_patients`, so a patient (or a
report) outside the actor's scope is 404 "not found", exactly as one that does not exist.
Downloads of report files are exports and go to the security log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session, contains_eager

from bassinet.access import (
    AccessDenied,
    Action,
    Actor,
    AuthenticationFailed,
    authenticate_token,
    authorise,
    find_patient,
    scope_patients,
)
from bassinet.errors import BassinetError, DataError, RegistryError
from bassinet.registry import models as m
from bassinet.registry import vocabulary as v
from bassinet.web import jobs

router = APIRouter()

#: Text a query may hold: no control characters (PostgreSQL refuses NUL in a string).
SAFE_TEXT = r"^[^\x00-\x1f\x7f]*$"
STUDY_ID = r"^[^\x00-\x1f\x7f/]{1,64}$"


# --- Response models: the OpenAPI schema is exactly what the endpoints return ---


class Problem(BaseModel):
    """An error: one line that says what is wrong."""

    detail: str


class Centre(BaseModel):
    id: int
    name: str
    study_group: str | None
    patients: int | None = Field(description="Patients the caller may read here (None: may read none).")


class PatientSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    study_id: str
    centre: str
    study_group: str | None
    sex: str
    date_of_birth: dt.date
    diagnosis_date: dt.date
    leukemia_type: str
    kmt2a_status: str
    vital_status: str
    last_contact_date: dt.date
    protocol: str | None
    randomisation_arm: str | None


class PatientPage(BaseModel):
    total: int = Field(description="Patients matching the filters within the caller's scope.")
    limit: int
    offset: int
    items: list[PatientSummary]


class TimelineEntry(BaseModel):
    date: dt.date
    kind: str = Field(description="remission, mrd, course, transplant or event")
    detail: str


class Decision(BaseModel):
    protocol: str
    version: str
    risk_group: str | None
    decided_at: dt.datetime


class PatientDetail(PatientSummary):
    immunophenotype: str | None
    cd10: str | None
    kmt2a_partner: str | None
    wbc: float | None
    cns_status: str | None
    day8_blasts: float | None
    protocol_version: str | None
    randomisation_date: dt.date | None
    timeline: list[TimelineEntry]
    decisions: list[Decision]


class AuditRow(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    table_name: str
    field: str
    old_value: str | None
    new_value: str | None
    reason: str | None
    import_run_id: int | None


class AuditPage(BaseModel):
    study_id: str
    total: int
    limit: int
    offset: int
    items: list[AuditRow]


class ReportJob(BaseModel):
    id: int
    plan: str
    title: str | None
    actor: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    status: str = Field(description="queued, running, done or failed")
    progress: int = Field(ge=0, le=100)
    step: str | None
    plan_sha256: str | None
    data_sha256: str | None
    files: list[str]
    error: str | None


class ReportRequest(BaseModel):
    """Run a shipped plan (``plan``) or a plan given as YAML text (``plan_yaml``): one of them."""

    model_config = ConfigDict(extra="forbid")

    plan: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    plan_yaml: str | None = Field(default=None, max_length=jobs.MAX_PLAN_BYTES)


class Sort(StrEnum):
    STUDY_ID = "study_id"
    STUDY_ID_DESC = "-study_id"
    DIAGNOSIS = "diagnosis_date"
    DIAGNOSIS_DESC = "-diagnosis_date"
    CENTRE = "centre"
    CENTRE_DESC = "-centre"


# --- The one dependency: who is asking, and may they do this anywhere ---

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No token, or an unknown, expired or revoked one."},
    403: {"model": Problem, "description": "The caller's roles do not allow this anywhere."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "Not found in scope."}}


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="personal access token",
    description="A token made by `bassinet tokens create`: `Authorization: Bearer bsn_...`.",
)


def bearer_actor(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Actor:
    """The actor of the request's bearer token, or 401."""
    if credentials is None or not credentials.credentials.strip():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a personal access token is needed: Authorization: Bearer bsn_...",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return authenticate_token(engine_of(request), credentials.credentials.strip())
    except AuthenticationFailed as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None


def require(*actions: Action) -> Callable[..., Actor]:
    """A dependency: the caller, if some grant allows one of ``actions`` somewhere; else 403."""

    def dependency(actor: Annotated[Actor, Depends(bearer_actor)]) -> Actor:
        for action in actions:
            try:
                authorise(actor, action)
            except AccessDenied:
                continue
            return actor
        names = " or ".join(a.value for a in actions)
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{actor.username} may not {names}")

    return dependency


Reader = Annotated[Actor, Depends(require(Action.READ_PATIENTS))]
Auditor = Annotated[Actor, Depends(require(Action.VIEW_AUDIT))]
Reporter = Annotated[Actor, Depends(require(Action.RUN_REPORT))]
CentreViewer = Annotated[Actor, Depends(require(Action.READ_PATIENTS, Action.MANAGE_USERS))]
StudyIdPath = Annotated[str, Path(pattern=STUDY_ID, description="The patient's study ID.")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Text = Annotated[str | None, Query(max_length=200, pattern=SAFE_TEXT)]


def _not_found(exc: BassinetError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc).splitlines()[0])


def _summary(p: m.Patient) -> dict[str, Any]:
    return {
        "id": p.id,
        "study_id": p.study_id,
        "centre": p.centre.name,
        "study_group": p.centre.study_group.name if p.centre.study_group else None,
        "sex": p.sex,
        "date_of_birth": p.date_of_birth,
        "diagnosis_date": p.diagnosis_date,
        "leukemia_type": p.leukemia_type,
        "kmt2a_status": p.kmt2a_status,
        "vital_status": p.vital_status,
        "last_contact_date": p.last_contact_date,
        "protocol": p.protocol,
        "randomisation_arm": p.randomisation_arm,
    }


# --- Patients ---


@router.get("/patients", response_model=PatientPage, responses=AUTH_RESPONSES, tags=["patients"])
def list_patients(
    request: Request,
    actor: Reader,
    limit: Limit = 50,
    offset: Offset = 0,
    centre: Text = None,
    study_group: Text = None,
    leukemia_type: v.LeukemiaType | None = None,
    vital_status: v.VitalStatus | None = None,
    risk_group: Text = None,
    q: Annotated[
        str | None, Query(max_length=64, pattern=SAFE_TEXT, description="Part of a study ID.")
    ] = None,
    sort: Sort = Sort.STUDY_ID,
) -> PatientPage:
    """Patients within the caller's scope, filtered, sorted and paged."""
    # One query for the page: the centre and its study group come with each patient.
    query = (
        select(m.Patient)
        .join(m.Centre, m.Patient.centre_id == m.Centre.id)
        .outerjoin(m.StudyGroup, m.Centre.study_group_id == m.StudyGroup.id)
    )
    if centre is not None:
        query = query.where(m.Centre.name == centre)
    if study_group is not None:
        query = query.where(m.StudyGroup.name == study_group)
    if leukemia_type is not None:
        query = query.where(m.Patient.leukemia_type == leukemia_type)
    if vital_status is not None:
        query = query.where(m.Patient.vital_status == vital_status)
    if risk_group is not None:
        query = query.where(
            m.Patient.id.in_(
                select(m.RiskAssignment.patient_id).where(m.RiskAssignment.risk_group == risk_group)
            )
        )
    if q:
        query = query.where(m.Patient.study_id.contains(q, autoescape=True))
    query = scope_patients(query, actor, Action.READ_PATIENTS)
    column = {
        "study_id": m.Patient.study_id,
        "diagnosis_date": m.Patient.diagnosis_date,
        "centre": m.Centre.name,
    }[sort.value.lstrip("-")]
    order = column.desc() if sort.value.startswith("-") else column.asc()
    with Session(engine_of(request)) as session:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        rows = session.scalars(
            query.options(contains_eager(m.Patient.centre).contains_eager(m.Centre.study_group))
            .order_by(order, m.Patient.id)
            .limit(limit)
            .offset(offset)
        )
        items = [PatientSummary.model_validate(_summary(p)) for p in rows]
    return PatientPage(total=total, limit=limit, offset=offset, items=items)


def _timeline(p: m.Patient) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(date=r.assessment_date, kind="remission", detail=f"{r.time_point}: {r.status}")
        for r in p.remissions
    ]
    entries += [
        TimelineEntry(
            date=x.measured_on,
            kind="mrd",
            detail=f"{x.time_point}: {x.result} by {x.method}"
            + ("" if x.value is None else f" ({x.value:g})"),
        )
        for x in p.mrd
    ]
    entries += [TimelineEntry(date=c.start_date, kind="course", detail=str(c.course)) for c in p.courses]
    entries += [
        TimelineEntry(date=t.transplant_date, kind="transplant", detail=f"{t.donor_type} donor")
        for t in p.transplants
    ]
    for e in p.events:
        extra = e.relapse_site or e.death_cause
        entries.append(
            TimelineEntry(
                date=e.event_date, kind="event", detail=str(e.event_type) + (f": {extra}" if extra else "")
            )
        )
    return sorted(entries, key=lambda x: (x.date, x.kind, x.detail))


@router.get(
    "/patients/{study_id}",
    response_model=PatientDetail,
    responses={**AUTH_RESPONSES, **NOT_FOUND},
    tags=["patients"],
)
def patient(request: Request, actor: Reader, study_id: StudyIdPath) -> PatientDetail:
    """One patient in the caller's scope: facts, dated timeline and protocol decisions."""
    with Session(engine_of(request)) as session:
        try:
            p = find_patient(session, actor, study_id)
        except RegistryError as exc:
            raise _not_found(exc) from None
        decisions = [
            Decision(protocol=d.protocol, version=d.version, risk_group=d.risk_group, decided_at=d.decided_at)
            for d in session.scalars(
                select(m.RiskAssignment)
                .where(m.RiskAssignment.patient_id == p.id)
                .order_by(m.RiskAssignment.id)
            )
        ]
        return PatientDetail(
            **_summary(p),
            immunophenotype=p.immunophenotype,
            cd10=p.cd10,
            kmt2a_partner=p.kmt2a_partner,
            wbc=p.wbc,
            cns_status=p.cns_status,
            day8_blasts=p.day8_blasts,
            protocol_version=p.protocol_version,
            randomisation_date=p.randomisation_date,
            timeline=_timeline(p),
            decisions=decisions,
        )


@router.get(
    "/patients/{study_id}/audit",
    response_model=AuditPage,
    responses={**AUTH_RESPONSES, **NOT_FOUND},
    tags=["patients"],
)
def patient_audit(
    request: Request, actor: Auditor, study_id: StudyIdPath, limit: Limit = 100, offset: Offset = 0
) -> AuditPage:
    """The audit trail of one patient, oldest change first (needs ``view_audit`` at its centre)."""
    with Session(engine_of(request)) as session:
        try:
            p = find_patient(session, actor, study_id, action=Action.VIEW_AUDIT)
        except RegistryError as exc:
            raise _not_found(exc) from None
        where = m.AuditEntry.patient_id == p.id
        total = session.scalar(select(func.count()).select_from(m.AuditEntry).where(where)) or 0
        rows = session.scalars(
            select(m.AuditEntry).where(where).order_by(m.AuditEntry.id).limit(limit).offset(offset)
        )
        items = [
            AuditRow(
                id=r.id,
                at=r.at,
                actor=r.actor,
                action=r.action,
                table_name=r.table_name,
                field=r.field,
                old_value=r.old_value,
                new_value=r.new_value,
                reason=r.reason,
                import_run_id=r.import_run_id,
            )
            for r in rows
        ]
    return AuditPage(study_id=study_id, total=total, limit=limit, offset=offset, items=items)


# --- Centres ---


@router.get("/centres", response_model=list[Centre], responses=AUTH_RESPONSES, tags=["centres"])
def centres(request: Request, actor: CentreViewer) -> list[Centre]:
    """Centres the caller may read patients of, or every centre for those who manage users (without
    patient counts, unless they may also read them)."""
    readable = actor.centres_for(Action.READ_PATIENTS)
    listed = None if actor.centres_for(Action.MANAGE_USERS) is None else readable
    with Session(engine_of(request)) as session:
        per_centre = cast(
            Select[Any], select(m.Patient.centre_id, func.count()).group_by(m.Patient.centre_id)
        )
        counts: dict[int, int] = {cid: n for cid, n in session.execute(scope_patients(per_centre, actor))}
        query = select(m.Centre).order_by(m.Centre.name)
        if listed is not None:
            query = query.where(m.Centre.id.in_(sorted(listed)))
        return [
            Centre(
                id=c.id,
                name=c.name,
                study_group=c.study_group.name if c.study_group else None,
                patients=counts.get(c.id, 0) if readable is None or c.id in readable else None,
            )
            for c in session.scalars(query)
        ]


# --- Reports ---


def _job(view: jobs.JobView) -> ReportJob:
    return ReportJob(**{**view.__dict__, "files": list(view.files)})


@router.get("/reports", response_model=list[ReportJob], responses=AUTH_RESPONSES, tags=["reports"])
def reports(request: Request, actor: Reporter) -> list[ReportJob]:
    """Past and running reports the caller may see, newest first, with plan and data hashes."""
    return [_job(v) for v in jobs.list_jobs(engine_of(request), actor)]


@router.post(
    "/reports",
    response_model=ReportJob,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**AUTH_RESPONSES, 400: {"model": Problem, "description": "The plan is wrong."}},
    tags=["reports"],
)
def start_report(request: Request, actor: Reporter, body: ReportRequest) -> ReportJob:
    """Start a report of a shipped or given plan on the caller's scope; poll ``GET /reports/{id}``."""
    runner = jobs.runner_for(request.app.state)
    try:
        started = runner.start(actor, plan=body.plan, plan_text=body.plan_yaml)
    except BassinetError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc).splitlines()[0]) from None
    return _job(started)


ReportId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(
    "/reports/{report_id}",
    response_model=ReportJob,
    responses={**AUTH_RESPONSES, **NOT_FOUND},
    tags=["reports"],
)
def report(request: Request, actor: Reporter, report_id: ReportId) -> ReportJob:
    """A report's status and progress, and its files once done."""
    try:
        return _job(jobs.get_job(engine_of(request), actor, report_id))
    except DataError as exc:
        raise _not_found(exc) from None


FILE_TYPES: dict[str, dict[str, Any]] = {
    "text/html": {},
    "application/json": {},
    "application/pdf": {},
    "application/octet-stream": {},
}


@router.get(
    "/reports/{report_id}/files/{name}",
    response_class=FileResponse,
    responses={
        200: {"description": "The file.", "content": FILE_TYPES},
        **AUTH_RESPONSES,
        **NOT_FOUND,
    },
    tags=["reports"],
)
def report_file(
    request: Request,
    actor: Reporter,
    report_id: ReportId,
    name: Annotated[str, Path(max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")],
) -> FileResponse:
    """Download one file of a report (an export: written to the security log)."""
    try:
        path = jobs.download(engine_of(request), actor, report_id, name)
    except DataError as exc:
        raise _not_found(exc) from None
    return FileResponse(path, media_type=jobs.media_type(path), filename=name)
