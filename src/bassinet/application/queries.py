"""Read-only use cases: what the web pages (and any other front end) show, for an actor.

Every function takes an open session and the acting :class:`~bassinet.access.Actor`, and
reaches patients only through :func:`~bassinet.access.scope_patients` (or
:func:`~bassinet.access.get_patient`), so that a patient outside the actor's scope is
never listed, counted or shown, and asking for one by id is "not found". Lists are
filtered, sorted and paged in SQL: a page costs the same at 100 and 100,000 patients.
Results are frozen dataclasses of plain values, ready for a template or JSON.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bassinet.access import Action, Actor, authorise, get_patient, permits, scope_patients
from bassinet.endpoints import ClinicalRecords, derive
from bassinet.registry import models as m
from bassinet.registry.vocabulary import label

#: The columns a patient list can be sorted by.
SORTS = (
    "study_id",
    "centre",
    "protocol",
    "diagnosis_date",
    "risk_group",
    "vital_status",
    "last_contact_date",
)


@dataclass(frozen=True)
class PatientFilter:
    """What the patient list shows: a search text, filters, the sort and the page."""

    search: str | None = None
    centre: str | None = None
    protocol: str | None = None
    risk_group: str | None = None
    status: str | None = None
    sort: str = "study_id"
    descending: bool = False
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class PatientRow:
    """One line of the patient list."""

    id: int
    study_id: str
    centre: str
    sex: str
    diagnosis_date: dt.date
    leukemia_type: str
    risk_group: str | None
    vital_status: str
    last_contact_date: dt.date
    protocol: str | None = None
    protocol_version: str | None = None


@dataclass(frozen=True)
class PatientList:
    """A page of the patient list, how many patients match, and the choices of the filters."""

    rows: tuple[PatientRow, ...]
    total: int
    page: int
    pages: int
    centres: tuple[str, ...]
    risk_groups: tuple[str, ...]
    protocols: tuple[str, ...] = ()


def _risk_group() -> Any:
    """The patient's most recently decided risk group (any protocol), as a correlated subquery."""
    ra = m.RiskAssignment
    return (
        select(ra.risk_group)
        .where(ra.patient_id == m.Patient.id)
        .order_by(ra.decided_at.desc(), ra.id.desc())
        .limit(1)
        .correlate(m.Patient)
        .scalar_subquery()
    )


def _patient_query(actor: Actor, chosen: PatientFilter) -> tuple[Select[Any], Any]:
    risk = _risk_group().label("risk_group")
    query = select(
        m.Patient.id,
        m.Patient.study_id,
        m.Centre.name,
        m.Patient.sex,
        m.Patient.diagnosis_date,
        m.Patient.leukemia_type,
        risk,
        m.Patient.vital_status,
        m.Patient.last_contact_date,
        m.Patient.protocol,
        m.Patient.protocol_version,
    )
    return _filtered(query, actor, chosen), risk


def _filtered(query: Select[Any], actor: Actor, chosen: PatientFilter) -> Select[Any]:
    """``query`` (selecting from ``patient``) joined to the centre, in scope and filtered by ``chosen``."""
    query = query.join(m.Centre, m.Patient.centre_id == m.Centre.id)
    query = scope_patients(query, actor, Action.READ_PATIENTS)
    if chosen.search:
        query = query.where(m.Patient.study_id.contains(chosen.search.strip(), autoescape=True))
    if chosen.centre:
        query = query.where(m.Centre.name == chosen.centre)
    if chosen.protocol:
        query = query.where(m.Patient.protocol == chosen.protocol)
    if chosen.risk_group:
        query = query.where(_risk_group() == chosen.risk_group)
    if chosen.status:
        query = query.where(m.Patient.vital_status == chosen.status)
    return query


