"""The registry's records written back in the import format: what ``bassinet import`` reads.

``bassinet export --format csv`` writes one CSV file per import sheet (``patients.csv``,
``remissions.csv``, ``mrd.csv``, ``courses.csv``, ``transplants.csv``, ``events.csv``)
with exactly the columns of :data:`~.sheets.SHEETS`, so that importing them into an
empty registry gives the same registry (every table of patient data; the audit trail,
import runs and stored decisions are the new registry's own). Corrections
(:mod:`.corrections`) use the same rows: a patient's records are written out, changed,
and imported again, so that every change passes the import's rules.

Cells are text: dates ISO, numbers as Python writes them (shortest exact form), codes as
the registry's codes, yes/no for flags, MRD as a fraction, ``negative`` or ``PNQ``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bassinet.registry import models as m
from bassinet.registry.escaping import spreadsheet_cell
from bassinet.registry.sheets import SHEETS

Rows = dict[str, list[dict[str, str]]]


def cell(value: object) -> str:
    """A value as an import cell."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _mrd(result: object, value: float | None) -> str:
    code = cell(result)
    if code == "quantified":
        return repr(value)
    return {"negative": "negative", "positive_nq": "PNQ"}.get(code, "")


def patient_rows(patient: m.Patient) -> Rows:
    """One patient's records (loaded) as import rows, by sheet."""
    group = patient.centre.study_group
    row = {
        "study_id": patient.study_id,
        "centre": patient.centre.name,
        "study_group": group.name if group else "",
        "original_country": cell(group.original_country) if group else "",
    }
    for column in SHEETS["patients"].columns:
        if column.name not in row:
            row[column.name] = cell(getattr(patient, column.name))
    rows: Rows = {"patients": [row]}
    sid = patient.study_id
    rows["remissions"] = [
        {"study_id": sid, "time_point": cell(r.time_point), "assessment_date": cell(r.assessment_date),
         "status": cell(r.status)}
        for r in sorted(patient.remissions, key=lambda r: (r.assessment_date, r.id))
    ]  # fmt: skip
    rows["mrd"] = [
        {"study_id": sid, "time_point": cell(r.time_point), "measured_on": cell(r.measured_on),
         "method": cell(r.method), "value": _mrd(r.result, r.value)}
        for r in sorted(patient.mrd, key=lambda r: (r.measured_on, r.id))
    ]  # fmt: skip
    rows["courses"] = [
        {"study_id": sid, "course": cell(c.course), "start_date": cell(c.start_date)}
        for c in sorted(patient.courses, key=lambda c: (c.start_date, c.id))
    ]
    rows["transplants"] = [
        {"study_id": sid, "transplant_date": cell(t.transplant_date), "donor_type": cell(t.donor_type),
         "stem_cell_source": cell(t.stem_cell_source), "remission_status": cell(t.remission_status),
         "mrd_value": _mrd(t.mrd_result, t.mrd_value), "mrd_method": cell(t.mrd_method),
         "engraftment_date": cell(t.engraftment_date),
         "hla_match": "" if t.hla_matched is None else f"{t.hla_matched}/{t.hla_typed}",
         "conditioning_intensity": cell(t.conditioning_intensity), "tbi": cell(t.tbi),
         "serotherapy": cell(t.serotherapy), "gvhd_prophylaxis": cell(t.gvhd_prophylaxis),
         "platelet_engraftment_date": cell(t.platelet_engraftment_date),
         "agvhd_grade": cell(t.agvhd_grade), "agvhd_date": cell(t.agvhd_date),
         "cgvhd_severity": cell(t.cgvhd_severity), "cgvhd_date": cell(t.cgvhd_date),
         "cgvhd_systemic_treatment": cell(t.cgvhd_systemic_treatment),
         "cmv_donor": cell(t.cmv_donor), "cmv_recipient": cell(t.cmv_recipient)}
        for t in sorted(patient.transplants, key=lambda t: (t.transplant_date, t.id))
    ]  # fmt: skip
    rows["events"] = [
        {"study_id": sid, "event_type": cell(e.event_type), "event_date": cell(e.event_date),
         "relapse_site": cell(e.relapse_site), "death_cause": cell(e.death_cause)}
        for e in sorted(patient.events, key=lambda e: (e.event_date, e.id))
    ]  # fmt: skip
    return rows


