"""Use cases of reports: run an analysis plan and write its report with ADaM; derive endpoints.

One function per use case, the same for the terminal and the web: :func:`run_report`
runs the plan on the patients in the actor's scope, writes the HTML (and PDF) report,
the JSON results and the ADaM ADSL and ADTTE datasets; :func:`derive_endpoints` writes
every endpoint of every patient with ADaM.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bassinet.access.policy import Action, Actor
from bassinet.application._guard import scoped_records, scoped_study_ids

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bassinet.endpoints import ClinicalRecords
    from bassinet.plans import PlanResult


@dataclass(frozen=True)
class StudyReport:
    """What a report run wrote: the files, the plan's results (with their warnings), and why
    there is no PDF if one was asked for and could not be written (else ``""``)."""

    paths: list[Path]
    result: PlanResult
    pdf_problem: str = ""


#: The reason given when a simulated cohort is imported (``bassinet demo``, ``bassinet simulate
#: --into-registry``): the audit trail says the patients are simulated, and reports say so too.
SIMULATED_REASON = "simulated cohort: "


def simulated_import_reason(cohort: str, seed: int) -> str:
    """The audited reason for importing the simulated ``cohort`` of ``seed``."""
    return f"{SIMULATED_REASON}{cohort} seed {seed}"


def simulation_label(engine: Engine, study_ids: list[str] | None = None) -> str:
    """The report's simulated-data label for the patients ``study_ids`` (``None``: all), from
    the registry's audit trail: ``""`` unless every one of them was inserted by an import of a
    simulated cohort (:func:`simulated_import_reason`), else the cohorts and seeds, e.g.
    ``"interfant06 seed 33; interfant99 seed 10"``. A registry with no patients is not labelled."""
    from sqlalchemy import and_, select
    from sqlalchemy.orm import Session

    from bassinet.registry import models as m

    inserted = and_(
        m.AuditEntry.patient_id == m.Patient.id,
        m.AuditEntry.table_name == m.Patient.__tablename__,
        m.AuditEntry.action == "insert",
        m.AuditEntry.field == "study_id",
    )
    query = select(m.Patient.study_id, m.AuditEntry.reason).outerjoin(m.AuditEntry, inserted)
    with Session(engine) as session:
        rows = session.execute(query).all()
    wanted = None if study_ids is None else set(study_ids)
    reasons = {reason for study_id, reason in rows if wanted is None or study_id in wanted}
    if not reasons or any(not (r or "").startswith(SIMULATED_REASON) for r in reasons):
        return ""
    return "; ".join(sorted(str(r).removeprefix(SIMULATED_REASON) for r in reasons))


def find_plan(plan: Path | str) -> Path:
    """A plan file, or a shipped plan by its name (``interfant06``, ``hsct-infants``)."""
    from bassinet.plans import shipped_plan

    path = Path(plan)
    if path.is_file() or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path
    return shipped_plan(str(plan))


def write_study_report(
    plan: Path | str,
    records: ClinicalRecords,
    out_dir: Path,
    *,
    pdf: bool = True,
    simulation: str = "",
) -> StudyReport:
    """Run the plan on ``records`` and write its report, results and ADaM files.

    ``simulation`` (e.g. "seed 33") labels every page as simulated data. The ADTTE file
    holds one parameter per endpoint and origin the plan analyses, for its population.
    This is the work of :func:`run_report` once the records are read and scoped.
    """
    import pandas as pd

    from bassinet.endpoints import DERIVED_COLUMNS, derive, get_endpoint, to_adsl, to_adtte, write_xpt
    from bassinet.plans import CATALOGUE, load_plan, population_ids, run_plan
    from bassinet.report import write_report

    plan_path = find_plan(plan)
    loaded = load_plan(plan_path)
    result = run_plan(loaded, records)
    if simulation:
        result = dataclasses.replace(result, simulation=simulation)
    name = plan_path.stem
    files = write_report(result, out_dir, name, pdf=pdf)
    study = name.upper().replace("-", "")[:20]
    wanted = {}
    for a in loaded.plan.analyses:
        endpoint = get_endpoint(a.endpoint)
        endpoint = endpoint.from_origin(a.origin) if a.origin else endpoint
        wanted[(endpoint.name, endpoint.origin)] = endpoint
    population = records.subset(population_ids(loaded.plan, records))
    if len(population.patients):
        derived = derive(population, [wanted[k] for k in sorted(wanted)], cutoff=loaded.plan.cutoff)
    else:  # nobody in the population: the files are written with their variables and no rows
        derived = pd.DataFrame(
            {c: pd.Series(dtype=float if c == "time_days" else object) for c in DERIVED_COLUMNS}
        )
    adtte = to_adtte(derived, study=study)
    patients = population.patients.set_index("study_id")
    risk = CATALOGUE["risk_group"].compute(population, patients) if len(patients) else None
    adsl = to_adsl(population, study=study, risk_group=risk)
    paths = [files.html, files.json, *([files.pdf] if files.pdf else [])]
    paths.append(
        write_xpt(adtte, out_dir / f"{name}-adtte.xpt", name="ADTTE", label="Time-to-event analysis")
    )
    paths.append(write_xpt(adsl, out_dir / f"{name}-adsl.xpt", name="ADSL", label="Subject-level analysis"))
    problem = f"{name}: no PDF: {files.pdf_problem}" if files.pdf_problem and pdf else ""
    return StudyReport(paths, result, problem)


def read_records(actor: Actor, url: str | None, action: Action = Action.READ_PATIENTS) -> ClinicalRecords:
    """The registry's clinical records of the patients ``actor`` may do ``action`` on."""
    from bassinet.endpoints import ClinicalRecords
    from bassinet.registry import make_engine, read_frames

    engine = make_engine(url)
    try:
        ids = scoped_study_ids(engine, actor, action)
        records = ClinicalRecords.from_frames(read_frames(engine))
    finally:
        engine.dispose()
    return scoped_records(records, ids)