def _sorted(query: Select[Any], risk: Any, chosen: PatientFilter) -> Select[Any]:
    key = {
        "study_id": m.Patient.study_id,
        "centre": m.Centre.name,
        "protocol": m.Patient.protocol,
        "diagnosis_date": m.Patient.diagnosis_date,
        "risk_group": risk,
        "vital_status": m.Patient.vital_status,
        "last_contact_date": m.Patient.last_contact_date,
    }.get(chosen.sort, m.Patient.study_id)
    ordered = key.desc() if chosen.descending else key.asc()
    if chosen.sort in ("protocol", "risk_group"):
        # nobody-on-a-protocol / no-risk-group last in either order, on every store (PostgreSQL
        # would put NULLs first when descending, SQLite when ascending)
        ordered = ordered.nulls_last()
    return query.order_by(ordered, m.Patient.id)


def _row(values: Any) -> PatientRow:
    pid, study_id, centre, sex, diagnosed, leukemia, risk, status, last, protocol, version = values
    return PatientRow(
        pid, study_id, centre, str(sex), diagnosed, str(leukemia), risk, str(status), last,
        protocol or None, version or None,
    )  # fmt: skip


def list_patients(session: Session, actor: Actor, chosen: PatientFilter) -> PatientList:
    """One page of the patients in ``actor``'s scope matching ``chosen``, and the filters' choices."""
    authorise(actor, Action.READ_PATIENTS)
    query, risk = _patient_query(actor, chosen)
    # Counted without the listed columns: the risk group of every patient is not looked up to count them.
    total = int(session.scalar(_filtered(select(func.count(m.Patient.id)), actor, chosen)) or 0)
    size = max(1, min(chosen.page_size, 500))
    pages = max(1, -(-total // size))
    page = min(max(1, chosen.page), pages)
    rows = session.execute(_sorted(query, risk, chosen).limit(size).offset((page - 1) * size))
    centres = session.scalars(
        scope_patients(
            select(m.Centre.name).join(m.Patient, m.Patient.centre_id == m.Centre.id).distinct(),
            actor,
        ).order_by(m.Centre.name)
    )
    groups = session.scalars(
        scope_patients(
            select(m.RiskAssignment.risk_group)
            .join(m.Patient, m.Patient.id == m.RiskAssignment.patient_id)
            .where(m.RiskAssignment.risk_group.is_not(None))
            .distinct(),
            actor,
        ).order_by(m.RiskAssignment.risk_group)
    )
    protocols = session.scalars(
        scope_patients(
            select(m.Patient.protocol)
            .where(m.Patient.protocol.is_not(None), m.Patient.protocol != "")
            .distinct(),
            actor,
        ).order_by(m.Patient.protocol)
    )
    return PatientList(
        tuple(_row(r) for r in rows), total, page, pages, tuple(centres), tuple(g for g in groups if g),
        tuple(p for p in protocols if p),
    )  # fmt: skip


def export_patients(session: Session, actor: Actor, chosen: PatientFilter) -> tuple[PatientRow, ...]:
    """Every patient in scope matching ``chosen`` (all pages), for a download.

    Needs an export permission (identified for a data manager, de-identified for a
    trial statistician); the rows hold the pseudonymous study ID, never a name.
    """
    identified = actor.centres_for(Action.EXPORT_IDENTIFIED)
    deidentified = actor.centres_for(Action.EXPORT_DEIDENTIFIED)
    if identified is not None and deidentified is not None and not (identified | deidentified):
        authorise(actor, Action.EXPORT_IDENTIFIED)  # allowed nowhere: says so
    query, risk = _patient_query(actor, chosen)
    if identified is not None and deidentified is not None:
        query = query.where(m.Patient.centre_id.in_(sorted(identified | deidentified)))
    return tuple(_row(r) for r in session.execute(_sorted(query, risk, chosen)))


@dataclass(frozen=True)
class TimelineEntry:
    """One dated thing that happened to a patient."""

    date: dt.date
    kind: str
    text: str


@dataclass(frozen=True)
class Criterion:
    text: str
    met: bool | None


@dataclass(frozen=True)
class DecisionView:
    """A stored protocol decision with its reasons."""

    protocol: str
    version: str
    question: str
    outcome: str | None
    criteria: tuple[Criterion, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...]
    decided_at: dt.datetime


@dataclass(frozen=True)
class AllocationView:
    protocol: str
    arm: str
    stratum: str
    source: str
    allocated_on: dt.date | None
    allocated_by: str


@dataclass(frozen=True)
class AuditRow:
    """One audit entry, with the patient's study ID where it concerns one in scope."""

    at: dt.datetime
    actor: str
    action: str
    table_name: str
    record_id: int
    patient_id: int | None
    study_id: str | None
    field: str
    old_value: str | None
    new_value: str | None
    import_run_id: int | None
    reason: str | None


@dataclass(frozen=True)
class PatientDetail:
    """Everything the patient page shows; ``audit`` is None where the actor may not view it."""

    id: int
    study_id: str
    centre: str
    study_group: str | None
    facts: tuple[tuple[str, str], ...]
    timeline: tuple[TimelineEntry, ...]
    decisions: tuple[DecisionView, ...]
    allocations: tuple[AllocationView, ...]
    audit: tuple[AuditRow, ...] | None


def _text(value: object) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _code(value: object) -> str:
    """A vocabulary code in words (:func:`bassinet.registry.vocabulary.label`)."""
    return "not recorded" if value is None else label(value)


def plain_fraction(value: float, digits: int = 3) -> str:
    """A fraction as a plain decimal with ``digits`` significant digits: 0.24, 0.000712, 0.

    MRD is a fraction of cells (1e-4 is one leukemic cell in 10,000); readers compare it with
    the thresholds of the protocols (1e-4, 5e-4, 1e-3), so the decimal is written out rather
    than in scientific notation, with trailing zeros dropped.
    """
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    places = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _mrd(result: object, value: float | None) -> str:
    return plain_fraction(value) if value is not None else label(result)


def patient_detail(session: Session, actor: Actor, patient_id: int) -> PatientDetail:
    """The patient page of ``patient_id``; a :class:`~bassinet.errors.RegistryError` ("no patient
    with id ...") if it does not exist or is outside ``actor``'s scope, alike."""
    p = get_patient(session, actor, patient_id, Action.READ_PATIENTS)
    facts = (
        ("Sex", _text(p.sex)),
        ("Date of birth", _text(p.date_of_birth)),
        ("Diagnosis", _text(p.diagnosis_date)),
        ("Leukemia", _text(p.leukemia_type)),
        ("Immunophenotype", _code(p.immunophenotype)),
        ("CD10", _code(p.cd10)),
        ("KMT2A", _code(p.kmt2a_status) + (f" ({p.kmt2a_partner})" if p.kmt2a_partner else "")),
        ("White cells at diagnosis (x10^9/L)", _text(p.wbc)),
        ("CNS status", _code(p.cns_status)),
        ("Day-8 blasts (/uL)", _text(p.day8_blasts)),
        ("Protocol", _text(p.protocol) + (f" {p.protocol_version}" if p.protocol_version else "")),
        ("Randomised arm", _code(p.randomisation_arm)),
        ("Vital status", _code(p.vital_status)),
        ("Last contact", _text(p.last_contact_date)),
    )
    timeline = [TimelineEntry(p.diagnosis_date, "diagnosis", f"diagnosis of {p.leukemia_type}")]
    for r in p.remissions:
        timeline.append(
            TimelineEntry(
                r.assessment_date, "assessment", f"remission at {label(r.time_point)}: {label(r.status)}"
            )
        )
    for mrd in p.mrd:
        timeline.append(
            TimelineEntry(
                mrd.measured_on,
                "assessment",
                f"MRD at {label(mrd.time_point)} ({mrd.method}): {_mrd(mrd.result, mrd.value)}",
            )
        )
    for c in p.courses:
        timeline.append(TimelineEntry(c.start_date, "course", f"course {label(c.course)} started"))
    for t in p.transplants:
        timeline.append(
            TimelineEntry(
                t.transplant_date,
                "transplant",
                f"transplant, {label(t.donor_type)} donor, in {label(t.remission_status)}",
            )
        )
        if t.engraftment_date is not None:
            timeline.append(TimelineEntry(t.engraftment_date, "transplant", "engraftment"))
    for e in p.events:
        detail = e.relapse_site or e.death_cause
        timeline.append(
            TimelineEntry(
                e.event_date, "event", label(e.event_type) + (f" ({label(detail)})" if detail else "")
            )
        )
    if p.randomisation_date is not None:
        timeline.append(
            TimelineEntry(p.randomisation_date, "allocation", f"randomised to {label(p.randomisation_arm)}")
        )
    timeline.append(TimelineEntry(p.last_contact_date, "follow-up", f"last contact, {label(p.vital_status)}"))
    timeline.sort(key=lambda entry: entry.date)
    decisions = tuple(
        _decision(a)
        for a in session.scalars(
            select(m.RiskAssignment)
            .where(m.RiskAssignment.patient_id == p.id)
            .order_by(m.RiskAssignment.protocol)
        )
    )
    allocations = tuple(
        AllocationView(a.protocol, a.arm, a.stratum, a.source, a.allocated_on, a.allocated_by)
        for a in session.scalars(select(m.Allocation).where(m.Allocation.patient_id == p.id))
    )
    audit = None
    if permits(actor, Action.VIEW_AUDIT, p.centre_id):
        entries = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.patient_id == p.id).order_by(m.AuditEntry.id)
        )
        audit = tuple(_audit_row(e, p.study_id) for e in entries)
    group = p.centre.study_group.name if p.centre.study_group else None
    return PatientDetail(
        p.id, p.study_id, p.centre.name, group, facts, tuple(timeline), decisions, allocations, audit
    )


