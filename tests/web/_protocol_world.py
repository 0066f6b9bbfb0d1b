"""Patients for the protocol pages' tests, added to the web tests' site (Rotterdam, DCOG).

- ``ROT-HR``: KMT2A-rearranged ALL, 3.5 months old, WBC 400 (HR), in complete remission
  after induction, followed up to three days from today (so a randomisation today falls
  inside the window): every fact of the risk group and the transplant indication known.
- ``ROT-MR``: the same at 7 months old with WBC 100 (MR): the transplant indication waits
  for the MRD before OCTADAD.
- ``ROT-AML``: AML, to which no Interfant-06 rule applies.
- ``UTR-HR``: as ``ROT-HR`` at Utrecht, outside a Rotterdam user's scope.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, select

from bassinet.registry import models as m
from bassinet.registry import registry_session


def _infant(centre: m.Centre, study_id: str, *, born: dt.date, wbc: float, kind: str = "ALL") -> m.Patient:
    follow_up = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    patient = m.Patient(
        centre=centre,
        study_id=study_id,
        sex="F",
        date_of_birth=born,
        diagnosis_date=dt.date(2025, 4, 15),
        leukemia_type=kind,
        kmt2a_status="rearranged",
        wbc=wbc,
        day8_blasts=500.0,
        last_contact_date=follow_up,
        vital_status="alive",
    )
    patient.remissions.append(
        m.RemissionAssessment(
            time_point="end_of_induction", assessment_date=dt.date(2025, 5, 20), status="CR"
        )
    )
    return patient


def add_protocol_patients(engine: Engine) -> None:
    with registry_session(engine, actor="test setup") as session:
        centres = {c.name: c for c in session.scalars(select(m.Centre))}
        session.add_all(
            [
                _infant(centres["Rotterdam"], "ROT-HR", born=dt.date(2025, 1, 1), wbc=400.0),
                _infant(centres["Rotterdam"], "ROT-MR", born=dt.date(2024, 9, 1), wbc=100.0),
                _infant(centres["Rotterdam"], "ROT-AML", born=dt.date(2025, 1, 1), wbc=50.0, kind="AML"),
                _infant(centres["Utrecht"], "UTR-HR", born=dt.date(2025, 1, 1), wbc=400.0),
            ]
        )


def make_key(engine: Engine, folder: Path) -> Path:
    from bassinet.protocols.keyfile import init_key

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "randomisation.key"
    init_key(engine, path, protocol="interfant-06", actor="trial office")
    return path