def load_for_export(session: Session, study_ids: Iterable[str] | None = None) -> list[m.Patient]:
    """Patients with every record loaded, in study-ID order."""
    query = (
        select(m.Patient)
        .options(
            selectinload(m.Patient.centre).selectinload(m.Centre.study_group),
            selectinload(m.Patient.remissions),
            selectinload(m.Patient.mrd),
            selectinload(m.Patient.courses),
            selectinload(m.Patient.transplants),
            selectinload(m.Patient.events),
        )
        .order_by(m.Patient.study_id)
    )
    if study_ids is not None:
        query = query.where(m.Patient.study_id.in_(list(study_ids)))
    return list(session.scalars(query))


#: Patients loaded (with every record) at once while the registry is written out.
EXPORT_CHUNK_PATIENTS = 2_000


def export_chunks(session: Session, chunk_patients: int = EXPORT_CHUNK_PATIENTS) -> Iterator[Rows]:
    """The import rows of the whole registry, ``chunk_patients`` patients at a time, in study-ID order.

    The same rows as ``registry_rows(load_for_export(session))``, in the same order, but
    paged in SQL by study ID (keyset paging), so that memory holds one chunk of patients
    and their records, not the registry.
    """
    after: str | None = None
    while True:
        query = (
            select(m.Patient)
            .options(
                selectinload(m.Patient.centre).selectinload(m.Centre.study_group),
                selectinload(m.Patient.remissions),
                selectinload(m.Patient.mrd),
                selectinload(m.Patient.courses),
                selectinload(m.Patient.transplants),
                selectinload(m.Patient.events),
            )
            .order_by(m.Patient.study_id)
            .limit(chunk_patients)
        )
        if after is not None:
            query = query.where(m.Patient.study_id > after)
        patients = list(session.scalars(query))
        if not patients:
            return
        after = patients[-1].study_id
        yield registry_rows(patients)
        del patients
        session.expunge_all()  # read only: let the chunk's objects go


def registry_rows(patients: Iterable[m.Patient]) -> Rows:
    """Import rows of many patients, by sheet."""
    rows: Rows = {name: [] for name in SHEETS}
    for patient in patients:
        for name, found in patient_rows(patient).items():
            rows[name].extend(found)
    return rows


def write_rows(rows: Rows | Iterable[Rows], folder: Path) -> dict[str, Path]:
    """One CSV file per sheet, with every column of the sheet; returns {sheet: path}.

    ``rows`` is one set of rows by sheet, or an iterable of them (:func:`export_chunks`),
    each written as it comes. Text cells that a spreadsheet would run as formulas get a
    leading apostrophe (:func:`~bassinet.registry.escaping.spreadsheet_cell`); the
    importer removes it again.
    """
    folder.mkdir(parents=True, exist_ok=True)
    chunks: Iterable[Rows] = [rows] if isinstance(rows, dict) else rows
    written = {name: folder / f"{name}.csv" for name in SHEETS}
    handles = {name: path.open("w", newline="", encoding="utf-8") for name, path in written.items()}
    try:
        writers = {name: csv.writer(handle) for name, handle in handles.items()}
        for name, spec in SHEETS.items():
            writers[name].writerow([c.name for c in spec.columns])
        for chunk in chunks:
            for name, spec in SHEETS.items():
                names = [c.name for c in spec.columns]
                writers[name].writerows(
                    [spreadsheet_cell(row.get(n, "")) for n in names] for row in chunk.get(name, [])
                )
    finally:
        for handle in handles.values():
            handle.close()
    return written
