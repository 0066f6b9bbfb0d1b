"""A clean infant for the quality case tables: every field due is there, no finding."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bassinet.quality import PatientData

D = dt.date
DIAGNOSIS = D(2020, 3, 1)
LAST_CONTACT = D(2021, 1, 1)
AS_OF = D(2021, 6, 1)

FIELDS: dict[str, Any] = {
    "sex": "F",
    "date_of_birth": D(2020, 1, 1),
    "diagnosis_date": DIAGNOSIS,
    "leukemia_type": "ALL",
    "immunophenotype": "pro_B",
    "cd10": "negative",
    "kmt2a_status": "rearranged",
    "kmt2a_partner": "AFF1",
    "wbc": 100.0,
    "cns_status": "CNS1",
    "day8_blasts": 500.0,
    "protocol": "interfant06",
    "protocol_version": None,
    "randomisation_arm": None,
    "randomisation_date": None,
    "last_contact_date": LAST_CONTACT,
    "vital_status": "alive",
}


def infant(records: dict[str, list[dict[str, Any]]] | None = None, **changes: Any) -> PatientData:
    """The clean infant with ``changes`` to its fields and the given ``records`` (ids added)."""
    numbered: dict[str, tuple[dict[str, Any], ...]] = {}
    for kind, rows in (records or {}).items():
        numbered[kind] = tuple({"id": k + 1, **row} for k, row in enumerate(rows))
    return PatientData(7, "P-7", "Rotterdam", {**FIELDS, **changes}, numbered)


def course(name: str, start: dt.date) -> dict[str, Any]:
    return {"course": name, "start_date": start}


def remission(point: str, day: dt.date, status: str = "CR") -> dict[str, Any]:
    return {"time_point": point, "assessment_date": day, "status": status}


def event(kind: str, day: dt.date, **more: Any) -> dict[str, Any]:
    defaults = {"relapse": {"relapse_site": "bone_marrow"}, "death": {"death_cause": "leukemia"}}
    return {"event_type": kind, "event_date": day, **defaults.get(kind, {}), **more}


def mrd(point: str, day: dt.date, result: str = "negative", value: float | None = None) -> dict[str, Any]:
    return {"time_point": point, "measured_on": day, "method": "PCR", "result": result, "value": value}


def transplant(day: dt.date, **more: Any) -> dict[str, Any]:
    return {
        "transplant_date": day,
        "donor_type": "matched_unrelated",
        "stem_cell_source": "bone_marrow",
        "remission_status": "CR1",
        "mrd_result": "negative",
        "mrd_value": None,
        **more,
    }