def run_report(
    actor: Actor,
    url: str | None,
    plan: Path | str,
    out_dir: Path,
    *,
    pdf: bool = True,
    simulation: str = "",
) -> StudyReport:
    """Run an analysis plan on the registry at ``url`` (the patients in the actor's scope) and
    write its HTML and PDF report, JSON results, and ADaM ADSL and ADTTE (``run_report``)."""
    records = read_records(actor, url, Action.RUN_REPORT)
    return write_study_report(plan, records, out_dir, pdf=pdf, simulation=simulation)


@dataclass(frozen=True)
class DerivedEndpoints:
    """What :func:`derive_endpoints` wrote: the files, and how many rows and patients."""

    paths: tuple[Path, ...]
    rows: int
    patients: int


def derive_endpoints(
    actor: Actor, url: str | None, out_dir: Path, *, cutoff: dt.date, study: str = "BASSINET"
) -> DerivedEndpoints:
    """Every endpoint of every patient in scope: ``endpoints.csv`` and ADaM ADSL and ADTTE."""
    from bassinet.endpoints import ENDPOINTS, derive, to_adsl, to_adtte, write_xpt
    from bassinet.registry.escaping import neutralise_frame

    records = read_records(actor, url, Action.RUN_REPORT)
    derived = derive(records, list(ENDPOINTS), cutoff=cutoff)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = out_dir / "endpoints.csv"
    neutralise_frame(derived).to_csv(csv, index=False, date_format="%Y-%m-%d")
    adsl = write_xpt(
        to_adsl(records, study=study), out_dir / "adsl.xpt", name="ADSL", label="Subject-level analysis"
    )
    adtte = write_xpt(
        to_adtte(derived, study=study), out_dir / "adtte.xpt", name="ADTTE", label="Time-to-event analysis"
    )
    return DerivedEndpoints((csv, adsl, adtte), len(derived), int(derived["study_id"].nunique()))