def _decision(a: m.RiskAssignment) -> DecisionView:
    d: dict[str, Any] = a.decision or {}
    criteria = tuple(Criterion(str(c.get("text", "")), c.get("met")) for c in d.get("criteria", []))
    return DecisionView(
        a.protocol,
        a.version,
        str(d.get("question", "risk group")),
        a.risk_group,
        criteria,
        tuple(str(x) for x in d.get("missing", [])),
        tuple(str(x) for x in d.get("notes", [])),
        a.decided_at,
    )


def _audit_value(table: str, field: str | None, value: str | None) -> str | None:
    """A stored MRD fraction written as on the patient page (0.000712, not 7.12e-04)."""
    if value is None or (table, field) != ("mrd_measurement", "value"):
        return value
    try:
        return plain_fraction(float(value))
    except ValueError:
        return value


def _audit_row(e: m.AuditEntry, study_id: str | None) -> AuditRow:
    return AuditRow(
        e.at,
        e.actor,
        e.action,
        e.table_name,
        e.record_id,
        e.patient_id,
        study_id,
        e.field,
        _audit_value(e.table_name, e.field, e.old_value),
        _audit_value(e.table_name, e.field, e.new_value),
        e.import_run_id,
        e.reason,
    )


@dataclass(frozen=True)
class AuditFilter:
    """The audit browser's filters: a patient's study ID, an import run, a user, a date range."""

    study_id: str | None = None
    import_run: int | None = None
    user: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    page: int = 1
    page_size: int = 100


