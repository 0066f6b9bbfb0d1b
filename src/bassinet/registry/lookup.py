"""Finding one patient in the registry by study ID (and centre, where IDs repeat)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bassinet.errors import RegistryError
from bassinet.registry import models as m


def find_patient(session: Session, study_id: str, *, centre: str | None = None) -> m.Patient:
    """The patient with ``study_id`` (in ``centre``, if given), with all its records loaded."""
    query = (
        select(m.Patient)
        .join(m.Centre)
        .where(m.Patient.study_id == study_id)
        .options(
            selectinload(m.Patient.centre).selectinload(m.Centre.study_group),
            selectinload(m.Patient.remissions),
            selectinload(m.Patient.mrd),
            selectinload(m.Patient.courses),
            selectinload(m.Patient.transplants),
            selectinload(m.Patient.events),
        )
    )
    if centre is not None:
        query = query.where(m.Centre.name == centre)
    found = list(session.scalars(query))
    if not found:
        where = f" in centre '{centre}'" if centre else ""
        raise RegistryError(f"no patient with study ID '{study_id}'{where}")
    if len(found) > 1:
        centres = ", ".join(sorted(p.centre.name for p in found))
        raise RegistryError(
            f"study ID '{study_id}' is used in {len(found)} centres ({centres}): name one with --centre"
        )
    return found[0]
