"""Use case: run the data-quality checks over the patients of the actor's scope.

The patients and their records are read in one query per table (no per-patient loading),
turned into :class:`bassinet.quality.PatientData` and checked by the pure checks of
:mod:`bassinet.quality`; the findings are counted per centre.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bassinet.access.policy import Action, Actor, authorise
from bassinet.quality import RECORD_KINDS, Finding, PatientData, Severity, StudyRule, check_patients

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class CentreQuality:
    """One centre's counts: patients checked, patients with a finding, errors and warnings."""

    centre: str
    patients: int
    patients_with_findings: int
    errors: int
    warnings: int


@dataclass(frozen=True)
class QualityReport:
    """The checks of a scope: the as-of date, the study rules used, counts per centre, findings."""

    as_of: dt.date
    rules: tuple[str, ...]
    patients: int
    centres: tuple[CentreQuality, ...]
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(c.errors for c in self.centres)

    @property
    def warnings(self) -> int:
        return sum(c.warnings for c in self.centres)

    def by_check(self) -> dict[str, int]:
        """How many findings each check or rule made, most first."""
        counted = Counter(f.check for f in self.findings)
        return dict(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))


def _raw(column: Any) -> Any:
    """``column`` selected as stored: a code column as its text, without the Enum type's
    conversion to a StrEnum member and back (a third of the loading time of a large scope)."""
    from sqlalchemy import Enum, String, type_coerce

    if isinstance(column.type, Enum):
        return type_coerce(column, String()).label(column.name)
    return column


def load_patients(
    session: Session, actor: Actor, *, centre: str | None = None, patient_id: int | None = None
) -> list[PatientData]:
    """The patients ``actor`` may read (in ``centre``, if named; only ``patient_id``, if given)
    as :class:`PatientData`, ordered by centre and study ID; one query per table."""
    from sqlalchemy import select

    from bassinet.access.scope import scope_patients
    from bassinet.registry import models as m

    tables: dict[str, Any] = {
        "remissions": m.RemissionAssessment,
        "mrd": m.MRDMeasurement,
        "courses": m.TreatmentCourse,
        "transplants": m.Transplant,
        "events": m.Event,
    }
    patient_columns = [
        c for c in m.Patient.__table__.columns if c.name not in ("id", "centre_id", "study_id")
    ]
    query = select(m.Patient.id, m.Patient.study_id, m.Centre.name, *map(_raw, patient_columns)).join(
        m.Centre
    )
    query = scope_patients(query, actor, Action.READ_PATIENTS)
    if centre is not None:
        query = query.where(m.Centre.name == centre)
    if patient_id is not None:
        query = query.where(m.Patient.id == patient_id)
    names = [c.name for c in patient_columns]
    rows = session.execute(query.order_by(m.Centre.name, m.Patient.study_id)).all()
    records: dict[str, dict[int, list[dict[str, Any]]]] = {kind: defaultdict(list) for kind in RECORD_KINDS}
    for kind, model in tables.items():
        columns = list(model.__table__.columns)
        rq = select(*map(_raw, columns)).join(m.Patient, m.Patient.id == model.patient_id)
        rq = scope_patients(rq, actor, Action.READ_PATIENTS)
        if centre is not None:
            rq = rq.join(m.Centre, m.Centre.id == m.Patient.centre_id).where(m.Centre.name == centre)
        if patient_id is not None:
            rq = rq.where(model.patient_id == patient_id)
        keys = [c.name for c in columns]
        for cells in session.execute(rq.order_by(model.id)):
            record: dict[str, Any] = dict(zip(keys, cells, strict=True))
            records[kind][int(record["patient_id"])].append(record)
    patients = []
    for row in rows:
        pid, study_id, centre_name, values = row[0], row[1], row[2], row[3:]
        fields = dict(zip(names, values, strict=True))
        patients.append(
            PatientData(
                pid,
                study_id,
                centre_name,
                fields,
                {kind: tuple(records[kind].get(pid, ())) for kind in RECORD_KINDS},
            )
        )
    return patients


def summarise(
    patients: list[PatientData], findings: list[Finding], *, as_of: dt.date, rules: Iterable[StudyRule] = ()
) -> QualityReport:
    """Counts per centre of ``findings`` over ``patients``."""
    per_centre: Counter[str] = Counter(p.centre for p in patients)
    flagged: dict[str, set[int]] = defaultdict(set)
    errors: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    for f in findings:
        flagged[f.centre].add(f.patient_id)
        (errors if f.severity is Severity.ERROR else warnings)[f.centre] += 1
    centres = tuple(
        CentreQuality(name, per_centre[name], len(flagged[name]), errors[name], warnings[name])
        for name in sorted(per_centre)
    )
    return QualityReport(as_of, tuple(r.id for r in rules), len(patients), centres, tuple(findings))


def check_scope(
    actor: Actor,
    engine: Engine,
    *,
    as_of: dt.date | None = None,
    rules: Iterable[StudyRule] = (),
    centre: str | None = None,
) -> QualityReport:
    """Run the built-in checks and ``rules`` on every patient ``actor`` may read (in ``centre``).

    Parameters
    ----------
    actor
        The acting user; needs ``read_patients`` somewhere, and sees only the patients of
        the centres where they have it.
    as_of
        The date the checks are run for ("no contact for over a year" before it); today if
        not given.
    rules
        Study rules (:func:`bassinet.quality.load_rules`).
    centre
        Only this centre's patients (a centre outside the scope gives no patients).
    """
    authorise(actor, Action.READ_PATIENTS)
    from sqlalchemy.orm import Session

    chosen = tuple(rules)
    day = as_of or dt.date.today()
    with Session(engine) as session:
        patients = load_patients(session, actor, centre=centre)
    findings = check_patients(patients, as_of=day, rules=chosen)
    return summarise(patients, findings, as_of=day, rules=chosen)


def patient_findings(
    actor: Actor,
    engine: Engine,
    patient_id: int,
    *,
    as_of: dt.date | None = None,
    rules: Iterable[StudyRule] = (),
) -> tuple[Finding, ...]:
    """The findings of the built-in checks and ``rules`` for one patient, as of ``as_of``.

    The same checks as :func:`check_scope` (through :func:`load_patients` and
    :func:`bassinet.quality.check_patient`) for the patient with id ``patient_id``, run
    after a form saves one of the patient's records and shown on the patient's page.
    Findings are warnings to the user, never refusals: the import's rules refuse.

    Parameters
    ----------
    actor
        The acting user; needs ``read_patients`` at the patient's centre. A patient outside
        the actor's scope is "not found", like one that does not exist.
    patient_id
        The patient's database id.
    as_of
        The date the checks are run for; today if not given.
    rules
        Study rules (:func:`bassinet.quality.load_rules`).
    """
    authorise(actor, Action.READ_PATIENTS)
    from sqlalchemy.orm import Session

    from bassinet.access.scope import get_patient
    from bassinet.quality import check_patient

    day = as_of or dt.date.today()
    with Session(engine) as session:
        get_patient(session, actor, patient_id)
        loaded = load_patients(session, actor, patient_id=patient_id)
    chosen = tuple(rules)
    return tuple(f for p in loaded for f in check_patient(p, as_of=day, rules=chosen))