@dataclass(frozen=True)
class AuditField:
    """One field of a change: its name and its value before and after (None: no value)."""

    field: str
    old_value: str | None
    new_value: str | None


@dataclass(frozen=True)
class AuditChange:
    """One change to one record: who made it, when, why, and every field it touched.

    The audit trail stores a row per field; a correction of five fields with one reason is
    five rows that share the time, the actor, the record, the import run and the reason.
    The browser shows them as one change with the fields listed under it.
    """

    at: dt.datetime
    actor: str
    action: str
    table_name: str
    record_id: int
    patient_id: int | None
    study_id: str | None
    import_run_id: int | None
    reason: str | None
    fields: tuple[AuditField, ...]


def _change_key(row: AuditRow) -> tuple[object, ...]:
    return (row.at, row.actor, row.action, row.table_name, row.record_id, row.import_run_id, row.reason)


def group_changes(rows: tuple[AuditRow, ...] | list[AuditRow]) -> tuple[AuditChange, ...]:
    """``rows``, newest first as :func:`audit_entries` gives them, with the consecutive rows
    of one change made one :class:`AuditChange` (same time, actor, action, record, import
    run and reason), its fields in the order they were written (oldest entry first)."""
    changes: list[AuditChange] = []
    fields: list[AuditField] = []
    for index, row in enumerate(rows):
        fields.append(AuditField(row.field, row.old_value, row.new_value))
        last = index + 1 == len(rows) or _change_key(rows[index + 1]) != _change_key(row)
        if last:
            changes.append(
                AuditChange(
                    row.at, row.actor, row.action, row.table_name, row.record_id, row.patient_id,
                    row.study_id, row.import_run_id, row.reason, tuple(reversed(fields)),
                )
            )  # fmt: skip
            fields = []
    return tuple(changes)


@dataclass(frozen=True)
class AuditPage:
    """A page of audit entries (one a field), newest first, and the same rows as changes."""

    rows: tuple[AuditRow, ...]
    total: int
    page: int
    pages: int

    @property
    def changes(self) -> tuple[AuditChange, ...]:
        """The page's rows grouped into changes (:func:`group_changes`); a change whose
        fields straddle two pages shows on each the fields that page holds."""
        return group_changes(self.rows)


def audit_entries(session: Session, actor: Actor, chosen: AuditFilter) -> AuditPage:
    """The audit entries the actor may view, newest first, filtered and paged in SQL.

    Entries about patients are shown for patients in the actor's ``view_audit`` scope;
    entries about no patient (centres, study groups) only to an actor whose scope is the
    whole study.
    """
    authorise(actor, Action.VIEW_AUDIT)
    centres = actor.centres_for(Action.VIEW_AUDIT)
    a = m.AuditEntry
    query = select(a, m.Patient.study_id).outerjoin(m.Patient, m.Patient.id == a.patient_id)
    if centres is not None:
        query = query.where(m.Patient.centre_id.in_(sorted(centres)))
    if chosen.study_id:
        query = query.where(m.Patient.study_id == chosen.study_id.strip())
    if chosen.import_run is not None:
        query = query.where(a.import_run_id == chosen.import_run)
    if chosen.user:
        query = query.where(a.actor == chosen.user.strip())
    if chosen.since is not None:
        start = dt.datetime.combine(chosen.since, dt.time(), tzinfo=dt.UTC)
        query = query.where(a.at >= start)
    if chosen.until is not None:
        end = dt.datetime.combine(chosen.until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        query = query.where(a.at < end)
    total = int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())
    size = max(1, min(chosen.page_size, 500))
    pages = max(1, -(-total // size))
    page = min(max(1, chosen.page), pages)
    rows = session.execute(query.order_by(a.id.desc()).limit(size).offset((page - 1) * size))
    return AuditPage(tuple(_audit_row(e, study_id) for e, study_id in rows), total, page, pages)


@dataclass(frozen=True)
class Count:
    label: str
    count: int


@dataclass(frozen=True)
class Accrual:
    month: str
    centre: str
    count: int


@dataclass(frozen=True)
class Survival:
    """Times (years from diagnosis) and indicators (1 = event) of the patients in scope."""

    efs_time: tuple[float, ...]
    efs_event: tuple[int, ...]
    os_time: tuple[float, ...]
    os_event: tuple[int, ...]


@dataclass(frozen=True)
class Dashboard:
    """The dashboard of the actor's scope."""

    patients: int
    centres: int
    accrual: tuple[Accrual, ...]
    risk_groups: tuple[Count, ...]
    events: tuple[Count, ...]
    survival: Survival


#: How many of the newest audit entries :func:`data_version` counts.
RECENT_ENTRIES = 10_000


def data_version(session: Session) -> tuple[int, int]:
    """A version of the registry's data that changes with every committed write: the newest
    audit entry's id and how many entries lie within :data:`RECENT_ENTRIES` ids below it.

    Every change to registry data adds audit entries (by Bassinet, or by the database's
    triggers for a change made outside it), and the audit trail is append-only, so the
    newest id only grows. The count covers a transaction that took its ids before another
    one committed, and committed after it: its entries appear below the newest id, which
    did not move, but within the window the count grows. (A transaction would be missed
    only if more than :data:`RECENT_ENTRIES` ids were taken and committed by others between
    its last id and its commit.) Two index lookups on the audit trail's primary key: a few
    milliseconds at any size of registry.

    A cache keyed by this version should read it before the data it computes, so that a
    write committing in between leaves the cached result newer than its key, never older.
    """
    a = m.AuditEntry
    newest = select(func.coalesce(func.max(a.id), 0)).scalar_subquery()
    recent = select(func.count()).select_from(a).where(a.id > newest - RECENT_ENTRIES).scalar_subquery()
    last, count = session.execute(select(newest, recent)).one()
    return int(last), int(count)


def dashboard(session: Session, actor: Actor) -> Dashboard:
    """Accrual by month and centre, risk groups, events, and EFS and OS (as the reports define them)."""
    authorise(actor, Action.READ_PATIENTS)
    everyone = cast(
        Select[Any],
        select(
            m.Patient.id,
            m.Patient.diagnosis_date,
            m.Patient.last_contact_date,
            m.Centre.name,
            m.Patient.study_id,
            m.Patient.randomisation_date,
        ).join(m.Centre, m.Patient.centre_id == m.Centre.id),
    )
    base = scope_patients(everyone, actor)
    patients = list(session.execute(base))
    ids = [p[0] for p in patients]
    accrual = Counter((p[1].strftime("%Y-%m"), p[3]) for p in patients)
    risk = Counter(
        g or "no risk group"
        for g in session.scalars(scope_patients(select(_risk_group()).select_from(m.Patient), actor))
    )
    kinds: Counter[str] = Counter()
    all_events = cast(
        Select[Any],
        select(m.Patient.study_id, m.Event.event_type, m.Event.event_date).join(
            m.Patient, m.Patient.id == m.Event.patient_id
        ),
    )
    events = [
        (study_id, str(kind), when)
        for study_id, kind, when in session.execute(scope_patients(all_events, actor))
    ]
    kinds.update(kind for _, kind, _ in events)
    survival = _survival(session, actor, patients, events)
    return Dashboard(
        len(ids),
        len({p[3] for p in patients}),
        tuple(Accrual(month, centre, n) for (month, centre), n in sorted(accrual.items())),
        tuple(Count(k, n) for k, n in sorted(risk.items())),
        tuple(Count(k, n) for k, n in sorted(kinds.items())),
        survival,
    )


def _survival(
    session: Session, actor: Actor, patients: list[Any], events: list[tuple[str, str, dt.date]]
) -> Survival:
    """EFS and OS of the patients in scope, by the endpoint definitions the reports use
    (:data:`bassinet.endpoints.ENDPOINTS`: resistant disease at day 0, censored at the last
    contact), cut off at the last contact recorded in scope."""
    if not patients:
        return Survival((), (), (), ())
    frame = pd.DataFrame(
        [(p[4], p[1], p[2], p[5]) for p in patients],
        columns=["study_id", "diagnosis_date", "last_contact_date", "randomisation_date"],
    )
    remissions_query = cast(
        Select[Any],
        select(m.Patient.study_id, m.RemissionAssessment.assessment_date, m.RemissionAssessment.status).join(
            m.Patient, m.Patient.id == m.RemissionAssessment.patient_id
        ),
    )
    remissions = pd.DataFrame(
        [(a, b, str(c)) for a, b, c in session.execute(scope_patients(remissions_query, actor))],
        columns=["study_id", "assessment_date", "status"],
    )
    transplant_query = cast(
        Select[Any],
        select(m.Patient.study_id, m.Transplant.transplant_date).join(
            m.Patient, m.Patient.id == m.Transplant.patient_id
        ),
    )
    transplants = pd.DataFrame(
        [(study_id, when) for study_id, when in session.execute(scope_patients(transplant_query, actor))],
        columns=["study_id", "transplant_date"],
    )
    records = ClinicalRecords.from_tables(
        frame,
        remissions,
        pd.DataFrame(events, columns=["study_id", "event_type", "event_date"]),
        transplants,
    )
    derived = derive(records, ["EFS", "OS"], cutoff=max(p[2] for p in patients))
    efs = derived[derived["endpoint"] == "EFS"]
    os_ = derived[derived["endpoint"] == "OS"]
    return Survival(
        tuple(float(t) / 365.25 for t in efs["time_days"]),
        tuple(int(e) for e in efs["status"]),
        tuple(float(t) / 365.25 for t in os_["time_days"]),
        tuple(int(e) for e in os_["status"]),
    )
